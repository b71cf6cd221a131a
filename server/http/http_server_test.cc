// HttpServer over real sockets (127.0.0.1, port 0) with a tiny blocking client.
#include "server/http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace taskhub::http {
namespace {

struct Reply {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
};

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  const timeval limit{30, 0};  // a broken server fails the test instead of hanging it
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n <= 0) return;  // the server may close early (413)
    off += static_cast<size_t>(n);
  }
}

// Reads one response (Content-Length framed) from `fd`.
Reply ReadReply(int fd) {
  std::string buf;
  char chunk[4096];
  Reply r;
  size_t header_end = std::string::npos;
  size_t want = 0;
  while (true) {
    if (header_end == std::string::npos) {
      header_end = buf.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        r.head = buf.substr(0, header_end);
        absl::SimpleAtoi(r.head.substr(9, 3), &r.status);
        for (absl::string_view line : absl::StrSplit(r.head, "\r\n")) {
          if (absl::StartsWithIgnoreCase(line, "content-length:")) {
            absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(15)), &want);
          }
        }
      }
    }
    if (header_end != std::string::npos && buf.size() >= header_end + 4 + want) {
      r.body = buf.substr(header_end + 4, want);
      return r;
    }
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n <= 0) return r;
    buf.append(chunk, static_cast<size_t>(n));
  }
}

Reply Fetch(int port, const std::string& method, const std::string& target,
            const std::string& body = "", const std::string& extra_headers = "") {
  int fd = Connect(port);
  EXPECT_GE(fd, 0);
  WriteAll(fd, absl::StrCat(method, " ", target, " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n",
                            extra_headers, "Content-Length: ", body.size(), "\r\n\r\n", body));
  Reply r = ReadReply(fd);
  close(fd);
  return r;
}

// Holds responders of requests to /hold until the test releases them.
struct Held {
  absl::Mutex mu;
  std::vector<HttpResponder> responders ABSL_GUARDED_BY(mu);
  void AwaitCount(size_t n) {
    absl::MutexLock l(&mu);
    want = n;
    mu.Await(absl::Condition(this, &Held::Reached));
  }
  bool Reached() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return responders.size() >= want; }
  size_t want ABSL_GUARDED_BY(mu) = 0;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/echo/{x}", [](HttpRequest req, HttpResponder resp) {
      nlohmann::json j = {{"x", req.Param("x")},
                          {"q", req.Query("q").value_or("-")},
                          {"header", req.Header("x-test-header").value_or("-")},
                          {"peer", req.peer},
                          {"method", req.method},
                          {"path", req.path}};
      HttpResponse r = HttpResponse::Json(200, j.dump());
      r.headers.emplace_back("X-Reply", "yes");
      resp.Send(std::move(r));
    });
    router_.Add("POST", "/body", [](HttpRequest req, HttpResponder resp) {
      resp.Send(HttpResponse::Json(202, nlohmann::json({{"size", req.body.size()}}).dump()));
    });
    router_.Add("GET", "/drop", [](HttpRequest, HttpResponder) {});
    router_.Add("GET", "/moved", [](HttpRequest, HttpResponder resp) {
      HttpResponse r;
      r.status = 302;
      r.content_type.clear();  // no body: no Content-Type of ours
      r.headers = {{"Location", "/echo/x"}};
      resp.Send(std::move(r));
    });
    router_.Add("GET", "/hold", [this](HttpRequest, HttpResponder resp) {
      absl::MutexLock l(&held_.mu);
      held_.responders.push_back(std::move(resp));
    });
  }
  void StartServer(HttpServerOptions opt = {}) {
    auto s = HttpServer::Start(opt, &router_);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    ASSERT_GT(server_->port(), 0);
  }
  // Answers every held request from another thread.
  void ReleaseHeld(int status) {
    std::vector<HttpResponder> all;
    {
      absl::MutexLock l(&held_.mu);
      all.swap(held_.responders);
    }
    std::thread([all = std::move(all), status]() mutable {
      for (auto& r : all) r.Send(HttpResponse::Json(status, "{\"released\":true}"));
    }).join();
  }

  HttpRouter router_;
  Held held_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(ServerTest, ServesRoutesWithDecodedParamsQueryAndHeaders) {
  StartServer();
  Reply r = Fetch(server_->port(), "GET", "/echo/a%2Fb?q=x+y%21&q=second", "",
                  "X-Test-Header: hello\r\n");
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_TRUE(absl::StrContains(r.head, "X-Reply: yes"));
  EXPECT_TRUE(absl::StrContains(r.head, "Content-Type: application/json; charset=utf-8"));
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["x"], "a/b");
  EXPECT_EQ(j["q"], "x y!");
  EXPECT_EQ(j["header"], "hello");
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["path"], "/echo/a%2Fb");
  EXPECT_TRUE(absl::StartsWith(j["peer"].get<std::string>(), "127.0.0.1:"));
}

TEST_F(ServerTest, ErrorsAreJson) {
  StartServer();
  Reply r = Fetch(server_->port(), "GET", "/nothing/here");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(nlohmann::json::parse(r.body).contains("error"));
  r = Fetch(server_->port(), "GET", "/echo/x?q=%zz");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(nlohmann::json::parse(r.body).contains("error"));
  r = Fetch(server_->port(), "DELETE", "/echo/x");
  EXPECT_EQ(r.status, 405);
  EXPECT_TRUE(absl::StrContains(r.head, "Allow: GET"));
  r = Fetch(server_->port(), "GET", "/drop");
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(nlohmann::json::parse(r.body).contains("error"));
}

TEST_F(ServerTest, RedirectHasItsReasonPhraseAndNoEmptyHeader) {
  StartServer();
  Reply r = Fetch(server_->port(), "GET", "/moved");
  EXPECT_TRUE(absl::StartsWith(r.head, "HTTP/1.1 302 Found\r\n")) << r.head;
  EXPECT_TRUE(absl::StrContains(r.head, "Location: /echo/x")) << r.head;
  for (absl::string_view line : absl::StrSplit(r.head, "\r\n")) {
    if (absl::StartsWithIgnoreCase(line, "content-type:")) {  // libevent's default, never empty
      EXPECT_FALSE(absl::StripAsciiWhitespace(line.substr(13)).empty()) << r.head;
    }
  }
}

TEST_F(ServerTest, HeadIsGetWithoutTheBody) {
  StartServer();
  Reply r = Fetch(server_->port(), "HEAD", "/echo/x");
  EXPECT_EQ(r.status, 200) << r.head;
  EXPECT_TRUE(absl::StrContains(r.head, "X-Reply: yes")) << r.head;
  EXPECT_TRUE(r.body.empty());
  r = Fetch(server_->port(), "DELETE", "/echo/x");
  EXPECT_TRUE(absl::StrContains(r.head, "Allow: GET, HEAD")) << r.head;
}

TEST_F(ServerTest, BodyOverTheCapIs413AndHeadersOverTheCapAreRefused) {
  HttpServerOptions opt;
  opt.max_body_bytes = 1000;
  opt.max_header_bytes = 2000;
  StartServer(opt);
  EXPECT_EQ(Fetch(server_->port(), "POST", "/body", std::string(1000, 'x')).status, 202);
  EXPECT_EQ(Fetch(server_->port(), "POST", "/body", std::string(1001, 'x')).status, 413);
  Reply r = Fetch(server_->port(), "GET", "/echo/x", "",
                  absl::StrCat("X-Big: ", std::string(4000, 'h'), "\r\n"));
  EXPECT_GE(r.status, 400);
  // The server still serves.
  EXPECT_EQ(Fetch(server_->port(), "GET", "/echo/x").status, 200);
}

// Many requests wait for answers (long-polls) while others are served; the answers
// come later from another thread. No thread is held by a waiting request.
TEST_F(ServerTest, PendingRequestsDoNotBlockOthersAndAreAnsweredFromAnotherThread) {
  StartServer();
  constexpr int kWaiters = 50;
  std::vector<int> fds;
  for (int i = 0; i < kWaiters; ++i) {
    int fd = Connect(server_->port());
    ASSERT_GE(fd, 0);
    WriteAll(fd, "GET /hold HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    fds.push_back(fd);
  }
  held_.AwaitCount(kWaiters);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Fetch(server_->port(), "GET", "/echo/x").status, 200);
  ReleaseHeld(200);
  for (int fd : fds) {
    Reply r = ReadReply(fd);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "{\"released\":true}");
    close(fd);
  }
}

// A long-poll outlives the idle timeout: it is not an idle connection.
TEST_F(ServerTest, PendingRequestOutlivesTheIdleTimeout) {
  HttpServerOptions opt;
  opt.idle_timeout = absl::Milliseconds(200);
  StartServer(opt);
  int fd = Connect(server_->port());
  WriteAll(fd, "GET /hold HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  held_.AwaitCount(1);
  absl::SleepFor(absl::Milliseconds(700));  // more than the idle timeout, on purpose
  ReleaseHeld(200);
  EXPECT_EQ(ReadReply(fd).status, 200);
  close(fd);
}

TEST_F(ServerTest, ConnectionsOverTheCapGet503) {
  HttpServerOptions opt;
  opt.max_connections = 2;
  StartServer(opt);
  // Two kept-alive connections, each after one answered request.
  std::vector<int> open;
  for (int i = 0; i < 2; ++i) {
    int fd = Connect(server_->port());
    WriteAll(fd, "GET /echo/x HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_EQ(ReadReply(fd).status, 200);
    open.push_back(fd);
  }
  Reply r = Fetch(server_->port(), "GET", "/echo/x");
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(nlohmann::json::parse(r.body).contains("error"));
  // A kept-alive connection still serves; closing one frees a slot.
  WriteAll(open[0], "GET /echo/y HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(ReadReply(open[0]).status, 200);
  close(open[0]);
  int status = 0;
  for (int attempt = 0; attempt < 200 && status != 200; ++attempt) {  // the close is async
    status = Fetch(server_->port(), "GET", "/echo/x").status;
    if (status != 200) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(status, 200);
  close(open[1]);
}

TEST_F(ServerTest, ShutdownAnswersPendingRequestsAndLaterSendsAreNoOps) {
  StartServer();
  int fd = Connect(server_->port());
  WriteAll(fd, "GET /hold HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  held_.AwaitCount(1);
  std::thread reader([fd] {
    Reply r = ReadReply(fd);
    EXPECT_EQ(r.status, 503);
  });
  server_->Shutdown();
  reader.join();
  close(fd);
  ReleaseHeld(200);     // after shutdown: dropped, no crash
  server_->Shutdown();  // idempotent
  server_.reset();
}

TEST(ServerStartTest, BadAddressAndPortInUse) {
  HttpRouter router;
  HttpServerOptions opt;
  opt.listen = "no-port";
  EXPECT_FALSE(HttpServer::Start(opt, &router).ok());
  opt.listen = "127.0.0.1:0";
  auto first = HttpServer::Start(opt, &router);
  ASSERT_TRUE(first.ok());
  opt.listen = absl::StrCat("127.0.0.1:", (*first)->port());
  auto second = HttpServer::Start(opt, &router);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  opt.listen = "127.0.0.1:0";
  opt.tls_cert = "/nonexistent/cert.pem";
  opt.tls_key = "/nonexistent/key.pem";
  EXPECT_FALSE(HttpServer::Start(opt, &router).ok());
}

}  // namespace
}  // namespace taskhub::http
