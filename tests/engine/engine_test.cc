// Engine tests without gRPC: the in-memory backend, a recording WorkItemSink, and
// the protocol flow a worker drives (dispatch, complete, abandon, disconnect,
// recovery, commit failure). Time is a FakeClock: it moves only when a test advances
// it (the 5 s waits below bound a hang; a passing test never waits for them).
#include "server/engine/engine.h"

#include <future>

#include "gtest/gtest.h"
#include "server/core/history.h"
#include "server/storage/memory/memory_backend.h"
#include "server/storage/testing/fault_backend.h"
#include "tests/engine/engine_test_support.h"

namespace taskhub::engine {
namespace {

using namespace std::chrono_literals;

// Waits 5 s for a work item by default.
struct RecordingSink : testing::RecordingSink {
  RecordingSink() : testing::RecordingSink(absl::Seconds(5)) {}
};

namespace wire = testing::wire;
using testing::AwaitStatus;
using testing::CompleteAction;
using testing::ScheduleTask;

template <typename T>
T Await(std::function<void(DoneWith<T>)> call) {
  auto r = testing::AwaitOr<T>(std::move(call));
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : T();
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void TearDown() override {
    if (engine_) engine_->Stop();
  }
  void Open(EngineOptions opts = {}) {
    opts.abandon_delay = absl::Milliseconds(50);
    auto e = Engine::Create(&backend_, &clock_, IdGenerator::Random(), opts);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(*e);
  }
  std::string Start(const std::string& id, const std::string& name = "orch") {
    CreateInstanceRequest req;
    req.set_instanceid(id);
    req.set_name(name);
    req.mutable_input()->set_value("\"in\"");
    return Await<std::string>([&](auto d) { wire::StartInstance(*engine_, req, std::move(d)); });
  }
  absl::Status Complete(const WorkItem& wi, std::vector<OrchestratorAction> actions) {
    return testing::CompleteEpisode(*engine_, wi, std::move(actions));
  }
  GetInstanceResponse Get(const std::string& id) {
    return Await<GetInstanceResponse>(
        [&](auto d) { engine_->GetInstance(id, true, std::move(d)); });
  }

  FakeClock clock_;
  storage::MemoryBackend memory_;
  storage::FaultInjectingBackend backend_{&memory_};
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, ActivityRoundTripCompletesAndWakesWaiter) {
  RecordingSink sink;
  const uint64_t stream = wire::AddStream(*engine_, &sink, GetWorkItemsRequest());
  Start("i1");
  std::promise<absl::StatusOr<GetInstanceResponse>> waited;
  engine_->WaitForInstance("i1", true, true, [&](auto r) { waited.set_value(std::move(r)); });

  auto wi = sink.Next();
  ASSERT_TRUE(wi && wi->has_orchestratorrequest());
  const auto& req = wi->orchestratorrequest();
  EXPECT_EQ(req.pastevents_size(), 0);
  ASSERT_EQ(req.newevents_size(), 2);
  EXPECT_TRUE(req.newevents(0).has_orchestratorstarted());
  EXPECT_EQ(req.newevents(1).executionstarted().input().value(), "\"in\"");
  ASSERT_TRUE(Complete(*wi, {ScheduleTask(1, "act")}).ok());

  auto act = sink.Next();
  ASSERT_TRUE(act && act->has_activityrequest());
  EXPECT_EQ(act->activityrequest().taskid(), 1);
  ActivityResponse ar;
  ar.set_instanceid("i1");
  ar.set_taskid(1);
  ar.mutable_result()->set_value("42");
  ar.set_completiontoken(act->completiontoken());
  ASSERT_TRUE(
      AwaitStatus([&](Done d) { wire::CompleteActivity(*engine_, ar, std::move(d)); }).ok());

  auto wi2 = sink.Next();
  ASSERT_TRUE(wi2 && wi2->has_orchestratorrequest());
  EXPECT_EQ(wi2->orchestratorrequest().pastevents_size(), 4);  // OS ES TS OC
  EXPECT_EQ(wi2->orchestratorrequest().pastevents(2).eventid(), 1);
  ASSERT_EQ(wi2->orchestratorrequest().newevents_size(), 2);
  EXPECT_EQ(wi2->orchestratorrequest().newevents(1).taskcompleted().result().value(), "42");
  ASSERT_TRUE(Complete(*wi2, {CompleteAction(2, "\"done\"")}).ok());

  auto r = waited.get_future().get();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->orchestrationstate().orchestrationstatus(), ORCHESTRATION_STATUS_COMPLETED);
  EXPECT_EQ(r->orchestrationstate().output().value(), "\"done\"");
  // A second completion with the same (now stale) token is ignored.
  EXPECT_TRUE(Complete(*wi2, {CompleteAction(2, "\"again\"")}).ok());
  EXPECT_EQ(Get("i1").orchestrationstate().output().value(), "\"done\"");
  engine_->RemoveStream(stream);
}

TEST_F(EngineTest, DisconnectAndAbandonRedeliver) {
  RecordingSink a;
  const uint64_t sa = wire::AddStream(*engine_, &a, GetWorkItemsRequest());
  Start("i2");
  auto first = a.Next();
  ASSERT_TRUE(first);
  RecordingSink b;
  const uint64_t sb = wire::AddStream(*engine_, &b, GetWorkItemsRequest());
  // never two episodes in flight (no wait needed: AddStream dispatches before it returns)
  EXPECT_FALSE(b.Next(absl::ZeroDuration()));
  engine_->RemoveStream(sa);
  auto again = b.Next();
  ASSERT_TRUE(again);
  EXPECT_NE(again->completiontoken(), first->completiontoken());
  // The late completion of the first delivery is ignored.
  EXPECT_TRUE(Complete(*first, {CompleteAction(1, "\"late\"")}).ok());
  EXPECT_EQ(Get("i2").orchestrationstate().orchestrationstatus(), ORCHESTRATION_STATUS_PENDING);
  ASSERT_TRUE(AwaitStatus([&](Done d) {
                wire::AbandonOrchestration(*engine_, again->completiontoken(), std::move(d));
              }).ok());
  // Abandon back-off applied: not redelivered until the clock passes it.
  EXPECT_FALSE(b.Next(absl::ZeroDuration()));
  clock_.Advance(absl::Milliseconds(50));
  auto third = b.Next();
  ASSERT_TRUE(third);
  ASSERT_TRUE(Complete(*third, {CompleteAction(1, "\"ok\"")}).ok());
  EXPECT_EQ(Get("i2").orchestrationstate().output().value(), "\"ok\"");
  engine_->RemoveStream(sb);
}

TEST_F(EngineTest, WorkItemFiltersRouteByName) {
  RecordingSink only_b;
  GetWorkItemsRequest req;
  req.mutable_workitemfilters()->add_orchestrations()->set_name("B");
  const uint64_t s = wire::AddStream(*engine_, &only_b, req);
  Start("fa", "A");
  Start("fb", "B");
  auto wi = only_b.Next();
  ASSERT_TRUE(wi);
  EXPECT_EQ(wi->orchestratorrequest().instanceid(), "fb");
  // No wait needed: work is dispatched before the call that made it ready completes.
  EXPECT_FALSE(only_b.Next(absl::ZeroDuration()));
  engine_->RemoveStream(s);
}

TEST_F(EngineTest, RecoversPendingWorkAfterRestart) {
  Start("r1");
  RaiseEventRequest ev;
  ev.set_instanceid("r1");
  ev.set_name("go");
  ASSERT_TRUE(AwaitStatus([&](Done d) { wire::RaiseEvent(*engine_, ev, std::move(d)); }).ok());
  engine_->Stop();
  engine_.reset();
  Open();
  RecordingSink sink;
  const uint64_t s = wire::AddStream(*engine_, &sink, GetWorkItemsRequest());
  auto wi = sink.Next();
  ASSERT_TRUE(wi);
  ASSERT_EQ(wi->orchestratorrequest().newevents_size(), 3);
  EXPECT_TRUE(wi->orchestratorrequest().newevents(1).has_executionstarted());
  EXPECT_EQ(wi->orchestratorrequest().newevents(2).eventraised().name(), "go");
  engine_->RemoveStream(s);
}

TEST_F(EngineTest, TerminateDropsActivitiesNoWorkerHolds) {
  RecordingSink sink;
  GetWorkItemsRequest req;
  req.set_maxconcurrentactivityworkitems(1);
  const uint64_t s = wire::AddStream(*engine_, &sink, req);
  Start("t1");
  auto wi = sink.Next();
  ASSERT_TRUE(wi && wi->has_orchestratorrequest());
  ASSERT_TRUE(Complete(*wi, {ScheduleTask(1, "a"), ScheduleTask(2, "a"), ScheduleTask(3, "a")}).ok());
  auto held = sink.Next();
  ASSERT_TRUE(held && held->has_activityrequest());
  std::promise<absl::StatusOr<GetInstanceResponse>> done;
  engine_->WaitForInstance("t1", true, false, [&](auto r) { done.set_value(std::move(r)); });
  TerminateRequest term;
  term.set_instanceid("t1");
  ASSERT_TRUE(AwaitStatus([&](Done d) { wire::Terminate(*engine_, term, std::move(d)); }).ok());
  auto r = done.get_future().get();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->orchestrationstate().orchestrationstatus(), ORCHESTRATION_STATUS_TERMINATED);
  // The held activity's completion is accepted and dropped; the other two never run.
  ActivityResponse ar;
  ar.set_instanceid("t1");
  ar.set_taskid(held->activityrequest().taskid());
  ar.set_completiontoken(held->completiontoken());
  EXPECT_TRUE(
      AwaitStatus([&](Done d) { wire::CompleteActivity(*engine_, ar, std::move(d)); }).ok());
  // No wait needed: work is dispatched before the call that made it ready completes.
  EXPECT_FALSE(sink.Next(absl::ZeroDuration()));
  Get("t1");  // everything before is durable now
  auto stored = backend_.LoadRecoveryState();
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->activities.empty());
  engine_->RemoveStream(s);
}

TEST_F(EngineTest, BadInputGetsClearErrors) {
  CreateInstanceRequest req;
  req.set_instanceid("x");
  absl::Status st = AwaitStatus([&](Done d) {
    wire::StartInstance(*engine_, req, [d = std::move(d)](auto r) mutable { d(r.status()); });
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("name"), std::string::npos);
  Start("dup");
  req.set_name("orch");
  req.set_instanceid("dup");
  st = AwaitStatus([&](Done d) {
    wire::StartInstance(*engine_, req, [d = std::move(d)](auto r) mutable { d(r.status()); });
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kAlreadyExists);
  RaiseEventRequest ev;
  ev.set_instanceid("nobody");
  ev.set_name("e");
  EXPECT_EQ(AwaitStatus([&](Done d) { wire::RaiseEvent(*engine_, ev, std::move(d)); }).code(),
            absl::StatusCode::kNotFound);
  OrchestratorResponse resp;
  resp.set_instanceid("nobody");
  resp.set_completiontoken("o-bogus");
  EXPECT_EQ(AwaitStatus([&](Done d) {
              wire::CompleteOrchestration(*engine_, resp, std::move(d));
            }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(Get("nobody").exists());
}

TEST_F(EngineTest, FailedCommitIsStickyAndLosesNothingStored) {
  Start("kept");
  backend_.FailNextCommits(1);
  CreateInstanceRequest req;
  req.set_instanceid("lost");
  req.set_name("orch");
  absl::Status st = AwaitStatus([&](Done d) {
    wire::StartInstance(*engine_, req, [d = std::move(d)](auto r) mutable { d(r.status()); });
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  // Later writes keep failing rather than pretending success.
  req.set_instanceid("later");
  st = AwaitStatus([&](Done d) {
    wire::StartInstance(*engine_, req, [d = std::move(d)](auto r) mutable { d(r.status()); });
  });
  EXPECT_FALSE(st.ok());
  auto kept = backend_.GetInstance("kept");
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_FALSE(backend_.GetInstance("lost")->has_value());
}

}  // namespace
}  // namespace taskhub::engine
