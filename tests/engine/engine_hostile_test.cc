// Hostile input against the engine (memory backend, no gRPC): crafted tokens, ids,
// oversized fields and responses, stale or foreign completions, deep trees. Each
// test reproduces a crash or corruption that existed before its fix.
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/core/history.h"
#include "server/storage/memory/memory_backend.h"
#include "tests/engine/engine_test_support.h"

namespace taskhub::engine {
namespace {

using testing::AwaitOr;
using testing::AwaitStatus;
using testing::RecordingSink;

class EngineHostileTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void TearDown() override {
    if (engine_) engine_->Stop();
  }
  void Open(EngineOptions opts = {}) {
    if (engine_) engine_->Stop();
    engine_.reset();
    opts.abandon_delay = absl::Milliseconds(50);
    auto e = Engine::Create(&backend_, Clock::Real(), IdGenerator::Random(), opts);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(*e);
  }
  absl::StatusOr<std::string> Start(const CreateInstanceRequest& req) {
    return AwaitOr<std::string>([&](auto d) { engine_->StartInstance(req, std::move(d)); });
  }
  absl::StatusOr<std::string> Start(const std::string& id, const std::string& name = "orch") {
    CreateInstanceRequest req;
    req.set_instanceid(id);
    req.set_name(name);
    return Start(req);
  }
  absl::Status Complete(const WorkItem& wi, std::vector<OrchestratorAction> actions) {
    OrchestratorResponse resp;
    resp.set_instanceid(wi.orchestratorrequest().instanceid());
    resp.set_completiontoken(wi.completiontoken());
    for (auto& a : actions) *resp.add_actions() = a;
    return AwaitStatus([&](Done d) { engine_->CompleteOrchestration(resp, std::move(d)); });
  }
  GetInstanceResponse Get(const std::string& id) {
    auto r = AwaitOr<GetInstanceResponse>(
        [&](auto d) { engine_->GetInstance(id, true, std::move(d)); });
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : GetInstanceResponse();
  }

  storage::MemoryBackend backend_;
  std::unique_ptr<Engine> engine_;
};

// Before: std::stoll threw std::out_of_range on a 20-digit number and the uncaught
// exception aborted the daemon.
TEST_F(EngineHostileTest, CraftedContinuationTokensGetInvalidArgument) {
  ASSERT_TRUE(Start("t1").ok());
  for (const std::string token :
       {"c99999999999999999999999/x", "c-99999999999999999999999/x", "c-/x", "c--1/x",
        "c1-2/x", "c/x", "cx", "zzz", "c123"}) {
    InstanceQuery q;
    q.mutable_continuationtoken()->set_value(token);
    auto r = AwaitOr<QueryInstancesResponse>([&](auto d) { engine_->Query(q, std::move(d)); });
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << token;
    ListInstanceIdsRequest l;
    l.mutable_lastinstancekey()->set_value(token);
    auto ids =
        AwaitOr<ListInstanceIdsResponse>([&](auto d) { engine_->ListInstanceIds(l, std::move(d)); });
    EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument) << token;
  }
  EXPECT_TRUE(Get("t1").exists());  // still serving
}

}  // namespace
}  // namespace taskhub::engine
