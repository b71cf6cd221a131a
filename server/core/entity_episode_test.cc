// Orchestrations talking to entities: sendEntityMessage actions through CompleteEpisode
// (validation, history confirmations, messages, delayed signals) and the unlocks an
// ending execution owes (CompleteEpisode, TerminateNow).
#include <functional>

#include "gtest/gtest.h"
#include "server/core/entity.h"
#include "server/core/entity_test_support.h"
#include "server/core/validation.h"

namespace taskhub::core {
namespace {

using namespace taskhub::core::testing;  // NOLINT
using MK = Message::Kind;

OrchestratorAction EntityAction(int id, std::function<void(SendEntityMessageAction*)> fill) {
  OrchestratorAction a;
  a.set_id(id);
  fill(a.mutable_sendentitymessage());
  return a;
}

OrchestratorAction SignalA(int id, const std::string& target,
                           std::optional<absl::Duration> at = {}) {
  return EntityAction(id, [&](SendEntityMessageAction* m) {
    auto* s = m->mutable_entityoperationsignaled();
    s->set_requestid("sr" + std::to_string(id));
    s->set_operation("add");
    s->mutable_input()->set_value("1");
    s->mutable_targetinstanceid()->set_value(target);
    if (at) *s->mutable_scheduledtime() = ToProto(kNow + *at);
  });
}

OrchestratorAction CallA(int id, const std::string& target) {
  return EntityAction(id, [&](SendEntityMessageAction* m) {
    auto* c = m->mutable_entityoperationcalled();
    c->set_requestid("cr" + std::to_string(id));
    c->set_operation("get");
    c->mutable_targetinstanceid()->set_value(target);
    c->mutable_parentinstanceid()->set_value("someone-else");  // the server sets it
  });
}

OrchestratorAction LockA(int id, const std::vector<std::string>& set) {
  return EntityAction(id, [&](SendEntityMessageAction* m) {
    auto* l = m->mutable_entitylockrequested();
    l->set_criticalsectionid("cs");
    for (const auto& e : set) l->add_lockset(e);
    l->set_position(3);  // the server starts at 0
  });
}

OrchestratorAction UnlockA(int id, const std::string& target) {
  return EntityAction(id, [&](SendEntityMessageAction* m) {
    m->mutable_entityunlocksent()->set_criticalsectionid("cs");
    m->mutable_entityunlocksent()->mutable_targetinstanceid()->set_value(target);
  });
}

HistoryEvent WithInput(HistoryEvent e, const std::string& in) {
  e.mutable_entityoperationsignaled()->mutable_input()->set_value(in);
  return e;
}

OrchestratorAction Done(int id, OrchestrationStatus s) {
  OrchestratorAction a;
  a.set_id(id);
  a.mutable_completeorchestration()->set_orchestrationstatus(s);
  return a;
}

// Runs one episode of "i" (RUNNING, history `history`) answering `actions`.
Transition Episode(const std::vector<OrchestratorAction>& actions,
                   std::vector<HistoryEvent> history = {}, size_t max_payload = 0) {
  Fixture f;
  f.record = Rec("i", ORCHESTRATION_STATUS_RUNNING, "ie");
  f.history = {Ev(HistoryEvent::kOrchestratorStarted), Ev(HistoryEvent::kExecutionStarted)};
  f.history.insert(f.history.end(), history.begin(), history.end());
  f.record->set_history_size(f.history.size());
  std::vector<HistoryEvent> dispatched = {Ev(HistoryEvent::kOrchestratorStarted)};
  EpisodeResultCommand cmd;
  cmd.instance_id = "i";
  for (const auto& a : actions) *cmd.response.add_actions() = a;
  Limits limits;
  limits.max_payload_bytes = max_payload;
  return CompleteEpisode(f.State(), dispatched, 0, cmd, kNow, [&] { return f.NewId(); },
                         limits);
}

TEST(EntityActions, ConfirmationsAndMessages) {
  Transition t = Episode({SignalA(0, "@Counter@k"), CallA(1, "@COUNTER@k"),
                          LockA(2, {"@b@2", "@A@1", "@b@2"}), UnlockA(3, "@a@1"),
                          SignalA(4, "@counter@k", absl::Minutes(5))});
  ASSERT_TRUE(t.reply.ok()) << t.reply;
  ASSERT_EQ(t.history_append.size(), 7u);  // OS, 5 confirmations, OC
  const auto& h = t.history_append;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(h[i + 1].eventid(), i);
  // signal: the target normalized
  EXPECT_EQ(h[1].entityoperationsignaled().targetinstanceid().value(), "@counter@k");
  EXPECT_EQ(h[1].entityoperationsignaled().requestid(), "sr0");
  // call: target, parent and parent execution set (PY needs the target on replay)
  EXPECT_EQ(h[2].entityoperationcalled().targetinstanceid().value(), "@counter@k");
  EXPECT_EQ(h[2].entityoperationcalled().parentinstanceid().value(), "i");
  EXPECT_EQ(h[2].entityoperationcalled().parentexecutionid().value(), "ie");
  // lock: sorted, de-duplicated, normalized, position 0, parent set
  const auto& l = h[3].entitylockrequested();
  EXPECT_EQ(std::vector<std::string>(l.lockset().begin(), l.lockset().end()),
            (std::vector<std::string>{"@a@1", "@b@2"}));
  EXPECT_EQ(l.position(), 0);
  EXPECT_EQ(l.parentinstanceid().value(), "i");
  // unlock: target and parent
  EXPECT_EQ(h[4].entityunlocksent().targetinstanceid().value(), "@a@1");
  EXPECT_EQ(h[4].entityunlocksent().parentinstanceid().value(), "i");

  ASSERT_EQ(t.outbox.size(), 4u);
  std::vector<std::string> targets;
  for (const auto& m : t.outbox) {
    EXPECT_EQ(m.kind, MK::kEvent);
    EXPECT_EQ(m.event.eventid(), -1);
    targets.push_back(m.target);
  }
  EXPECT_EQ(targets,
            (std::vector<std::string>{"@counter@k", "@counter@k", "@a@1", "@a@1"}));
  EXPECT_EQ(t.outbox[1].event.entityoperationcalled().parentinstanceid().value(), "i");
  EXPECT_EQ(t.outbox[1].event.entityoperationcalled().parentexecutionid().value(), "ie");
  EXPECT_EQ(t.outbox[2].event.entitylockrequested().position(), 0);
  EXPECT_EQ(t.outbox[2].event.entitylockrequested().lockset_size(), 2);
  EXPECT_EQ(t.outbox[3].event.entityunlocksent().parentinstanceid().value(), "i");
  ASSERT_EQ(t.delayed.size(), 1u);
  EXPECT_EQ(t.delayed[0].at, kNow + absl::Minutes(5));
  EXPECT_EQ(t.delayed[0].message.target, "@counter@k");
  EXPECT_EQ(t.delayed[0].message.event.entityoperationsignaled().requestid(), "sr4");
}

struct InvalidCase {
  const char* name;
  OrchestratorAction action;
  absl::StatusCode code;
  const char* field;
};

TEST(EntityActions, Validation) {
  std::vector<std::string> too_many;
  for (size_t i = 0; i <= kMaxLockSetSize; ++i) too_many.push_back("@e@" + std::to_string(i));
  const InvalidCase cases[] = {
      {"signal: bad target", SignalA(0, "counter"), absl::StatusCode::kInvalidArgument,
       "entityOperationSignaled.targetInstanceId"},
      {"call: empty name", CallA(0, "@@k"), absl::StatusCode::kInvalidArgument,
       "entityOperationCalled.targetInstanceId"},
      {"call: no request id",
       EntityAction(0,
                    [](SendEntityMessageAction* m) {
                      m->mutable_entityoperationcalled()->set_operation("x");
                      m->mutable_entityoperationcalled()->mutable_targetinstanceid()->set_value(
                          "@a@b");
                    }),
       absl::StatusCode::kInvalidArgument, "entityOperationCalled.requestId"},
      {"lock: empty set", LockA(0, {}), absl::StatusCode::kInvalidArgument,
       "entityLockRequested.lockSet"},
      {"lock: too many", LockA(0, too_many), absl::StatusCode::kInvalidArgument,
       "entityLockRequested.lockSet"},
      {"lock: a bad id", LockA(0, {"@a@1", "x"}), absl::StatusCode::kInvalidArgument,
       "entityLockRequested.lockSet[1]"},
      {"unlock: no target", UnlockA(0, ""), absl::StatusCode::kInvalidArgument,
       "entityUnlockSent.targetInstanceId"},
      {"no message", EntityAction(0, [](SendEntityMessageAction*) {}),
       absl::StatusCode::kInvalidArgument, "sendEntityMessage"},
      {"signal: input over the cap",
       EntityAction(0,
                    [](SendEntityMessageAction* m) {
                      auto* s = m->mutable_entityoperationsignaled();
                      s->set_requestid("r");
                      s->set_operation("x");
                      s->mutable_targetinstanceid()->set_value("@a@b");
                      s->mutable_input()->set_value(std::string(101, 'x'));
                    }),
       absl::StatusCode::kResourceExhausted, "entityOperationSignaled.input"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    absl::Status st = ValidateAction(c.action, 100);
    EXPECT_EQ(st.code(), c.code) << st;
    EXPECT_NE(st.message().find(c.field), std::string::npos) << st;
    // Through an episode: the orchestration fails, nothing is sent.
    Transition t = Episode({c.action}, {}, 100);
    EXPECT_EQ(t.reply.code(), c.code);
    ASSERT_TRUE(t.record.has_value());
    EXPECT_EQ(t.record->status(), ORCHESTRATION_STATUS_FAILED);
    EXPECT_TRUE(t.outbox.empty());
    EXPECT_TRUE(t.delayed.empty());
  }
  EXPECT_TRUE(ValidateAction(LockA(0, std::vector<std::string>(too_many.begin(),
                                                               too_many.end() - 1)),
                             0)
                  .ok());
}

// --- unlocks owed at the end of an execution ---------------------------------------------

std::vector<std::string> UnlockTargets(const Transition& t) {
  std::vector<std::string> out;
  for (const auto& m : t.outbox) {
    if (m.event.has_entityunlocksent()) {
      out.push_back(m.target + "/" + m.event.entityunlocksent().criticalsectionid());
      EXPECT_EQ(m.event.entityunlocksent().parentinstanceid().value(), "i");
    }
  }
  return out;
}

TEST(EntityUnlocksAtTheEnd, CompleteEpisode) {
  const std::vector<HistoryEvent> locked = {
      Confirmed(Lock("i", "cs", {"@a@1", "@b@2"}), 7)};
  // Still running: nothing released.
  EXPECT_TRUE(UnlockTargets(Episode({}, locked)).empty());
  // Completed without unlocking: both released.
  EXPECT_EQ(UnlockTargets(Episode({Done(9, ORCHESTRATION_STATUS_COMPLETED)}, locked)),
            (std::vector<std::string>{"@a@1/cs", "@b@2/cs"}));
  // Failed (by the worker or because the response was invalid): released.
  EXPECT_EQ(UnlockTargets(Episode({Done(9, ORCHESTRATION_STATUS_FAILED)}, locked)).size(), 2u);
  EXPECT_EQ(UnlockTargets(Episode({SignalA(8, "bad")}, locked)).size(), 2u);
  // The SDK unlocks in its last response (as PY does): the server adds nothing.
  EXPECT_EQ(UnlockTargets(Episode({UnlockA(8, "@a@1"), UnlockA(9, "@b@2"),
                                   Done(10, ORCHESTRATION_STATUS_COMPLETED)},
                                  locked)),
            (std::vector<std::string>{"@a@1/cs", "@b@2/cs"}));
  // Continue-as-new ends the execution: released once (the SDK's unlock is not repeated
  // although continue-as-new drops it from the history).
  Transition can = Episode({UnlockA(8, "@a@1"), Done(9, ORCHESTRATION_STATUS_CONTINUED_AS_NEW)},
                           locked);
  EXPECT_TRUE(can.reset_history);
  EXPECT_EQ(UnlockTargets(can), (std::vector<std::string>{"@a@1/cs", "@b@2/cs"}));
  // A lock requested in the last response itself is released too.
  EXPECT_EQ(UnlockTargets(Episode({LockA(8, {"@c@3"}), Done(9, ORCHESTRATION_STATUS_COMPLETED)})),
            (std::vector<std::string>{"@c@3/cs"}));
}

TEST(EntityUnlocksAtTheEnd, TerminateNow) {
  Fixture f;
  f.record = Rec("i", ORCHESTRATION_STATUS_RUNNING, "ie");
  f.history = {Ev(HistoryEvent::kOrchestratorStarted), Ev(HistoryEvent::kExecutionStarted),
               Confirmed(Lock("i", "cs", {"@a@1", "@b@2"}), 0),
               Confirmed(UnlockTo("@a@1", "cs", "i"), 1)};
  f.record->set_history_size(f.history.size());
  f.inbox = {Ev(HistoryEvent::kExecutionTerminated)};
  Transition t = TerminateNow(f.State(), kNow);
  EXPECT_TRUE(t.became_terminal);
  EXPECT_EQ(UnlockTargets(t), std::vector<std::string>{"@b@2/cs"});
}

// --- the whole loop: orchestration -> entities -> orchestration ---------------------------

// A counter: "add" adds its input, anything else returns the state.
void Counter(const std::optional<std::string>& state, const std::vector<HistoryEvent>& ops,
             EntityBatchResult* r) {
  int value = state ? std::stoi(*state) : 0;
  for (const auto& op : ops) {
    const bool add = op.has_entityoperationsignaled() &&
                     op.entityoperationsignaled().operation() == "add";
    if (add) value += std::stoi(op.entityoperationsignaled().input().value());
    r->add_results()->mutable_success()->mutable_result()->set_value(std::to_string(value));
  }
  r->mutable_entitystate()->set_value(std::to_string(value));
}

// One episode of "i" in the world: dispatches its whole inbox and applies the answer.
void RunEpisode(World* w, const std::vector<OrchestratorAction>& actions) {
  Fixture& o = w->At("i");
  std::vector<HistoryEvent> dispatched = {Ev(HistoryEvent::kOrchestratorStarted)};
  dispatched.insert(dispatched.end(), o.inbox.begin(), o.inbox.end());
  EpisodeResultCommand cmd;
  cmd.instance_id = "i";
  for (const auto& a : actions) *cmd.response.add_actions() = a;
  w->Apply(CompleteEpisode(o.State(), dispatched, o.inbox.size(), cmd, kNow,
                           [&] { return w->gen.NewId(); }, Limits{}));
}

TEST(EntityRoundTrip, SignalCallLockAndReleaseAtTheEnd) {
  World w;
  Fixture& o = w.At("i");
  o.record = Rec("i", ORCHESTRATION_STATUS_RUNNING, "ie");
  o.history = {Ev(HistoryEvent::kOrchestratorStarted), Ev(HistoryEvent::kExecutionStarted)};
  o.record->set_history_size(o.history.size());
  const std::vector<std::string> ents = {"@counter@k", "@other@1"};
  int batches = 0;
  // Episode 1: signal add(1) (then the call must see it), call get, lock both entities.
  RunEpisode(&w, {SignalA(0, "@Counter@k"), CallA(1, "@counter@k"),
                  LockA(2, {"@other@1", "@counter@k"})});
  Settle(&w, ents, &batches, Counter);
  ASSERT_EQ(o.inbox.size(), 2u);
  EXPECT_EQ(o.inbox[0].entityoperationcompleted().requestid(), "cr1");
  EXPECT_EQ(o.inbox[0].entityoperationcompleted().output().value(), "1");
  EXPECT_EQ(o.inbox[1].entitylockgranted().criticalsectionid(), "cs");
  EXPECT_EQ(w.At("@counter@k").record->entity().state().value(), "1");
  for (const auto& id : ents) EXPECT_EQ(w.At(id).record->entity().locked_by(), "i");
  // While i holds the lock, a signal from elsewhere waits.
  w.in_flight.push_back(ToEntity("@counter@k", WithInput(Sig("x", "add"), "10")));
  Settle(&w, ents, &batches, Counter);
  EXPECT_EQ(w.At("@counter@k").record->entity().state().value(), "1");
  // Episode 2: i completes without unlocking: the server releases both locks; the
  // waiting signal runs; @other@1 (no state, nothing queued) is gone.
  RunEpisode(&w, {Done(5, ORCHESTRATION_STATUS_COMPLETED)});
  EXPECT_EQ(o.record->status(), ORCHESTRATION_STATUS_COMPLETED);
  Settle(&w, ents, &batches, Counter);
  ASSERT_TRUE(w.At("@counter@k").record.has_value());
  EXPECT_EQ(w.At("@counter@k").record->entity().locked_by(), "");
  EXPECT_EQ(w.At("@counter@k").record->entity().state().value(), "11");
  EXPECT_FALSE(w.At("@other@1").record.has_value());
}

}  // namespace
}  // namespace taskhub::core
