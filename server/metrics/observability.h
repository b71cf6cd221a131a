// Prometheus metrics (/metrics, text exposition format 0.0.4, rendered by
// prometheus-cpp from Debian's prometheus-cpp-dev) and the Kubernetes probes
// (/healthz: the process serves HTTP; /readyz: the store is open and the server is
// serving, 503 otherwise).
//
// The engine and the stores keep their own counters (plain atomics, no
// prometheus-cpp below this module); a collector reads them at scrape time.
//
// Thread-safety: scrapes may run concurrently with everything; `ready` must be
// thread-safe and non-blocking.
#ifndef TASKHUB_SERVER_METRICS_OBSERVABILITY_H_
#define TASKHUB_SERVER_METRICS_OBSERVABILITY_H_

#include <functional>

#include "server/api/auth.h"
#include "server/engine/engine.h"
#include "server/http/http_server.h"
#include "server/metrics/collector.h"
#include "server/storage/backend.h"

namespace taskhub::metrics {

struct ObservabilitySources {
  engine::Engine* engine = nullptr;     // required; outlives the server
  storage::Backend* backend = nullptr;  // required; outlives the server
  std::function<bool()> ready;          // store open and serving
  // With --auth-tokens: /metrics needs a bearer token of any role (worker, client or
  // admin); 401 without one, as the management API. The probes stay open (kubelet
  // probes carry no token, and they reveal nothing). Null: no tokens.
  const auth::Authorizer* authorizer = nullptr;
  // Lifecycle notification counts at scrape time; empty: not exported.
  std::function<NotificationStats()> notifications;
};

// Adds GET /metrics, /healthz and /readyz to `router`.
void RegisterObservabilityRoutes(http::HttpRouter* router, ObservabilitySources sources);

}  // namespace taskhub::metrics

#endif  // TASKHUB_SERVER_METRICS_OBSERVABILITY_H_
