// RegisterDashboard through the router with a capturing responder: every embedded
// file is served with its content type and ETag, "/" is the index page with the
// Content-Security-Policy, If-None-Match answers 304, unknown files 404.
#include "server/http/dashboard.h"

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "server/http/dashboard_assets.h"

namespace taskhub::http {
namespace {

std::optional<std::string> HeaderOf(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

class DashboardTest : public ::testing::Test {
 protected:
  void SetUp() override { RegisterDashboard(&router_); }

  HttpResponse Get(const std::string& path, std::optional<std::string> if_none_match = {}) {
    HttpRequest req;
    req.method = "GET";
    req.path = path;
    if (if_none_match) req.headers["if-none-match"] = *if_none_match;
    std::optional<HttpResponse> out;
    router_.Dispatch(std::move(req), HttpResponder([&](HttpResponse r) { out = std::move(r); }));
    EXPECT_TRUE(out.has_value()) << path;
    return out.value_or(HttpResponse{});
  }

  HttpRouter router_;
};

TEST_F(DashboardTest, IndexPageAtRootWithCsp) {
  HttpResponse r = Get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("<script type=\"module\" src=\"dashboard/app.js\">"), std::string::npos);
  auto csp = HeaderOf(r, "Content-Security-Policy");
  ASSERT_TRUE(csp.has_value());
  EXPECT_NE(csp->find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(csp->find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-cache");
}

TEST_F(DashboardTest, EveryEmbeddedFileIsServedWhole) {
  ASSERT_GE(dashboard_internal::kEmbeddedFileCount, 5u);
  for (size_t i = 0; i < dashboard_internal::kEmbeddedFileCount; ++i) {
    const auto& f = dashboard_internal::kEmbeddedFiles[i];
    // index.html is the page at "/" (its relative links resolve from there).
    std::string path = f.path;
    HttpResponse r = Get(path == "index.html" ? "/" : "/dashboard/" + path);
    EXPECT_EQ(r.status, 200) << f.path;
    EXPECT_EQ(r.body, std::string(reinterpret_cast<const char*>(f.data), f.size)) << f.path;
    EXPECT_GT(r.body.size(), 100u) << f.path;
    EXPECT_TRUE(HeaderOf(r, "ETag").has_value()) << f.path;
    EXPECT_EQ(HeaderOf(r, "X-Content-Type-Options"), "nosniff") << f.path;
  }
}

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The embedding is byte-exact, and every file of server/http/dashboard/ is embedded
// (a file added there but not to dashboard.cmake's list fails here).
TEST_F(DashboardTest, ServesExactlyTheSourceFiles) {
  std::set<std::string> on_disk;
  for (const auto& entry : std::filesystem::directory_iterator(TASKHUB_DASHBOARD_DIR)) {
    on_disk.insert(entry.path().filename().string());
  }
  std::set<std::string> embedded;
  for (size_t i = 0; i < dashboard_internal::kEmbeddedFileCount; ++i) {
    embedded.insert(dashboard_internal::kEmbeddedFiles[i].path);
  }
  EXPECT_EQ(embedded, on_disk);
  for (const std::string& name : on_disk) {
    HttpResponse r = Get(name == "index.html" ? "/" : "/dashboard/" + name);
    EXPECT_EQ(r.body, ReadFile(std::filesystem::path(TASKHUB_DASHBOARD_DIR) / name)) << name;
  }
}

TEST_F(DashboardTest, ContentTypes) {
  EXPECT_EQ(Get("/dashboard/app.js").content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(Get("/dashboard/style.css").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(Get("/dashboard/favicon.svg").content_type, "image/svg+xml");
}

TEST_F(DashboardTest, ConditionalGetAnswers304) {
  HttpResponse first = Get("/dashboard/app.js");
  auto etag = HeaderOf(first, "ETag");
  ASSERT_TRUE(etag.has_value());
  HttpResponse again = Get("/dashboard/app.js", *etag);
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(Get("/dashboard/app.js", "\"0000000000000000\"").status, 200);
  // Different files, different tags.
  EXPECT_NE(HeaderOf(Get("/dashboard/api.js"), "ETag"), etag);
}

TEST_F(DashboardTest, UnknownFilesAre404AndTheDirectoryRedirects) {
  EXPECT_EQ(Get("/dashboard/nope.js").status, 404);
  EXPECT_EQ(Get("/dashboard/../management_api.h").status, 404);
  HttpResponse r = Get("/dashboard/index.html");
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(HeaderOf(r, "Location"), "/");
}

}  // namespace
}  // namespace taskhub::http
