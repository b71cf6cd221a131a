// The Durable Functions HTTP management API over the engine, base
// /runtime/webhooks/durabletask (the routes, parameters, status codes and JSON shapes
// of Durable Functions' HTTP API; README "HTTP management API" lists each and what
// differs). Requests are translated into the same wire messages the gRPC API takes and
// validated by server/api/translate.h, so both APIs accept exactly the same input.
//
// Thread-safety: the handlers run on the HTTP loop thread and never block it;
// engine callbacks answer through the responder from engine threads.
#ifndef TASKHUB_SERVER_HTTP_MANAGEMENT_API_H_
#define TASKHUB_SERVER_HTTP_MANAGEMENT_API_H_

#include <string>

#include "absl/time/time.h"
#include "server/api/auth.h"
#include "server/engine/engine.h"
#include "server/http/http_server.h"

namespace taskhub::http {

struct ManagementApiOptions {
  // Base for the URLs in payloads ("https://ingress.example/x"); empty: from the
  // request's Host header and scheme.
  std::string public_base_url;
  // The longest ?timeout= a request may wait for completion.
  absl::Duration max_wait = absl::Minutes(5);
  // Bearer tokens (--auth-tokens): null = no authentication. Roles as gRPC: reads
  // and instance commands need `client`; rewind and purge need `admin`.
  const auth::Authorizer* authorizer = nullptr;
  size_t max_payload_bytes = 16 << 20;
};

// Adds every route under /runtime/webhooks/durabletask to `router`. `engine` must
// outlive the server.
void RegisterManagementApi(HttpRouter* router, engine::Engine* engine,
                           const ManagementApiOptions& options);

}  // namespace taskhub::http

#endif  // TASKHUB_SERVER_HTTP_MANAGEMENT_API_H_
