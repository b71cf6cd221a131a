// Table-driven tests of the worker, timer and message transitions
// (server/core/lifecycle.h): terminate-now, activity and episode results, timers,
// messages between instances.
#include <functional>

#include "gtest/gtest.h"
#include "server/core/lifecycle.h"
#include "server/core/lifecycle_test_support.h"

namespace taskhub::core {
namespace {

using namespace taskhub::core::testing;  // NOLINT
using Kind = HistoryEvent::EventTypeCase;
using MK = Message::Kind;

std::string Name(std::string n) {
  for (char& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
}

// --- terminate-now ----------------------------------------------------------------

HistoryEvent Term(bool recurse) {
  HistoryEvent e = Ev(HistoryEvent::kExecutionTerminated);
  e.mutable_executionterminated()->mutable_input()->set_value("stop");
  e.mutable_executionterminated()->set_recurse(recurse);
  return e;
}
HistoryEvent ChildCreated(int id, const std::string& child) {
  HistoryEvent e = Ev(HistoryEvent::kSubOrchestrationInstanceCreated, id);
  e.mutable_suborchestrationinstancecreated()->set_instanceid(child);
  e.mutable_suborchestrationinstancecreated()->set_name("child");
  return e;
}
HistoryEvent ChildFailed(int id) {
  HistoryEvent e = Ev(HistoryEvent::kSubOrchestrationInstanceFailed);
  e.mutable_suborchestrationinstancefailed()->set_taskscheduledid(id);
  return e;
}
HistoryEvent ChildCompleted(int id) {
  HistoryEvent e = Ev(HistoryEvent::kSubOrchestrationInstanceCompleted);
  e.mutable_suborchestrationinstancecompleted()->set_taskscheduledid(id);
  return e;
}

struct TerminateCase {
  const char* name;
  OrchestrationStatus status;
  std::vector<HistoryEvent> history;
  std::vector<HistoryEvent> inbox;
  bool has_parent;
  std::vector<Kind> want_history;          // appended
  std::vector<std::string> want_terminate;  // kTerminate targets
};

const Kind OS = HistoryEvent::kOrchestratorStarted, ES = HistoryEvent::kExecutionStarted,
           ET = HistoryEvent::kExecutionTerminated, EC = HistoryEvent::kExecutionCompleted,
           OC = HistoryEvent::kOrchestratorCompleted;

std::vector<TerminateCase> TerminateCases() {
  const std::vector<HistoryEvent> ran = {Ev(OS), Ev(ES), ChildCreated(0, "c0"),
                                         ChildCreated(1, "c1"), ChildCreated(2, "c2"), Ev(OC),
                                         Ev(OS), ChildCompleted(0), ChildFailed(2), Ev(OC)};
  return {
      {"running", ORCHESTRATION_STATUS_RUNNING, ran, {Ev(HistoryEvent::kEventRaised), Term(false)},
       false, {OS, ET, EC, OC}, {}},
      {"while suspended", ORCHESTRATION_STATUS_SUSPENDED, ran, {Term(false)}, false,
       {OS, ET, EC, OC}, {}},
      {"never started keeps executionStarted", ORCHESTRATION_STATUS_PENDING, {},
       {Ev(ES), Ev(HistoryEvent::kEventRaised), Term(false)}, false, {OS, ES, ET, EC, OC}, {}},
      {"recursive: only open children", ORCHESTRATION_STATUS_RUNNING, ran, {Term(true)}, false,
       {OS, ET, EC, OC}, {"c1"}},
      {"a child notifies its parent", ORCHESTRATION_STATUS_RUNNING, ran, {Term(false)}, true,
       {OS, ET, EC, OC}, {}},
  };
}

class TerminateNowTest : public ::testing::TestWithParam<TerminateCase> {};

TEST_P(TerminateNowTest, Transition) {
  const TerminateCase& c = GetParam();
  Fixture f;
  f.record = Rec("i", c.status);
  f.record->set_history_size(c.history.size());
  if (c.has_parent) {
    auto* p = f.record->mutable_parent();
    p->set_taskscheduledid(4);
    p->mutable_orchestrationinstance()->set_instanceid("parent");
    p->mutable_orchestrationinstance()->mutable_executionid()->set_value("pe");
  }
  f.history = c.history;
  f.inbox.assign(c.inbox.begin(), c.inbox.end());
  ASSERT_TRUE(HasPendingTermination(f.State().inbox));
  Transition t = TerminateNow(f.State(), kNow);
  ASSERT_TRUE(t.reply.ok());
  EXPECT_EQ(Kinds(t.history_append), c.want_history);
  ASSERT_TRUE(t.record.has_value());
  EXPECT_EQ(t.record->status(), ORCHESTRATION_STATUS_TERMINATED);
  EXPECT_EQ(t.record->output().value(), "stop");
  EXPECT_EQ(t.record->history_size(), c.history.size() + c.want_history.size());
  EXPECT_TRUE(t.became_terminal);
  EXPECT_FALSE(t.reset_history);
  std::vector<std::string> terminated;
  bool notified = false;
  for (const auto& m : t.outbox) {
    if (m.kind == MK::kTerminate) {
      terminated.push_back(m.target);
      EXPECT_TRUE(m.event.executionterminated().recurse());
    } else {
      ASSERT_EQ(m.kind, MK::kEvent);
      EXPECT_EQ(m.target, "parent");
      EXPECT_EQ(m.expected_execution_id, "pe");
      EXPECT_EQ(m.event.suborchestrationinstancefailed().taskscheduledid(), 4);
      notified = true;
    }
  }
  EXPECT_EQ(terminated, c.want_terminate);
  EXPECT_EQ(notified, c.has_parent);
}

INSTANTIATE_TEST_SUITE_P(Lifecycle, TerminateNowTest, ::testing::ValuesIn(TerminateCases()),
                         [](const auto& info) { return Name(info.param.name); });

TEST(LifecycleWorkerTest, TerminateNowWithoutATerminationIsEmpty) {
  Fixture f;
  f.record = Rec("i", ORCHESTRATION_STATUS_RUNNING);
  f.inbox.push_back(Ev(HistoryEvent::kEventRaised));
  EXPECT_FALSE(HasPendingTermination(f.State().inbox));
  EXPECT_TRUE(TerminateNow(f.State(), kNow).empty());
}

// --- dispatch: what comes next, and what an episode carries -----------------------------

struct DispatchCase {
  const char* name;
  int status;
  bool force_episode;
  std::vector<Kind> inbox;
  NextStep want_next;
  size_t want_dispatched;  // when kEpisode
};

const Kind ER = HistoryEvent::kEventRaised, SU = HistoryEvent::kExecutionSuspended,
           RE = HistoryEvent::kExecutionResumed;

const DispatchCase kDispatchCases[] = {
    {"idle", ORCHESTRATION_STATUS_RUNNING, false, {}, NextStep::kIdle, 0},
    {"finished", ORCHESTRATION_STATUS_COMPLETED, false, {ER}, NextStep::kIdle, 0},
    {"unknown", kNone, false, {}, NextStep::kIdle, 0},
    {"forced (rewind)", ORCHESTRATION_STATUS_RUNNING, true, {}, NextStep::kEpisode, 0},
    {"all events", ORCHESTRATION_STATUS_PENDING, false, {ES, ER, ER}, NextStep::kEpisode, 3},
    {"termination first", ORCHESTRATION_STATUS_RUNNING, false, {ER, ET}, NextStep::kTerminate, 0},
    {"termination while suspended", ORCHESTRATION_STATUS_SUSPENDED, false, {ET},
     NextStep::kTerminate, 0},
    {"a suspension opens its own episode", ORCHESTRATION_STATUS_RUNNING, false, {ER, SU, ER},
     NextStep::kEpisode, 1},
    {"a leading suspension is delivered", ORCHESTRATION_STATUS_RUNNING, false, {SU, ER, RE},
     NextStep::kEpisode, 3},
    {"up to the next suspension", ORCHESTRATION_STATUS_RUNNING, false, {SU, RE, SU, ER},
     NextStep::kEpisode, 2},
};

class DispatchTest : public ::testing::TestWithParam<DispatchCase> {};

TEST_P(DispatchTest, NextAndOpenEpisode) {
  const DispatchCase& c = GetParam();
  Fixture f;
  if (c.status != kNone) f.record = Rec("i", static_cast<OrchestrationStatus>(c.status));
  if (f.record) f.record->set_force_episode(c.force_episode);
  for (Kind k : c.inbox) f.inbox.push_back(Ev(k));
  EXPECT_EQ(Next(f.State()), c.want_next);
  if (c.want_next != NextStep::kEpisode) return;
  EpisodeOpen open = OpenEpisode(f.State(), kNow);
  EXPECT_EQ(open.dispatched, c.want_dispatched);
  std::vector<Kind> want = {OS};
  want.insert(want.end(), c.inbox.begin(), c.inbox.begin() + c.want_dispatched);
  EXPECT_EQ(Kinds(open.new_events), want);
  EXPECT_EQ(FromProto(open.new_events[0].timestamp()), kNow);
}

INSTANTIATE_TEST_SUITE_P(Lifecycle, DispatchTest, ::testing::ValuesIn(kDispatchCases),
                         [](const auto& info) { return Name(info.param.name); });

// --- purge -----------------------------------------------------------------------------

struct PurgeCase {
  const char* name;
  int status;
  std::string record_parent;  // the parent the record names
  std::string reached_from;   // the parent a recursive purge came from ("" = a root)
  bool want_deleted;
};

const PurgeCase kPurgeCases[] = {
    {"finished root", ORCHESTRATION_STATUS_COMPLETED, "", "", true},
    {"failed child of the purged parent", ORCHESTRATION_STATUS_FAILED, "p", "p", true},
    {"running root is kept", ORCHESTRATION_STATUS_RUNNING, "", "", false},
    {"suspended child is kept", ORCHESTRATION_STATUS_SUSPENDED, "p", "p", false},
    {"unknown", kNone, "", "", false},
    {"someone else's child", ORCHESTRATION_STATUS_COMPLETED, "q", "p", false},
    {"a reused id without a parent", ORCHESTRATION_STATUS_COMPLETED, "", "p", false},
};

class PurgeTest : public ::testing::TestWithParam<PurgeCase> {};

TEST_P(PurgeTest, Transition) {
  const PurgeCase& c = GetParam();
  Fixture f;
  if (c.status != kNone) f.record = Rec("i", static_cast<OrchestrationStatus>(c.status));
  if (f.record && !c.record_parent.empty()) {
    f.record->mutable_parent()->mutable_orchestrationinstance()->set_instanceid(c.record_parent);
  }
  Transition t = Purge(f.State(), "i", c.reached_from);
  EXPECT_TRUE(t.reply.ok());
  EXPECT_EQ(t.instance_id, "i");
  EXPECT_EQ(t.discard_existing, c.want_deleted);
  EXPECT_FALSE(t.record.has_value());
  t.discard_existing = false;
  EXPECT_TRUE(t.empty());
}

INSTANTIATE_TEST_SUITE_P(Lifecycle, PurgeTest, ::testing::ValuesIn(kPurgeCases),
                         [](const auto& info) { return Name(info.param.name); });

// --- activity results ---------------------------------------------------------------

struct ActivityCase {
  const char* name;
  int status;
  std::string exec;  // the task's execution
  std::optional<std::string> result;
  bool fail;
  absl::StatusCode want_reply;
  Kind want;  // EVENTTYPE_NOT_SET: nothing
  std::string want_error_type;
};

const ActivityCase kActivityCases[] = {
    {"completed", ORCHESTRATION_STATUS_RUNNING, "e1", "7", false, absl::StatusCode::kOk,
     HistoryEvent::kTaskCompleted, ""},
    {"completed void", ORCHESTRATION_STATUS_RUNNING, "e1", std::nullopt, false,
     absl::StatusCode::kOk, HistoryEvent::kTaskCompleted, ""},
    {"failed", ORCHESTRATION_STATUS_SUSPENDED, "e1", std::nullopt, true, absl::StatusCode::kOk,
     HistoryEvent::kTaskFailed, "Boom"},
    {"stale execution", ORCHESTRATION_STATUS_RUNNING, "e0", "7", false, absl::StatusCode::kOk,
     HistoryEvent::EVENTTYPE_NOT_SET, ""},
    {"finished instance", ORCHESTRATION_STATUS_COMPLETED, "e1", "7", false,
     absl::StatusCode::kOk, HistoryEvent::EVENTTYPE_NOT_SET, ""},
    {"unknown instance", kNone, "e1", "7", false, absl::StatusCode::kOk,
     HistoryEvent::EVENTTYPE_NOT_SET, ""},
    {"result over the payload cap", ORCHESTRATION_STATUS_RUNNING, "e1", std::string(101, 'x'),
     false, absl::StatusCode::kResourceExhausted, HistoryEvent::kTaskFailed, "PayloadTooLarge"},
    {"result at the payload cap", ORCHESTRATION_STATUS_RUNNING, "e1", std::string(100, 'x'),
     false, absl::StatusCode::kOk, HistoryEvent::kTaskCompleted, ""},
    {"over the cap, stale", ORCHESTRATION_STATUS_RUNNING, "e0", std::string(101, 'x'), false,
     absl::StatusCode::kResourceExhausted, HistoryEvent::EVENTTYPE_NOT_SET, ""},
};

class ActivityTest : public ::testing::TestWithParam<ActivityCase> {};

TEST_P(ActivityTest, Transition) {
  const ActivityCase& c = GetParam();
  Fixture f;
  if (c.status != kNone) f.record = Rec("i", static_cast<OrchestrationStatus>(c.status));
  ActivityResultCommand cmd;
  cmd.instance_id = "i";
  cmd.task_id = 3;
  cmd.result = c.result;
  if (c.fail) cmd.failure.emplace().set_errortype("Boom");
  Limits limits;
  limits.max_payload_bytes = 100;
  Transition t = CompleteActivity(f.State(), c.exec, cmd, kNow, limits);
  EXPECT_EQ(t.reply.code(), c.want_reply) << t.reply;
  if (c.want == HistoryEvent::EVENTTYPE_NOT_SET) {
    EXPECT_TRUE(t.empty());
    return;
  }
  ASSERT_EQ(t.inbox_append.size(), 1u);
  const HistoryEvent& ev = t.inbox_append[0];
  EXPECT_EQ(ev.eventType_case(), c.want);
  EXPECT_EQ(FromProto(ev.timestamp()), kNow);
  if (c.want == HistoryEvent::kTaskCompleted) {
    EXPECT_EQ(ev.taskcompleted().taskscheduledid(), 3);
    EXPECT_EQ(ev.taskcompleted().has_result(), c.result.has_value());
  } else {
    EXPECT_EQ(ev.taskfailed().taskscheduledid(), 3);
    EXPECT_EQ(ev.taskfailed().failuredetails().errortype(), c.want_error_type);
    EXPECT_EQ(ev.taskfailed().failuredetails().isnonretriable(),
              c.want_error_type == "PayloadTooLarge");
  }
  EXPECT_FALSE(t.became_terminal);
  EXPECT_FALSE(t.record.has_value());
}

INSTANTIATE_TEST_SUITE_P(Lifecycle, ActivityTest, ::testing::ValuesIn(kActivityCases),
                         [](const auto& info) { return Name(info.param.name); });

// --- timers -------------------------------------------------------------------------

TEST(LifecycleWorkerTest, TimerFiresIntoTheExecutionThatCreatedIt) {
  Fixture f;
  f.record = Rec("i", ORCHESTRATION_STATUS_RUNNING, "e2");
  HistoryEvent fired = Ev(HistoryEvent::kTimerFired);
  fired.mutable_timerfired()->set_timerid(5);
  Transition t = TimerFired(f.State(), "e2", fired, kNow);
  ASSERT_EQ(t.inbox_append.size(), 1u);
  EXPECT_EQ(t.inbox_append[0].timerfired().timerid(), 5);
  EXPECT_EQ(FromProto(t.inbox_append[0].timestamp()), kNow);  // stamped when it fires
  EXPECT_TRUE(TimerFired(f.State(), "e1", fired, kNow).empty());  // continued as new since
  f.record = Rec("i", ORCHESTRATION_STATUS_COMPLETED, "e2");
  EXPECT_TRUE(TimerFired(f.State(), "e2", fired, kNow).empty());
}

// --- messages at their target ---------------------------------------------------------

struct ReceiveCase {
  const char* name;
  int status;  // the target's
  MK kind;
  std::string expected_exec;
  Kind want_inbox;  // EVENTTYPE_NOT_SET: nothing appended
  bool want_discard = false;
  int want_record_status = kNone;
  bool want_reply_to_parent = false;
  // A kRewindChild result sent to the parent's new execution again (EVENTTYPE_NOT_SET:
  // none).
  Kind want_result_again = HistoryEvent::EVENTTYPE_NOT_SET;
  std::string target_parent = "p";  // the parent the target's record names
};

const ReceiveCase kReceiveCases[] = {
    {"event to live", ORCHESTRATION_STATUS_RUNNING, MK::kEvent, "", HistoryEvent::kEventRaised},
    {"event to the expected execution", ORCHESTRATION_STATUS_SUSPENDED, MK::kEvent, "e1",
     HistoryEvent::kEventRaised},
    {"event to another execution", ORCHESTRATION_STATUS_RUNNING, MK::kEvent, "e0",
     HistoryEvent::EVENTTYPE_NOT_SET},
    {"event to finished", ORCHESTRATION_STATUS_COMPLETED, MK::kEvent, "",
     HistoryEvent::EVENTTYPE_NOT_SET},
    {"event to unknown", kNone, MK::kEvent, "", HistoryEvent::EVENTTYPE_NOT_SET},
    {"terminate live", ORCHESTRATION_STATUS_PENDING, MK::kTerminate, "",
     HistoryEvent::kExecutionTerminated},
    {"terminate finished", ORCHESTRATION_STATUS_FAILED, MK::kTerminate, "",
     HistoryEvent::EVENTTYPE_NOT_SET},
    {"start child, new", kNone, MK::kStartChild, "", HistoryEvent::kExecutionStarted, false,
     ORCHESTRATION_STATUS_PENDING},
    {"start child over a finished one", ORCHESTRATION_STATUS_COMPLETED, MK::kStartChild, "",
     HistoryEvent::kExecutionStarted, true, ORCHESTRATION_STATUS_PENDING},
    {"start child that exists and runs", ORCHESTRATION_STATUS_RUNNING, MK::kStartChild, "",
     HistoryEvent::EVENTTYPE_NOT_SET, false, kNone, true},
    {"start child that exists, pending", ORCHESTRATION_STATUS_PENDING, MK::kStartChild, "",
     HistoryEvent::EVENTTYPE_NOT_SET, false, kNone, true},
    {"rewind a failed child", ORCHESTRATION_STATUS_FAILED, MK::kRewindChild, "",
     HistoryEvent::kExecutionRewound, false, ORCHESTRATION_STATUS_RUNNING},
    {"re-create a purged child", kNone, MK::kRewindChild, "", HistoryEvent::kExecutionStarted,
     false, ORCHESTRATION_STATUS_PENDING},
    // A running child reports to the rewound parent's new execution when it ends.
    {"rewind points a running child at the new execution", ORCHESTRATION_STATUS_RUNNING,
     MK::kRewindChild, "", HistoryEvent::EVENTTYPE_NOT_SET, false, ORCHESTRATION_STATUS_RUNNING},
    // A child that ended without failing is not re-run: its result is sent again (the
    // parent's rewound history has no result for it and would wait forever).
    {"rewind sends a terminated child's result again", ORCHESTRATION_STATUS_TERMINATED,
     MK::kRewindChild, "", HistoryEvent::EVENTTYPE_NOT_SET, false, kNone, false,
     HistoryEvent::kSubOrchestrationInstanceFailed},
    {"rewind sends a completed child's result again", ORCHESTRATION_STATUS_COMPLETED,
     MK::kRewindChild, "", HistoryEvent::EVENTTYPE_NOT_SET, false, kNone, false,
     HistoryEvent::kSubOrchestrationInstanceCompleted},
    {"rewind leaves another parent's failed child", ORCHESTRATION_STATUS_FAILED, MK::kRewindChild,
     "", HistoryEvent::EVENTTYPE_NOT_SET, false, kNone, false, HistoryEvent::EVENTTYPE_NOT_SET,
     "q"},
    {"rewind leaves another parent's terminated child", ORCHESTRATION_STATUS_TERMINATED,
     MK::kRewindChild, "", HistoryEvent::EVENTTYPE_NOT_SET, false, kNone, false,
     HistoryEvent::EVENTTYPE_NOT_SET, "q"},
};

class ReceiveTest : public ::testing::TestWithParam<ReceiveCase> {};

TEST_P(ReceiveTest, Transition) {
  const ReceiveCase& c = GetParam();
  Fixture f;
  if (c.status != kNone) {
    f.record = Rec("c", static_cast<OrchestrationStatus>(c.status));
    f.record->mutable_parent()->mutable_orchestrationinstance()->set_instanceid(c.target_parent);
    f.record->mutable_parent()->mutable_orchestrationinstance()->mutable_executionid()->set_value(
        "old");
  }
  Message m;
  m.kind = c.kind;
  m.target = "c";
  m.expected_execution_id = c.expected_exec;
  InstanceSpec spec;
  spec.instance_id = "c";
  spec.name = "child";
  spec.execution_id = "ce";
  auto& p = spec.parent.emplace();
  p.set_taskscheduledid(9);
  p.mutable_orchestrationinstance()->set_instanceid("p");
  p.mutable_orchestrationinstance()->mutable_executionid()->set_value("pe");
  m.child = BuildInstance(spec, kNow);
  switch (c.kind) {
    case MK::kEvent:
      m.event = Ev(HistoryEvent::kEventRaised);
      break;
    case MK::kTerminate:
      m.event = Term(false);
      break;
    case MK::kRewindChild:
      m.event = Ev(HistoryEvent::kExecutionRewound);
      m.event.mutable_executionrewound()->mutable_parentexecutionid()->set_value("pe");
      break;
    case MK::kStartChild:
      break;
    case MK::kLockGranted:
      m.event = Ev(HistoryEvent::kEntityLockGranted);
      break;
  }
  Transition t = Receive(f.State(), m, kNow);
  ASSERT_TRUE(t.reply.ok());
  EXPECT_EQ(t.instance_id, "c");
  if (c.want_inbox == HistoryEvent::EVENTTYPE_NOT_SET) {
    EXPECT_TRUE(t.inbox_append.empty());
  } else {
    EXPECT_EQ(Kinds(t.inbox_append), std::vector<Kind>{c.want_inbox});
  }
  EXPECT_EQ(t.discard_existing, c.want_discard);
  if (c.want_record_status == kNone) {
    EXPECT_FALSE(t.record.has_value());
  } else {
    ASSERT_TRUE(t.record.has_value());
    EXPECT_EQ(t.record->status(), c.want_record_status);
    // Started or rewound, the child now belongs to the parent's current execution.
    EXPECT_EQ(t.record->parent().orchestrationinstance().executionid().value(), "pe");
  }
  if (c.want_reply_to_parent) {
    ASSERT_EQ(t.outbox.size(), 1u);
    EXPECT_EQ(t.outbox[0].target, "p");
    EXPECT_EQ(t.outbox[0].expected_execution_id, "pe");
    const auto& failed = t.outbox[0].event.suborchestrationinstancefailed();
    EXPECT_EQ(failed.taskscheduledid(), 9);
    EXPECT_EQ(failed.failuredetails().errortype(), "OrchestrationAlreadyExists");
  } else if (c.want_result_again != HistoryEvent::EVENTTYPE_NOT_SET) {
    ASSERT_EQ(t.outbox.size(), 1u);
    EXPECT_EQ(t.outbox[0].kind, MK::kEvent);
    EXPECT_EQ(t.outbox[0].target, "p");
    EXPECT_EQ(t.outbox[0].expected_execution_id, "pe");  // the parent's new execution
    ASSERT_EQ(t.outbox[0].event.eventType_case(), c.want_result_again);
    const int task = c.want_result_again == HistoryEvent::kSubOrchestrationInstanceFailed
                         ? t.outbox[0].event.suborchestrationinstancefailed().taskscheduledid()
                         : t.outbox[0].event.suborchestrationinstancecompleted().taskscheduledid();
    EXPECT_EQ(task, 9);  // the task of the parent's new history
  } else {
    EXPECT_TRUE(t.outbox.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Lifecycle, ReceiveTest, ::testing::ValuesIn(kReceiveCases),
                         [](const auto& info) { return Name(info.param.name); });

}  // namespace
}  // namespace taskhub::core
