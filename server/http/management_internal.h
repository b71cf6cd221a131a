// Shared by the management API's files (management_api.cc: orchestrations,
// management_entities.cc: entities, management_common.cc: helpers). Not a public API.
#ifndef TASKHUB_SERVER_HTTP_MANAGEMENT_INTERNAL_H_
#define TASKHUB_SERVER_HTTP_MANAGEMENT_INTERNAL_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "server/api/translate.h"
#include "server/http/management_api.h"

namespace taskhub::http::internal {

inline constexpr char kBasePath[] = "/runtime/webhooks/durabletask";

// What every handler shares. Handlers and engine callbacks hold it by shared_ptr.
struct Api {
  engine::Engine* engine = nullptr;
  ManagementApiOptions options;
  api::TranslateOptions translate;
};
using ApiPtr = std::shared_ptr<Api>;

// Checks the bearer token for gRPC method `method` (the same roles as the gRPC API).
// False after answering 401/403.
bool Authorize(const Api& api, const HttpRequest& req, const char* method,
               HttpResponder& responder);

// An error status as an HTTP response: INVALID_ARGUMENT 400, NOT_FOUND 404,
// ALREADY_EXISTS 409, FAILED_PRECONDITION 412, RESOURCE_EXHAUSTED 413 (payload) or
// 503 (store), UNAUTHENTICATED 401, PERMISSION_DENIED 403, UNAVAILABLE 503,
// DEADLINE_EXCEEDED 504, UNIMPLEMENTED 501, else 500.
HttpResponse FromStatus(const absl::Status& st);
// A translate (input validation) error: RESOURCE_EXHAUSTED is 413.
HttpResponse FromTranslateError(const absl::Status& st);

HttpResponse JsonResponse(int status, const nlohmann::ordered_json& j);

// "http://host:port/runtime/webhooks/durabletask" (or the configured public base).
std::string BaseUrl(const Api& api, const HttpRequest& req);
// The URL of the request itself (for Location on a 202 status).
std::string RequestUrl(const Api& api, const HttpRequest& req);

// The management payload (id, statusQueryGetUri, sendEventPostUri, ...).
nlohmann::ordered_json ManagementPayload(const std::string& base, const std::string& id);
// 202 + Location + Retry-After: 10 + the payload (DF's CreateCheckStatusResponse).
HttpResponse CheckStatusResponse(const std::string& base, const std::string& id);

// Parses query parameter `name` with `parse` when present; errors answer 400.
template <typename T, typename Parse>
bool OptionalParam(const HttpRequest& req, const char* name, Parse parse, std::optional<T>* out,
                   HttpResponder& responder) {
  auto v = req.Query(name);
  if (!v) return true;
  auto parsed = parse(name, *v);
  if (!parsed.ok()) {
    responder.Send(HttpResponse::Error(400, parsed.status().message()));
    return false;
  }
  *out = std::move(*parsed);
  return true;
}

// The request body as a JSON payload: nullopt when empty; 400 (answered) when it is
// not JSON. `json_required`: refuse a Content-Type other than application/json.
bool JsonBody(const HttpRequest& req, bool json_required, std::optional<std::string>* out,
              HttpResponder& responder);

void RegisterEntityRoutes(HttpRouter* router, const ApiPtr& api);

}  // namespace taskhub::http::internal

#endif  // TASKHUB_SERVER_HTTP_MANAGEMENT_INTERNAL_H_
