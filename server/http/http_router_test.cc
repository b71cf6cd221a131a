// HttpRouter and HttpResponder without sockets: a capturing responder.
#include <optional>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/http/http_server.h"
#include "server/http/url.h"

namespace taskhub::http {
namespace {

struct Captured {
  std::optional<HttpResponse> response;
  HttpResponder Responder() {
    return HttpResponder([this](HttpResponse r) { response = std::move(r); });
  }
};

HttpRequest Req(std::string method, std::string path) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

// A handler answering "<route>|param=value|..." so tests see which route ran.
HttpHandler Echo(std::string route) {
  return [route](HttpRequest req, HttpResponder resp) {
    std::string body = route;
    for (const auto& [k, v] : req.params) body += "|" + k + "=" + v;
    HttpResponse r;
    r.body = body;
    resp.Send(std::move(r));
  };
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    router_.Add("GET", "/base/instances", Echo("list"));
    router_.Add("DELETE", "/base/instances", Echo("purge"));
    router_.Add("GET", "/base/instances/{id}", Echo("get"));
    router_.Add("POST", "/base/instances/{id}/raiseEvent/{event}", Echo("raise"));
    router_.Add("POST", "/base/instances/{id}/terminate", Echo("terminate"));
    router_.Add("GET", "/base/instances/special", Echo("special"));
    router_.Add("GET", "/files/{*rest}", Echo("files"));
  }
  HttpResponse Run(std::string method, std::string path) {
    Captured c;
    router_.Dispatch(Req(std::move(method), std::move(path)), c.Responder());
    EXPECT_TRUE(c.response.has_value());
    return c.response.value_or(HttpResponse{});
  }
  HttpRouter router_;
};

TEST_F(RouterTest, RoutesOnSegmentsAndDecodesParams) {
  EXPECT_EQ(Run("GET", "/base/instances").body, "list");
  EXPECT_EQ(Run("GET", "/base/instances/").body, "list");
  EXPECT_EQ(Run("DELETE", "/base/instances").body, "purge");
  EXPECT_EQ(Run("GET", "/base/instances/abc").body, "get|id=abc");
  // %2F stays inside the segment: one id "a/b".
  EXPECT_EQ(Run("GET", "/base/instances/a%2Fb").body, "get|id=a/b");
  EXPECT_EQ(Run("GET", "/base/instances/a+b%20c").body, "get|id=a+b c");
  EXPECT_EQ(Run("POST", "/base/instances/i1/raiseEvent/Approval%21").body,
            "raise|event=Approval!|id=i1");
  EXPECT_EQ(Run("POST", "/base/instances/i1/terminate").body, "terminate|id=i1");
}

TEST_F(RouterTest, LiteralBeatsParameter) {
  EXPECT_EQ(Run("GET", "/base/instances/special").body, "special");
  EXPECT_EQ(Run("GET", "/base/instances/specia").body, "get|id=specia");
}

TEST_F(RouterTest, RestTakesTheRemainder) {
  EXPECT_EQ(Run("GET", "/files/a/b%20c/d.js").body, "files|rest=a/b c/d.js");
  EXPECT_EQ(Run("GET", "/files").body, "files|rest=");
}

TEST_F(RouterTest, UnknownPathIs404Json) {
  HttpResponse r = Run("GET", "/nope/instances");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(nlohmann::json::parse(r.body).contains("error"));
  EXPECT_EQ(Run("GET", "/base/instances/a/b").status, 404);
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  HttpResponse r = Run("PUT", "/base/instances");
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Allow");
  EXPECT_EQ(r.headers[0].second, "DELETE, GET, HEAD");
  EXPECT_EQ(Run("GET", "/base/instances/x/terminate").status, 405);
}

TEST_F(RouterTest, BadPercentEncodingInAParamIs400) {
  HttpResponse r = Run("GET", "/base/instances/a%zz");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(nlohmann::json::parse(r.body)["error"].get<std::string>().find("percent"),
            std::string::npos);
  EXPECT_EQ(Run("GET", "/base/instances/a%2").status, 400);
}

TEST(ResponderTest, DroppedResponderAnswers500) {
  Captured c;
  { HttpResponder r = c.Responder(); }
  ASSERT_TRUE(c.response.has_value());
  EXPECT_EQ(c.response->status, 500);
}

TEST(ResponderTest, SendsOnceAndMovesCleanly) {
  Captured c;
  HttpResponder a = c.Responder();
  HttpResponder b = std::move(a);
  EXPECT_TRUE(a.sent());  // a moved-from responder owns nothing
  EXPECT_FALSE(b.sent());
  b.Send(HttpResponse::Json(201, "{}"));
  b.Send(HttpResponse::Json(500, "{}"));  // ignored (logged)
  EXPECT_EQ(c.response->status, 201);
}

TEST(ResponseTest, ErrorIsJsonAndEscaped) {
  HttpResponse r = HttpResponse::Error(400, "bad \"x\"\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "bad \"x\"\n");
  EXPECT_EQ(r.content_type, "application/json; charset=utf-8");
}

TEST(UrlTest, DecodeEncodeAndQuery) {
  EXPECT_EQ(PercentDecode("a%20b+c", true), "a b c");
  EXPECT_EQ(PercentDecode("a%20b+c", false), "a b+c");
  EXPECT_EQ(PercentDecode("%", true), std::nullopt);
  EXPECT_EQ(PercentDecode("%4", true), std::nullopt);
  EXPECT_EQ(PercentDecode("%g0", true), std::nullopt);
  EXPECT_EQ(PercentEncode("a b/c~é"), "a%20b%2Fc~%C3%A9");
  auto q = ParseQuery("a=1&b=x%20y&c&a=2&d=p+q&&e=");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ((*q)["a"], "1");
  EXPECT_EQ((*q)["b"], "x y");
  EXPECT_EQ((*q)["c"], "");
  EXPECT_EQ((*q)["d"], "p q");
  EXPECT_EQ((*q)["e"], "");
  EXPECT_EQ(ParseQuery("a=%zz"), std::nullopt);
}

}  // namespace
}  // namespace taskhub::http
