// The engine's counters (server/engine/engine_metrics.h) and their Prometheus text
// rendering (server/metrics/collector.h): histogram buckets, the instance gauges kept
// from committed writes and seeded from the store, work items by kind and outcome,
// and the rendered text, on a manual engine over the memory backend and a FakeClock.
#include "server/engine/engine_metrics.h"

#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "server/core/orchestration.h"
#include "server/metrics/collector.h"
#include "server/storage/memory/memory_backend.h"
#include "tests/engine/engine_test_support.h"

namespace taskhub::engine {
namespace {

namespace wire = testing::wire;
using testing::DriveOr;
using testing::DriveEpisode;
using testing::DriveStatus;
using testing::RecordingSink;

// The value of the sample `series` (e.g. `taskhub_waiters` or
// `taskhub_instances{status="running"}`) in `text`; -1 when absent.
double Sample(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, series + " ")) continue;
    double v = 0;
    if (absl::SimpleAtod(line.substr(series.size() + 1), &v)) return v;
  }
  return -1;
}

TEST(FixedHistogram, BucketsHoldValuesUpToTheirBoundInclusive) {
  FixedHistogram h({1, 2, 5});
  for (double v : {0.5, 1.0, 1.5, 2.0, 7.0}) h.Observe(v);
  FixedHistogram::Snapshot s = h.Read();
  ASSERT_EQ(s.counts.size(), 4u);
  EXPECT_EQ(s.counts[0], 2u);  // 0.5, 1.0
  EXPECT_EQ(s.counts[1], 2u);  // 1.5, 2.0
  EXPECT_EQ(s.counts[2], 0u);
  EXPECT_EQ(s.counts[3], 1u);  // 7 (+Inf)
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.sum, 12.0);
}

store::InstanceRecord Rec(const std::string& id, OrchestrationStatus status) {
  store::InstanceRecord r;
  r.set_instance_id(id);
  r.set_status(status);
  return r;
}

TEST(EngineMetrics, InstanceGaugesFollowCommittedRecords) {
  EngineMetrics m;
  storage::IndexedFields running;
  running.status = ORCHESTRATION_STATUS_RUNNING;
  storage::IndexedFields completed;
  completed.status = ORCHESTRATION_STATUS_COMPLETED;
  storage::WriteSet ws;
  ws.ops.push_back(storage::PutInstance{Rec("a", ORCHESTRATION_STATUS_RUNNING), std::nullopt});
  ws.ops.push_back(storage::PutInstance{Rec("b", ORCHESTRATION_STATUS_RUNNING), std::nullopt});
  ws.ops.push_back(storage::PutInstance{Rec("@e@k", ORCHESTRATION_STATUS_RUNNING), std::nullopt});
  m.ApplyCommitted(ws);
  EXPECT_EQ(m.instances[ORCHESTRATION_STATUS_RUNNING].load(), 2);
  EXPECT_EQ(m.entities.load(), 1);
  ws.ops.clear();
  ws.ops.push_back(storage::PutInstance{Rec("a", ORCHESTRATION_STATUS_COMPLETED), running});
  ws.ops.push_back(storage::PutInstance{Rec("@e@k", ORCHESTRATION_STATUS_RUNNING), running});
  m.ApplyCommitted(ws);
  EXPECT_EQ(m.instances[ORCHESTRATION_STATUS_RUNNING].load(), 1);
  EXPECT_EQ(m.instances[ORCHESTRATION_STATUS_COMPLETED].load(), 1);
  EXPECT_EQ(m.entities.load(), 1);  // an update of an entity is not a new one
  ws.ops.clear();
  ws.ops.push_back(storage::DeleteInstance{"a", completed});
  ws.ops.push_back(storage::DeleteInstance{"@e@k", running});
  m.ApplyCommitted(ws);
  EXPECT_EQ(m.instances[ORCHESTRATION_STATUS_COMPLETED].load(), 0);
  EXPECT_EQ(m.entities.load(), 0);
  ws.ops.clear();
  ws.ops.push_back(storage::DeleteEverything{});
  ws.ops.push_back(storage::PutInstance{Rec("c", ORCHESTRATION_STATUS_PENDING), std::nullopt});
  m.ApplyCommitted(ws);
  EXPECT_EQ(m.instances[ORCHESTRATION_STATUS_RUNNING].load(), 0);
  EXPECT_EQ(m.instances[ORCHESTRATION_STATUS_PENDING].load(), 1);
}

class MetricsEngineTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (engine_ == nullptr) return;
    if (stream_ != 0) engine_->RemoveStream(stream_);
    engine_->Stop();
  }
  void Open() {
    EngineOptions opts;
    opts.manual_scheduling = true;
    opts.health_ping_interval = absl::Hours(24 * 365);
    auto e = Engine::Create(&backend_, &clock_, IdGenerator::Random(), opts);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(*e);
    stream_ = wire::AddStream(*engine_, &sink_, GetWorkItemsRequest());
  }
  void Start(const std::string& id) {
    CreateInstanceRequest req;
    req.set_instanceid(id);
    req.set_name("orch");
    auto r = DriveOr<std::string>(
        *engine_, [&](auto d) { wire::StartInstance(*engine_, req, std::move(d)); });
    ASSERT_TRUE(r.ok()) << r.status();
  }
  absl::Status Complete(const WorkItem& wi, std::vector<OrchestratorAction> actions) {
    return DriveEpisode(*engine_, wi, std::move(actions));
  }
  std::string Render() { return metrics::RenderMetrics(engine_.get(), &backend_, true); }

  storage::MemoryBackend backend_;
  FakeClock clock_;
  RecordingSink sink_{absl::ZeroDuration()};
  std::unique_ptr<Engine> engine_;
  uint64_t stream_ = 0;
};

TEST_F(MetricsEngineTest, RendersWorkItemsInstancesAndHistograms) {
  // A finished instance already in the store: the gauges start from the store.
  storage::WriteSet seed;
  seed.ops.push_back(storage::PutInstance{Rec("old", ORCHESTRATION_STATUS_FAILED), std::nullopt});
  ASSERT_TRUE(backend_.Commit(seed).ok());
  Open();
  std::string text = Render();
  EXPECT_EQ(Sample(text, R"(taskhub_instances{status="failed"})"), 1) << text;
  EXPECT_EQ(Sample(text, R"(taskhub_instances{status="running"})"), 0);
  EXPECT_EQ(Sample(text, "taskhub_ready"), 1);
  EXPECT_EQ(Sample(text, "taskhub_worker_streams"), 1);

  Start("a");
  Start("b");
  text = Render();
  EXPECT_EQ(Sample(text, R"(taskhub_instances{status="pending"})"), 2) << text;
  EXPECT_EQ(Sample(text, R"(taskhub_work_items_dispatched_total{kind="orchestration"})"), 2);
  EXPECT_EQ(Sample(text, R"(taskhub_work_items_in_flight{kind="orchestration"})"), 2);

  // "a": completed after 2 s (engine clock); "b": abandoned by the worker.
  std::optional<WorkItem> wa = sink_.Next(), wb = sink_.Next();
  ASSERT_TRUE(wa && wb);
  if (wa->orchestratorrequest().instanceid() != "a") std::swap(wa, wb);
  clock_.Advance(absl::Seconds(2));
  ASSERT_TRUE(Complete(*wa, {testing::CompleteAction(0, "\"done\"")}).ok());
  ASSERT_TRUE(DriveStatus(*engine_, [&](Done d) {
                wire::AbandonOrchestration(*engine_, wb->completiontoken(), std::move(d));
              }).ok());
  text = Render();
  EXPECT_EQ(Sample(text, R"(taskhub_instances{status="completed"})"), 1) << text;
  EXPECT_EQ(Sample(text, R"(taskhub_work_items_completed_total{kind="orchestration"})"), 1);
  EXPECT_EQ(
      Sample(text, R"(taskhub_work_items_abandoned_total{kind="orchestration",reason="worker"})"),
      1);
  // The 2 s episode: not in the le=1 bucket, in le=2.5; count 1, sum 2.
  EXPECT_EQ(
      Sample(text, R"(taskhub_work_item_duration_seconds_bucket{kind="orchestration",le="1"})"), 0);
  EXPECT_EQ(
      Sample(text, R"(taskhub_work_item_duration_seconds_bucket{kind="orchestration",le="2.5"})"),
      1);
  EXPECT_EQ(Sample(text, R"(taskhub_work_item_duration_seconds_count{kind="orchestration"})"), 1);
  EXPECT_EQ(Sample(text, R"(taskhub_work_item_duration_seconds_sum{kind="orchestration"})"), 2);
  EXPECT_GE(Sample(text, "taskhub_commits_total"), 3);
  EXPECT_GE(Sample(text, "taskhub_commit_duration_seconds_count"), 3);
  EXPECT_GE(Sample(text, "taskhub_history_cache_hits_total"), 2);
  EXPECT_EQ(Sample(text, "taskhub_history_cache_misses_total"), 0);
  // Prometheus text: HELP and TYPE lines for each family.
  EXPECT_TRUE(absl::StrContains(text, "# TYPE taskhub_work_items_dispatched_total counter"));
  EXPECT_TRUE(absl::StrContains(text, "# TYPE taskhub_instances gauge"));
  EXPECT_TRUE(absl::StrContains(text, "# TYPE taskhub_commit_duration_seconds histogram"));
  EXPECT_TRUE(absl::StrContains(text, "# HELP taskhub_waiters "));
}

TEST_F(MetricsEngineTest, GaugesAreSeededFromTheStoreAtStartUp) {
  Open();
  Start("x");
  engine_->RemoveStream(stream_);
  stream_ = 0;
  engine_->Stop();
  engine_.reset();
  Open();  // a new engine over the same store
  const std::string text = Render();
  EXPECT_EQ(Sample(text, R"(taskhub_instances{status="pending"})"), 1) << text;
  EXPECT_EQ(Sample(text, "taskhub_live_instances"), 1);
}

}  // namespace
}  // namespace taskhub::engine
