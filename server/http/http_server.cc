// HttpServer on libevent's evhttp (http_server.h). One loop thread owns every
// libevent object; other threads reach it only through LoopState::Run (a queue and an
// eventfd that wakes the loop).
//
// Request lifetime: evhttp keeps an incoming request until it is answered, even when
// its connection dies first (the request is then detached, and answering frees it).
// So every request is answered exactly once on the loop thread: by its responder, or
// with 503 at shutdown. `outstanding` holds the requests not answered yet; a reply
// for a request not in it (already answered at shutdown) is dropped.
#include "server/http/http_server.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "server/common/logging.h"
#include "server/http/url.h"

namespace taskhub::http {
namespace {

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Status";
  }
}

std::string MethodName(evhttp_cmd_type cmd) {
  switch (cmd) {
    case EVHTTP_REQ_GET:
      return "GET";
    case EVHTTP_REQ_POST:
      return "POST";
    case EVHTTP_REQ_HEAD:
      return "HEAD";
    case EVHTTP_REQ_PUT:
      return "PUT";
    case EVHTTP_REQ_DELETE:
      return "DELETE";
    case EVHTTP_REQ_OPTIONS:
      return "OPTIONS";
    case EVHTTP_REQ_PATCH:
      return "PATCH";
    default:
      return "OTHER";
  }
}

bool HasLineBreak(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

// What responders share with the loop; outlives the server (responders may be held
// by engine callbacks after Shutdown()).
class LoopState {
 public:
  // Runs `fn` on the loop thread (at once when called on it); dropped after close.
  void Run(absl::AnyInvocable<void()> fn) {
    if (std::this_thread::get_id() == loop_thread_) {
      if (!closed_on_loop_) fn();
      return;
    }
    absl::MutexLock l(&mu_);
    if (closed_) return;
    queue_.push_back(std::move(fn));
    if (queue_.size() == 1) {
      const uint64_t one = 1;
      if (write(wake_fd_, &one, sizeof(one)) < 0 && errno != EAGAIN) {
        Logger("http")->error("cannot wake the HTTP loop: {}", std::strerror(errno));
      }
    }
  }

  // Loop thread: runs what other threads queued.
  void Drain() {
    uint64_t n;
    while (read(wake_fd_, &n, sizeof(n)) > 0) {
    }
    std::deque<absl::AnyInvocable<void()>> batch;
    {
      absl::MutexLock l(&mu_);
      batch.swap(queue_);
    }
    for (auto& fn : batch) fn();
  }

  // Loop thread: answers `req` unless it has been answered already.
  void Reply(evhttp_request* req, HttpResponse resp) {
    if (outstanding_.erase(req) == 0) return;
    on_disconnect_.erase(req);
    evkeyvalq* out = evhttp_request_get_output_headers(req);
    if (!resp.content_type.empty()) {
      evhttp_add_header(out, "Content-Type", resp.content_type.c_str());
    }
    for (const auto& [name, value] : resp.headers) {
      if (HasLineBreak(name) || HasLineBreak(value)) {
        Logger("http")->error("header {} dropped: it holds a line break", name);
        continue;
      }
      evhttp_add_header(out, name.c_str(), value.c_str());
    }
    evbuffer_add(evhttp_request_get_output_buffer(req), resp.body.data(), resp.body.size());
    evhttp_send_reply(req, resp.status, ReasonPhrase(resp.status), nullptr);
  }

  void Track(evhttp_request* req) { outstanding_.insert(req); }

  // Loop thread: `fn` runs if `req`'s connection closes before its reply.
  void SetOnDisconnect(evhttp_request* req, absl::AnyInvocable<void()> fn) {
    if (!outstanding_.contains(req)) return;
    if (on_disconnect_.empty() && poll_ != nullptr) {
      const timeval every{0, kDisconnectPollMicros};
      evtimer_add(poll_, &every);
    }
    on_disconnect_[req] = std::move(fn);
  }

  // Loop thread. Runs the disconnect callbacks of requests whose client is gone:
  // - from a connection's close callback (`peek` false): libevent has detached the
  //   requests still awaiting their reply (their connection is null; the reply, when
  //   sent, frees them); requests still attached are left to libevent;
  // - every kDisconnectPollMicros while a request has a callback (`peek` true): libevent
  //   does not read a connection whose request awaits its reply, so it does not see the
  //   client go; a peek at the socket does: 0 bytes (FIN) or an error (RST) is a closed
  //   connection. (Bytes waiting, e.g. a TLS close_notify, are left alone: that
  // request ends at its own deadline.)
  void PollDisconnects(bool peek) {
    std::vector<absl::AnyInvocable<void()>> run;
    for (auto it = on_disconnect_.begin(); it != on_disconnect_.end();) {
      evhttp_connection* evcon = evhttp_request_get_connection(it->first);
      bool gone = evcon == nullptr;
      if (!gone && peek) {
        const evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
        char c;
        const ssize_t n = fd < 0 ? -1 : recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        gone = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
      }
      if (gone) {
        run.push_back(std::move(it->second));
        it = on_disconnect_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& fn : run) fn();
    if (!on_disconnect_.empty() && poll_ != nullptr) {
      const timeval every{0, kDisconnectPollMicros};
      evtimer_add(poll_, &every);
    }
  }
  static constexpr int kDisconnectPollMicros = 500'000;
  event* poll_ = nullptr;  // the PollDisconnects timer (set before the loop runs)

  // Loop thread: refuses further Run()s and answers every open request with 503;
  // `flushed` runs once those answers are written (or their connections failed).
  void Close(absl::AnyInvocable<void()> flushed) {
    {
      absl::MutexLock l(&mu_);
      closed_ = true;
    }
    closed_on_loop_ = true;
    flushed_ = std::move(flushed);
    while (!outstanding_.empty()) {
      evhttp_request* req = *outstanding_.begin();
      if (evhttp_request_get_connection(req) != nullptr) {
        ++flushing_;
        evhttp_request_set_on_complete_cb(req, &LoopState::OnFlushed, this);
      }
      Reply(req, HttpResponse::Error(503, "the server is shutting down"));
    }
    if (flushing_ == 0) flushed_();
  }
  bool closed_on_loop() const { return closed_on_loop_; }

  void set_loop_thread(std::thread::id id) { loop_thread_ = id; }
  int wake_fd_ = -1;

 private:
  std::thread::id loop_thread_;  // set before any responder exists
  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  static void OnFlushed(evhttp_request*, void* arg) {
    auto* self = static_cast<LoopState*>(arg);
    if (--self->flushing_ == 0) self->flushed_();
  }

  bool closed_on_loop_ = false;            // loop thread only
  int flushing_ = 0;                       // loop thread only: 503s being written
  absl::AnyInvocable<void()> flushed_;     // loop thread only
  std::set<evhttp_request*> outstanding_;  // loop thread only
  std::map<evhttp_request*, absl::AnyInvocable<void()>> on_disconnect_;  // loop thread only
};

absl::StatusOr<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP listen address '", listen, "' is not HOST:PORT (e.g. 127.0.0.1:8080)"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  uint32_t port = 0;
  if (host.empty() || !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP listen address '", listen, "' is not HOST:PORT (e.g. 127.0.0.1:8080)"));
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

std::string OpenSslError() {
  char buf[256] = {0};
  const unsigned long e = ERR_get_error();  // NOLINT(runtime/int): OpenSSL's type
  if (e == 0) return "unknown error";
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  const HttpRouter* router = nullptr;
  std::shared_ptr<LoopState> state = std::make_shared<LoopState>();
  event_base* base = nullptr;
  evhttp* http = nullptr;
  evhttp_bound_socket* bound = nullptr;
  event* wake = nullptr;
  SSL_CTX* ssl = nullptr;
  int port = 0;
  std::thread thread;
  bool stopped = false;
  std::set<evhttp_connection*> connections;  // loop thread only: those that sent a request

  ~Impl() {
    if (http != nullptr) evhttp_free(http);  // closes connections (OnConnectionClosed)
    if (wake != nullptr) event_free(wake);
    if (state->poll_ != nullptr) event_free(state->poll_);
    state->poll_ = nullptr;
    if (state->wake_fd_ >= 0) close(state->wake_fd_);
    if (base != nullptr) event_base_free(base);
    if (ssl != nullptr) SSL_CTX_free(ssl);
  }

  static void OnWake(evutil_socket_t, short, void* arg) { static_cast<Impl*>(arg)->state->Drain(); }
  static void OnPollDisconnects(evutil_socket_t, short, void* arg) {
    static_cast<Impl*>(arg)->state->PollDisconnects(/*peek=*/true);
  }

  static bufferevent* OnNewTlsConnection(event_base* base, void* arg) {
    auto* self = static_cast<Impl*>(arg);
    return bufferevent_openssl_socket_new(base, -1, SSL_new(self->ssl), BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
  }

  static void OnConnectionClosed(evhttp_connection* evcon, void* arg) {
    auto* self = static_cast<Impl*>(arg);
    self->connections.erase(evcon);
    self->state->PollDisconnects(/*peek=*/false);
  }

  static void OnRequest(evhttp_request* req, void* arg) { static_cast<Impl*>(arg)->Handle(req); }

  void Handle(evhttp_request* req) {
    state->Track(req);
    if (state->closed_on_loop()) {
      state->Reply(req, HttpResponse::Error(503, "the server is shutting down"));
      return;
    }
    evhttp_connection* evcon = evhttp_request_get_connection(req);
    HttpRequest r;
    r.method = MethodName(evhttp_request_get_command(req));
    r.tls = ssl != nullptr;
    if (evcon != nullptr) {
      char* addr = nullptr;
      uint16_t peer_port = 0;
      evhttp_connection_get_peer(evcon, &addr, &peer_port);
      r.peer = absl::StrCat(addr != nullptr ? addr : "?", ":", peer_port);
      if (!connections.contains(evcon)) {
        if (static_cast<int>(connections.size()) >= options.max_connections) {
          Logger("http")->warn("HTTP connection from {} refused: {} connections open", r.peer,
                               connections.size());
          HttpResponse busy = HttpResponse::Error(503, "too many connections; retry later");
          busy.headers.emplace_back("Connection", "close");
          busy.headers.emplace_back("Retry-After", "1");
          state->Reply(req, std::move(busy));
          return;
        }
        connections.insert(evcon);
        evhttp_connection_set_closecb(evcon, &Impl::OnConnectionClosed, this);
      }
    }
    const char* uri = evhttp_request_get_uri(req);
    absl::string_view target = uri != nullptr ? uri : "/";
    if (size_t hash = target.find('#'); hash != absl::string_view::npos) {
      target = target.substr(0, hash);
    }
    absl::string_view query;
    if (size_t q = target.find('?'); q != absl::string_view::npos) {
      query = target.substr(q + 1);
      target = target.substr(0, q);
    }
    r.path = std::string(target);
    auto parsed = ParseQuery(query);
    if (!parsed) {
      state->Reply(req, HttpResponse::Error(400, "bad percent-encoding in the query string"));
      return;
    }
    r.query = std::move(*parsed);
    const evkeyvalq* in = evhttp_request_get_input_headers(req);
    for (const evkeyval* kv = in->tqh_first; kv != nullptr; kv = kv->next.tqe_next) {
      r.headers.emplace(absl::AsciiStrToLower(kv->key), kv->value);  // first one wins
    }
    evbuffer* body = evhttp_request_get_input_buffer(req);
    const size_t len = evbuffer_get_length(body);
    r.body.resize(len);
    if (len > 0) evbuffer_copyout(body, r.body.data(), len);
    HttpResponder responder(
        [state = state, req](HttpResponse resp) {
          state->Run([state, req, resp = std::move(resp)]() mutable {
            state->Reply(req, std::move(resp));
          });
        },
        [state = state, req](absl::AnyInvocable<void()> fn) {
          // Queued like a reply (FIFO), so it never lands after the reply of `req`.
          state->Run([state, req, fn = std::move(fn)]() mutable {
            state->SetOnDisconnect(req, std::move(fn));
          });
        });
    router->Dispatch(std::move(r), std::move(responder));
  }
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              const HttpRouter* router) {
  auto host_port = SplitHostPort(options.listen);
  if (!host_port.ok()) return host_port.status();
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->impl_ = std::make_unique<Impl>();
  Impl& s = *server->impl_;
  s.options = options;
  s.router = router;
  if (!options.tls_cert.empty() || !options.tls_key.empty()) {
    s.ssl = SSL_CTX_new(TLS_server_method());
    if (s.ssl == nullptr) return absl::InternalError("cannot create the TLS context");
    SSL_CTX_set_min_proto_version(s.ssl, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(s.ssl, options.tls_cert.c_str()) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("HTTP TLS: cannot load --tls-cert ",
                                                     options.tls_cert, ": ", OpenSslError()));
    }
    if (SSL_CTX_use_PrivateKey_file(s.ssl, options.tls_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(s.ssl) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("HTTP TLS: cannot load --tls-key ", options.tls_key, ": ", OpenSslError()));
    }
    if (!options.tls_client_ca.empty()) {
      if (SSL_CTX_load_verify_locations(s.ssl, options.tls_client_ca.c_str(), nullptr) != 1) {
        return absl::InvalidArgumentError(absl::StrCat("HTTP TLS: cannot load --tls-client-ca ",
                                                       options.tls_client_ca, ": ",
                                                       OpenSslError()));
      }
      SSL_CTX_set_verify(s.ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
  }
  s.base = event_base_new();
  if (s.base == nullptr) return absl::InternalError("cannot create the HTTP event loop");
  s.http = evhttp_new(s.base);
  if (s.http == nullptr) return absl::InternalError("cannot create the HTTP server");
  evhttp_set_max_headers_size(s.http, static_cast<ev_ssize_t>(options.max_header_bytes));
  evhttp_set_max_body_size(s.http, static_cast<ev_ssize_t>(options.max_body_bytes));
  const int64_t idle_us = absl::ToInt64Microseconds(options.idle_timeout);
  timeval idle{static_cast<time_t>(idle_us / 1000000), static_cast<suseconds_t>(idle_us % 1000000)};
  evhttp_set_timeout_tv(s.http, &idle);
  evhttp_set_allowed_methods(s.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                         EVHTTP_REQ_PATCH);
  evhttp_set_gencb(s.http, &Impl::OnRequest, &s);
  if (s.ssl != nullptr) evhttp_set_bevcb(s.http, &Impl::OnNewTlsConnection, &s);
  evhttp_bound_socket* bound = s.bound =
      evhttp_bind_socket_with_handle(s.http, host_port->first.c_str(), host_port->second);
  if (bound == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen for HTTP on ", options.listen,
        " (address in use or not local?); stop the process using it or choose another address"));
  }
  sockaddr_storage addr{};
  socklen_t addr_len = sizeof(addr);
  if (getsockname(evhttp_bound_socket_get_fd(bound), reinterpret_cast<sockaddr*>(&addr),
                  &addr_len) != 0) {
    return absl::InternalError(absl::StrCat("getsockname: ", std::strerror(errno)));
  }
  s.port = addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                                      : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  s.state->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s.state->wake_fd_ < 0) {
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  s.state->poll_ = evtimer_new(s.base, &Impl::OnPollDisconnects, &s);
  if (s.state->poll_ == nullptr) return absl::InternalError("cannot create the HTTP poll timer");
  s.wake = event_new(s.base, s.state->wake_fd_, EV_READ | EV_PERSIST, &Impl::OnWake, &s);
  if (s.wake == nullptr || event_add(s.wake, nullptr) != 0) {
    return absl::InternalError("cannot register the HTTP loop's wake-up event");
  }
  absl::Notification running;
  s.thread = std::thread([&s, &running] {
    s.state->set_loop_thread(std::this_thread::get_id());
    running.Notify();
    event_base_loop(s.base, EVLOOP_NO_EXIT_ON_EMPTY);
  });
  running.WaitForNotification();
  Logger("http")->info("HTTP{} server listening on {}:{}", s.ssl != nullptr ? "S" : "",
                       host_port->first, s.port);
  return server;
}

HttpServer::~HttpServer() { Shutdown(); }

int HttpServer::port() const { return impl_->port; }

void HttpServer::Shutdown() {
  if (impl_ == nullptr || impl_->stopped) return;
  impl_->stopped = true;
  if (!impl_->thread.joinable()) return;
  Impl* s = impl_.get();
  s->state->Run([s] {
    evhttp_del_accept_socket(s->http, s->bound);
    s->bound = nullptr;
    s->state->Close([s] { event_base_loopbreak(s->base); });
    // A client that does not read its 503 holds the loop at most this long.
    const timeval cap{1, 0};
    event_base_loopexit(s->base, &cap);
  });
  s->thread.join();
  evhttp_free(s->http);  // the loop has stopped: safe from this thread
  s->http = nullptr;
}

}  // namespace taskhub::http
