// The dashboard's routes (dashboard.h): the embedded files served with a content
// type, a strong ETag (If-None-Match -> 304), "Cache-Control: no-cache" (the browser
// revalidates, so a new taskhubd is seen at once) and a strict Content-Security-Policy
// (only this origin's scripts, styles and API; no inline code).
#include "server/http/dashboard.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "server/http/dashboard_assets.h"

namespace taskhub::http {
namespace {

constexpr absl::string_view kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

struct Asset {
  absl::string_view body;
  std::string content_type;
  std::string etag;
};

std::string ContentType(absl::string_view path) {
  static const std::pair<absl::string_view, absl::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".json", "application/json; charset=utf-8"},
  };
  for (const auto& [ext, type] : kTypes) {
    if (absl::EndsWith(path, ext)) return std::string(type);
  }
  return "application/octet-stream";
}

// FNV-1a, 64 bits: a content hash for the ETag (not security-relevant).
uint64_t Fnv1a(absl::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Built once, on first use; read-only afterwards.
const std::map<std::string, Asset, std::less<>>& Assets() {
  static const auto* assets = [] {
    auto* m = new std::map<std::string, Asset, std::less<>>();
    for (size_t i = 0; i < dashboard_internal::kEmbeddedFileCount; ++i) {
      const auto& f = dashboard_internal::kEmbeddedFiles[i];
      absl::string_view body(reinterpret_cast<const char*>(f.data), f.size);
      (*m)[f.path] = Asset{body, ContentType(f.path), absl::StrFormat("\"%016x\"", Fnv1a(body))};
    }
    return m;
  }();
  return *assets;
}

HttpResponse Serve(const HttpRequest& req, absl::string_view path) {
  const auto& assets = Assets();
  auto it = assets.find(path);
  if (it == assets.end()) return HttpResponse::Error(404, "no such dashboard file");
  const Asset& a = it->second;
  HttpResponse r;
  r.headers = {{"ETag", a.etag},
               {"Cache-Control", "no-cache"},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"}};
  if (absl::EndsWith(path, ".html")) {
    r.headers.emplace_back("Content-Security-Policy", std::string(kCsp));
    r.headers.emplace_back("X-Frame-Options", "DENY");
  }
  auto inm = req.Header("if-none-match");
  if (inm && absl::StrContains(*inm, a.etag)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  r.status = 200;
  r.content_type = a.content_type;
  r.body = std::string(a.body);
  return r;
}

}  // namespace

void RegisterDashboard(HttpRouter* router) {
  router->Add("GET", "/", [](HttpRequest req, HttpResponder responder) {
    responder.Send(Serve(req, "index.html"));
  });
  router->Add("GET", "/dashboard/{*rest}", [](HttpRequest req, HttpResponder responder) {
    const std::string& rest = req.Param("rest");
    if (rest.empty() || rest == "index.html") {
      // The pages use paths relative to "/": send the browser there.
      HttpResponse r;
      r.status = 302;
      r.content_type.clear();
      r.headers = {{"Location", "/"}};
      responder.Send(std::move(r));
      return;
    }
    responder.Send(Serve(req, rest));
  });
}

}  // namespace taskhub::http
