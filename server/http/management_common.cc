#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/http/management_internal.h"
#include "server/http/url.h"

namespace taskhub::http::internal {

bool Authorize(const Api& api, const HttpRequest& req, const char* method,
               HttpResponder& responder) {
  if (api.options.authorizer == nullptr) return true;
  auto header = req.Header("authorization");
  absl::string_view value = header ? absl::string_view(*header) : absl::string_view();
  absl::Status st = api.options.authorizer->Check(method, header ? &value : nullptr, req.peer);
  if (st.ok()) return true;
  HttpResponse r = FromStatus(st);
  if (r.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  responder.Send(std::move(r));
  return false;
}

HttpResponse FromStatus(const absl::Status& st) {
  int code = 500;
  switch (st.code()) {
    case absl::StatusCode::kInvalidArgument:
      code = 400;
      break;
    case absl::StatusCode::kNotFound:
      code = 404;
      break;
    case absl::StatusCode::kAlreadyExists:
      code = 409;
      break;
    case absl::StatusCode::kFailedPrecondition:
      code = 412;
      break;
    case absl::StatusCode::kResourceExhausted:
      code = 503;
      break;
    case absl::StatusCode::kUnauthenticated:
      code = 401;
      break;
    case absl::StatusCode::kPermissionDenied:
      code = 403;
      break;
    case absl::StatusCode::kUnavailable:
      code = 503;
      break;
    case absl::StatusCode::kDeadlineExceeded:
      code = 504;
      break;
    case absl::StatusCode::kUnimplemented:
      code = 501;
      break;
    default:
      break;
  }
  return HttpResponse::Error(code, st.message());
}

HttpResponse FromTranslateError(const absl::Status& st) {
  if (st.code() == absl::StatusCode::kResourceExhausted) {
    return HttpResponse::Error(413, st.message());
  }
  return FromStatus(st);
}

HttpResponse JsonResponse(int status, const nlohmann::ordered_json& j) {
  return HttpResponse::Json(
      status, j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

namespace {

// A Host header we are willing to echo into URLs.
bool PlausibleHost(const std::string& h) {
  if (h.empty() || h.size() > 255) return false;
  for (char c : h) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '-' && c != ':' && c != '[' && c != ']' &&
        c != '_') {
      return false;
    }
  }
  return true;
}

std::string Origin(const Api& api, const HttpRequest& req) {
  if (!api.options.public_base_url.empty()) {
    std::string b = api.options.public_base_url;
    while (absl::EndsWith(b, "/")) b.pop_back();
    return b;
  }
  std::string host = req.Header("host").value_or("");
  if (!PlausibleHost(host)) host = "localhost";
  return absl::StrCat(req.tls ? "https" : "http", "://", host);
}

}  // namespace

std::string BaseUrl(const Api& api, const HttpRequest& req) { return Origin(api, req) + kBasePath; }

std::string RequestUrl(const Api& api, const HttpRequest& req) {
  std::string url = Origin(api, req) + req.path;
  char sep = '?';
  for (const auto& [k, v] : req.query) {
    absl::StrAppend(&url, std::string(1, sep), PercentEncode(k), "=", PercentEncode(v));
    sep = '&';
  }
  return url;
}

nlohmann::ordered_json ManagementPayload(const std::string& base, const std::string& id) {
  const std::string inst = absl::StrCat(base, "/instances/", PercentEncode(id));
  return {
      {"id", id},
      {"statusQueryGetUri", inst},
      {"sendEventPostUri", inst + "/raiseEvent/{eventName}"},
      {"terminatePostUri", inst + "/terminate?reason={text}"},
      {"rewindPostUri", inst + "/rewind?reason={text}"},
      {"purgeHistoryDeleteUri", inst},
      {"restartPostUri", inst + "/restart"},
      {"suspendPostUri", inst + "/suspend?reason={text}"},
      {"resumePostUri", inst + "/resume?reason={text}"},
  };
}

HttpResponse CheckStatusResponse(const std::string& base, const std::string& id) {
  nlohmann::ordered_json payload = ManagementPayload(base, id);
  HttpResponse r = JsonResponse(202, payload);
  r.headers.emplace_back("Location", payload["statusQueryGetUri"].get<std::string>());
  r.headers.emplace_back("Retry-After", "10");
  return r;
}

bool JsonBody(const HttpRequest& req, bool json_required, std::optional<std::string>* out,
              HttpResponder& responder) {
  if (json_required) {
    std::string type = absl::AsciiStrToLower(req.Header("content-type").value_or(""));
    if (size_t semi = type.find(';'); semi != std::string::npos) type.resize(semi);
    if (absl::StripAsciiWhitespace(type) != "application/json") {
      responder.Send(
          HttpResponse::Error(400, "only application/json request content is supported"));
      return false;
    }
  }
  if (absl::StripAsciiWhitespace(req.body).empty()) {
    out->reset();
    return true;
  }
  nlohmann::ordered_json parsed =
      nlohmann::ordered_json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    responder.Send(HttpResponse::Error(400, "the request body is not valid JSON"));
    return false;
  }
  *out = req.body;
  return true;
}

}  // namespace taskhub::http::internal
