// Tests of CompleteEpisode (server/core/lifecycle.h): the worker's answer to an
// episode, the invalid-response-becomes-FAILED rule, effects as outbox messages, and
// the rewind of failed and purged children.
#include <functional>

#include "gtest/gtest.h"
#include "server/core/lifecycle.h"
#include "server/core/lifecycle_test_support.h"

namespace taskhub::core {
namespace {

using namespace taskhub::core::testing;  // NOLINT
using Kind = HistoryEvent::EventTypeCase;
using MK = Message::Kind;

OrchestratorAction Complete(OrchestrationStatus s, const std::string& result = "") {
  OrchestratorAction a;
  a.set_id(1);
  a.mutable_completeorchestration()->set_orchestrationstatus(s);
  if (!result.empty()) a.mutable_completeorchestration()->mutable_result()->set_value(result);
  return a;
}

struct EpisodeCase {
  const char* name;
  std::vector<OrchestratorAction> actions;
  absl::StatusCode want_reply;
  OrchestrationStatus want_status;
  std::string want_error_type;  // failure_details.errortype, if FAILED
  bool want_terminal;
};

std::vector<EpisodeCase> EpisodeCases() {
  OrchestratorAction untyped;
  untyped.set_id(4);
  OrchestratorAction entity;
  entity.set_id(2);
  entity.mutable_sendentitymessage();
  OrchestratorAction timer;
  timer.set_id(3);
  *timer.mutable_createtimer()->mutable_fireat() = ToProto(kNow + absl::Hours(1));
  OrchestratorAction big = Complete(ORCHESTRATION_STATUS_COMPLETED, std::string(200, 'x'));
  return {
      {"no actions", {}, absl::StatusCode::kOk, ORCHESTRATION_STATUS_RUNNING, "", false},
      {"a timer", {timer}, absl::StatusCode::kOk, ORCHESTRATION_STATUS_RUNNING, "", false},
      {"completed", {Complete(ORCHESTRATION_STATUS_COMPLETED, "42")}, absl::StatusCode::kOk,
       ORCHESTRATION_STATUS_COMPLETED, "", true},
      {"failed", {Complete(ORCHESTRATION_STATUS_FAILED)}, absl::StatusCode::kOk,
       ORCHESTRATION_STATUS_FAILED, "OrchestrationFailed", true},
      {"continued as new", {Complete(ORCHESTRATION_STATUS_CONTINUED_AS_NEW, "1")},
       absl::StatusCode::kOk, ORCHESTRATION_STATUS_RUNNING, "", false},
      {"invalid: action without a type", {untyped}, absl::StatusCode::kInvalidArgument,
       ORCHESTRATION_STATUS_FAILED, "InvalidOrchestratorResponse.INVALID_ARGUMENT", true},
      {"invalid: entity action without a message", {entity},
       absl::StatusCode::kInvalidArgument, ORCHESTRATION_STATUS_FAILED,
       "InvalidOrchestratorResponse.INVALID_ARGUMENT", true},
      {"invalid: too many actions", {timer, timer, timer}, absl::StatusCode::kResourceExhausted,
       ORCHESTRATION_STATUS_FAILED, "InvalidOrchestratorResponse.RESOURCE_EXHAUSTED", true},
      {"invalid: result over the cap", {big}, absl::StatusCode::kResourceExhausted,
       ORCHESTRATION_STATUS_FAILED, "InvalidOrchestratorResponse.RESOURCE_EXHAUSTED", true},
  };
}

class EpisodeTest : public ::testing::TestWithParam<EpisodeCase> {};

TEST_P(EpisodeTest, Transition) {
  const EpisodeCase& c = GetParam();
  Fixture f;
  f.record = Rec("i", ORCHESTRATION_STATUS_RUNNING);
  f.record->mutable_parent()->set_taskscheduledid(6);
  f.record->mutable_parent()->mutable_orchestrationinstance()->set_instanceid("p");
  f.record->mutable_parent()->mutable_orchestrationinstance()->mutable_executionid()->set_value(
      "pe");
  f.history = {Ev(HistoryEvent::kOrchestratorStarted), Ev(HistoryEvent::kExecutionStarted),
               Ev(HistoryEvent::kOrchestratorCompleted)};
  f.record->set_history_size(f.history.size());
  f.inbox = {Ev(HistoryEvent::kEventRaised), Ev(HistoryEvent::kEventRaised)};
  std::vector<HistoryEvent> dispatched = {Ev(HistoryEvent::kOrchestratorStarted), f.inbox[0]};
  EpisodeResultCommand cmd;
  cmd.instance_id = "i";
  cmd.response.set_instanceid("i");
  for (const auto& a : c.actions) *cmd.response.add_actions() = a;
  Limits limits;
  limits.max_payload_bytes = 100;
  limits.max_actions = 2;
  Transition t = CompleteEpisode(f.State(), dispatched, 1, cmd, kNow, [&] { return f.NewId(); },
                                 limits);
  EXPECT_EQ(t.reply.code(), c.want_reply) << t.reply;
  ASSERT_TRUE(t.record.has_value());
  EXPECT_EQ(t.record->status(), c.want_status);
  EXPECT_EQ(t.record->failure_details().errortype(), c.want_error_type);
  if (c.want_reply != absl::StatusCode::kOk) {
    EXPECT_TRUE(t.record->failure_details().isnonretriable());
    EXPECT_EQ(t.record->failure_details().errormessage(), std::string(t.reply.message()));
  }
  EXPECT_EQ(t.became_terminal, c.want_terminal);
  EXPECT_TRUE(t.release_episode);
  EXPECT_EQ(t.inbox_consumed, 1u);
  // A terminal child tells its parent (the parent's execution only); else no message.
  if (c.want_terminal) {
    ASSERT_EQ(t.outbox.size(), 1u);
    EXPECT_EQ(t.outbox[0].kind, MK::kEvent);
    EXPECT_EQ(t.outbox[0].target, "p");
    EXPECT_EQ(t.outbox[0].expected_execution_id, "pe");
    EXPECT_EQ(t.outbox[0].event.eventType_case(),
              c.want_status == ORCHESTRATION_STATUS_COMPLETED
                  ? HistoryEvent::kSubOrchestrationInstanceCompleted
                  : HistoryEvent::kSubOrchestrationInstanceFailed);
    EXPECT_EQ(Kinds(t.history_append).back(), HistoryEvent::kOrchestratorCompleted);
    EXPECT_TRUE(t.activities.empty() && t.timers.empty());
  } else {
    EXPECT_TRUE(t.outbox.empty());
  }
  if (std::string(c.name) == "continued as new") {
    EXPECT_TRUE(t.reset_history);
    EXPECT_EQ(t.record->execution_id(), "gen-1");
    EXPECT_EQ(Kinds(t.inbox_front), std::vector<Kind>{HistoryEvent::kExecutionStarted});
  }
  if (std::string(c.name) == "a timer") {
    EXPECT_EQ(t.timers.size(), 1u);
  }
}

INSTANTIATE_TEST_SUITE_P(Lifecycle, EpisodeTest, ::testing::ValuesIn(EpisodeCases()),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (char& ch : n) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return n;
                         });

TEST(LifecycleEpisodeTest, EffectsBecomeDispatchAndMessages) {
  Fixture f;
  f.record = Rec("i", ORCHESTRATION_STATUS_PENDING);
  f.inbox = {Ev(HistoryEvent::kExecutionStarted)};
  std::vector<HistoryEvent> dispatched = {Ev(HistoryEvent::kOrchestratorStarted), f.inbox[0]};
  EpisodeResultCommand cmd;
  auto* task = cmd.response.add_actions();
  task->set_id(0);
  task->mutable_scheduletask()->set_name("act");
  auto* child = cmd.response.add_actions();
  child->set_id(1);
  child->mutable_createsuborchestration()->set_name("sub");
  child->mutable_createsuborchestration()->mutable_input()->set_value("in");
  auto* send = cmd.response.add_actions();
  send->set_id(2);
  send->mutable_sendevent()->mutable_instance()->set_instanceid("other");
  send->mutable_sendevent()->set_name("hello");
  auto* term = cmd.response.add_actions();
  term->set_id(3);
  term->mutable_terminateorchestration()->set_instanceid("victim");
  term->mutable_terminateorchestration()->mutable_reason()->set_value("bye");
  Transition t = CompleteEpisode(f.State(), dispatched, 1, cmd, kNow, [&] { return f.NewId(); },
                                 {});
  ASSERT_TRUE(t.reply.ok()) << t.reply;
  EXPECT_EQ(t.record->status(), ORCHESTRATION_STATUS_RUNNING);
  ASSERT_EQ(t.activities.size(), 1u);
  EXPECT_EQ(t.activities[0].orchestrationinstance().executionid().value(), "e1");
  // Children first, then events (one may be for a child created here), terminations.
  ASSERT_EQ(t.outbox.size(), 3u);
  EXPECT_EQ(t.outbox[1].kind, MK::kEvent);
  EXPECT_EQ(t.outbox[1].target, "other");
  EXPECT_EQ(t.outbox[1].event.eventraised().name(), "hello");
  EXPECT_EQ(t.outbox[0].kind, MK::kStartChild);
  EXPECT_EQ(t.outbox[0].target, "i:0001");
  const NewInstance& c = t.outbox[0].child;
  EXPECT_FALSE(c.record.execution_id().empty());
  EXPECT_EQ(c.record.execution_id(),
            c.start.executionstarted().orchestrationinstance().executionid().value());
  EXPECT_EQ(c.record.parent().orchestrationinstance().executionid().value(), "e1");
  EXPECT_EQ(c.record.parent().taskscheduledid(), 1);
  EXPECT_EQ(c.record.original_input().value(), "in");
  EXPECT_EQ(t.outbox[2].kind, MK::kTerminate);
  EXPECT_EQ(t.outbox[2].target, "victim");
  EXPECT_EQ(t.outbox[2].event.executionterminated().input().value(), "bye");
  // history: OS, ES (dispatched), taskScheduled, subOrchCreated, eventSent, OC
  EXPECT_EQ(t.history_append.size(), 6u);
  EXPECT_EQ(t.record->history_size(), 6u);
}

TEST(LifecycleEpisodeTest, ResponseForAnotherInstanceIsRefused) {
  Fixture f;
  f.record = Rec("i", ORCHESTRATION_STATUS_RUNNING);
  EpisodeResultCommand cmd;
  cmd.instance_id = "j";
  Transition t = CompleteEpisode(f.State(), {}, 0, cmd, kNow, [&] { return f.NewId(); }, {});
  EXPECT_EQ(t.reply.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(t.empty());  // the episode stays in flight
}

// A FAILED parent whose children c1 failed, c2 completed and c3 failed is rewound; the
// worker (an SDK that predates rewind) answers without a rewind action.
TEST(LifecycleEpisodeTest, RewindRewindsFailedChildrenAndRecreatesPurgedOnes) {
  Fixture parent;
  parent.record = Rec("p", ORCHESTRATION_STATUS_FAILED, "pe1");
  auto created = [](int id, const std::string& child) {
    HistoryEvent e = Ev(HistoryEvent::kSubOrchestrationInstanceCreated, id);
    e.mutable_suborchestrationinstancecreated()->set_instanceid(child);
    e.mutable_suborchestrationinstancecreated()->set_name("sub");
    e.mutable_suborchestrationinstancecreated()->mutable_input()->set_value("in");
    (*e.mutable_suborchestrationinstancecreated()->mutable_tags())["t"] = "v";
    return e;
  };
  HistoryEvent started = Ev(HistoryEvent::kExecutionStarted);
  started.mutable_executionstarted()->mutable_orchestrationinstance()->set_instanceid("p");
  HistoryEvent f1 = Ev(HistoryEvent::kSubOrchestrationInstanceFailed);
  f1.mutable_suborchestrationinstancefailed()->set_taskscheduledid(1);
  HistoryEvent c2 = Ev(HistoryEvent::kSubOrchestrationInstanceCompleted);
  c2.mutable_suborchestrationinstancecompleted()->set_taskscheduledid(2);
  HistoryEvent f3 = Ev(HistoryEvent::kSubOrchestrationInstanceFailed);
  f3.mutable_suborchestrationinstancefailed()->set_taskscheduledid(3);
  parent.history = {Ev(HistoryEvent::kOrchestratorStarted), started, created(1, "c1"),
                    created(2, "c2"), created(3, "c3"), Ev(HistoryEvent::kOrchestratorCompleted),
                    Ev(HistoryEvent::kOrchestratorStarted), f1, c2, f3,
                    Ev(HistoryEvent::kExecutionCompleted),
                    Ev(HistoryEvent::kOrchestratorCompleted)};
  parent.record->set_history_size(parent.history.size());
  auto ids = [&] { return parent.NewId(); };

  Transition rewind = Rewind(parent.State(), {"p", "again"}, kNow);
  ASSERT_TRUE(rewind.reply.ok());
  parent.record = *rewind.record;
  parent.inbox = {rewind.inbox_append[0]};
  std::vector<HistoryEvent> dispatched = {Ev(HistoryEvent::kOrchestratorStarted),
                                          parent.inbox[0]};
  EpisodeResultCommand cmd;
  *cmd.response.add_actions() = Complete(ORCHESTRATION_STATUS_FAILED);  // replays, fails again
  Transition t = CompleteEpisode(parent.State(), dispatched, 1, cmd, kNow, ids, {});
  ASSERT_TRUE(t.reply.ok()) << t.reply;
  EXPECT_EQ(t.record->status(), ORCHESTRATION_STATUS_RUNNING);
  EXPECT_TRUE(t.record->force_episode());
  EXPECT_TRUE(t.reset_history);
  const std::string new_exec = t.record->execution_id();
  EXPECT_EQ(new_exec, "gen-1");
  std::vector<std::string> targets;
  for (const auto& m : t.outbox) {
    ASSERT_EQ(m.kind, MK::kRewindChild);
    targets.push_back(m.target);
    EXPECT_EQ(m.event.executionrewound().parentexecutionid().value(), new_exec);
    EXPECT_EQ(m.event.executionrewound().reason().value(), "again");
  }
  EXPECT_EQ(targets, (std::vector<std::string>{"c1", "c3"}));

  // c1 still exists, FAILED: rewound, now under the parent's new execution.
  Fixture c1;
  c1.record = Rec("c1", ORCHESTRATION_STATUS_FAILED, "c1e");
  c1.record->mutable_parent()->mutable_orchestrationinstance()->set_instanceid("p");
  c1.record->mutable_parent()->mutable_orchestrationinstance()->mutable_executionid()->set_value(
      "pe1");
  Transition r1 = Receive(c1.State(), t.outbox[0], kNow);
  ASSERT_TRUE(r1.record.has_value());
  EXPECT_EQ(r1.record->status(), ORCHESTRATION_STATUS_RUNNING);
  EXPECT_EQ(r1.record->execution_id(), "c1e");
  EXPECT_EQ(r1.record->parent().orchestrationinstance().executionid().value(), new_exec);
  EXPECT_EQ(Kinds(r1.inbox_append), std::vector<Kind>{HistoryEvent::kExecutionRewound});
  EXPECT_FALSE(r1.discard_existing);

  // c3 was purged: created again from its creation event.
  Fixture c3;
  Transition r3 = Receive(c3.State(), t.outbox[1], kNow);
  ASSERT_TRUE(r3.record.has_value());
  EXPECT_EQ(r3.record->status(), ORCHESTRATION_STATUS_PENDING);
  EXPECT_EQ(r3.record->name(), "sub");
  EXPECT_EQ(r3.record->input().value(), "in");
  EXPECT_EQ(r3.record->tags().at("t"), "v");
  EXPECT_FALSE(r3.record->execution_id().empty());
  EXPECT_EQ(r3.record->parent().taskscheduledid(), 3);
  EXPECT_EQ(r3.record->parent().orchestrationinstance().instanceid(), "p");
  EXPECT_EQ(r3.record->parent().orchestrationinstance().executionid().value(), new_exec);
  ASSERT_EQ(Kinds(r3.inbox_append), std::vector<Kind>{HistoryEvent::kExecutionStarted});
  EXPECT_EQ(r3.inbox_append[0].executionstarted().parentinstance().taskscheduledid(), 3);
}

}  // namespace
}  // namespace taskhub::core
