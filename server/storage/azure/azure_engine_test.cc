// The engine over the Azure backend (Azurite): 3-activity "hello-seq" orchestrations
// run to completion, the storage transactions they cost are counted (the issue's
// target: under 10 per orchestration; Durable Task's provider needs about 36), and an
// orchestration cut off mid-way by a restart resumes from what Azure holds.
#include <unistd.h>

#include <atomic>

#include "gtest/gtest.h"
#include "server/common/clock.h"
#include "server/common/ids.h"
#include "server/engine/engine.h"
#include "server/storage/azure/azure_backend.h"
#include "server/storage/azure/testing/azurite.h"
#include "tests/engine/engine_test_support.h"

namespace taskhub::storage {
namespace {
namespace wire = engine::testing::wire;
using engine::testing::AwaitStatus;
using engine::testing::CompleteAction;
using engine::testing::RecordingSink;
using engine::testing::ScheduleTask;


class AzureEngineTest : public ::testing::Test {
 protected:
  AzureEngineTest() : hub_("eng" + std::to_string(getpid())) {}
  void TearDown() override { Close(); }
  void Open() {
    AzureBackendOptions o;
    o.connection_string = azure::testing::SharedAzuriteOrDie()->ConnectionString();
    o.task_hub = hub_;
    o.partition_count = 4;
    o.owner_id = "engine-test";
    auto b = OpenAzureBackend(o);
    ASSERT_TRUE(b.ok()) << b.status();
    backend_ = std::move(*b);
    engine::EngineOptions opts;
    opts.partitions = 4;
    auto e = engine::Engine::Create(backend_.get(), Clock::Real(), IdGenerator::Random(), opts);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(*e);
    sink_ = std::make_unique<RecordingSink>();
    stream_ = wire::AddStream(*engine_, sink_.get(), GetWorkItemsRequest());
  }
  void Close() {
    if (!engine_) return;
    engine_->RemoveStream(stream_);
    engine_->Stop();
    engine_.reset();
    backend_.reset();
  }
  void Start(const std::string& id) {
    CreateInstanceRequest req;
    req.set_instanceid(id);
    req.set_name("hello-seq");
    ASSERT_TRUE(AwaitStatus([&](engine::Done d) {
                  wire::StartInstance(*engine_, req,
                                      [d = std::move(d)](auto r) mutable { d(r.status()); });
                }).ok());
  }
  absl::Status Complete(const WorkItem& wi, std::vector<OrchestratorAction> actions) {
    OrchestratorResponse resp;
    resp.set_instanceid(wi.orchestratorrequest().instanceid());
    resp.set_completiontoken(wi.completiontoken());
    for (auto& a : actions) *resp.add_actions() = a;
    return AwaitStatus(
        [&](engine::Done d) { wire::CompleteOrchestration(*engine_, resp, std::move(d)); });
  }
  absl::Status CompleteActivity(const WorkItem& wi) {
    ActivityResponse ar;
    ar.set_instanceid(wi.activityrequest().orchestrationinstance().instanceid());
    ar.set_taskid(wi.activityrequest().taskid());
    ar.mutable_result()->set_value("\"Hello\"");
    ar.set_completiontoken(wi.completiontoken());
    return AwaitStatus([&](engine::Done d) { wire::CompleteActivity(*engine_, ar, std::move(d)); });
  }
  // Drives the orchestration from its next episode: activities `from`..3, then done.
  void RunToCompletion(int from) {
    for (int step = from; step <= 3; ++step) {
      auto ep = sink_->Next();
      ASSERT_TRUE(ep && ep->has_orchestratorrequest()) << step;
      ASSERT_TRUE(Complete(*ep, {ScheduleTask(step, "SayHello")}).ok());
      auto act = sink_->Next();
      ASSERT_TRUE(act && act->has_activityrequest()) << step;
      ASSERT_TRUE(CompleteActivity(*act).ok());
    }
    auto last = sink_->Next();
    ASSERT_TRUE(last && last->has_orchestratorrequest());
    ASSERT_TRUE(Complete(*last, {CompleteAction(4, "\"done\"")}).ok());
  }
  OrchestrationStatus StatusOf(const std::string& id) {
    std::promise<absl::StatusOr<GetInstanceResponse>> p;
    engine_->GetInstance(id, false, [&](auto r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->orchestrationstate().orchestrationstatus() : ORCHESTRATION_STATUS_PENDING;
  }

  const std::string hub_;
  std::unique_ptr<AzureBackend> backend_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<RecordingSink> sink_;
  uint64_t stream_ = 0;
};

TEST_F(AzureEngineTest, HelloSeqCostsFewTransactionsAndSurvivesARestart) {
  Open();
  const int kRuns = 5;
  const azure::TxCounts before = backend_->Counts();
  for (int i = 0; i < kRuns; ++i) {
    const std::string id = "hello-" + std::to_string(i);
    Start(id);
    RunToCompletion(1);
  }
  const azure::TxCounts after = backend_->Counts();
  const uint64_t renewals = after[azure::TxKind::kBlobLease] - before[azure::TxKind::kBlobLease];
  const double per = static_cast<double>(after.total() - before.total() - renewals) / kRuns;
  azure::TxCounts delta;
  for (int k = 0; k < static_cast<int>(azure::TxKind::kCount); ++k) {
    delta.n[k] = after.n[k] - before.n[k];
  }
  std::printf("storage transactions per hello-seq orchestration: %.1f (%s over %d)\n", per,
              delta.ToString().c_str(), kRuns);
  EXPECT_LT(per, 10.0);
  for (int i = 0; i < kRuns; ++i) {
    EXPECT_EQ(StatusOf("hello-" + std::to_string(i)), ORCHESTRATION_STATUS_COMPLETED);
  }
  // Cut one off after its first activity was scheduled; it resumes after a restart.
  Start("cut");
  auto ep = sink_->Next();
  ASSERT_TRUE(ep && ep->has_orchestratorrequest());
  ASSERT_TRUE(Complete(*ep, {ScheduleTask(1, "SayHello")}).ok());
  Close();
  Open();
  auto act = sink_->Next();
  ASSERT_TRUE(act && act->has_activityrequest()) << "the scheduled activity was lost";
  ASSERT_TRUE(CompleteActivity(*act).ok());
  RunToCompletion(2);
  EXPECT_EQ(StatusOf("cut"), ORCHESTRATION_STATUS_COMPLETED);
  EXPECT_EQ(StatusOf("hello-0"), ORCHESTRATION_STATUS_COMPLETED);
}

// Many orchestrations at once: group commits span partitions (the log path, its
// partitions materialized in parallel); every one completes.
TEST_F(AzureEngineTest, ConcurrentHelloSeqsAllCompleteOverTheLogPath) {
  Open();
  const int kRuns = 24;
  const azure::TxCounts before = backend_->Counts();
  std::atomic<int> pending{0}, failures{0};
  auto done = [&](absl::Status st) {
    if (!st.ok()) ++failures;
    --pending;
  };
  for (int i = 0; i < kRuns; ++i) {
    CreateInstanceRequest req;
    req.set_instanceid("many-" + std::to_string(i));
    req.set_name("hello-seq");
    ++pending;
    wire::StartInstance(*engine_, req, [&](absl::StatusOr<std::string> r) { done(r.status()); });
  }
  int completed = 0;
  while (completed < kRuns) {
    auto wi = sink_->Next();
    ASSERT_TRUE(wi) << "stalled after " << completed << " completions";
    ++pending;
    if (wi->has_activityrequest()) {
      ActivityResponse ar;
      ar.set_instanceid(wi->activityrequest().orchestrationinstance().instanceid());
      ar.set_taskid(wi->activityrequest().taskid());
      ar.mutable_result()->set_value("\"Hello\"");
      ar.set_completiontoken(wi->completiontoken());
      wire::CompleteActivity(*engine_, ar, done);
      continue;
    }
    ASSERT_TRUE(wi->has_orchestratorrequest());
    const auto& req = wi->orchestratorrequest();
    int tasks_done = 0;
    for (const auto& e : req.pastevents()) tasks_done += e.has_taskcompleted();
    for (const auto& e : req.newevents()) tasks_done += e.has_taskcompleted();
    OrchestratorResponse resp;
    resp.set_instanceid(req.instanceid());
    resp.set_completiontoken(wi->completiontoken());
    *resp.add_actions() =
        tasks_done < 3 ? ScheduleTask(tasks_done + 1, "SayHello") : CompleteAction(4, "\"done\"");
    if (tasks_done == 3) ++completed;
    wire::CompleteOrchestration(*engine_, resp, done);
  }
  while (pending > 0) absl::SleepFor(absl::Milliseconds(5));  // callbacks after durability
  EXPECT_EQ(failures, 0);
  for (int i = 0; i < kRuns; ++i) {
    EXPECT_EQ(StatusOf("many-" + std::to_string(i)), ORCHESTRATION_STATUS_COMPLETED) << i;
  }
  const azure::TxCounts after = backend_->Counts();
  std::printf("concurrent: storage transactions per hello-seq orchestration: %.1f\n",
              static_cast<double>(after.total() - before.total() - kRuns) / kRuns);
  // (Not asserted: how commits group depends on timing; the sequential test holds the
  // per-orchestration bound.)
}

}  // namespace
}  // namespace taskhub::storage
