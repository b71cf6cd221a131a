// Partitions inside one process (EngineOptions::partitions = 4): every message
// between instances — child starts, parent notifications, sendEvent, terminate
// actions, recursive termination, child rewinds — behaves the same whether the two
// instances share a partition or not (ids chosen with the engine's FNV-1a routing).
// Purges, DeleteTaskHub and Stats span every partition; N=1 and N=4 give the same
// histories. Manual scheduling on a FakeClock: deterministic, no waits.
//
// Each test names what was broken on purpose (a local edit of the engine) to see it
// fail.
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/engine/engine_partition_support.h"

namespace taskhub::engine {
namespace {
namespace wire = testing::wire;

using testing::AllEvents;
using testing::CompleteAction;
using testing::Count;
using testing::DriveOr;
using testing::DriveStatus;
using testing::EventType;
using testing::FailAction;
using testing::IdIn;
using testing::NewTypes;
using testing::PartitionIndex;
using testing::PartitionTest;
using testing::SendEvent;
using testing::SubOrchestration;
using testing::TerminateAction;
using testing::Types;

// Parent and child ids: in different partitions (cross) or in the same one.
struct Ids {
  std::string parent, child;
};
Ids PairOf(bool cross, const std::string& tag) {
  Ids ids{IdIn(0, tag + "-p"), IdIn(cross ? 2 : 0, tag + "-c")};
  EXPECT_EQ(PartitionIndex(ids.parent, 4) != PartitionIndex(ids.child, 4), cross);
  return ids;
}

class PartitionPairTest : public PartitionTest, public ::testing::WithParamInterface<bool> {
 protected:
  bool cross() const { return GetParam(); }
  // After the server rewound it, the parent replays its cleaned history (the child
  // is pending again: no new action).
  void ReplayParent(const std::string& id) {
    auto replay = Take(id);
    ASSERT_TRUE(replay) << "the rewound parent was not run again";
    EXPECT_EQ(NewTypes(*replay), std::vector<std::string>({"orchestratorStarted"}));
    EXPECT_EQ(Count(AllEvents(*replay), "subOrchestrationInstanceFailed"), 0);
    ASSERT_TRUE(Complete(*replay, {}).ok());
  }
};

INSTANTIATE_TEST_SUITE_P(SameAndCross, PartitionPairTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Cross" : "Same"; });

TEST(PartitionRouting, IdsSpreadOverPartitions) {
  // The helper agrees with itself and the chosen ids land where the tests say.
  EXPECT_EQ(PartitionIndex("anything", 1), 0);
  std::vector<int> seen(4);
  for (int k = 0; k < 64; ++k) ++seen[PartitionIndex(absl::StrCat("i", k), 4)];
  for (int n : seen) EXPECT_GT(n, 0);
  EXPECT_EQ(PartitionIndex(IdIn(3, "x"), 4), 3);
}

// Broken on purpose: ApplyMessage's child start returning before CreateLive (the
// outbox message taken and dropped) -> no child episode (Cross only); Outbox() not
// handing the message to the target after the commit -> the same.
TEST_P(PartitionPairTest, ChildStartsRunsAndNotifiesItsParent) {
  Open();
  const Ids ids = PairOf(cross(), "start");
  StartAndRun(ids.parent, {SubOrchestration(1, ids.child, "child", "\"in\"")});
  auto child = Take(ids.child);
  ASSERT_TRUE(child) << "the child was not created";
  EXPECT_EQ(child->orchestratorrequest().newevents(1).executionstarted().input().value(), "\"in\"");
  EXPECT_EQ(child->orchestratorrequest()
                .newevents(1)
                .executionstarted()
                .parentinstance()
                .orchestrationinstance()
                .instanceid(),
            ids.parent);
  ASSERT_TRUE(Complete(*child, {CompleteAction(1, "\"out\"")}).ok());
  auto parent = Take(ids.parent);
  ASSERT_TRUE(parent) << "the parent was not notified";
  const auto& done = parent->orchestratorrequest().newevents(1);
  ASSERT_TRUE(done.has_suborchestrationinstancecompleted()) << EventType(done);
  EXPECT_EQ(done.suborchestrationinstancecompleted().taskscheduledid(), 1);
  EXPECT_EQ(done.suborchestrationinstancecompleted().result().value(), "\"out\"");
  ASSERT_TRUE(Complete(*parent, {CompleteAction(2)}).ok());
  EXPECT_EQ(StatusOf(ids.parent), ORCHESTRATION_STATUS_COMPLETED);
  EXPECT_EQ(StatusOf(ids.child), ORCHESTRATION_STATUS_COMPLETED);
  EXPECT_EQ(Get(ids.child).parentinstanceid().value(), ids.parent);
  EXPECT_EQ(Count(History(ids.child), "executionStarted"), 1);
}

// Broken on purpose: ApplyMessage's `f.live != nullptr` check removed (a child start
// replaces a running instance) -> the parent got no failure (Cross only).
TEST_P(PartitionPairTest, RunningInstanceWithTheChildIdFailsTheChildStart) {
  Open();
  const Ids ids = PairOf(cross(), "exists");
  StartAndRun(ids.child, {});  // running, waiting
  StartAndRun(ids.parent, {SubOrchestration(1, ids.child)});
  auto parent = Take(ids.parent);
  ASSERT_TRUE(parent) << "the parent was not answered";
  const auto& ev = parent->orchestratorrequest().newevents(1);
  ASSERT_TRUE(ev.has_suborchestrationinstancefailed()) << EventType(ev);
  EXPECT_EQ(ev.suborchestrationinstancefailed().taskscheduledid(), 1);
  EXPECT_EQ(ev.suborchestrationinstancefailed().failuredetails().errortype(),
            "OrchestrationAlreadyExists");
  EXPECT_FALSE(Take(ids.child)) << "the running instance was disturbed";
  EXPECT_EQ(StatusOf(ids.child), ORCHESTRATION_STATUS_RUNNING);
  EXPECT_EQ(Count(History(ids.child), "executionStarted"), 1);
  EXPECT_FALSE(Get(ids.child).has_parentinstanceid());
}

// Broken on purpose: `if (f.rec) DeleteStored(...)` removed from ApplyMessage -> the
// old execution's history stayed under the new one.
TEST_P(PartitionPairTest, FinishedInstanceWithTheChildIdIsReplaced) {
  Open();
  const Ids ids = PairOf(cross(), "replace");
  // The old execution's history is longer than the new one's.
  StartAndRun(ids.child, {});
  RaiseEventRequest raise;
  raise.set_instanceid(ids.child);
  raise.set_name("old");
  ASSERT_TRUE(
      DriveStatus(*engine_, [&](Done d) { wire::RaiseEvent(*engine_, raise, std::move(d)); }).ok());
  auto old = Take(ids.child);
  ASSERT_TRUE(old);
  ASSERT_TRUE(Complete(*old, {CompleteAction(1, "\"old\"")}).ok());
  ASSERT_EQ(StatusOf(ids.child), ORCHESTRATION_STATUS_COMPLETED);
  StartAndRun(ids.parent, {SubOrchestration(1, ids.child)});
  auto child = Take(ids.child);
  ASSERT_TRUE(child) << "the finished instance was not replaced";
  ASSERT_TRUE(Complete(*child, {CompleteAction(1, "\"new\"")}).ok());
  auto parent = Take(ids.parent);
  ASSERT_TRUE(parent);
  EXPECT_EQ(parent->orchestratorrequest()
                .newevents(1)
                .suborchestrationinstancecompleted()
                .result()
                .value(),
            "\"new\"");
  const std::vector<HistoryEvent> h = History(ids.child);
  EXPECT_EQ(Count(h, "executionStarted"), 1);
  EXPECT_EQ(Count(h, "executionCompleted"), 1);
  EXPECT_EQ(Count(h, "eventRaised"), 0) << "the old execution's history is still there";
  EXPECT_EQ(Get(ids.child).parentinstanceid().value(), ids.parent);
}

// Broken on purpose: SendToInstance dropping messages to other partitions (return
// when !IsLocal) -> the parent was not answered (Cross only).
TEST_P(PartitionPairTest, ParentIsNotifiedWhenItsChildFails) {
  Open();
  const Ids ids = PairOf(cross(), "fails");
  StartAndRun(ids.parent, {SubOrchestration(1, ids.child)});
  auto child = Take(ids.child);
  ASSERT_TRUE(child);
  ASSERT_TRUE(Complete(*child, {FailAction(1, "child broke")}).ok());
  auto parent = Take(ids.parent);
  ASSERT_TRUE(parent) << "the parent was not notified";
  const auto& ev = parent->orchestratorrequest().newevents(1);
  ASSERT_TRUE(ev.has_suborchestrationinstancefailed()) << EventType(ev);
  EXPECT_EQ(ev.suborchestrationinstancefailed().taskscheduledid(), 1);
  EXPECT_EQ(ev.suborchestrationinstancefailed().failuredetails().errormessage(), "child broke");
}

// Broken on purpose: Outbox() not queuing the message in b.outbox (only the store
// write) -> the event did not reach the target (Cross only; it would only after a
// restart); SendToInstance dropping messages to other partitions -> the same.
TEST_P(PartitionPairTest, SendEventReachesTheTargetOnce) {
  Open();
  const Ids ids = PairOf(cross(), "send");
  StartAndRun(ids.child, {});
  StartAndRun(ids.parent, {SendEvent(1, ids.child, "ping", "\"42\""), CompleteAction(2)});
  auto target = Take(ids.child);
  ASSERT_TRUE(target) << "the event was not delivered";
  const auto& ev = target->orchestratorrequest().newevents(1);
  ASSERT_TRUE(ev.has_eventraised()) << EventType(ev);
  EXPECT_EQ(ev.eventraised().name(), "ping");
  EXPECT_EQ(ev.eventraised().input().value(), "\"42\"");
  ASSERT_TRUE(Complete(*target, {CompleteAction(1)}).ok());
  EXPECT_EQ(Count(History(ids.child), "eventRaised"), 1);
  EXPECT_EQ(Count(History(ids.parent), "eventSent"), 1);
}

// An episode that creates a child and sends it an event in the same response: the
// child gets the event (children are started before the episode's events go out).
// Broken on purpose: CompleteEpisode's outbox with events before child starts -> the
// event was dropped (the child did not exist yet), in both variants.
TEST_P(PartitionPairTest, EventToAChildCreatedInTheSameEpisodeArrives) {
  Open();
  const Ids ids = PairOf(cross(), "kid-ev");
  StartAndRun(ids.parent, {SubOrchestration(1, ids.child), SendEvent(2, ids.child, "hi", "1")});
  auto child = Take(ids.child);
  ASSERT_TRUE(child) << "the child was not started";
  bool got = false;
  for (const auto& ev : child->orchestratorrequest().newevents()) {
    got |= ev.has_eventraised() && ev.eventraised().name() == "hi";
  }
  if (!got) {
    ASSERT_TRUE(Complete(*child, {}).ok());
    auto again = Take(ids.child);
    ASSERT_TRUE(again) << "the event never reached the child";
    for (const auto& ev : again->orchestratorrequest().newevents()) {
      got |= ev.has_eventraised() && ev.eventraised().name() == "hi";
    }
  }
  EXPECT_TRUE(got);
}

// Broken on purpose: ApplyMessage's plain-event branch deleting the inbox item
// instead of adding it to the live inbox -> the target never terminated (Cross only);
// SendToInstance dropping messages to other partitions -> the same.
TEST_P(PartitionPairTest, TerminateActionStopsTheTarget) {
  Open();
  const Ids ids = PairOf(cross(), "term");
  StartAndRun(ids.child, {});
  StartAndRun(ids.parent, {TerminateAction(1, ids.child, false), CompleteAction(2)});
  EXPECT_EQ(StatusOf(ids.child), ORCHESTRATION_STATUS_TERMINATED);
  EXPECT_EQ(StatusOf(ids.parent), ORCHESTRATION_STATUS_COMPLETED);
}

// A tree root -> a -> b over three partitions, terminated recursively by a client.
// Broken on purpose: TerminateNow's recurse loop skipping children of other
// partitions -> the grandchild kept running.
TEST_F(PartitionTest, RecursiveTerminateCrossesPartitions) {
  Open();
  const std::string root = IdIn(0, "rt-root"), a = IdIn(1, "rt-a"), b = IdIn(2, "rt-b"),
                    same = IdIn(0, "rt-same");
  StartAndRun(root, {SubOrchestration(1, a), SubOrchestration(2, same)});
  auto wa = Take(a);
  ASSERT_TRUE(wa);
  ASSERT_TRUE(Complete(*wa, {SubOrchestration(1, b)}).ok());
  auto ws = Take(same);
  ASSERT_TRUE(ws);
  ASSERT_TRUE(Complete(*ws, {}).ok());
  auto wb = Take(b);
  ASSERT_TRUE(wb);
  ASSERT_TRUE(Complete(*wb, {}).ok());
  for (const auto& id : {root, a, b, same}) {
    ASSERT_EQ(StatusOf(id), ORCHESTRATION_STATUS_RUNNING) << id;
  }
  TerminateRequest req;
  req.set_instanceid(root);
  req.set_recursive(true);
  ASSERT_TRUE(DriveStatus(*engine_, [&](Done d) { wire::Terminate(*engine_, req, std::move(d)); }).ok());
  // Each terminated instance is dispatched no more.
  for (const auto& id : {root, a, b, same}) {
    EXPECT_EQ(StatusOf(id), ORCHESTRATION_STATUS_TERMINATED) << id;
  }
  EXPECT_TRUE(TakeAll().empty());
}

// The parent fails because its child failed; rewinding the parent rewinds the child
// (in its own partition), the child runs again and the parent completes.
// Broken on purpose: RewindChildren skipping children of other partitions -> the
// child stayed FAILED (Cross only).
TEST_P(PartitionPairTest, RewindRewindsAFailedChild) {
  Open();
  const Ids ids = PairOf(cross(), "rewind");
  StartAndRun(ids.parent, {SubOrchestration(1, ids.child)});
  auto child = Take(ids.child);
  ASSERT_TRUE(child);
  ASSERT_TRUE(Complete(*child, {FailAction(1)}).ok());
  auto parent = Take(ids.parent);
  ASSERT_TRUE(parent);
  ASSERT_TRUE(Complete(*parent, {FailAction(2, "child failed")}).ok());
  ASSERT_EQ(StatusOf(ids.parent), ORCHESTRATION_STATUS_FAILED);
  ASSERT_EQ(StatusOf(ids.child), ORCHESTRATION_STATUS_FAILED);

  RewindInstanceRequest rw;
  rw.set_instanceid(ids.parent);
  rw.mutable_reason()->set_value("again");
  ASSERT_TRUE(DriveStatus(*engine_, [&](Done d) { wire::Rewind(*engine_, rw, std::move(d)); }).ok());
  // An SDK without rewind support answers the rewind episode as it did before: the
  // server rewinds by itself, and rewinds the failed child.
  auto prw = Take(ids.parent);
  ASSERT_TRUE(prw);
  ASSERT_TRUE(Complete(*prw, {FailAction(2, "child failed")}).ok());
  auto crw = Take(ids.child);
  ASSERT_TRUE(crw) << "the child was not rewound";
  EXPECT_EQ(Count(AllEvents(*crw), "executionRewound"), 1);
  ASSERT_TRUE(Complete(*crw, {FailAction(1)}).ok());  // server-side rewind of the child
  auto again = Take(ids.child);
  ASSERT_TRUE(again) << "the rewound child was not run again";
  ASSERT_TRUE(Complete(*again, {CompleteAction(1, "\"ok\"")}).ok());
  EXPECT_EQ(StatusOf(ids.child), ORCHESTRATION_STATUS_COMPLETED);
  ReplayParent(ids.parent);
  auto pdone = Take(ids.parent);
  ASSERT_TRUE(pdone) << "the parent did not continue";
  EXPECT_EQ(Count(AllEvents(*pdone), "subOrchestrationInstanceCompleted"), 1);
  ASSERT_TRUE(Complete(*pdone, {CompleteAction(2)}).ok());
  EXPECT_EQ(StatusOf(ids.parent), ORCHESTRATION_STATUS_COMPLETED);
  // The child names its parent's new execution.
  EXPECT_EQ(Get(ids.child).parentinstanceid().value(), ids.parent);
}

// As above, with the failed child purged before the rewind: it is created again.
// Broken on purpose: ApplyMessage's rewind branch returning when there is no record
// (instead of RecreateChild) -> no child (Cross only).
TEST_P(PartitionPairTest, RewindRecreatesAPurgedChild) {
  Open();
  const Ids ids = PairOf(cross(), "repurge");
  StartAndRun(ids.parent, {SubOrchestration(1, ids.child, "child", "\"x\"")});
  auto child = Take(ids.child);
  ASSERT_TRUE(child);
  ASSERT_TRUE(Complete(*child, {FailAction(1)}).ok());
  auto parent = Take(ids.parent);
  ASSERT_TRUE(parent);
  ASSERT_TRUE(Complete(*parent, {FailAction(2)}).ok());
  PurgeInstancesRequest purge;
  purge.set_instanceid(ids.child);
  auto purged = DriveOr<PurgeInstancesResponse>(
      *engine_, [&](auto d) { wire::Purge(*engine_, purge, std::move(d)); });
  ASSERT_TRUE(purged.ok()) << purged.status();
  ASSERT_EQ(purged->deletedinstancecount(), 1);
  ASSERT_FALSE(Exists(ids.child));

  RewindInstanceRequest rw;
  rw.set_instanceid(ids.parent);
  ASSERT_TRUE(DriveStatus(*engine_, [&](Done d) { wire::Rewind(*engine_, rw, std::move(d)); }).ok());
  auto prw = Take(ids.parent);
  ASSERT_TRUE(prw);
  ASSERT_TRUE(Complete(*prw, {FailAction(2)}).ok());
  auto recreated = Take(ids.child);
  ASSERT_TRUE(recreated) << "the purged child was not re-created";
  EXPECT_EQ(recreated->orchestratorrequest().newevents(1).executionstarted().input().value(),
            "\"x\"");
  ASSERT_TRUE(Complete(*recreated, {CompleteAction(1, "\"ok\"")}).ok());
  ReplayParent(ids.parent);
  auto pdone = Take(ids.parent);
  ASSERT_TRUE(pdone) << "the parent did not continue";
  EXPECT_EQ(Count(AllEvents(*pdone), "subOrchestrationInstanceCompleted"), 1);
  ASSERT_TRUE(Complete(*pdone, {CompleteAction(2)}).ok());
  EXPECT_EQ(StatusOf(ids.parent), ORCHESTRATION_STATUS_COMPLETED);
  EXPECT_EQ(StatusOf(ids.child), ORCHESTRATION_STATUS_COMPLETED);
}

}  // namespace
}  // namespace taskhub::engine
