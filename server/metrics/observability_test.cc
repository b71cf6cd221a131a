// The observability routes through a real HttpRouter with a capturing responder:
// /metrics renders the text format, /healthz is always 200, /readyz follows `ready`.
#include "server/metrics/observability.h"

#include <atomic>
#include <fstream>
#include <optional>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "server/storage/memory/memory_backend.h"

namespace taskhub::metrics {
namespace {

class ObservabilityTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(nullptr); }
  void Open(const auth::Authorizer* authorizer) {
    engine::EngineOptions opts;
    opts.manual_scheduling = true;
    auto e = engine::Engine::Create(&backend_, &clock_, IdGenerator::Random(), opts);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(*e);
    router_ = http::HttpRouter();
    RegisterObservabilityRoutes(
        &router_, {engine_.get(), &backend_, [this] { return ready_.load(); }, authorizer, {}});
  }
  void TearDown() override { engine_->Stop(); }
  http::HttpResponse Get(const std::string& path, const std::string& authorization = "") {
    std::optional<http::HttpResponse> got;
    http::HttpRequest req;
    req.method = "GET";
    req.path = path;
    if (!authorization.empty()) req.headers["authorization"] = authorization;
    router_.Dispatch(req, http::HttpResponder([&](http::HttpResponse r) { got = std::move(r); }));
    EXPECT_TRUE(got.has_value()) << path;
    return got.value_or(http::HttpResponse{});
  }

  storage::MemoryBackend backend_;
  FakeClock clock_;
  std::unique_ptr<engine::Engine> engine_;
  http::HttpRouter router_;
  std::atomic<bool> ready_{true};
};

TEST_F(ObservabilityTest, MetricsAreRenderedAsPrometheusText) {
  http::HttpResponse r = Get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_TRUE(absl::StrContains(r.body, "# TYPE taskhub_instances gauge")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "\ntaskhub_ready 1\n")) << r.body;
}

TEST_F(ObservabilityTest, ReadyzFollowsTheStoreAndHealthzStaysUp) {
  EXPECT_EQ(Get("/readyz").status, 200);
  EXPECT_EQ(Get("/healthz").status, 200);
  ready_ = false;
  http::HttpResponse r = Get("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(absl::StrContains(r.body, "\"error\"")) << r.body;
  EXPECT_EQ(Get("/healthz").status, 200);
  EXPECT_TRUE(absl::StrContains(Get("/metrics").body, "\ntaskhub_ready 0\n"));
}

TEST_F(ObservabilityTest, WithTokensMetricsNeedsOneAndTheProbesDoNot) {
  const std::string path = ::testing::TempDir() + "/observability_tokens";
  const std::string token(32, 'w');
  std::ofstream(path) << token << " worker\n";
  auto authorizer = auth::Authorizer::FromFile(path);
  ASSERT_TRUE(authorizer.ok()) << authorizer.status();
  engine_->Stop();
  Open(authorizer->get());
  EXPECT_EQ(Get("/metrics").status, 401);
  EXPECT_EQ(Get("/metrics", "Bearer " + std::string(32, 'x')).status, 401);
  EXPECT_EQ(Get("/metrics", "Bearer " + token).status, 200);
  EXPECT_EQ(Get("/readyz").status, 200);
  EXPECT_EQ(Get("/healthz").status, 200);
}

}  // namespace
}  // namespace taskhub::metrics
