// The /metrics collector: reads the engine's counters (engine_metrics.h, EngineStats)
// and the store's (Backend::CollectStats) at scrape time and renders them in the
// Prometheus text exposition format 0.0.4 with prometheus-cpp's TextSerializer (the
// core library only; no registry state is kept between scrapes). Every name starts
// with "taskhub_"; counters end in "_total", durations are "_seconds" histograms.
//
// Cost per scrape: one lock per engine partition and a few engine locks (no store
// read, no scan). Thread-safe: may run concurrently with everything.
#ifndef TASKHUB_SERVER_METRICS_COLLECTOR_H_
#define TASKHUB_SERVER_METRICS_COLLECTOR_H_

#include <optional>
#include <string>

#include "server/engine/engine.h"
#include "server/storage/backend.h"

namespace taskhub::metrics {

inline constexpr char kTextContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// Lifecycle notification delivery (the daemon's notify::Notifier::Stats()).
struct NotificationStats {
  uint64_t delivered = 0, failed_attempts = 0, dead_lettered = 0;  // since start-up
  size_t pending = 0, dead = 0;  // now: rows waiting for delivery, dead-lettered rows
};

// `ready`: the readiness the probe reports, exported as taskhub_ready (1/0); nullopt
// leaves the gauge out. `notifications`: nullopt leaves the notification families out.
std::string RenderMetrics(engine::Engine* engine, const storage::Backend* backend,
                          std::optional<bool> ready = std::nullopt,
                          std::optional<NotificationStats> notifications = std::nullopt);

}  // namespace taskhub::metrics

#endif  // TASKHUB_SERVER_METRICS_COLLECTOR_H_
