// Table-driven tests of entity ids, client signals, messages reaching entities, reads and
// admin transitions (server/core/entity.h).
#include "server/core/entity.h"

#include <functional>

#include "gtest/gtest.h"
#include "server/core/entity_test_support.h"

namespace taskhub::core {
namespace {

using namespace taskhub::core::testing;  // NOLINT
using Kind = HistoryEvent::EventTypeCase;

// --- ids ---------------------------------------------------------------------------

struct IdCase {
  const char* in;
  const char* want;  // nullptr: INVALID_ARGUMENT
};

const IdCase kIdCases[] = {
    {"@counter@k", "@counter@k"},
    {"@Counter@Key", "@counter@Key"},  // only the name is lower-cased
    {"@MY_Ent1@a b", "@my_ent1@a b"},
    {"@n@k@with@ats", "@n@k@with@ats"},  // the key may contain '@'
    {"@n@x", "@n@x"},
    {"counter@k", nullptr},  // no leading '@'
    {"@counter", nullptr},   // no second '@'
    {"@@k", nullptr},        // empty name
    {"@n@", nullptr},        // empty key
    {"", nullptr},
    {"@n@a\x01", nullptr},   // control character
    {"@n@\xC0\x80", nullptr},  // invalid UTF-8
};

TEST(NormalizeEntityId, Table) {
  for (const auto& c : kIdCases) {
    SCOPED_TRACE(c.in);
    absl::StatusOr<std::string> got = NormalizeEntityId(c.in);
    if (c.want == nullptr) {
      EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    } else {
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(*got, c.want);
    }
  }
}

TEST(NormalizeEntityId, LengthCap) {
  const std::string ok = "@n@" + std::string(253, 'k');  // 256 bytes
  EXPECT_TRUE(NormalizeEntityId(ok).ok());
  EXPECT_FALSE(NormalizeEntityId(ok + "k").ok());
}

TEST(EntityIds, NamesAndPredicates) {
  EXPECT_EQ(EntityNameOf("@counter@k@x"), "counter");
  EXPECT_EQ(EntityNameOf("orch"), "");
  EXPECT_TRUE(IsEntityId("@a@b"));
  EXPECT_FALSE(IsEntityId("a@b"));
  EXPECT_FALSE(IsEntityId(""));
  EXPECT_TRUE(IsEntity(EntityRec()));
  EXPECT_FALSE(IsEntity(Rec("o", ORCHESTRATION_STATUS_RUNNING)));
}

// --- SignalEntity --------------------------------------------------------------------

struct SignalCase {
  const char* name;
  bool exists;
  std::vector<HistoryEvent> queue;
  std::vector<std::string> recent;
  std::optional<absl::Duration> scheduled;  // relative to kNow
  bool want_queued;                         // entityOperationSignaled appended
  bool want_created;                        // a new record
  bool want_delayed;
};

TEST(SignalEntity, Table) {
  const SignalCase cases[] = {
      {"creates the entity", false, {}, {}, std::nullopt, true, true, false},
      {"queues at an existing entity", true, {Sig("a")}, {"a"}, std::nullopt, true, false,
       false},
      {"duplicate of a queued request", true, {Sig("r1")}, {}, std::nullopt, false, false,
       false},
      {"duplicate of a recent request", true, {}, {"x", "r1"}, std::nullopt, false, false,
       false},
      {"due now is not delayed", false, {}, {}, absl::ZeroDuration(), true, true, false},
      {"past is not delayed", true, {}, {}, -absl::Hours(1), true, false, false},
      {"future: delayed only", false, {}, {}, absl::Minutes(5), false, false, true},
      {"future: delayed even if duplicate", true, {Sig("r1")}, {}, absl::Minutes(5), false,
       false, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Fixture f;
    if (c.exists) {
      store::InstanceRecord rec = EntityRec("@counter@k", "5");
      for (const auto& r : c.recent) rec.mutable_entity()->add_recent_request_ids(r);
      SetUpEntity(&f, rec, c.queue);
    }
    SignalEntityCommand cmd{"@counter@k", "add", "1", "r1", std::nullopt, std::nullopt};
    if (c.scheduled) cmd.scheduled_time = kNow + *c.scheduled;
    Transition t = SignalEntity(f.State(), cmd, kNow, [&] { return f.NewId(); });
    EXPECT_TRUE(t.reply.ok());
    EXPECT_EQ(t.instance_id, "@counter@k");
    EXPECT_EQ(!t.inbox_append.empty(), c.want_queued);
    if (c.want_queued) {
      ASSERT_EQ(t.inbox_append.size(), 1u);
      const auto& s = t.inbox_append[0].entityoperationsignaled();
      EXPECT_EQ(s.requestid(), "r1");
      EXPECT_EQ(s.operation(), "add");
      EXPECT_EQ(s.input().value(), "1");
      EXPECT_EQ(s.targetinstanceid().value(), "@counter@k");
      EXPECT_EQ(t.inbox_append[0].eventid(), -1);
      ASSERT_TRUE(t.record.has_value());
      EXPECT_EQ(t.record->entity().recent_request_ids(
                    t.record->entity().recent_request_ids_size() - 1),
                "r1");
    }
    if (c.want_created) {
      ASSERT_TRUE(t.record.has_value());
      EXPECT_EQ(t.record->name(), "counter");
      EXPECT_EQ(t.record->status(), ORCHESTRATION_STATUS_RUNNING);
      EXPECT_EQ(t.record->execution_id(), "gen-1");
      EXPECT_TRUE(IsEntity(*t.record));
      EXPECT_FALSE(t.record->entity().has_state());
    } else if (c.want_queued) {
      EXPECT_EQ(t.record->entity().state().value(), "5");  // kept
    }
    if (!c.want_queued) {
      EXPECT_FALSE(t.record.has_value());
    }
    ASSERT_EQ(t.delayed.size(), c.want_delayed ? 1u : 0u);
    if (c.want_delayed) {
      EXPECT_EQ(t.delayed[0].at, kNow + *c.scheduled);
      EXPECT_EQ(t.delayed[0].message.kind, Message::Kind::kEvent);
      EXPECT_EQ(t.delayed[0].message.target, "@counter@k");
      EXPECT_EQ(t.delayed[0].message.event.entityoperationsignaled().requestid(), "r1");
      EXPECT_TRUE(t.outbox.empty());
    }
  }
}

TEST(SignalEntity, RecentRequestIdsAreCapped) {
  Fixture f;
  store::InstanceRecord rec = EntityRec();
  for (size_t i = 0; i < kEntityRecentRequestIds; ++i) {
    rec.mutable_entity()->add_recent_request_ids("old" + std::to_string(i));
  }
  SetUpEntity(&f, rec, {});
  SignalEntityCommand cmd{"@counter@k", "add", std::nullopt, "new", std::nullopt, std::nullopt};
  Transition t = SignalEntity(f.State(), cmd, kNow, [&] { return f.NewId(); });
  ASSERT_TRUE(t.record.has_value());
  const auto& recent = t.record->entity().recent_request_ids();
  ASSERT_EQ(static_cast<size_t>(recent.size()), kEntityRecentRequestIds);
  EXPECT_EQ(recent[0], "old1");
  EXPECT_EQ(recent[recent.size() - 1], "new");
}

// --- Receive at entities -------------------------------------------------------------

struct ReceiveCase {
  const char* name;
  bool exists;
  std::vector<HistoryEvent> queue;
  Message::Kind kind;
  HistoryEvent event;
  bool want_queued;
  bool want_created;
};

Message To(const std::string& target, HistoryEvent ev,
           Message::Kind kind = Message::Kind::kEvent) {
  Message m;
  m.kind = kind;
  m.target = target;
  m.event = std::move(ev);
  return m;
}

TEST(ReceiveAtEntity, Table) {
  const ReceiveCase cases[] = {
      {"signal creates", false, {}, Message::Kind::kEvent, Sig("r1"), true, true},
      {"call creates", false, {}, Message::Kind::kEvent, Call("o", "r1"), true, true},
      {"lock request creates", false, {}, Message::Kind::kEvent,
       Lock("o", "c", {"@counter@k"}), true, true},
      {"unlock at no entity is dropped", false, {}, Message::Kind::kEvent, Unlock("o", "c"),
       false, false},
      {"unlock queued at an entity", true, {Sig("a")}, Message::Kind::kEvent,
       Unlock("o", "c"), true, false},
      {"signal queued", true, {Sig("a")}, Message::Kind::kEvent, Sig("r1"), true, false},
      {"duplicate signal dropped", true, {Sig("r1")}, Message::Kind::kEvent, Sig("r1"), false,
       false},
      {"duplicate call dropped", true, {Call("o", "r1")}, Message::Kind::kEvent,
       Call("o", "r1"), false, false},
      {"other events dropped", true, {}, Message::Kind::kEvent,
       Ev(HistoryEvent::kEventRaised), false, false},
      {"other events create nothing", false, {}, Message::Kind::kEvent,
       Ev(HistoryEvent::kEventRaised), false, false},
      {"terminate dropped", true, {}, Message::Kind::kTerminate,
       Ev(HistoryEvent::kExecutionTerminated), false, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Fixture f;
    if (c.exists) SetUpEntity(&f, EntityRec(), c.queue);
    Transition t = Receive(f.State(), To("@counter@k", c.event, c.kind), kNow);
    EXPECT_TRUE(t.reply.ok());
    EXPECT_EQ(t.instance_id, "@counter@k");
    EXPECT_EQ(t.inbox_append.size(), c.want_queued ? 1u : 0u);
    if (c.want_queued) {
      EXPECT_EQ(t.inbox_append[0].eventType_case(), c.event.eventType_case());
      ASSERT_TRUE(t.record.has_value());
      EXPECT_TRUE(IsEntity(*t.record));
      EXPECT_FALSE(t.record->execution_id().empty());
    } else {
      EXPECT_TRUE(t.empty());
    }
    EXPECT_EQ(c.want_created, !c.exists && t.record.has_value());
  }
}

TEST(ReceiveAtEntity, LockGranted) {
  HistoryEvent granted = Ev(HistoryEvent::kEntityLockGranted);
  granted.mutable_entitylockgranted()->set_criticalsectionid("c1");
  Message m = To("o", granted, Message::Kind::kLockGranted);
  m.lock_set = {"@a@1", "@b@2"};
  for (int status : {int(ORCHESTRATION_STATUS_RUNNING), int(ORCHESTRATION_STATUS_SUSPENDED),
                     int(ORCHESTRATION_STATUS_COMPLETED), int(ORCHESTRATION_STATUS_TERMINATED),
                     kNone}) {
    SCOPED_TRACE(status);
    Fixture f;
    if (status != kNone) f.record = Rec("o", static_cast<OrchestrationStatus>(status));
    f.history = {Confirmed(Lock("o", "c1", m.lock_set), 0)};
    Transition t = Receive(f.State(), m, kNow);
    EXPECT_EQ(t.instance_id, "o");
    if (status != kNone && !IsTerminal(static_cast<OrchestrationStatus>(status))) {
      EXPECT_EQ(Kinds(t.inbox_append), std::vector<Kind>{HistoryEvent::kEntityLockGranted});
      EXPECT_TRUE(t.outbox.empty());
      continue;
    }
    // Not live: every entity of the set is unlocked.
    EXPECT_TRUE(t.inbox_append.empty());
    ASSERT_EQ(t.outbox.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(t.outbox[i].target, m.lock_set[i]);
      EXPECT_EQ(t.outbox[i].kind, Message::Kind::kEvent);
      EXPECT_EQ(t.outbox[i].event.entityunlocksent().criticalsectionid(), "c1");
      EXPECT_EQ(t.outbox[i].event.entityunlocksent().parentinstanceid().value(), "o");
    }
  }
}

TEST(ReceiveAtEntity, LockGrantedToAnExecutionThatDidNotAsk) {
  HistoryEvent granted = Ev(HistoryEvent::kEntityLockGranted);
  granted.mutable_entitylockgranted()->set_criticalsectionid("c1");
  Message m = To("o", granted, Message::Kind::kLockGranted);
  m.lock_set = {"@a@1"};
  Fixture f;
  f.record = Rec("o", ORCHESTRATION_STATUS_RUNNING);
  {
    SCOPED_TRACE("the current execution asked: delivered");
    f.history = {Ev(HistoryEvent::kExecutionStarted),
                 Confirmed(Lock("o", "c1", {"@a@1"}), 0)};
    Transition t = Receive(f.State(), m, kNow);
    EXPECT_EQ(t.inbox_append.size(), 1u);
    EXPECT_TRUE(t.outbox.empty());
  }
  {
    SCOPED_TRACE("another section only (continued as new): released");
    f.history = {Ev(HistoryEvent::kExecutionStarted),
                 Confirmed(Lock("o", "c2", {"@a@1"}), 0)};
    Transition t = Receive(f.State(), m, kNow);
    EXPECT_TRUE(t.inbox_append.empty());
    ASSERT_EQ(t.outbox.size(), 1u);
    EXPECT_EQ(t.outbox[0].target, "@a@1");
    EXPECT_EQ(t.outbox[0].event.entityunlocksent().criticalsectionid(), "c1");
  }
  {
    SCOPED_TRACE("no history given: delivered");
    InstanceState s = f.State();
    s.history = nullptr;
    EXPECT_EQ(Receive(s, m, kNow).inbox_append.size(), 1u);
  }
}

TEST(ReceiveAtEntity, ParentlessStartChild) {
  InstanceSpec spec;
  spec.instance_id = "o";
  spec.name = "orch";
  spec.execution_id = "x";
  Message m;
  m.kind = Message::Kind::kStartChild;
  m.target = "o";
  m.child = BuildInstance(spec, kNow);
  {
    SCOPED_TRACE("live target: dropped, nobody told");
    Fixture f;
    f.record = Rec("o", ORCHESTRATION_STATUS_RUNNING);
    EXPECT_TRUE(Receive(f.State(), m, kNow).empty());
  }
  {
    SCOPED_TRACE("no target: started");
    Fixture f;
    Transition t = Receive(f.State(), m, kNow);
    ASSERT_TRUE(t.record.has_value());
    EXPECT_FALSE(t.record->has_parent());
    EXPECT_EQ(Kinds(t.inbox_append), std::vector<Kind>{HistoryEvent::kExecutionStarted});
  }
  {
    SCOPED_TRACE("finished target: replaced");
    Fixture f;
    f.record = Rec("o", ORCHESTRATION_STATUS_COMPLETED);
    Transition t = Receive(f.State(), m, kNow);
    EXPECT_TRUE(t.discard_existing);
    EXPECT_TRUE(t.record.has_value());
  }
}

// --- reads and admin -----------------------------------------------------------------

TEST(ToEntityMetadata, Fields) {
  store::InstanceRecord rec = EntityRec("@counter@k", "42", "o", "c");
  *rec.mutable_entity()->mutable_last_modified() = ToProto(kNow);
  EntityMetadata m = ToEntityMetadata(rec, 3, true);
  EXPECT_EQ(m.instanceid(), "@counter@k");
  EXPECT_EQ(FromProto(m.lastmodifiedtime()), kNow);
  EXPECT_EQ(m.backlogqueuesize(), 3);
  EXPECT_EQ(m.lockedby().value(), "o");
  EXPECT_EQ(m.serializedstate().value(), "42");
  m = ToEntityMetadata(EntityRec(), 0, true);
  EXPECT_FALSE(m.has_lockedby());
  EXPECT_FALSE(m.has_serializedstate());
  m = ToEntityMetadata(EntityRec("@counter@k", "42"), 0, false);
  EXPECT_FALSE(m.has_serializedstate());
}

TEST(MatchesEntityQuery, Table) {
  store::InstanceRecord with_state = EntityRec("@counter@k1", "1");
  *with_state.mutable_entity()->mutable_last_modified() = ToProto(kNow);
  store::InstanceRecord transient = EntityRec("@counter@k2", std::nullopt, "o", "c");
  *transient.mutable_entity()->mutable_last_modified() = ToProto(kNow);
  struct Case {
    const char* name;
    EntityQueryCommand q;
    bool want_with_state, want_transient;
  };
  auto q = [](std::function<void(EntityQueryCommand*)> f) {
    EntityQueryCommand c;
    f(&c);
    return c;
  };
  const Case cases[] = {
      {"default: only entities with state", {}, true, false},
      {"include transient", q([](auto* c) { c->include_transient = true; }), true, true},
      {"prefix", q([](auto* c) {
         c->id_prefix = "@counter@k2";
         c->include_transient = true;
       }),
       false, true},
      {"prefix of the name", q([](auto* c) { c->id_prefix = "@count"; }), true, false},
      {"other prefix", q([](auto* c) { c->id_prefix = "@other"; }), false, false},
      {"modified range inclusive", q([](auto* c) {
         c->modified_from = kNow;
         c->modified_to = kNow;
       }),
       true, false},
      {"modified before", q([](auto* c) { c->modified_to = kNow - absl::Seconds(1); }), false,
       false},
      {"modified after", q([](auto* c) { c->modified_from = kNow + absl::Seconds(1); }), false,
       false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(MatchesEntityQuery(c.q, with_state), c.want_with_state);
    EXPECT_EQ(MatchesEntityQuery(c.q, transient), c.want_transient);
  }
  EXPECT_FALSE(MatchesEntityQuery({}, Rec("o", ORCHESTRATION_STATUS_RUNNING)));
}

enum class Admin { kRemoveEmpty, kPurge, kRelease };

struct AdminCase {
  const char* name;
  Admin op;
  bool has_state;
  const char* locked_by;
  std::vector<HistoryEvent> queue;
  bool want_deleted;
  bool want_unlocked;  // record written without the lock
};

TEST(EntityAdmin, Table) {
  const AdminCase cases[] = {
      {"remove empty", Admin::kRemoveEmpty, false, "", {}, true, false},
      {"remove empty keeps state", Admin::kRemoveEmpty, true, "", {}, false, false},
      {"remove empty keeps queued", Admin::kRemoveEmpty, false, "", {Sig("a")}, false, false},
      {"remove empty keeps locked", Admin::kRemoveEmpty, false, "o", {}, false, false},
      {"purge deletes with state", Admin::kPurge, true, "", {}, true, false},
      {"purge keeps queued", Admin::kPurge, true, "", {Sig("a")}, false, false},
      {"purge keeps locked", Admin::kPurge, true, "o", {}, false, false},
      {"release own lock, state kept", Admin::kRelease, true, "o", {}, false, true},
      {"release own lock, queued kept", Admin::kRelease, false, "o", {Sig("a")}, false, true},
      {"release own lock, left empty", Admin::kRelease, false, "o", {}, true, false},
      {"release someone else's lock", Admin::kRelease, true, "p", {}, false, false},
      {"release when unlocked", Admin::kRelease, true, "", {}, false, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Fixture f;
    SetUpEntity(&f,
                EntityRec("@counter@k",
                          c.has_state ? std::optional<std::string>("1") : std::nullopt,
                          c.locked_by, *c.locked_by ? "c" : ""),
                c.queue);
    Transition t;
    switch (c.op) {
      case Admin::kRemoveEmpty:
        t = RemoveEmptyEntity(f.State());
        break;
      case Admin::kPurge:
        t = PurgeEntity(f.State());
        break;
      case Admin::kRelease:
        t = ReleaseEntityLock(f.State(), "o", "c", kNow);
        break;
    }
    EXPECT_TRUE(t.reply.ok());
    EXPECT_EQ(t.instance_id, "@counter@k");
    EXPECT_EQ(t.discard_existing, c.want_deleted);
    if (c.want_deleted) {
      EXPECT_FALSE(t.record.has_value());
    }
    EXPECT_EQ(t.record.has_value(), c.want_unlocked);
    if (c.want_unlocked) {
      EXPECT_TRUE(t.record->entity().locked_by().empty());
      EXPECT_TRUE(t.record->entity().lock_critical_section().empty());
    }
    if (!c.want_deleted && !c.want_unlocked) {
      EXPECT_TRUE(t.empty());
    }
  }
  // The owner's lock for another critical section is not this release's to clear.
  Fixture other;
  SetUpEntity(&other, EntityRec("@counter@k", "1", "o", "c2"), {});
  EXPECT_TRUE(ReleaseEntityLock(other.State(), "o", "c", kNow).empty());
  // Not an entity / no instance: nothing.
  Fixture orch;
  orch.record = Rec("o", ORCHESTRATION_STATUS_COMPLETED);
  EXPECT_TRUE(PurgeEntity(orch.State()).empty());
  EXPECT_TRUE(RemoveEmptyEntity(Fixture().State()).empty());
}

// --- UnlockMessagesFor -----------------------------------------------------------------

struct UnlockCase {
  const char* name;
  std::vector<HistoryEvent> history, appended;
  std::vector<std::pair<std::string, std::string>> want;  // (entity, section)
};

TEST(UnlockMessagesFor, Table) {
  const UnlockCase cases[] = {
      {"nothing locked", {Ev(HistoryEvent::kTaskScheduled, 0)}, {}, {}},
      {"one lock set, nothing released",
       {Confirmed(Lock("o", "c1", {"@a@1", "@b@2"}), 0)},
       {},
       {{"@a@1", "c1"}, {"@b@2", "c1"}}},
      {"released in history",
       {Confirmed(Lock("o", "c1", {"@a@1", "@b@2"}), 0), Confirmed(UnlockTo("@a@1", "c1"), 2),
        Confirmed(UnlockTo("@b@2", "c1"), 3)},
       {},
       {}},
      {"released in this episode",
       {Confirmed(Lock("o", "c1", {"@a@1", "@b@2"}), 0)},
       {Confirmed(UnlockTo("@b@2", "c1"), 3)},
       {{"@a@1", "c1"}}},
      {"requested in this episode",
       {},
       {Confirmed(Lock("o", "c1", {"@a@1"}), 0)},
       {{"@a@1", "c1"}}},
      {"two sections, the first released",
       {Confirmed(Lock("o", "c1", {"@a@1"}), 0), Confirmed(UnlockTo("@a@1", "c1"), 1),
        Confirmed(Lock("o", "c2", {"@a@1", "@c@3"}), 2)},
       {},
       {{"@a@1", "c2"}, {"@c@3", "c2"}}},
      {"another section's unlock does not count",
       {Confirmed(Lock("o", "c1", {"@a@1"}), 0), Confirmed(UnlockTo("@a@1", "c9"), 1)},
       {},
       {{"@a@1", "c1"}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<Message> got = UnlockMessagesFor("o", c.history, c.appended, kNow);
    ASSERT_EQ(got.size(), c.want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].kind, Message::Kind::kEvent);
      EXPECT_EQ(got[i].target, c.want[i].first);
      EXPECT_EQ(got[i].event.eventid(), -1);
      EXPECT_EQ(got[i].event.entityunlocksent().criticalsectionid(), c.want[i].second);
      EXPECT_EQ(got[i].event.entityunlocksent().parentinstanceid().value(), "o");
    }
  }
}

}  // namespace
}  // namespace taskhub::core
