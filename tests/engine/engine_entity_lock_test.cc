// Durable entities in the real engine: critical sections across partitions, lock
// release when the owner ends, CleanEntityStorage, QueryEntities, purge, and hostile
// batch results. Manual scheduling, 4 partitions, memory store.
//
// Each test names what was broken on purpose (a local edit of the engine) to see it
// fail.
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
using testing::IdIn;
using testing::LockAction;
using testing::Ok;
using testing::UnlockAction;

bool Granted(const std::vector<HistoryEvent>& events, const std::string& section) {
  for (const auto& e : events) {
    if (e.has_entitylockgranted() && e.entitylockgranted().criticalsectionid() == section) {
      return true;
    }
  }
  return false;
}

class EntityLockTest : public EntityTest {
 protected:
  void SetUp() override {
    Open();
    // Two entities and two owners, each in its own partition.
    e1_ = "@acct@" + IdIn(1, "a");
    e2_ = "@acct@" + IdIn(2, "b");
    o1_ = IdIn(0, "owner");
    o2_ = IdIn(3, "owner");
  }
  // Starts `owner` and asks for the lock of {e1, e2} in its first episode.
  WorkItem StartLocking(const std::string& owner, const std::string& section) {
    EXPECT_TRUE(Start(owner).ok());
    auto wi = Take(owner);
    EXPECT_TRUE(wi);
    EXPECT_TRUE(Complete(*wi, {LockAction(0, owner, section, {e2_, e1_})}).ok());
    WorkItem next;
    EXPECT_TRUE(Granted(NextEvents(owner, &next), section)) << owner << " not granted";
    return next;
  }
  std::string e1_, e2_, o1_, o2_;
};

// Broken on purpose: Send() dropping kLockGranted for a local owner -> o1 never
// granted (this test and the next failed).
TEST_F(EntityLockTest, LockSetAcrossPartitionsOthersWaitUnlockReleases) {
  WorkItem held = StartLocking(o1_, "cs1");
  EXPECT_EQ(LockOwner(e1_), o1_);
  EXPECT_EQ(LockOwner(e2_), o1_);
  // o2 asks for the same set: it waits.
  ASSERT_TRUE(Start(o2_).ok());
  auto w2 = Take(o2_);
  ASSERT_TRUE(w2);
  ASSERT_TRUE(Complete(*w2, {LockAction(0, o2_, "cs2", {e1_, e2_})}).ok());
  EXPECT_FALSE(Take(o2_)) << "o2 was granted a lock o1 holds";
  // A client signal waits too; o1's call runs inside its critical section.
  ASSERT_TRUE(Signal(e1_, "deposit", "5").ok());
  EXPECT_FALSE(TakeEntity(e1_)) << "a signal ran inside o1's critical section";
  ASSERT_TRUE(Complete(held, {CallEntity(1, o1_, e1_, "deposit", "c1", "10")}).ok());
  auto call = TakeEntity(e1_);
  ASSERT_TRUE(call);
  EXPECT_EQ(Ops(*call), (std::vector<std::string>{"deposit"}));
  EXPECT_EQ(Inputs(*call), (std::vector<std::string>{"10"}));
  ASSERT_TRUE(RunCounter(*call).ok());
  WorkItem ep;
  ASSERT_EQ(NextEvents(o1_, &ep).size(), 1u);
  // o1 unlocks both: o2 gets the lock; the client's signal still waits for o2.
  ASSERT_TRUE(Complete(ep, {UnlockAction(2, o1_, "cs1", e1_), UnlockAction(3, o1_, "cs1", e2_),
                            CompleteAction(4)})
                  .ok());
  WorkItem o2ep;
  EXPECT_TRUE(Granted(NextEvents(o2_, &o2ep), "cs2"));
  EXPECT_EQ(LockOwner(e1_), o2_);
  EXPECT_FALSE(TakeEntity(e1_));
  // o2 completes without unlocking: the server releases its locks.
  ASSERT_TRUE(Complete(o2ep, {CompleteAction(1)}).ok());
  EXPECT_EQ(LockOwner(e1_), "<unlocked>");  // a signal is queued
  EXPECT_EQ(LockOwner(e2_), "<none>");      // left empty: deleted
  auto sig = TakeEntity(e1_);
  ASSERT_TRUE(sig) << "the waiting signal did not run after the locks were released";
  ASSERT_TRUE(RunCounter(*sig).ok());
  EXPECT_EQ(StateOf(e1_), "15");
}

// Broken on purpose: Partition::TerminateNow dropping the transition's outbox (the
// unlock messages the core adds) -> e1 stayed locked by o1.
TEST_F(EntityLockTest, TerminatedOwnerReleasesItsLocks) {
  StartLocking(o1_, "cs1");
  TerminateRequest t;
  t.set_instanceid(o1_);
  ASSERT_TRUE(testing::DriveStatus(*engine_, [&](Done d) {
                wire::Terminate(*engine_, t, std::move(d));
              }).ok());
  Drain(*engine_);
  EXPECT_EQ(StatusOf(o1_), ORCHESTRATION_STATUS_TERMINATED);
  EXPECT_FALSE(GetEntity(e1_)) << "an unlocked entity without state or queue is deleted";
  EXPECT_FALSE(GetEntity(e2_));
  StartLocking(o2_, "cs2");  // grantable again
}

// Orphaned locks (the owner is gone without its unlock) and empty entities are
// cleaned. The store is written directly: a state the engine never makes itself.
// Broken on purpose: CleanEntity ignoring `release` -> 0 locks released.
TEST_F(EntityLockTest, CleanEntityStorageReleasesOrphanedLocksAndRemovesEmpties) {
  Close();
  auto put = [&](const std::string& id, const std::string& owner, bool state) {
    store::InstanceRecord r;
    r.set_instance_id(id);
    r.set_name("acct");
    r.set_status(ORCHESTRATION_STATUS_RUNNING);
    r.set_execution_id("x-" + id);
    *r.mutable_created_time() = core::ToProto(clock_.Now());
    *r.mutable_last_updated_time() = r.created_time();
    r.mutable_entity()->set_locked_by(owner);
    if (!owner.empty()) r.mutable_entity()->set_lock_critical_section("cs-" + owner);
    if (state) r.mutable_entity()->mutable_state()->set_value("1");
    storage::WriteSet ws;
    ws.ops.push_back(storage::PutInstance{r, std::nullopt});
    ASSERT_TRUE(memory_.Commit(ws).ok());
  };
  put("@acct@orphan", "ghost", true);  // lock owner never existed
  put("@acct@empty", "", false);       // nothing at all
  put("@acct@kept", "", true);         // state: kept
  put("@acct@owned", o1_, true);       // owner live: lock kept
  Open();
  ASSERT_TRUE(Start(o1_).ok());
  CleanEntityStorageRequest req;
  req.set_removeemptyentities(true);
  req.set_releaseorphanedlocks(true);
  auto r = testing::DriveOr<CleanEntityStorageResponse>(
      *engine_, [&](auto d) { wire::CleanEntityStorage(*engine_, req, std::move(d)); });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->orphanedlocksreleased(), 1);
  EXPECT_EQ(r->emptyentitiesremoved(), 1);
  EXPECT_FALSE(GetEntity("@acct@orphan")->has_lockedby());
  EXPECT_FALSE(GetEntity("@acct@empty"));
  EXPECT_TRUE(GetEntity("@acct@kept"));
  EXPECT_EQ(GetEntity("@acct@owned")->lockedby().value(), o1_);
}

// Broken on purpose: QueryEntities not applying core::MatchesEntityQuery -> the
// stateless entity listed without include_transient.
TEST_F(EntityLockTest, QueryEntitiesFiltersAndPages) {
  for (int i = 0; i < 5; ++i) {
    const std::string e = "@counter@" + std::to_string(i);
    ASSERT_TRUE(Signal(e, "add", "1").ok());
    auto wi = TakeEntity(e);
    ASSERT_TRUE(wi);
    ASSERT_TRUE(RunCounter(*wi).ok());
  }
  ASSERT_TRUE(Signal("@other@x", "noop").ok());  // queued, no state: transient
  EntityQuery q;
  q.mutable_instanceidstartswith()->set_value("@Counter@");
  q.mutable_pagesize()->set_value(2);
  q.set_includestate(true);
  std::vector<std::string> seen;
  for (int pages = 0; pages < 10; ++pages) {
    auto r = testing::DriveOr<QueryEntitiesResponse>(
        *engine_, [&](auto d) { wire::QueryEntities(*engine_, q, std::move(d)); });
    ASSERT_TRUE(r.ok()) << r.status();
    for (const auto& md : r->entities()) {
      seen.push_back(md.instanceid());
      EXPECT_EQ(md.serializedstate().value(), "1");
    }
    if (!r->has_continuationtoken()) break;
    *q.mutable_continuationtoken() = r->continuationtoken();
  }
  EXPECT_EQ(seen.size(), 5u);
  EntityQuery all;
  auto r = testing::DriveOr<QueryEntitiesResponse>(
      *engine_, [&](auto d) { wire::QueryEntities(*engine_, all, std::move(d)); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->entities_size(), 5) << "transient entity listed";
  all.set_includetransient(true);
  r = testing::DriveOr<QueryEntitiesResponse>(
      *engine_, [&](auto d) { wire::QueryEntities(*engine_, all, std::move(d)); });
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->entities_size(), 6);
  EXPECT_FALSE(r->entities(0).has_serializedstate()) << "state without include_state";
  EXPECT_EQ(r->entities(5).instanceid(), "@other@x");
  EXPECT_EQ(r->entities(5).backlogqueuesize(), 1);
  all.mutable_lastmodifiedfrom()->CopyFrom(core::ToProto(clock_.Now() + absl::Seconds(1)));
  r = testing::DriveOr<QueryEntitiesResponse>(
      *engine_, [&](auto d) { wire::QueryEntities(*engine_, all, std::move(d)); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->entities_size(), 0);
}

// Broken on purpose: DeleteFinished calling core::Purge for entities -> never deleted.
// Found by this test: a delayed signal's timer, still scheduled in memory, fired after
// DeleteTaskHub and re-created the entity (fixed: timers carry the task hub
// generation; removing the check in FireTimer makes this test fail again).
TEST_F(EntityLockTest, PurgeByIdDeletesAnIdleEntityOnly) {
  const std::string e = "@counter@purge";
  ASSERT_TRUE(Signal(e, "add", "1").ok());
  auto purge = [&] {
    PurgeInstancesRequest req;
    req.set_instanceid("@COUNTER@purge");
    auto r = testing::DriveOr<PurgeInstancesResponse>(
        *engine_, [&](auto d) { wire::Purge(*engine_, req, std::move(d)); });
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->deletedinstancecount() : -1;
  };
  EXPECT_EQ(purge(), 0) << "purged with a batch in flight";
  auto wi = TakeEntity(e);
  ASSERT_TRUE(wi);
  ASSERT_TRUE(RunCounter(*wi).ok());
  // A purge by filter never touches entities.
  PurgeInstancesRequest by_filter;
  by_filter.mutable_purgeinstancefilter();
  auto f = testing::DriveOr<PurgeInstancesResponse>(
      *engine_, [&](auto d) { wire::Purge(*engine_, by_filter, std::move(d)); });
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->deletedinstancecount(), 0);
  EXPECT_EQ(purge(), 1);
  EXPECT_FALSE(GetEntity(e));
  CrashAndRecover();
  EXPECT_FALSE(GetEntity(e));
  // DeleteTaskHub deletes entities too, with their queues and delayed signals.
  ASSERT_TRUE(Signal(e, "add", "1").ok());
  ASSERT_TRUE(Signal("@counter@later", "add", "1", "", clock_.Now() + absl::Minutes(1)).ok());
  ASSERT_TRUE(
      testing::DriveStatus(*engine_, [&](Done d) { engine_->DeleteTaskHub(std::move(d)); }).ok());
  EXPECT_FALSE(GetEntity(e));
  clock_.Advance(absl::Minutes(2));  // the delayed signal's timer must not resurrect it
  Drain(*engine_);
  EXPECT_FALSE(GetEntity("@counter@later"));
  CrashAndRecover();
  EXPECT_FALSE(GetEntity(e));
  EXPECT_FALSE(GetEntity("@counter@later"));
}

// Hostile batch results never crash the server and never apply half a batch.
// Broken on purpose: CompleteEntityLocked applying nothing when the reply is an error
// -> the failed batch stayed in flight forever (no second work item).
TEST_F(EntityLockTest, HostileResultsAreRefusedAndTheBatchFails) {
  const std::string orch = IdIn(0, "hostile");
  const std::string e = "@counter@" + IdIn(1, "h");
  ASSERT_TRUE(Start(orch).ok());
  auto first = Take(orch);
  ASSERT_TRUE(first);
  ASSERT_TRUE(Complete(*first, {CallEntity(0, orch, e, "add", "c1", "1")}).ok());
  auto wi = TakeEntity(e);
  ASSERT_TRUE(wi);
  // More results than operations.
  EXPECT_EQ(CompleteBatch(*wi, {Ok("1"), Ok("2")}, "1").code(), absl::StatusCode::kInvalidArgument);
  WorkItem ep;
  std::vector<HistoryEvent> events = NextEvents(orch, &ep);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].has_entityoperationfailed()) << "the call's caller was not told";
  EXPECT_EQ(StateOf(e), "<none>");
  // The token is used: a second completion is stale.
  EXPECT_TRUE(CompleteBatch(*wi, {Ok("1")}, "1").ok());
  EXPECT_EQ(StateOf(e), "<none>");
  // A result with no outcome, a bad action, a huge state: each refused.
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(Signal(e, "add", "1").ok());
    auto w = TakeEntity(e);
    ASSERT_TRUE(w) << "round " << round;
    EntityBatchResult r = Result(*w, {Ok("1")}, "1");
    if (round == 0) r.mutable_results(0)->Clear();
    if (round == 1) {
      auto* a = r.add_actions();
      a->set_id(0);
      a->mutable_sendsignal()->set_instanceid("not-an-entity");
      a->mutable_sendsignal()->set_name("x");
    }
    if (round == 2) r.mutable_entitystate()->set_value(std::string(17 << 20, 'x'));
    absl::Status st = CompleteBatch(r);
    EXPECT_FALSE(st.ok()) << "round " << round;
    EXPECT_EQ(StateOf(e), "<none>") << "round " << round;
  }
  // Still working afterwards.
  ASSERT_TRUE(Signal(e, "add", "2").ok());
  auto w = TakeEntity(e);
  ASSERT_TRUE(w);
  ASSERT_TRUE(RunCounter(*w).ok());
  EXPECT_EQ(StateOf(e), "2");
  // A token of another kind, or none at all, completes nothing.
  EntityBatchResult bogus;
  bogus.set_completiontoken("o0000");
  EXPECT_TRUE(CompleteBatch(bogus).ok());
  EXPECT_EQ(CompleteBatch(EntityBatchResult()).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace taskhub::engine
