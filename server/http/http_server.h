// A small HTTP/1.1 server for the management API, the dashboard and /metrics, on
// libevent 2.1's evhttp (Debian libevent-dev): one event-loop thread serves every
// connection; a handler never blocks it. A handler gets the request and a
// HttpResponder, starts engine calls and returns at once; the reply is sent later
// from any thread (the responder marshals it onto the loop thread). A long-poll
// therefore holds a responder and an engine waiter, never a thread.
//
// Contract (binding for the helpers; implementation in http_server.cc):
// - Requests are capped: header bytes (max_header_bytes), body bytes
//   (max_body_bytes -> 413), connections (max_connections), idle time.
// - Paths are routed on their raw segments; each `{param}` is percent-decoded
//   after splitting, so "a%2Fb" is one segment "a/b". `{*rest}` as the last
//   segment takes the remainder (decoded, '/' kept).
// - No route for the path: 404 JSON {"error":"..."}; a route for the path but not
//   the method: 405 with Allow.
// - Query strings are percent-decoded ('+' = space); a repeated key keeps the
//   first value in `query`. Header names are lower-cased.
// - TLS (tls_cert/tls_key set): HTTPS only, as gRPC (OpenSSL via
//   libevent_openssl).
//
// Thread-safety: HttpRouter is built before Start() and then only read.
// HttpServer methods are called from one thread. HttpResponder::Send may be
// called from any thread, exactly once; a responder dropped without Send answers
// 500 (a bug, logged). After Shutdown() a Send is a no-op.
#ifndef TASKHUB_SERVER_HTTP_HTTP_SERVER_H_
#define TASKHUB_SERVER_HTTP_HTTP_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace taskhub::http {

struct HttpRequest {
  std::string method;    // "GET", "POST", "DELETE", ... (upper case)
  std::string path;      // raw path as received, without the query ("/a%2Fb/c")
  std::map<std::string, std::string> query;    // decoded; first value of a repeated key
  std::map<std::string, std::string> headers;  // names lower-cased
  std::map<std::string, std::string> params;   // route parameters, decoded
  std::string body;
  std::string peer;  // "127.0.0.1:51234"
  bool tls = false;  // arrived over HTTPS

  std::optional<std::string> Query(absl::string_view name) const;
  std::optional<std::string> Header(absl::string_view lower_name) const;
  const std::string& Param(absl::string_view name) const;  // "" when absent
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;

  // {"error": message} with `status` (the JSON error shape of every route).
  static HttpResponse Error(int status, absl::string_view message);
  static HttpResponse Json(int status, std::string json_text);
};

// Sends one response. Movable, not copyable. Send from any thread, once.
class HttpResponder {
 public:
  using Sink = absl::AnyInvocable<void(HttpResponse)>;
  // Registers the request's disconnect callback with the server (see OnDisconnect).
  using DisconnectHook = absl::AnyInvocable<void(absl::AnyInvocable<void()>)>;
  HttpResponder() = default;
  explicit HttpResponder(Sink sink, DisconnectHook on_disconnect = nullptr);  // tests: capture
  HttpResponder(HttpResponder&&) noexcept;
  HttpResponder& operator=(HttpResponder&&) noexcept;
  ~HttpResponder();  // 500 if never sent
  void Send(HttpResponse response);
  bool sent() const;
  // Before Send(), on the thread that will send: `fn` runs once, on the loop thread,
  // if the client's connection closes before the response is sent (a long-poll cancels
  // its engine waiter so that it does not live on to its deadline). The response must
  // still be sent (it is dropped then). A later call replaces `fn`; a responder made
  // with a test sink and no hook ignores it.
  void OnDisconnect(absl::AnyInvocable<void()> fn);

 private:
  Sink sink_;
  DisconnectHook on_disconnect_;
  bool sent_ = false;
};

// Handlers run on the loop thread and must not block.
using HttpHandler = std::function<void(HttpRequest, HttpResponder)>;

class HttpRouter {
 public:
  // `pattern`: "/runtime/webhooks/durabletask/instances/{id}/raiseEvent/{event}".
  // A literal segment beats a parameter when both match.
  void Add(std::string method, std::string pattern, HttpHandler handler);
  // Routes `req` (fills req.params) or answers 404/405.
  void Dispatch(HttpRequest req, HttpResponder responder) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    HttpHandler handler;
  };
  std::vector<Route> routes_;
};

struct HttpServerOptions {
  std::string listen = "127.0.0.1:0";  // HOST:PORT; port 0 picks one
  size_t max_body_bytes = 16 << 20;
  size_t max_header_bytes = 64 << 10;
  int max_connections = 1024;
  absl::Duration idle_timeout = absl::Seconds(120);
  std::string tls_cert;  // PEM files; both set = HTTPS
  std::string tls_key;
  std::string tls_client_ca;  // PEM CA(s): require client certificates (mutual TLS)
};

class HttpServer {
 public:
  // Binds, starts the loop thread and returns once accepting. `router` must outlive
  // the server.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           const HttpRouter* router);
  ~HttpServer();  // Shutdown()
  int port() const;
  // Stops accepting, closes connections, joins the loop thread. Idempotent.
  void Shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace taskhub::http

#endif  // TASKHUB_SERVER_HTTP_HTTP_SERVER_H_
