// Scenarios across instances: a small in-memory World applies every Transition exactly
// as lifecycle.h's contract says (the engine's job) and delivers outbox messages with
// Receive. It checks after every step that each record's history_size matches its
// history, so a transition whose record and history ops disagree fails here.
#include <algorithm>
#include <deque>
#include <map>

#include "gtest/gtest.h"
#include "server/core/lifecycle.h"
#include "server/core/lifecycle_test_support.h"

namespace taskhub::core {
namespace {

using namespace taskhub::core::testing;  // NOLINT
using Kind = HistoryEvent::EventTypeCase;

class World {
 public:
  struct Inst {
    store::InstanceRecord rec;
    std::vector<HistoryEvent> history;
    std::deque<HistoryEvent> inbox;
    bool in_flight = false;
    std::vector<HistoryEvent> new_events;
    size_t dispatched = 0;
    std::vector<ActivityRequest> activities;
  };

  absl::Time now = kNow;
  std::map<std::string, Inst> instances;

  std::string NewId() { return gen_.NewId(); }

  InstanceState StateOf(const std::string& id) {
    InstanceState s;
    auto it = instances.find(id);
    if (it == instances.end()) return s;
    s.record = &it->second.rec;
    s.history = &it->second.history;
    for (const auto& e : it->second.inbox) s.inbox.push_back(&e);
    return s;
  }

  // Applies `t` per the contract, then delivers its outbox (and theirs), in order.
  absl::Status Apply(Transition t) {
    std::deque<Message> outbox;
    absl::Status reply = ApplyOne(std::move(t), &outbox);
    while (!outbox.empty()) {
      Message m = std::move(outbox.front());
      outbox.pop_front();
      ApplyOne(Receive(StateOf(m.target), m, now), &outbox).IgnoreError();
    }
    return reply;
  }

  absl::Status Start(const std::string& id, const std::string& name = "orch") {
    StartCommand cmd;
    cmd.instance_id = id;
    cmd.name = name;
    return Apply(core::Start(StateOf(id), cmd, now, [&] { return NewId(); }));
  }

  // The engine's dispatch step: terminate, or open an episode. Returns whether an
  // episode is now in flight.
  bool Dispatch(const std::string& id) {
    Inst* inst = Find(id);
    if (inst == nullptr || inst->in_flight) return false;
    InstanceState s = StateOf(id);
    switch (Next(s)) {
      case NextStep::kIdle:
        return false;
      case NextStep::kTerminate:
        EXPECT_TRUE(Apply(TerminateNow(s, now)).ok());
        return false;
      case NextStep::kEpisode:
        break;
    }
    EpisodeOpen open = OpenEpisode(s, now);
    inst->in_flight = true;
    inst->dispatched = open.dispatched;
    inst->new_events = std::move(open.new_events);
    return true;
  }

  absl::Status Answer(const std::string& id, std::vector<OrchestratorAction> actions) {
    Inst* inst = Find(id);
    EXPECT_TRUE(inst != nullptr && inst->in_flight) << id;
    if (inst == nullptr || !inst->in_flight) return absl::InternalError("not in flight");
    EpisodeResultCommand cmd;
    cmd.instance_id = id;
    for (auto& a : actions) *cmd.response.add_actions() = std::move(a);
    return Apply(CompleteEpisode(StateOf(id), inst->new_events, inst->dispatched, cmd, now,
                                 [&] { return NewId(); }, {}));
  }

  // Dispatches and answers in one step.
  absl::Status Run(const std::string& id, std::vector<OrchestratorAction> actions) {
    if (!Dispatch(id)) return absl::FailedPreconditionError("nothing to dispatch");
    return Answer(id, std::move(actions));
  }

  Inst* Find(const std::string& id) {
    auto it = instances.find(id);
    return it == instances.end() ? nullptr : &it->second;
  }
  OrchestrationStatus Status(const std::string& id) { return Find(id)->rec.status(); }
  std::vector<Kind> InboxKinds(const std::string& id) {
    return Kinds({Find(id)->inbox.begin(), Find(id)->inbox.end()});
  }

 private:
  absl::Status ApplyOne(Transition t, std::deque<Message>* outbox) {
    if (!t.reply.ok() && t.empty()) return t.reply;
    const std::string id = t.instance_id;
    if (t.discard_existing) instances.erase(id);
    if (t.record) {
      EXPECT_EQ(t.record->instance_id(), id);
      instances[id].rec = std::move(*t.record);
    }
    Inst* inst = Find(id);
    if (inst == nullptr) {
      EXPECT_TRUE(t.history_append.empty() && t.inbox_append.empty()) << "ops on no instance";
      for (auto& m : t.outbox) outbox->push_back(std::move(m));
      return t.reply;
    }
    if (t.reset_history) inst->history.clear();
    for (auto& e : t.history_append) inst->history.push_back(std::move(e));
    for (size_t i = 0; i < t.inbox_consumed && !inst->inbox.empty(); ++i) inst->inbox.pop_front();
    for (auto it = t.inbox_front.rbegin(); it != t.inbox_front.rend(); ++it) {
      inst->inbox.push_front(std::move(*it));
    }
    for (auto& e : t.inbox_append) inst->inbox.push_back(std::move(e));
    for (auto& a : t.activities) inst->activities.push_back(std::move(a));
    if (t.release_episode) inst->in_flight = false;
    if (t.became_terminal) {
      EXPECT_TRUE(IsTerminal(inst->rec.status()));
      inst->inbox.clear();
      inst->activities.clear();
      inst->in_flight = false;
    }
    EXPECT_EQ(inst->rec.history_size(), inst->history.size()) << id;
    for (auto& m : t.outbox) outbox->push_back(std::move(m));
    return t.reply;
  }

  SequentialIdGenerator gen_{"id"};
};

OrchestratorAction CreateChild(int id, const std::string& child) {
  OrchestratorAction a;
  a.set_id(id);
  a.mutable_createsuborchestration()->set_instanceid(child);
  a.mutable_createsuborchestration()->set_name("child");
  return a;
}

OrchestratorAction Finish(OrchestrationStatus s, const std::string& result = "") {
  OrchestratorAction a;
  a.set_id(99);
  a.mutable_completeorchestration()->set_orchestrationstatus(s);
  if (!result.empty()) a.mutable_completeorchestration()->mutable_result()->set_value(result);
  if (s == ORCHESTRATION_STATUS_FAILED) {
    a.mutable_completeorchestration()->mutable_failuredetails()->set_errormessage("boom");
  }
  return a;
}

TEST(LifecycleScenarioTest, ChildCompletesAndNotifiesItsParent) {
  World w;
  ASSERT_TRUE(w.Start("p").ok());
  ASSERT_TRUE(w.Run("p", {CreateChild(0, "c")}).ok());
  ASSERT_NE(w.Find("c"), nullptr);
  EXPECT_EQ(w.Status("c"), ORCHESTRATION_STATUS_PENDING);
  EXPECT_EQ(w.Find("c")->rec.parent().orchestrationinstance().executionid().value(),
            w.Find("p")->rec.execution_id());
  ASSERT_TRUE(w.Run("c", {Finish(ORCHESTRATION_STATUS_COMPLETED, "7")}).ok());
  EXPECT_EQ(w.Status("c"), ORCHESTRATION_STATUS_COMPLETED);
  ASSERT_EQ(w.InboxKinds("p"), std::vector<Kind>{HistoryEvent::kSubOrchestrationInstanceCompleted});
  EXPECT_EQ(w.Find("p")->inbox[0].suborchestrationinstancecompleted().result().value(), "7");
  ASSERT_TRUE(w.Run("p", {Finish(ORCHESTRATION_STATUS_COMPLETED)}).ok());
  EXPECT_EQ(w.Status("p"), ORCHESTRATION_STATUS_COMPLETED);
}

TEST(LifecycleScenarioTest, ChildThatAlreadyRunsFailsTheParentsTask) {
  World w;
  ASSERT_TRUE(w.Start("c").ok());
  ASSERT_TRUE(w.Run("c", {}).ok());  // c runs
  ASSERT_TRUE(w.Start("p").ok());
  ASSERT_TRUE(w.Run("p", {CreateChild(3, "c")}).ok());
  ASSERT_EQ(w.InboxKinds("p"), std::vector<Kind>{HistoryEvent::kSubOrchestrationInstanceFailed});
  const auto& failed = w.Find("p")->inbox[0].suborchestrationinstancefailed();
  EXPECT_EQ(failed.taskscheduledid(), 3);
  EXPECT_EQ(failed.failuredetails().errortype(), "OrchestrationAlreadyExists");
  EXPECT_EQ(w.Status("c"), ORCHESTRATION_STATUS_RUNNING);  // untouched
  EXPECT_FALSE(w.Find("c")->rec.has_parent());
}

TEST(LifecycleScenarioTest, RecursiveTerminateReachesGrandchildren) {
  World w;
  ASSERT_TRUE(w.Start("p").ok());
  ASSERT_TRUE(w.Run("p", {CreateChild(0, "c")}).ok());
  ASSERT_TRUE(w.Run("c", {CreateChild(0, "g")}).ok());
  ASSERT_TRUE(w.Run("g", {}).ok());
  ASSERT_TRUE(w.Apply(RaiseEvent(w.StateOf("p"), {"p", "e", std::nullopt}, w.now)).ok());
  ASSERT_TRUE(w.Dispatch("p"));  // an episode in flight is released by the request
  ASSERT_TRUE(w.Apply(RequestTerminate(w.StateOf("p"), {"p", "stop", true}, w.now)).ok());
  EXPECT_FALSE(w.Find("p")->in_flight);
  EXPECT_FALSE(w.Dispatch("p"));  // terminates instead
  EXPECT_EQ(w.Status("p"), ORCHESTRATION_STATUS_TERMINATED);
  EXPECT_EQ(w.Find("p")->rec.output().value(), "stop");
  EXPECT_FALSE(w.Dispatch("c"));
  EXPECT_FALSE(w.Dispatch("g"));
  EXPECT_EQ(w.Status("c"), ORCHESTRATION_STATUS_TERMINATED);
  EXPECT_EQ(w.Status("g"), ORCHESTRATION_STATUS_TERMINATED);
  // The parents had finished: their notifications were dropped, they stay terminal.
  EXPECT_TRUE(w.Find("p")->inbox.empty());
  EXPECT_EQ(w.Status("p"), ORCHESTRATION_STATUS_TERMINATED);
  // A late answer from the released episode of p changes nothing.
  EXPECT_TRUE(
      w.Apply(CompleteEpisode(w.StateOf("p"), {}, 0, {}, w.now, [&] { return w.NewId(); }, {}))
          .ok());
  EXPECT_EQ(w.Status("p"), ORCHESTRATION_STATUS_TERMINATED);
}

TEST(LifecycleScenarioTest, TerminateSuspendedAndNeverStarted) {
  World w;
  ASSERT_TRUE(w.Start("a").ok());
  ASSERT_TRUE(w.Apply(RequestTerminate(w.StateOf("a"), {"a", std::nullopt, false}, w.now)).ok());
  EXPECT_FALSE(w.Dispatch("a"));
  EXPECT_EQ(w.Status("a"), ORCHESTRATION_STATUS_TERMINATED);
  EXPECT_EQ(Kinds(w.Find("a")->history),
            (std::vector<Kind>{HistoryEvent::kOrchestratorStarted, HistoryEvent::kExecutionStarted,
                               HistoryEvent::kExecutionTerminated,
                               HistoryEvent::kExecutionCompleted,
                               HistoryEvent::kOrchestratorCompleted}));

  ASSERT_TRUE(w.Start("b").ok());
  ASSERT_TRUE(w.Run("b", {}).ok());
  ASSERT_TRUE(w.Apply(Suspend(w.StateOf("b"), {"b", std::nullopt}, w.now)).ok());
  ASSERT_TRUE(w.Run("b", {}).ok());
  EXPECT_EQ(w.Status("b"), ORCHESTRATION_STATUS_SUSPENDED);
  ASSERT_TRUE(w.Apply(RaiseEvent(w.StateOf("b"), {"b", "e", std::nullopt}, w.now)).ok());
  ASSERT_TRUE(w.Apply(RequestTerminate(w.StateOf("b"), {"b", "x", false}, w.now)).ok());
  EXPECT_FALSE(w.Dispatch("b"));
  EXPECT_EQ(w.Status("b"), ORCHESTRATION_STATUS_TERMINATED);
  EXPECT_TRUE(w.Find("b")->inbox.empty());
  // Finished: events are ignored, control requests refused or no-ops.
  EXPECT_TRUE(w.Apply(RaiseEvent(w.StateOf("b"), {"b", "e", std::nullopt}, w.now)).ok());
  EXPECT_TRUE(w.Find("b")->inbox.empty());
  EXPECT_EQ(w.Apply(Resume(w.StateOf("b"), {"b", std::nullopt}, w.now)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(LifecycleScenarioTest, ContinueAsNewKeepsEventsThatArrivedDuringTheEpisode) {
  World w;
  ASSERT_TRUE(w.Start("a").ok());
  ASSERT_TRUE(w.Dispatch("a"));
  ASSERT_TRUE(w.Apply(RaiseEvent(w.StateOf("a"), {"a", "late", std::nullopt}, w.now)).ok());
  OrchestratorAction can = Finish(ORCHESTRATION_STATUS_CONTINUED_AS_NEW, "2");
  HistoryEvent carried = Ev(HistoryEvent::kEventRaised);
  carried.mutable_eventraised()->set_name("carried");
  *can.mutable_completeorchestration()->add_carryoverevents() = carried;
  const std::string old_exec = w.Find("a")->rec.execution_id();
  ASSERT_TRUE(w.Answer("a", {can}).ok());
  EXPECT_NE(w.Find("a")->rec.execution_id(), old_exec);
  EXPECT_TRUE(w.Find("a")->history.empty());
  ASSERT_EQ(w.InboxKinds("a"), (std::vector<Kind>{HistoryEvent::kExecutionStarted,
                                                  HistoryEvent::kEventRaised,
                                                  HistoryEvent::kEventRaised}));
  EXPECT_EQ(w.Find("a")->inbox[1].eventraised().name(), "carried");
  EXPECT_EQ(w.Find("a")->inbox[2].eventraised().name(), "late");
}

// Parent p fails because its child c failed; rewinding p (its worker predates rewind)
// rewinds c under p's new execution, and c's completion reaches the rewound p.
TEST(LifecycleScenarioTest, RewindThroughAFailedChild) {
  World w;
  ASSERT_TRUE(w.Start("p").ok());
  ASSERT_TRUE(w.Run("p", {CreateChild(0, "c")}).ok());
  ASSERT_TRUE(w.Run("c", {Finish(ORCHESTRATION_STATUS_FAILED)}).ok());
  ASSERT_TRUE(w.Run("p", {Finish(ORCHESTRATION_STATUS_FAILED)}).ok());
  ASSERT_EQ(w.Status("p"), ORCHESTRATION_STATUS_FAILED);
  const std::string old_exec = w.Find("p")->rec.execution_id();

  ASSERT_TRUE(w.Apply(Rewind(w.StateOf("p"), {"p", "again"}, w.now)).ok());
  ASSERT_TRUE(w.Run("p", {Finish(ORCHESTRATION_STATUS_FAILED)}).ok());  // replays, fails again
  EXPECT_EQ(w.Status("p"), ORCHESTRATION_STATUS_RUNNING);
  const std::string new_exec = w.Find("p")->rec.execution_id();
  EXPECT_NE(new_exec, old_exec);
  EXPECT_EQ(w.Status("c"), ORCHESTRATION_STATUS_RUNNING);
  EXPECT_EQ(w.Find("c")->rec.parent().orchestrationinstance().executionid().value(), new_exec);

  ASSERT_TRUE(w.Run("c", {Finish(ORCHESTRATION_STATUS_FAILED)}).ok());  // c's rewind episode
  ASSERT_TRUE(w.Run("c", {Finish(ORCHESTRATION_STATUS_COMPLETED, "ok")}).ok());
  EXPECT_EQ(w.Status("c"), ORCHESTRATION_STATUS_COMPLETED);
  // c's result reached the rewound execution of p.
  ASSERT_EQ(w.InboxKinds("p"), std::vector<Kind>{HistoryEvent::kSubOrchestrationInstanceCompleted});
  ASSERT_TRUE(w.Run("p", {Finish(ORCHESTRATION_STATUS_COMPLETED)}).ok());
  EXPECT_EQ(w.Status("p"), ORCHESTRATION_STATUS_COMPLETED);
}

int Completions(const std::vector<HistoryEvent>& history) {
  return static_cast<int>(std::count_if(history.begin(), history.end(),
                                        [](const auto& e) { return e.has_executioncompleted(); }));
}

// p failed; it is rewound and terminated before the rewind episode rewrote its history
// (with that episode in flight): the history holds one completion, the termination.
TEST(LifecycleScenarioTest, TerminateWhileARewindIsPending) {
  World w;
  ASSERT_TRUE(w.Start("p").ok());
  ASSERT_TRUE(w.Run("p", {Finish(ORCHESTRATION_STATUS_FAILED)}).ok());
  ASSERT_EQ(Completions(w.Find("p")->history), 1);
  ASSERT_TRUE(w.Apply(Rewind(w.StateOf("p"), {"p", "again"}, w.now)).ok());
  ASSERT_TRUE(w.Dispatch("p"));  // the rewind episode, released by the request
  ASSERT_TRUE(w.Apply(RequestTerminate(w.StateOf("p"), {"p", "stop", true}, w.now)).ok());
  EXPECT_FALSE(w.Dispatch("p"));  // terminates
  EXPECT_EQ(w.Status("p"), ORCHESTRATION_STATUS_TERMINATED);
  const std::vector<HistoryEvent>& h = w.Find("p")->history;
  ASSERT_EQ(Completions(h), 1);
  EXPECT_EQ(h[h.size() - 2].executioncompleted().orchestrationstatus(),
            ORCHESTRATION_STATUS_TERMINATED);
  EXPECT_TRUE(std::any_of(h.begin(), h.end(), [](const auto& e) {
    return e.has_executionrewound();  // the rewind stays on record
  }));
}

// c was terminated, so p got its failure and failed. Rewinding p does not re-run the
// terminated child: c's result is delivered again, p decides again (here: fails).
TEST(LifecycleScenarioTest, RewindOverATerminatedChildDeliversItsResultAgain) {
  World w;
  ASSERT_TRUE(w.Start("p").ok());
  ASSERT_TRUE(w.Run("p", {CreateChild(0, "c")}).ok());
  ASSERT_TRUE(w.Run("c", {}).ok());
  ASSERT_TRUE(w.Apply(RequestTerminate(w.StateOf("c"), {"c", "stop", false}, w.now)).ok());
  EXPECT_FALSE(w.Dispatch("c"));
  ASSERT_EQ(w.Status("c"), ORCHESTRATION_STATUS_TERMINATED);
  ASSERT_TRUE(w.Run("p", {Finish(ORCHESTRATION_STATUS_FAILED)}).ok());

  ASSERT_TRUE(w.Apply(Rewind(w.StateOf("p"), {"p", "again"}, w.now)).ok());
  ASSERT_TRUE(w.Run("p", {Finish(ORCHESTRATION_STATUS_FAILED)}).ok());  // server rewinds
  EXPECT_EQ(w.Status("p"), ORCHESTRATION_STATUS_RUNNING);
  EXPECT_EQ(w.Status("c"), ORCHESTRATION_STATUS_TERMINATED);  // not re-run
  ASSERT_EQ(w.InboxKinds("p"), std::vector<Kind>{HistoryEvent::kSubOrchestrationInstanceFailed});
  EXPECT_EQ(w.Find("p")->inbox[0].suborchestrationinstancefailed().taskscheduledid(), 0);
  ASSERT_TRUE(w.Run("p", {Finish(ORCHESTRATION_STATUS_FAILED)}).ok());
  EXPECT_EQ(w.Status("p"), ORCHESTRATION_STATUS_FAILED);
}

// p failed while c still ran; c completes before (c1) or after (c2) p is rewound: its
// result reaches p's new execution either way.
TEST(LifecycleScenarioTest, RewindWaitsForChildrenThatDidNotFail) {
  World w;
  ASSERT_TRUE(w.Start("p").ok());
  ASSERT_TRUE(w.Run("p", {CreateChild(0, "c1"), CreateChild(1, "c2")}).ok());
  ASSERT_TRUE(w.Run("c1", {}).ok());
  ASSERT_TRUE(w.Run("c2", {}).ok());
  ASSERT_TRUE(w.Apply(RaiseEvent(w.StateOf("p"), {"p", "boom", std::nullopt}, w.now)).ok());
  ASSERT_TRUE(w.Run("p", {Finish(ORCHESTRATION_STATUS_FAILED)}).ok());
  ASSERT_TRUE(w.Apply(RaiseEvent(w.StateOf("c1"), {"c1", "go", std::nullopt}, w.now)).ok());
  ASSERT_TRUE(w.Run("c1", {Finish(ORCHESTRATION_STATUS_COMPLETED, "1")}).ok());  // dropped

  ASSERT_TRUE(w.Apply(Rewind(w.StateOf("p"), {"p", "again"}, w.now)).ok());
  ASSERT_TRUE(w.Run("p", {Finish(ORCHESTRATION_STATUS_FAILED)}).ok());  // server rewinds
  const std::string exec = w.Find("p")->rec.execution_id();
  EXPECT_EQ(w.Find("c2")->rec.parent().orchestrationinstance().executionid().value(), exec);
  ASSERT_EQ(w.InboxKinds("p"),
            std::vector<Kind>{HistoryEvent::kSubOrchestrationInstanceCompleted});  // c1
  ASSERT_TRUE(w.Apply(RaiseEvent(w.StateOf("c2"), {"c2", "go", std::nullopt}, w.now)).ok());
  ASSERT_TRUE(w.Run("c2", {Finish(ORCHESTRATION_STATUS_COMPLETED, "2")}).ok());
  EXPECT_EQ(w.InboxKinds("p"),
            (std::vector<Kind>{HistoryEvent::kSubOrchestrationInstanceCompleted,
                               HistoryEvent::kSubOrchestrationInstanceCompleted}));
}

// Rewinding a failed child directly is refused: p already has its failure as the
// result of that task, and would get a second one.
TEST(LifecycleScenarioTest, RewindOfASubOrchestrationIsRefused) {
  World w;
  ASSERT_TRUE(w.Start("p").ok());
  ASSERT_TRUE(w.Run("p", {CreateChild(0, "c")}).ok());
  ASSERT_TRUE(w.Run("c", {Finish(ORCHESTRATION_STATUS_FAILED)}).ok());
  ASSERT_TRUE(w.Run("p", {Finish(ORCHESTRATION_STATUS_FAILED)}).ok());
  absl::Status st = w.Apply(Rewind(w.StateOf("c"), {"c", "again"}, w.now));
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_EQ(w.Status("c"), ORCHESTRATION_STATUS_FAILED);
  EXPECT_TRUE(w.Find("c")->inbox.empty());
  EXPECT_TRUE(w.Find("p")->inbox.empty());
}

TEST(LifecycleScenarioTest, RestartReplacesAndStartPolicyGuardsLiveInstances) {
  World w;
  ASSERT_TRUE(w.Start("a").ok());
  EXPECT_EQ(w.Start("a").code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(w.Run("a", {Finish(ORCHESTRATION_STATUS_COMPLETED)}).ok());
  absl::StatusOr<StartCommand> again = Restart(w.StateOf("a"), {"a", false}, [&] {
    return w.NewId();
  });
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(w.Apply(Start(w.StateOf("a"), *again, w.now, [&] { return w.NewId(); })).ok());
  EXPECT_EQ(w.Status("a"), ORCHESTRATION_STATUS_PENDING);
  EXPECT_TRUE(w.Find("a")->history.empty());
  EXPECT_EQ(w.InboxKinds("a"), std::vector<Kind>{HistoryEvent::kExecutionStarted});
}

}  // namespace
}  // namespace taskhub::core
