// Partitions: what spans every partition — purge by filter, recursive purge of a
// tree over three partitions, DeleteTaskHub, Query and Stats — and N=1 vs N=4 giving
// the same histories for a small deterministic workload. Manual scheduling.
//
// Each test names what was broken on purpose (a local edit of the engine) to see it
// fail.
#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "tests/engine/engine_partition_support.h"

namespace taskhub::engine {
namespace {
namespace wire = testing::wire;

using testing::AllEvents;
using testing::CompleteAction;
using testing::Count;
using testing::Drain;
using testing::DriveOr;
using testing::DriveStatus;
using testing::IdIn;
using testing::PartitionIndex;
using testing::PartitionTest;
using testing::ScheduleTask;
using testing::SendEvent;
using testing::SubOrchestration;
using testing::Types;

class PartitionHubTest : public PartitionTest {
 protected:
  absl::StatusOr<PurgeInstancesResponse> Purge(const PurgeInstancesRequest& req) {
    return DriveOr<PurgeInstancesResponse>(*engine_,
                                           [&](auto d) { wire::Purge(*engine_, req, std::move(d)); });
  }
  // root (partition 0) -> a (1) -> b (2), and root -> c (3); all completed.
  void FinishedTree(const std::string& root, const std::string& a, const std::string& b,
                    const std::string& c) {
    StartAndRun(root, {SubOrchestration(1, a), SubOrchestration(2, c)});
    auto wc = Take(c);
    ASSERT_TRUE(wc);
    ASSERT_TRUE(Complete(*wc, {CompleteAction(1)}).ok());
    auto wa = Take(a);
    ASSERT_TRUE(wa);
    ASSERT_TRUE(Complete(*wa, {SubOrchestration(1, b)}).ok());
    auto wb = Take(b);
    ASSERT_TRUE(wb);
    ASSERT_TRUE(Complete(*wb, {CompleteAction(1)}).ok());
    auto wa2 = Take(a);
    ASSERT_TRUE(wa2);
    ASSERT_TRUE(Complete(*wa2, {CompleteAction(2)}).ok());
    for (int results = 0; results < 2;) {  // one or two episodes, as the results come
      auto wr = Take(root);
      ASSERT_TRUE(wr);
      results = Count(AllEvents(*wr), "subOrchestrationInstanceCompleted");
      ASSERT_TRUE(Complete(*wr, results == 2 ? std::vector{CompleteAction(3)}
                                             : std::vector<OrchestratorAction>{})
                      .ok());
    }
    for (const auto& id : {root, a, b, c}) {
      ASSERT_EQ(StatusOf(id), ORCHESTRATION_STATUS_COMPLETED) << id;
    }
  }
};

// Broken on purpose: Engine::PurgeSlice's Join counting one group only (join->left =
// 1) -> the count and the deletions of the other partitions' groups were lost.
TEST_F(PartitionHubTest, PurgeByFilterCoversEveryPartition) {
  Open();
  std::vector<std::string> done, running;
  for (int p = 0; p < kN; ++p) {
    for (int k = 0; k < 2; ++k) {
      done.push_back(IdIn(p, absl::StrCat("pf-done", k, "-")));
      StartAndRun(done.back(), {CompleteAction(1)});
    }
    running.push_back(IdIn(p, "pf-run"));
    StartAndRun(running.back(), {});
  }
  PurgeInstancesRequest req;
  req.mutable_purgeinstancefilter()->add_runtimestatus(ORCHESTRATION_STATUS_COMPLETED);
  auto r = Purge(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->deletedinstancecount(), static_cast<int>(done.size()));
  EXPECT_TRUE(r->iscomplete().value());
  for (const auto& id : done) EXPECT_FALSE(Exists(id)) << id;
  for (const auto& id : running) EXPECT_EQ(StatusOf(id), ORCHESTRATION_STATUS_RUNNING) << id;
}

// Broken on purpose: as above (join->left = 1; the slice holding a and c has two
// partition groups) -> deletedInstanceCount 3 instead of 4.
TEST_F(PartitionHubTest, RecursivePurgeFollowsChildrenIntoOtherPartitions) {
  Open();
  const std::string root = IdIn(0, "rp-root"), a = IdIn(1, "rp-a"), b = IdIn(2, "rp-b"),
                    c = IdIn(3, "rp-c");
  FinishedTree(root, a, b, c);
  PurgeInstancesRequest req;
  req.set_instanceid(root);
  req.set_recursive(true);
  auto r = Purge(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->deletedinstancecount(), 4);
  for (const auto& id : {root, a, b, c}) EXPECT_FALSE(Exists(id)) << id;
}

// Broken on purpose: PurgeJob::recursive always true -> the children were purged.
TEST_F(PartitionHubTest, NonRecursivePurgeLeavesChildren) {
  Open();
  const std::string root = IdIn(0, "nr-root"), a = IdIn(1, "nr-a"), b = IdIn(2, "nr-b"),
                    c = IdIn(3, "nr-c");
  FinishedTree(root, a, b, c);
  PurgeInstancesRequest req;
  req.set_instanceid(root);
  auto r = Purge(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->deletedinstancecount(), 1);
  for (const auto& id : {a, b, c}) EXPECT_TRUE(Exists(id)) << id;
}

// Broken on purpose: Engine::DeleteTaskHub forgetting partition 0 only (the loop over
// the others removed) -> the instances of partitions 1..3 stayed live: Stats counted
// them and starting the same ids again was ALREADY_EXISTS.
TEST_F(PartitionHubTest, DeleteTaskHubEmptiesEveryPartition) {
  Open();
  std::vector<std::string> ids;
  for (int p = 0; p < kN; ++p) {
    ids.push_back(IdIn(p, "dh"));
    StartAndRun(ids.back(), {ScheduleTask(1)});  // running, with an activity each
  }
  ASSERT_EQ(engine_->Stats().live_instances, ids.size());
  ASSERT_TRUE(DriveStatus(*engine_, [&](Done d) { engine_->DeleteTaskHub(std::move(d)); }).ok());
  TakeAll();  // the activity work items sent before
  EngineStats s = engine_->Stats();
  EXPECT_EQ(s.live_instances, 0u);
  EXPECT_EQ(s.activities, 0u);
  for (const auto& id : ids) EXPECT_FALSE(Exists(id)) << id;
  for (const auto& id : ids) {
    EXPECT_TRUE(Start(id).ok()) << id << " not startable after DeleteTaskHub";
  }
  EXPECT_EQ(engine_->Stats().live_instances, ids.size());
  // Nothing of the old task hub comes back after a restart.
  // (Stats after the restart: see RecoveryDoesNotInventInstancesOrActivities in
  // engine_partition_crash_test.cc.)
  CrashAndRecover();
  for (const auto& id : ids) {
    EXPECT_EQ(StatusOf(id), ORCHESTRATION_STATUS_PENDING) << id;
    EXPECT_EQ(Count(History(id), "taskScheduled"), 0) << id;
  }
  auto stored = memory_.LoadRecoveryState();
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->live_instances.size(), ids.size());
  EXPECT_TRUE(stored->activities.empty());
}

// Broken on purpose: Engine::Stats summing partitions_[0] only -> 2 instead of 8.
TEST_F(PartitionHubTest, StatsAndQuerySumEveryPartition) {
  Open();
  for (int p = 0; p < kN; ++p) {
    for (int k = 0; k < 2; ++k) {
      StartAndRun(IdIn(p, absl::StrCat("st", k, "-")), {ScheduleTask(1)});
    }
  }
  EngineStats s = engine_->Stats();
  EXPECT_EQ(s.live_instances, 8u);
  EXPECT_EQ(s.activities, 8u);
  InstanceQuery q;
  q.mutable_instanceidprefix()->set_value("st");
  q.set_maxinstancecount(100);
  auto r =
      DriveOr<QueryInstancesResponse>(*engine_, [&](auto d) { wire::Query(*engine_, q, std::move(d)); });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->orchestrationstate_size(), 8);
}

// --- N=1 vs N=4 ---------------------------------------------------------------------

// A scripted worker: answers from what the work item shows, like an SDK replaying.
//   parent: children <id>c and <id>d, an event to <id>t, an activity; completes when
//           all three results are in;
//   child:  completes with its input;
//   target: waits for "ping", then completes.
std::vector<OrchestratorAction> Decide(const std::string& id, const WorkItem& wi) {
  const std::vector<HistoryEvent> all = AllEvents(wi);
  std::string name;
  for (const auto& e : all) {
    if (e.has_executionstarted()) name = e.executionstarted().name();
  }
  if (name == "parent") {
    if (Count(all, "subOrchestrationInstanceCreated") == 0) {
      return {SubOrchestration(1, id + "c", "child", "\"c\""),
              SubOrchestration(2, id + "d", "child", "\"d\""), SendEvent(3, id + "t", "ping"),
              ScheduleTask(4)};
    }
    if (Count(all, "subOrchestrationInstanceCompleted") == 2 && Count(all, "taskCompleted") == 1) {
      return {CompleteAction(5, "\"all\"")};
    }
    return {};
  }
  if (name == "child") {
    std::string input;
    for (const auto& e : all) {
      if (e.has_executionstarted()) input = e.executionstarted().input().value();
    }
    return {CompleteAction(1, input)};
  }
  if (Count(all, "eventRaised") > 0) return {CompleteAction(1)};
  return {};
}

using Histories = std::map<std::string, std::vector<std::string>>;

// Broken on purpose: SendToInstance dropping messages to other partitions -> under
// N=4 targets and children in other partitions never completed.
TEST_F(PartitionHubTest, OneAndFourPartitionsGiveTheSameHistories) {
  std::vector<std::string> parents;
  for (int p = 0; p < kN; ++p) parents.push_back(IdIn(p, "eq"));
  auto run = [&](int partitions) {
    Open(partitions);
    for (const auto& p : parents) {
      EXPECT_TRUE(Start(p + "t", "target").ok());
      EXPECT_TRUE(Start(p, "parent").ok());
    }
    // One work item at a time, in id order, each answer drained before the next.
    for (int steps = 0; steps < 1000; ++steps) {
      std::vector<WorkItem> items = TakeAll();
      if (items.empty()) break;
      auto key = [](const WorkItem& w) {
        return w.has_orchestratorrequest()
                   ? std::make_tuple(w.orchestratorrequest().instanceid(), 0)
                   : std::make_tuple(w.activityrequest().orchestrationinstance().instanceid(),
                                     w.activityrequest().taskid());
      };
      std::sort(items.begin(), items.end(),
                [&](const WorkItem& x, const WorkItem& y) { return key(x) < key(y); });
      const WorkItem wi = items.front();
      held_.assign(items.begin() + 1, items.end());
      if (wi.has_orchestratorrequest()) {
        EXPECT_TRUE(Complete(wi, Decide(wi.orchestratorrequest().instanceid(), wi)).ok());
      } else {
        ActivityResponse resp;
        resp.set_instanceid(wi.activityrequest().orchestrationinstance().instanceid());
        resp.set_taskid(wi.activityrequest().taskid());
        resp.set_completiontoken(wi.completiontoken());
        resp.mutable_result()->set_value("\"act\"");
        EXPECT_TRUE(DriveStatus(*engine_, [&](Done d) {
                      wire::CompleteActivity(*engine_, resp, std::move(d));
                    }).ok());
      }
    }
    Histories out;
    for (const auto& p : parents) {
      for (const std::string& id : {p, p + "c", p + "d", p + "t"}) {
        EXPECT_EQ(StatusOf(id), ORCHESTRATION_STATUS_COMPLETED) << id << " N=" << partitions;
        out[id] = Types(History(id));
      }
    }
    EXPECT_TRUE(DriveStatus(*engine_, [&](Done d) { engine_->DeleteTaskHub(std::move(d)); }).ok());
    Close();
    return out;
  };
  // Under N=4 some children and targets share their parent's partition, some do not.
  int cross = 0, same = 0;
  for (const auto& p : parents) {
    for (const std::string& other : {p + "c", p + "d", p + "t"}) {
      (PartitionIndex(p, 4) == PartitionIndex(other, 4) ? same : cross)++;
    }
  }
  ASSERT_GT(cross, 0);
  ASSERT_GT(same, 0);
  const Histories one = run(1), four = run(4);
  ASSERT_EQ(one.size(), four.size());
  for (const auto& [id, types] : one) EXPECT_EQ(types, four.at(id)) << id;
}

}  // namespace
}  // namespace taskhub::engine
