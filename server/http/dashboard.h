// The web dashboard: static HTML/JS/CSS compiled into the binary (no build step,
// nothing installed beside it), served at "/" and "/dashboard/...". The pages talk
// only to the HTTP management API (management_api.h); with --auth-tokens they send
// the bearer token the user enters (kept in the tab's sessionStorage).
//
// Thread-safety: the handlers only read constant data.
#ifndef TASKHUB_SERVER_HTTP_DASHBOARD_H_
#define TASKHUB_SERVER_HTTP_DASHBOARD_H_

#include "server/http/http_server.h"

namespace taskhub::http {

// Adds GET "/" (the dashboard's index page) and GET "/dashboard/{*rest}" (its
// assets, with Content-Type and an ETag; 404 for unknown files).
void RegisterDashboard(HttpRouter* router);

}  // namespace taskhub::http

#endif  // TASKHUB_SERVER_HTTP_DASHBOARD_H_
