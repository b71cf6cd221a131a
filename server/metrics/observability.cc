#include "server/metrics/observability.h"

#include <utility>

#include "server/metrics/collector.h"

namespace taskhub::metrics {

void RegisterObservabilityRoutes(http::HttpRouter* router, ObservabilitySources sources) {
  auto src = std::make_shared<const ObservabilitySources>(std::move(sources));
  router->Add("GET", "/metrics", [src](http::HttpRequest req, http::HttpResponder r) {
    if (src->authorizer != nullptr) {
      auto header = req.Header("authorization");
      absl::string_view value = header ? absl::string_view(*header) : absl::string_view();
      // "Hello" is allowed to every role: any valid token may scrape.
      absl::Status st = src->authorizer->Check("Hello", header ? &value : nullptr, req.peer);
      if (!st.ok()) {
        http::HttpResponse denied = http::HttpResponse::Error(
            st.code() == absl::StatusCode::kPermissionDenied ? 403 : 401, st.message());
        denied.headers.emplace_back("WWW-Authenticate", "Bearer");
        return r.Send(std::move(denied));
      }
    }
    http::HttpResponse resp;
    resp.content_type = kTextContentType;
    resp.body = RenderMetrics(
        src->engine, src->backend, src->ready ? std::optional<bool>(src->ready()) : std::nullopt,
        src->notifications ? std::optional<NotificationStats>(src->notifications())
                           : std::nullopt);
    r.Send(std::move(resp));
  });
  router->Add("GET", "/healthz", [](http::HttpRequest, http::HttpResponder r) {
    r.Send(http::HttpResponse::Json(200, R"({"status":"ok"})"));
  });
  router->Add("GET", "/readyz", [src](http::HttpRequest, http::HttpResponder r) {
    if (!src->ready || src->ready()) {
      r.Send(http::HttpResponse::Json(200, R"({"status":"ready"})"));
    } else {
      r.Send(http::HttpResponse::Json(
          503, R"({"status":"not ready","error":"the store is not open or refuses writes"})"));
    }
  });
}

}  // namespace taskhub::metrics
