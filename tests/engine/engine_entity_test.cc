// Durable entities in the real engine (4 partitions, manual scheduling, memory store):
// signals and batches, calls from orchestrations, delayed signals, crash recovery,
// abandon and redelivery, queries, cleaning, purge, and hostile batch results.
//
// Each test names what was broken on purpose (a local edit of the engine) to see it
// fail.
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/engine/engine_entity_support.h"

namespace taskhub::engine {
namespace {
namespace wire = testing::wire;

using testing::CallEntity;
using testing::CompleteAction;
using testing::Drain;
using testing::EntityTest;
using testing::Fail;
using testing::IdIn;
using testing::Ok;
using testing::SignalEntityAction;

// Broken on purpose: PumpEntities not dispatching (return at its top) -> no work item;
// Apply ignoring inbox_removed -> the second batch re-ran "add 1".
TEST_F(EntityTest, SignalsRunInBatchesAndTheStateIsKept) {
  Open();
  const std::string e = "@counter@a";
  ASSERT_TRUE(Signal("@Counter@a", "add", "1").ok());  // the name is case-insensitive
  auto wi = TakeEntity(e);
  ASSERT_TRUE(wi);
  EXPECT_EQ(Ops(*wi), (std::vector<std::string>{"add"}));
  EXPECT_FALSE(wi->entityrequestv2().has_entitystate());
  EXPECT_FALSE(wi->entityrequestv2().executionid().empty());
  // Two more while the batch is in flight: one batch of two after it.
  ASSERT_TRUE(Signal(e, "add", "2").ok());
  ASSERT_TRUE(Signal(e, "add", "3").ok());
  EXPECT_FALSE(TakeEntity(e)) << "a second batch while one is in flight";
  ASSERT_TRUE(RunCounter(*wi).ok());
  auto wi2 = TakeEntity(e);
  ASSERT_TRUE(wi2);
  EXPECT_EQ(Inputs(*wi2), (std::vector<std::string>{"2", "3"}));
  EXPECT_EQ(wi2->entityrequestv2().entitystate().value(), "1");
  ASSERT_TRUE(RunCounter(*wi2).ok());
  EXPECT_EQ(StateOf(e), "6");
  auto md = GetEntity(e);
  ASSERT_TRUE(md);
  EXPECT_EQ(md->backlogqueuesize(), 0);
  EXPECT_FALSE(TakeEntity(e));
  // Entities are not orchestration instances.
  EXPECT_FALSE(Exists(e));
  auto wait = testing::DriveOr<GetInstanceResponse>(*engine_, [&](auto d) {
    engine_->WaitForInstance(e, /*completion=*/true, false, std::move(d));
  });
  EXPECT_EQ(wait.status().code(), absl::StatusCode::kNotFound);
  auto q = testing::DriveOr<QueryInstancesResponse>(
      *engine_, [&](auto d) { wire::Query(*engine_, InstanceQuery(), std::move(d)); });
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->orchestrationstate_size(), 0);
}

// Broken on purpose: Engine::SignalEntity not generating a missing request id -> the
// operation reached the worker without one (the SDKs key results by it).
TEST_F(EntityTest, RequestIdsDeduplicateRetriedSignals) {
  Open();
  const std::string e = "@counter@dedupe";
  ASSERT_TRUE(Signal(e, "add", "1", "req-1").ok());
  ASSERT_TRUE(Signal(e, "add", "1", "req-1").ok());  // a client retry
  ASSERT_TRUE(Signal(e, "add", "10").ok());
  ASSERT_TRUE(Signal(e, "add", "100").ok());
  std::set<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto wi = TakeEntity(e);
    if (!wi) break;
    for (const auto& op : wi->entityrequestv2().operationrequests()) {
      EXPECT_FALSE(op.entityoperationsignaled().requestid().empty());
      ids.insert(op.entityoperationsignaled().requestid());
    }
    ASSERT_TRUE(RunCounter(*wi).ok());
  }
  EXPECT_EQ(StateOf(e), "111");
  EXPECT_EQ(ids.size(), 3u);
}

// Broken on purpose: the work item built with v1 ignored (always V2) -> the V1 test
// found no entityRequest.
TEST_F(EntityTest, V1WorkItemsWhenConfigured) {
  options_.entity_v1 = true;
  Open();
  ASSERT_TRUE(Signal("@counter@v1", "add", "4").ok());
  auto wi = TakeEntity("@counter@v1");
  ASSERT_TRUE(wi);
  ASSERT_TRUE(wi->has_entityrequest());
  ASSERT_EQ(wi->entityrequest().operations_size(), 1);
  EXPECT_EQ(wi->entityrequest().operations(0).operation(), "add");
  ASSERT_TRUE(CompleteBatch(*wi, {Ok()}, "4").ok());
  EXPECT_EQ(StateOf("@counter@v1"), "4");
}

// A call from an orchestration of another partition: the result reaches the caller
// (the entity's completion is a message through the outbox). Broken on purpose:
// Send() not treating a missing entity as "create it" -> no batch for the call.
TEST_F(EntityTest, CallFromAnOrchestrationReturnsTheResult) {
  Open();
  const std::string orch = IdIn(0, "caller"), e = "@counter@" + IdIn(2, "k");
  ASSERT_TRUE(Start(orch).ok());
  auto first = Take(orch);
  ASSERT_TRUE(first);
  ASSERT_TRUE(Complete(*first, {CallEntity(0, orch, e, "add", "call-1", "7")}).ok());
  auto wi = TakeEntity(e);
  ASSERT_TRUE(wi) << "no batch for the call";
  ASSERT_TRUE(RunCounter(*wi).ok());
  WorkItem ep;
  std::vector<HistoryEvent> events = NextEvents(orch, &ep);
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].has_entityoperationcompleted());
  EXPECT_EQ(events[0].entityoperationcompleted().requestid(), "call-1");
  EXPECT_EQ(events[0].entityoperationcompleted().output().value(), "7");
  // A failing operation: the caller gets the failure, the state stays.
  ASSERT_TRUE(Complete(ep, {CallEntity(1, orch, e, "add", "call-2", "1")}).ok());
  wi = TakeEntity(e);
  ASSERT_TRUE(wi);
  ASSERT_TRUE(CompleteBatch(*wi, {Fail("nope")}, "7").ok());
  events = NextEvents(orch, &ep);
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(events[0].has_entityoperationfailed());
  EXPECT_EQ(events[0].entityoperationfailed().failuredetails().errormessage(), "nope");
  EXPECT_EQ(StateOf(e), "7");
  // Signals from the orchestration produce no answer.
  ASSERT_TRUE(
      Complete(ep, {SignalEntityAction(2, e, "add", "sig-1", "3"), CompleteAction(3)}).ok());
  wi = TakeEntity(e);
  ASSERT_TRUE(wi);
  ASSERT_TRUE(RunCounter(*wi).ok());
  EXPECT_EQ(StateOf(e), "10");
  EXPECT_EQ(StatusOf(orch), ORCHESTRATION_STATUS_COMPLETED);
}

// Broken on purpose: Apply() ignoring t.delayed -> the signal never ran; FireTimer not
// delivering TimerRecord.message -> no batch after the clock passed the time.
TEST_F(EntityTest, ScheduledSignalRunsAtItsTimeAndSurvivesARestart) {
  Open();
  const std::string e = "@counter@later";
  ASSERT_TRUE(Signal(e, "add", "5", "", clock_.Now() + absl::Hours(1)).ok());
  EXPECT_FALSE(TakeEntity(e));
  EXPECT_FALSE(GetEntity(e)) << "a delayed signal does not create the entity yet";
  CrashAndRecover();
  clock_.Advance(absl::Minutes(59));
  Drain(*engine_);
  EXPECT_FALSE(TakeEntity(e));
  clock_.Advance(absl::Minutes(1));
  Drain(*engine_);
  auto wi = TakeEntity(e);
  ASSERT_TRUE(wi) << "the delayed signal did not fire";
  ASSERT_TRUE(RunCounter(*wi).ok());
  EXPECT_EQ(StateOf(e), "5");
  CrashAndRecover();
  clock_.Advance(absl::Hours(2));
  Drain(*engine_);
  EXPECT_FALSE(TakeEntity(e)) << "the timer fired twice";
  EXPECT_EQ(StateOf(e), "5");
}

// A crash between dispatch and completion (and one that loses the completion's write)
// re-delivers the batch; it is applied once. Broken on purpose: Recover() not marking
// entities with a queue ready -> nothing redelivered after the restart.
TEST_F(EntityTest, CrashBetweenDispatchAndCompletionRedeliversTheBatchOnce) {
  Open();
  const std::string e = "@counter@crash";
  ASSERT_TRUE(Signal(e, "add", "1").ok());
  ASSERT_TRUE(Signal(e, "add", "2").ok());
  auto wi = TakeEntity(e);
  ASSERT_TRUE(wi);
  CrashAndRecover();
  auto again = TakeEntity(e);
  ASSERT_TRUE(again) << "not redelivered after the restart";
  EXPECT_EQ(Inputs(*again), (std::vector<std::string>{"1", "2"}));
  // The stale delivery's completion is ignored (OK, nothing applied).
  ASSERT_TRUE(CompleteBatch(*wi, {Ok(), Ok()}, "999").ok());
  EXPECT_EQ(StateOf(e), "<none>");
  // The completion is queued but its write is lost in a crash.
  std::optional<absl::Status> st;
  wire::CompleteEntity(*engine_, Result(*again, {Ok("1"), Ok("3")}, "3"),
                       [&](absl::Status s) { st = s; });
  CrashAndRecover();
  auto third = TakeEntity(e);
  ASSERT_TRUE(third);
  ASSERT_TRUE(RunCounter(*third).ok());
  EXPECT_EQ(StateOf(e), "3");
  CrashAndRecover();
  EXPECT_FALSE(TakeEntity(e));
  EXPECT_EQ(StateOf(e), "3");
}

// Broken on purpose: Partition::Abandon ignoring kEntity owners -> the abandoned
// batch was never redelivered.
TEST_F(EntityTest, AbandonAndStreamLossRedeliverTheBatch) {
  Open();
  const std::string e = "@counter@abandon";
  ASSERT_TRUE(Signal(e, "add", "1").ok());
  auto wi = TakeEntity(e);
  ASSERT_TRUE(wi);
  ASSERT_TRUE(testing::DriveStatus(*engine_, [&](Done d) {
                wire::AbandonEntity(*engine_, wi->completiontoken(), std::move(d));
              }).ok());
  clock_.Advance(absl::Minutes(2));  // past the abandon delay
  Drain(*engine_);
  auto again = TakeEntity(e);
  ASSERT_TRUE(again) << "abandoned batch not redelivered";
  // The worker goes away: the batch goes to the next stream.
  engine_->RemoveStream(stream_);
  testing::RecordingSink other;
  uint64_t s2 = wire::AddStream(*engine_, &other, GetWorkItemsRequest());
  Drain(*engine_);
  auto third = other.Next(absl::ZeroDuration());
  ASSERT_TRUE(third && third->has_entityrequestv2()) << "not redelivered on stream loss";
  EXPECT_EQ(Inputs(*third), (std::vector<std::string>{"1"}));
  ASSERT_TRUE(RunCounter(*third).ok());
  EXPECT_EQ(StateOf(e), "1");
  engine_->RemoveStream(s2);
  stream_ = wire::AddStream(*engine_, &sink_, GetWorkItemsRequest());
}

// Broken on purpose: WorkItemFilter::MatchesEntity returning true -> the filtered
// stream got the counter's batch.
TEST_F(EntityTest, WorkItemFiltersAndEntityCapacity) {
  Open();
  engine_->RemoveStream(stream_);
  GetWorkItemsRequest req;
  req.mutable_workitemfilters()->add_entities()->set_name("Other");
  req.set_maxconcurrententityworkitems(1);
  stream_ = wire::AddStream(*engine_, &sink_, req);
  ASSERT_TRUE(Signal("@counter@f", "add", "1").ok());
  ASSERT_TRUE(Signal("@other@1", "add", "1").ok());
  ASSERT_TRUE(Signal("@other@2", "add", "1").ok());
  EXPECT_FALSE(TakeEntity("@counter@f"));
  auto a = TakeEntity("@other@1"), b = TakeEntity("@other@2");
  ASSERT_TRUE(a || b);
  EXPECT_FALSE(a && b) << "maxConcurrentEntityWorkItems=1 but two batches in flight";
  ASSERT_TRUE(RunCounter(a ? *a : *b).ok());
  EXPECT_TRUE(TakeEntity(a ? "@other@2" : "@other@1")) << "the slot was not freed";
}

}  // namespace
}  // namespace taskhub::engine
