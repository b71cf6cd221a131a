// Table-driven tests of entity scheduling and critical sections (NextEntityStep), and a
// lock scenario over several entities and orchestrations.
#include "gtest/gtest.h"
#include "server/core/entity.h"
#include "server/core/entity_test_support.h"

namespace taskhub::core {
namespace {

using namespace taskhub::core::testing;  // NOLINT
using SK = EntityStep::Kind;

struct StepCase {
  const char* name;
  const char* locked_by;  // "" = unlocked
  const char* section;
  bool has_state;
  std::vector<HistoryEvent> queue;
  size_t max_batch;
  SK want_kind;
  std::vector<size_t> want_positions;  // kBatch: batch; kServer: inbox_removed
  const char* want_locked_by;          // kServer: the lock afterwards (nullptr: deleted)
  std::vector<std::string> want_targets;  // kServer: outbox targets
};

const std::vector<std::string> kSet = {"@counter@k", "@counter@z"};

TEST(NextEntityStep, Table) {
  const StepCase cases[] = {
      {"empty queue", "", "", true, {}, 100, SK::kIdle, {}, "", {}},
      {"signals and calls batch", "", "", true, {Sig("a"), Call("o", "b"), Sig("c")}, 100,
       SK::kBatch, {0, 1, 2}, "", {}},
      {"batch capped", "", "", true, {Sig("a"), Sig("b"), Sig("c")}, 2, SK::kBatch, {0, 1}, "",
       {}},
      {"max_batch 0 means 1", "", "", true, {Sig("a"), Sig("b")}, 0, SK::kBatch, {0}, "", {}},
      {"batch stops at a lock request", "", "", true,
       {Sig("a"), Lock("o", "c1", kSet), Sig("b")}, 100, SK::kBatch, {0}, "", {}},
      {"batch stops at an unlock", "", "", true, {Sig("a"), Unlock("o", "c1"), Sig("b")}, 100,
       SK::kBatch, {0}, "", {}},
      {"lock taken and forwarded", "", "", true, {Lock("o", "c1", kSet), Sig("b")}, 100,
       SK::kServer, {0}, "o", {"@counter@z"}},
      {"last of the set: granted", "", "", true, {Lock("o", "c1", kSet, 1)}, 100, SK::kServer,
       {0}, "o", {"o"}},
      {"lock request with its unlock queued: cancelled", "", "", true,
       {Lock("o", "c1", kSet), Sig("b"), Unlock("o", "c1")}, 100, SK::kServer, {0, 2}, "", {}},
      {"unlock with its lock request queued: cancelled", "", "", true,
       {Unlock("o", "c1"), Sig("b"), Lock("o", "c1", kSet)}, 100, SK::kServer, {0, 2}, "", {}},
      {"lock request without an owner dropped", "", "", true, {Lock("", "c1", kSet)}, 100,
       SK::kServer, {0}, "", {}},
      {"a forwarded lock request cancelled: the entities before it are unlocked", "", "", true,
       {Unlock("o", "c1"), Lock("o", "c1", kSet, 1)}, 100, SK::kServer, {0, 1}, "",
       {"@counter@k"}},
      {"stray unlock dropped", "", "", true, {Unlock("o", "c1"), Sig("b")}, 100, SK::kServer,
       {0}, "", {}},
      {"stray unlock at an empty entity: deleted", "", "", false, {Unlock("o", "c1")}, 100,
       SK::kServer, {}, nullptr, {}},
      {"other events dropped", "", "", true, {Ev(HistoryEvent::kEventRaised), Sig("a")}, 100,
       SK::kServer, {0}, "", {}},
      {"locked: owner's calls run, others wait", "o", "c1", true,
       {Sig("a"), Call("p", "b"), Call("o", "c"), Lock("p", "c2", kSet), Call("o", "d")}, 100,
       SK::kBatch, {2, 4}, "", {}},
      {"locked: owner's calls capped", "o", "c1", true,
       {Call("o", "a"), Sig("x"), Call("o", "b")}, 1, SK::kBatch, {0}, "", {}},
      {"locked: owner's signal waits", "o", "c1", true, {Sig("a")}, 100, SK::kIdle, {}, "", {}},
      {"locked: nothing of the owner", "o", "c1", true, {Sig("a"), Call("p", "b")}, 100,
       SK::kIdle, {}, "", {}},
      {"locked: calls before the owner's unlock", "o", "c1", true,
       {Call("o", "a"), Unlock("o", "c1"), Call("o", "b")}, 100, SK::kBatch, {0}, "", {}},
      {"locked: owner's unlock releases", "o", "c1", true,
       {Sig("a"), Unlock("o", "c1"), Call("o", "b")}, 100, SK::kServer, {1}, "", {}},
      {"locked: unlock of another section waits", "o", "c1", true,
       {Unlock("o", "c0"), Sig("a")}, 100, SK::kIdle, {}, "", {}},
      {"locked: someone else's unlock does not release", "o", "c1", true,
       {Unlock("p", "c1")}, 100, SK::kIdle, {}, "", {}},
      {"locked: a waiting lock request cancelled by its unlock", "o", "c1", true,
       {Lock("p", "c2", kSet), Sig("a"), Unlock("p", "c2")}, 100, SK::kServer, {0, 2}, "o", {}},
      {"unlock releasing the last thing deletes", "o", "c1", false, {Unlock("o", "c1")}, 100,
       SK::kServer, {}, nullptr, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Fixture f;
    SetUpEntity(&f,
                EntityRec("@counter@k",
                          c.has_state ? std::optional<std::string>("1") : std::nullopt,
                          c.locked_by, c.section),
                c.queue);
    EntityStep step = NextEntityStep(f.State(), kNow, c.max_batch);
    ASSERT_EQ(step.kind, c.want_kind);
    if (c.want_kind == SK::kBatch) {
      EXPECT_EQ(step.batch, c.want_positions);
      continue;
    }
    if (c.want_kind == SK::kIdle) {
      EXPECT_TRUE(step.batch.empty());
      continue;
    }
    const Transition& t = step.server;
    EXPECT_TRUE(t.reply.ok());
    EXPECT_EQ(t.instance_id, "@counter@k");
    EXPECT_EQ(t.inbox_removed, c.want_positions);
    if (c.want_locked_by == nullptr) {
      EXPECT_TRUE(t.discard_existing);
      EXPECT_FALSE(t.record.has_value());
    } else {
      EXPECT_FALSE(t.discard_existing);
      ASSERT_TRUE(t.record.has_value());
      EXPECT_EQ(t.record->entity().locked_by(), c.want_locked_by);
      EXPECT_EQ(t.record->entity().state().value(), c.has_state ? "1" : "");
    }
    std::vector<std::string> targets;
    for (const auto& m : t.outbox) targets.push_back(m.target);
    EXPECT_EQ(targets, c.want_targets);
  }
}

TEST(NextEntityStep, LockForwardAndGrantMessages) {
  Fixture f;
  SetUpEntity(&f, EntityRec(), {Lock("o", "c1", kSet)});
  EntityStep step = NextEntityStep(f.State(), kNow, 100);
  ASSERT_EQ(step.kind, SK::kServer);
  ASSERT_EQ(step.server.outbox.size(), 1u);
  const Message& fwd = step.server.outbox[0];
  EXPECT_EQ(fwd.kind, Message::Kind::kEvent);
  EXPECT_EQ(fwd.event.eventid(), -1);
  EXPECT_EQ(fwd.event.entitylockrequested().position(), 1);
  EXPECT_EQ(fwd.event.entitylockrequested().criticalsectionid(), "c1");
  EXPECT_EQ(fwd.event.entitylockrequested().parentinstanceid().value(), "o");
  EXPECT_EQ(step.server.record->entity().lock_critical_section(), "c1");

  Fixture g;
  SetUpEntity(&g, EntityRec("@counter@z"), {fwd.event});
  step = NextEntityStep(g.State(), kNow, 100);
  ASSERT_EQ(step.kind, SK::kServer);
  ASSERT_EQ(step.server.outbox.size(), 1u);
  const Message& granted = step.server.outbox[0];
  EXPECT_EQ(granted.kind, Message::Kind::kLockGranted);
  EXPECT_EQ(granted.target, "o");
  EXPECT_EQ(granted.event.entitylockgranted().criticalsectionid(), "c1");
  EXPECT_EQ(granted.lock_set, kSet);
}

TEST(NextEntityStep, NotAnEntity) {
  Fixture f;
  f.record = Rec("o", ORCHESTRATION_STATUS_RUNNING);
  f.inbox.push_back(Sig("a"));
  EXPECT_EQ(NextEntityStep(f.State(), kNow, 100).kind, SK::kIdle);
  EXPECT_EQ(NextEntityStep(Fixture().State(), kNow, 100).kind, SK::kIdle);
}

TEST(NextEntityStep, EntitiesAreNeverEpisodes) {
  Fixture f;
  SetUpEntity(&f, EntityRec(), {Sig("a")});
  EXPECT_EQ(Next(f.State()), NextStep::kIdle);
  EXPECT_EQ(NextEntityStep(f.State(), kNow, 100).kind, SK::kBatch);
}

// --- a scenario: two orchestrations lock overlapping sets --------------------------------

TEST(EntityLocks, OverlappingSetsNeverDeadlock) {
  World w;
  const std::vector<std::string> ents = {"@a@1", "@b@2", "@c@3"};
  for (const auto& id : ents) w.At(id).record = EntityRec(id, "0");
  for (const char* o : {"o1", "o2"}) w.At(o).record = Rec(o, ORCHESTRATION_STATUS_RUNNING);
  // o1 locks {a, b}, o2 locks {b, c, a}: both in canonical order, both start at a.
  const HistoryEvent lock1 = Lock("o1", "s1", {"@a@1", "@b@2"});
  const HistoryEvent lock2 = Lock("o2", "s2", {"@a@1", "@b@2", "@c@3"});
  w.At("o1").history = {Confirmed(lock1, 0)};
  w.At("o2").history = {Confirmed(lock2, 0)};
  w.in_flight.push_back(ToEntity("@a@1", lock1));
  w.in_flight.push_back(ToEntity("@a@1", lock2));
  w.in_flight.push_back(ToEntity("@b@2", Sig("x")));  // a signal waits at b
  int batches = 0;
  Settle(&w, ents, &batches);
  // o1 holds a and b; o2 waits at a (it never took b or c).
  ASSERT_EQ(w.At("o1").inbox.size(), 1u);
  EXPECT_EQ(w.At("o1").inbox[0].entitylockgranted().criticalsectionid(), "s1");
  EXPECT_TRUE(w.At("o2").inbox.empty());
  EXPECT_EQ(w.At("@a@1").record->entity().locked_by(), "o1");
  EXPECT_EQ(w.At("@b@2").record->entity().locked_by(), "o1");
  EXPECT_EQ(w.At("@c@3").record->entity().locked_by(), "");
  // The signal queued at b before the lock ran already; o1 calls b inside its section.
  w.in_flight.push_back(ToEntity("@b@2", Sig("y")));
  w.in_flight.push_back(ToEntity("@b@2", Call("o1", "call1")));
  Settle(&w, ents, &batches);
  ASSERT_EQ(w.At("o1").inbox.size(), 2u);
  EXPECT_EQ(w.At("o1").inbox[1].entityoperationcompleted().requestid(), "call1");
  EXPECT_EQ(w.At("@b@2").inbox.size(), 1u);  // y waits for the lock
  // o1 ends without unlocking: the server's unlocks release both, o2 gets everything.
  std::vector<HistoryEvent> o1_history = {
      Confirmed(Lock("o1", "s1", {"@a@1", "@b@2"}), 0)};
  for (Message& m : UnlockMessagesFor("o1", o1_history, {}, kNow)) w.in_flight.push_back(m);
  Settle(&w, ents, &batches);
  ASSERT_EQ(w.At("o2").inbox.size(), 1u);
  EXPECT_EQ(w.At("o2").inbox[0].entitylockgranted().criticalsectionid(), "s2");
  for (const auto& id : ents) EXPECT_EQ(w.At(id).record->entity().locked_by(), "o2");
  // y, queued at b before o2's request got there, ran once o1's lock was gone.
  EXPECT_TRUE(w.At("@b@2").inbox.empty());
  EXPECT_GT(batches, 0);
}

TEST(EntityLocks, GrantToAFinishedOwnerIsReleased) {
  World w;
  const std::vector<std::string> ents = {"@a@1", "@b@2"};
  w.At("o").record = Rec("o", ORCHESTRATION_STATUS_TERMINATED);
  w.in_flight.push_back(ToEntity("@a@1", Lock("o", "s", ents)));
  int batches = 0;
  Settle(&w, ents, &batches);
  // Both entities were created for the request, locked, then released and deleted (empty).
  EXPECT_FALSE(w.At("@a@1").record.has_value());
  EXPECT_FALSE(w.At("@b@2").record.has_value());
  EXPECT_TRUE(w.At("o").inbox.empty());
}

}  // namespace
}  // namespace taskhub::core
