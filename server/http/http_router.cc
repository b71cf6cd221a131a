// HttpRequest, HttpResponse, HttpResponder and HttpRouter (http_server.h): the parts
// of the HTTP server that need no sockets, so the router is unit-tested without one.
#include <algorithm>
#include <set>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "server/common/logging.h"
#include "server/http/http_server.h"
#include "server/http/url.h"

namespace taskhub::http {

std::optional<std::string> HttpRequest::Query(absl::string_view name) const {
  auto it = query.find(std::string(name));
  if (it == query.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> HttpRequest::Header(absl::string_view lower_name) const {
  auto it = headers.find(std::string(lower_name));
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

const std::string& HttpRequest::Param(absl::string_view name) const {
  static const std::string* const kEmpty = new std::string();
  auto it = params.find(std::string(name));
  return it == params.end() ? *kEmpty : it->second;
}

HttpResponse HttpResponse::Error(int status, absl::string_view message) {
  nlohmann::json j = {{"error", std::string(message)}};
  return Json(status, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

HttpResponse HttpResponse::Json(int status, std::string json_text) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(json_text);
  return r;
}

HttpResponder::HttpResponder(Sink sink, DisconnectHook on_disconnect)
    : sink_(std::move(sink)), on_disconnect_(std::move(on_disconnect)) {}

HttpResponder::HttpResponder(HttpResponder&& other) noexcept
    : sink_(std::move(other.sink_)),
      on_disconnect_(std::move(other.on_disconnect_)),
      sent_(other.sent_) {
  other.sink_ = nullptr;
  other.on_disconnect_ = nullptr;
  other.sent_ = true;
}

HttpResponder& HttpResponder::operator=(HttpResponder&& other) noexcept {
  if (this != &other) {
    if (!sent_ && sink_) Send(HttpResponse::Error(500, "internal error: response replaced"));
    sink_ = std::move(other.sink_);
    on_disconnect_ = std::move(other.on_disconnect_);
    sent_ = other.sent_;
    other.sink_ = nullptr;
    other.on_disconnect_ = nullptr;
    other.sent_ = true;
  }
  return *this;
}

HttpResponder::~HttpResponder() {
  if (!sent_ && sink_) {
    Logger("http")->error("a handler dropped its responder without answering (a bug): 500");
    Send(HttpResponse::Error(500, "internal error: the request was not answered"));
  }
}

void HttpResponder::Send(HttpResponse response) {
  if (sent_) {
    Logger("http")->error(
        "a handler answered a request twice (a bug); the second answer is dropped");
    return;
  }
  sent_ = true;
  if (sink_) {
    Sink sink = std::move(sink_);
    sink_ = nullptr;
    sink(std::move(response));
  }
}

bool HttpResponder::sent() const { return sent_; }

void HttpResponder::OnDisconnect(absl::AnyInvocable<void()> fn) {
  if (!sent_ && on_disconnect_) on_disconnect_(std::move(fn));
}

namespace {

constexpr absl::string_view kRestPrefix = "{*";

bool IsParam(const std::string& seg) { return seg.size() >= 2 && seg.front() == '{'; }
bool IsRest(const std::string& seg) { return absl::StartsWith(seg, kRestPrefix); }
std::string ParamName(const std::string& seg) {
  return IsRest(seg) ? seg.substr(2, seg.size() - 3) : seg.substr(1, seg.size() - 2);
}

// "/a/b/" -> {"a", "b"}: a leading and one trailing '/' are ignored; "/" -> {}.
std::vector<std::string> SplitPath(absl::string_view path) {
  if (absl::StartsWith(path, "/")) path.remove_prefix(1);
  if (absl::EndsWith(path, "/")) path.remove_suffix(1);
  if (path.empty()) return {};
  return absl::StrSplit(path, '/');
}

}  // namespace

void HttpRouter::Add(std::string method, std::string pattern, HttpHandler handler) {
  routes_.push_back(Route{std::move(method), SplitPath(pattern), std::move(handler)});
}

void HttpRouter::Dispatch(HttpRequest req, HttpResponder responder) const {
  const std::vector<std::string> segs = SplitPath(req.path);
  // Best route: segment by segment, a literal beats a parameter beats {*rest}.
  const Route* best = nullptr;
  std::vector<int> best_rank;
  std::set<std::string> allowed;  // methods of the routes matching the path
  for (const Route& r : routes_) {
    const bool has_rest = !r.segments.empty() && IsRest(r.segments.back());
    const size_t fixed = has_rest ? r.segments.size() - 1 : r.segments.size();
    if (has_rest ? segs.size() < fixed : segs.size() != fixed) continue;
    std::vector<int> rank;
    bool match = true;
    for (size_t i = 0; i < fixed && match; ++i) {
      const std::string& p = r.segments[i];
      if (IsParam(p)) {
        rank.push_back(1);
      } else if (p == segs[i]) {
        rank.push_back(2);
      } else {
        match = false;
      }
    }
    if (!match) continue;
    if (has_rest) rank.push_back(0);
    allowed.insert(r.method);
    if (r.method == "GET") allowed.insert("HEAD");
    // HEAD is GET without the body (the server sends the headers only).
    if (r.method != req.method && !(req.method == "HEAD" && r.method == "GET")) continue;
    if (best == nullptr || rank > best_rank) {
      best = &r;
      best_rank = std::move(rank);
    }
  }
  if (best == nullptr) {
    if (allowed.empty()) {
      responder.Send(HttpResponse::Error(404, "no such resource: " + req.path));
    } else {
      HttpResponse r =
          HttpResponse::Error(405, "method " + req.method + " not allowed on " + req.path);
      r.headers.emplace_back("Allow", absl::StrJoin(allowed, ", "));
      responder.Send(std::move(r));
    }
    return;
  }
  req.params.clear();
  for (size_t i = 0; i < best->segments.size(); ++i) {
    const std::string& p = best->segments[i];
    if (!IsParam(p)) continue;
    std::optional<std::string> value;
    if (IsRest(p)) {
      std::vector<absl::string_view> rest(segs.begin() + std::min(i, segs.size()), segs.end());
      value = PercentDecode(absl::StrJoin(rest, "/"), /*plus_is_space=*/false);
    } else {
      value = PercentDecode(segs[i], /*plus_is_space=*/false);
    }
    if (!value) {
      responder.Send(HttpResponse::Error(400, "bad percent-encoding in the path: " + req.path));
      return;
    }
    req.params[ParamName(p)] = std::move(*value);
  }
  best->handler(std::move(req), std::move(responder));
}

}  // namespace taskhub::http
