// The HTTP flags of taskhubd (issue 12): the management API, the dashboard and the
// metrics share one HTTP server, off unless --http-listen is given.
#include "CLI/CLI.hpp"
#include "server/daemon/config.h"

namespace taskhub::daemon {

void AddHttpFlags(CLI::App& app, Config& c) {
  app.add_option("--http-listen", c.http_listen,
                 "Serve the HTTP management API (Durable Functions routes under "
                 "/runtime/webhooks/durabletask), the dashboard and /metrics on HOST:PORT "
                 "(port 0 = any; off when empty). Same --tls-cert/--tls-key and --auth-tokens "
                 "as gRPC; bind to loopback unless both are set")
      ->envname("TASKHUB_HTTP_LISTEN");
  app.add_option("--http-public-base-url", c.http_public_base_url,
                 "Base of the URLs handed out in HTTP API payloads (e.g. "
                 "https://ingress.example/taskhub); default: the request's scheme and Host")
      ->envname("TASKHUB_HTTP_PUBLIC_BASE_URL");
  app.add_option("--http-port-file", c.http_port_file,
                 "Write the bound HTTP port here once serving")
      ->envname("TASKHUB_HTTP_PORT_FILE");
}

}  // namespace taskhub::daemon
