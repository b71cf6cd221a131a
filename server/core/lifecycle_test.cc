// Table-driven tests of the client-command transitions (server/core/lifecycle.h).
#include "server/core/lifecycle.h"

#include <functional>

#include "gtest/gtest.h"
#include "server/core/lifecycle_test_support.h"

namespace taskhub::core {
namespace {

using namespace taskhub::core::testing;  // NOLINT
using Kind = HistoryEvent::EventTypeCase;

// --- raise, terminate, suspend, resume, rewind over every kind of state ------------

enum class Op { kRaise, kTerminate, kSuspend, kResume, kRewind };

struct ControlCase {
  const char* name;
  int status;                  // kNone: no such instance
  std::vector<Kind> inbox;     // pending inbox events
  Op op;
  absl::StatusCode want_code;
  Kind want_appended;          // EVENTTYPE_NOT_SET: nothing written
  bool want_release = false;   // releases the episode in flight
  int want_record_status = kNone;  // kNone: record unchanged
};

const ControlCase kControlCases[] = {
    {"raise to unknown", kNone, {}, Op::kRaise, absl::StatusCode::kNotFound,
     HistoryEvent::EVENTTYPE_NOT_SET},
    {"raise to finished is ignored", ORCHESTRATION_STATUS_COMPLETED, {}, Op::kRaise,
     absl::StatusCode::kOk, HistoryEvent::EVENTTYPE_NOT_SET},
    {"raise to failed is ignored", ORCHESTRATION_STATUS_FAILED, {}, Op::kRaise,
     absl::StatusCode::kOk, HistoryEvent::EVENTTYPE_NOT_SET},
    {"raise to running", ORCHESTRATION_STATUS_RUNNING, {}, Op::kRaise, absl::StatusCode::kOk,
     HistoryEvent::kEventRaised},
    {"raise to pending", ORCHESTRATION_STATUS_PENDING, {HistoryEvent::kExecutionStarted},
     Op::kRaise, absl::StatusCode::kOk, HistoryEvent::kEventRaised},
    {"raise to suspended", ORCHESTRATION_STATUS_SUSPENDED, {}, Op::kRaise,
     absl::StatusCode::kOk, HistoryEvent::kEventRaised},
    {"terminate unknown", kNone, {}, Op::kTerminate, absl::StatusCode::kNotFound,
     HistoryEvent::EVENTTYPE_NOT_SET},
    {"terminate finished is a no-op", ORCHESTRATION_STATUS_TERMINATED, {}, Op::kTerminate,
     absl::StatusCode::kOk, HistoryEvent::EVENTTYPE_NOT_SET},
    {"terminate running", ORCHESTRATION_STATUS_RUNNING, {}, Op::kTerminate,
     absl::StatusCode::kOk, HistoryEvent::kExecutionTerminated, true},
    {"terminate while suspended", ORCHESTRATION_STATUS_SUSPENDED, {}, Op::kTerminate,
     absl::StatusCode::kOk, HistoryEvent::kExecutionTerminated, true},
    {"terminate never started", ORCHESTRATION_STATUS_PENDING, {HistoryEvent::kExecutionStarted},
     Op::kTerminate, absl::StatusCode::kOk, HistoryEvent::kExecutionTerminated, true},
    {"suspend unknown", kNone, {}, Op::kSuspend, absl::StatusCode::kNotFound,
     HistoryEvent::EVENTTYPE_NOT_SET},
    {"suspend finished", ORCHESTRATION_STATUS_COMPLETED, {}, Op::kSuspend,
     absl::StatusCode::kFailedPrecondition, HistoryEvent::EVENTTYPE_NOT_SET},
    {"suspend running", ORCHESTRATION_STATUS_RUNNING, {}, Op::kSuspend, absl::StatusCode::kOk,
     HistoryEvent::kExecutionSuspended},
    {"suspend twice (status)", ORCHESTRATION_STATUS_SUSPENDED, {}, Op::kSuspend,
     absl::StatusCode::kOk, HistoryEvent::EVENTTYPE_NOT_SET},
    {"suspend twice (inbox)", ORCHESTRATION_STATUS_RUNNING, {HistoryEvent::kExecutionSuspended},
     Op::kSuspend, absl::StatusCode::kOk, HistoryEvent::EVENTTYPE_NOT_SET},
    {"suspend after a pending resume", ORCHESTRATION_STATUS_SUSPENDED,
     {HistoryEvent::kExecutionResumed}, Op::kSuspend, absl::StatusCode::kOk,
     HistoryEvent::kExecutionSuspended},
    {"resume unknown", kNone, {}, Op::kResume, absl::StatusCode::kNotFound,
     HistoryEvent::EVENTTYPE_NOT_SET},
    {"resume finished", ORCHESTRATION_STATUS_FAILED, {}, Op::kResume,
     absl::StatusCode::kFailedPrecondition, HistoryEvent::EVENTTYPE_NOT_SET},
    {"resume not suspended is a no-op", ORCHESTRATION_STATUS_RUNNING, {}, Op::kResume,
     absl::StatusCode::kOk, HistoryEvent::EVENTTYPE_NOT_SET},
    {"resume suspended", ORCHESTRATION_STATUS_SUSPENDED, {}, Op::kResume, absl::StatusCode::kOk,
     HistoryEvent::kExecutionResumed},
    {"resume a pending suspend", ORCHESTRATION_STATUS_RUNNING,
     {HistoryEvent::kEventRaised, HistoryEvent::kExecutionSuspended}, Op::kResume,
     absl::StatusCode::kOk, HistoryEvent::kExecutionResumed},
    {"resume twice (inbox)", ORCHESTRATION_STATUS_SUSPENDED, {HistoryEvent::kExecutionResumed},
     Op::kResume, absl::StatusCode::kOk, HistoryEvent::EVENTTYPE_NOT_SET},
    {"rewind unknown", kNone, {}, Op::kRewind, absl::StatusCode::kNotFound,
     HistoryEvent::EVENTTYPE_NOT_SET},
    {"rewind never failed (completed)", ORCHESTRATION_STATUS_COMPLETED, {}, Op::kRewind,
     absl::StatusCode::kFailedPrecondition, HistoryEvent::EVENTTYPE_NOT_SET},
    {"rewind never failed (running)", ORCHESTRATION_STATUS_RUNNING, {}, Op::kRewind,
     absl::StatusCode::kFailedPrecondition, HistoryEvent::EVENTTYPE_NOT_SET},
    {"rewind terminated", ORCHESTRATION_STATUS_TERMINATED, {}, Op::kRewind,
     absl::StatusCode::kFailedPrecondition, HistoryEvent::EVENTTYPE_NOT_SET},
    {"rewind failed", ORCHESTRATION_STATUS_FAILED, {}, Op::kRewind, absl::StatusCode::kOk,
     HistoryEvent::kExecutionRewound, false, ORCHESTRATION_STATUS_RUNNING},
};

class ControlTest : public ::testing::TestWithParam<ControlCase> {};

TEST_P(ControlTest, Transition) {
  const ControlCase& c = GetParam();
  Fixture f;
  if (c.status != kNone) f.record = Rec("i", static_cast<OrchestrationStatus>(c.status));
  for (Kind k : c.inbox) f.inbox.push_back(Ev(k));
  const InstanceState s = f.State();
  Transition t;
  switch (c.op) {
    case Op::kRaise:
      t = RaiseEvent(s, {"i", "ev", "\"x\""}, kNow);
      break;
    case Op::kTerminate:
      t = RequestTerminate(s, {"i", "why", false}, kNow);
      break;
    case Op::kSuspend:
      t = Suspend(s, {"i", "why"}, kNow);
      break;
    case Op::kResume:
      t = Resume(s, {"i", std::nullopt}, kNow);
      break;
    case Op::kRewind:
      t = Rewind(s, {"i", "why"}, kNow);
      break;
  }
  EXPECT_EQ(t.reply.code(), c.want_code) << t.reply;
  EXPECT_EQ(t.instance_id, "i");
  if (c.want_appended == HistoryEvent::EVENTTYPE_NOT_SET) {
    EXPECT_TRUE(t.empty());
  } else {
    ASSERT_EQ(t.inbox_append.size(), 1u);
    EXPECT_EQ(t.inbox_append[0].eventType_case(), c.want_appended);
    EXPECT_EQ(ToMicros(FromProto(t.inbox_append[0].timestamp())), ToMicros(kNow));
  }
  EXPECT_EQ(t.release_episode, c.want_release);
  EXPECT_FALSE(t.became_terminal);
  EXPECT_FALSE(t.discard_existing);
  EXPECT_TRUE(t.outbox.empty());
  if (c.want_record_status == kNone) {
    EXPECT_FALSE(t.record.has_value());
  } else {
    ASSERT_TRUE(t.record.has_value());
    EXPECT_EQ(t.record->status(), c.want_record_status);
  }
}

INSTANTIATE_TEST_SUITE_P(Lifecycle, ControlTest, ::testing::ValuesIn(kControlCases),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (char& ch : n) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return n;
                         });

TEST(LifecycleTest, ControlEventsCarryTheirPayloads) {
  Fixture f;
  f.record = Rec("i", ORCHESTRATION_STATUS_RUNNING);
  Transition raise = RaiseEvent(f.State(), {"i", "approve", "\"yes\""}, kNow);
  EXPECT_EQ(raise.inbox_append[0].eventraised().name(), "approve");
  EXPECT_EQ(raise.inbox_append[0].eventraised().input().value(), "\"yes\"");
  Transition no_input = RaiseEvent(f.State(), {"i", "approve", std::nullopt}, kNow);
  EXPECT_FALSE(no_input.inbox_append[0].eventraised().has_input());
  Transition empty_input = RaiseEvent(f.State(), {"i", "approve", ""}, kNow);
  EXPECT_TRUE(empty_input.inbox_append[0].eventraised().has_input());
  Transition term = RequestTerminate(f.State(), {"i", "stop", true}, kNow);
  EXPECT_EQ(term.inbox_append[0].executionterminated().input().value(), "stop");
  EXPECT_TRUE(term.inbox_append[0].executionterminated().recurse());
  Transition susp = Suspend(f.State(), {"i", "pause"}, kNow);
  EXPECT_EQ(susp.inbox_append[0].executionsuspended().input().value(), "pause");
}

TEST(LifecycleTest, RewindClearsTheFailureAndKeepsTheHistory) {
  Fixture f;
  f.record = Rec("i", ORCHESTRATION_STATUS_FAILED);
  f.record->mutable_output()->set_value("out");
  f.record->set_history_size(7);
  Transition t = Rewind(f.State(), {"i", "retry"}, kNow);
  ASSERT_TRUE(t.reply.ok());
  EXPECT_FALSE(t.record->has_output());
  EXPECT_FALSE(t.record->has_failure_details());
  EXPECT_FALSE(t.record->has_completed_time());
  EXPECT_EQ(t.record->execution_id(), "e1");
  EXPECT_EQ(t.record->history_size(), 7u);
  EXPECT_FALSE(t.reset_history);
  EXPECT_EQ(t.inbox_append[0].executionrewound().reason().value(), "retry");
}

// --- start and the id-reuse policy ------------------------------------------------

struct StartCase {
  const char* name;
  int existing;  // kNone: no instance
  std::optional<std::vector<OrchestrationStatus>> policy;
  absl::StatusCode want_code;
  bool want_discard;
};

const StartCase kStartCases[] = {
    {"new id", kNone, std::nullopt, absl::StatusCode::kOk, false},
    {"new id with a policy", kNone, std::vector{ORCHESTRATION_STATUS_FAILED},
     absl::StatusCode::kOk, false},
    {"live, no policy", ORCHESTRATION_STATUS_RUNNING, std::nullopt,
     absl::StatusCode::kAlreadyExists, false},
    {"pending, no policy", ORCHESTRATION_STATUS_PENDING, std::nullopt,
     absl::StatusCode::kAlreadyExists, false},
    {"suspended, no policy", ORCHESTRATION_STATUS_SUSPENDED, std::nullopt,
     absl::StatusCode::kAlreadyExists, false},
    {"finished, no policy: replaced", ORCHESTRATION_STATUS_COMPLETED, std::nullopt,
     absl::StatusCode::kOk, true},
    {"failed, no policy: replaced", ORCHESTRATION_STATUS_FAILED, std::nullopt,
     absl::StatusCode::kOk, true},
    {"finished, not listed", ORCHESTRATION_STATUS_COMPLETED,
     std::vector{ORCHESTRATION_STATUS_FAILED}, absl::StatusCode::kAlreadyExists, false},
    {"finished, empty policy", ORCHESTRATION_STATUS_COMPLETED,
     std::vector<OrchestrationStatus>{}, absl::StatusCode::kAlreadyExists, false},
    {"failed, listed", ORCHESTRATION_STATUS_FAILED,
     std::vector{ORCHESTRATION_STATUS_FAILED, ORCHESTRATION_STATUS_TERMINATED},
     absl::StatusCode::kOk, true},
    {"live, listed: replaced", ORCHESTRATION_STATUS_RUNNING,
     std::vector{ORCHESTRATION_STATUS_RUNNING}, absl::StatusCode::kOk, true},
    {"live, not listed", ORCHESTRATION_STATUS_RUNNING,
     std::vector{ORCHESTRATION_STATUS_COMPLETED}, absl::StatusCode::kAlreadyExists, false},
};

class StartTest : public ::testing::TestWithParam<StartCase> {};

TEST_P(StartTest, ReusePolicy) {
  const StartCase& c = GetParam();
  Fixture f;
  if (c.existing != kNone) f.record = Rec("i", static_cast<OrchestrationStatus>(c.existing));
  StartCommand cmd;
  cmd.instance_id = "i";
  cmd.name = "orch";
  cmd.replaceable_statuses = c.policy;
  Transition t = Start(f.State(), cmd, kNow, [&] { return f.NewId(); });
  EXPECT_EQ(t.reply.code(), c.want_code) << t.reply;
  EXPECT_EQ(t.instance_id, "i");
  EXPECT_EQ(t.discard_existing, c.want_discard);
  if (c.want_code == absl::StatusCode::kOk) {
    ASSERT_TRUE(t.record.has_value());
    EXPECT_EQ(t.record->status(), ORCHESTRATION_STATUS_PENDING);
    EXPECT_EQ(Kinds(t.inbox_append), std::vector<Kind>{HistoryEvent::kExecutionStarted});
  } else {
    EXPECT_TRUE(t.empty());
    EXPECT_NE(t.reply.message().find("already exists"), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(Lifecycle, StartTest, ::testing::ValuesIn(kStartCases),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (char& ch : n) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return n;
                         });

TEST(LifecycleTest, StartBuildsTheRecordAndItsFirstEvent) {
  Fixture f;
  StartCommand cmd;
  cmd.name = "orch";
  cmd.version = "v2";
  cmd.input = "42";
  cmd.scheduled_start = kNow + absl::Minutes(5);
  cmd.tags = {{"team", "a"}};
  cmd.parent_trace_context.emplace().set_traceparent("00-abc-def-01");
  Transition t = Start(f.State(), cmd, kNow, [&] { return f.NewId(); });
  ASSERT_TRUE(t.reply.ok());
  EXPECT_EQ(t.instance_id, "gen-1");  // generated, then the execution id
  const auto& r = *t.record;
  EXPECT_EQ(r.instance_id(), "gen-1");
  EXPECT_EQ(r.execution_id(), "gen-2");
  EXPECT_EQ(r.version().value(), "v2");
  EXPECT_EQ(r.input().value(), "42");
  EXPECT_EQ(r.original_input().value(), "42");
  EXPECT_EQ(FromProto(r.scheduled_start_time()), kNow + absl::Minutes(5));
  EXPECT_EQ(FromProto(r.created_time()), kNow);
  EXPECT_EQ(r.tags().at("team"), "a");
  EXPECT_EQ(r.history_size(), 0u);
  const auto& es = t.inbox_append[0].executionstarted();
  EXPECT_EQ(es.orchestrationinstance().instanceid(), "gen-1");
  EXPECT_EQ(es.orchestrationinstance().executionid().value(), "gen-2");
  EXPECT_EQ(es.parenttracecontext().traceparent(), "00-abc-def-01");
  EXPECT_EQ(es.tags().at("team"), "a");
  EXPECT_EQ(es.input().value(), "42");

  // A start time in the past means now; a given execution id is kept.
  cmd.instance_id = "j";
  cmd.execution_id = "mine";
  cmd.scheduled_start = kNow - absl::Seconds(1);
  Transition t2 = Start(f.State(), cmd, kNow, [&] { return f.NewId(); });
  EXPECT_FALSE(t2.record->has_scheduled_start_time());
  EXPECT_EQ(t2.record->execution_id(), "mine");
}

// --- restart -----------------------------------------------------------------------

TEST(LifecycleTest, RestartWithTheSameIdReplacesTheFinishedInstance) {
  Fixture f;
  f.record = Rec("i", ORCHESTRATION_STATUS_FAILED);
  f.record->mutable_version()->set_value("v1");
  f.record->mutable_input()->set_value("continued");
  f.record->mutable_original_input()->set_value("first");
  (*f.record->mutable_tags())["k"] = "v";
  auto ids = [&] { return f.NewId(); };
  absl::StatusOr<StartCommand> cmd = Restart(f.State(), {"i", false}, ids);
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_EQ(cmd->instance_id, "i");
  EXPECT_EQ(cmd->input, "first");
  EXPECT_EQ(cmd->version, "v1");
  EXPECT_FALSE(cmd->replaceable_statuses.has_value());
  Transition t = Start(f.State(), *cmd, kNow, ids);
  ASSERT_TRUE(t.reply.ok());
  EXPECT_TRUE(t.discard_existing);
  EXPECT_EQ(t.record->instance_id(), "i");
  EXPECT_EQ(t.record->execution_id(), "gen-1");  // a new execution
  EXPECT_EQ(t.record->input().value(), "first");
  EXPECT_EQ(t.record->tags().at("k"), "v");
}

TEST(LifecycleTest, RestartWithANewIdStartsAnotherInstance) {
  Fixture old;
  old.record = Rec("i", ORCHESTRATION_STATUS_COMPLETED);
  auto ids = [&] { return old.NewId(); };
  absl::StatusOr<StartCommand> cmd = Restart(old.State(), {"i", true}, ids);
  ASSERT_TRUE(cmd.ok());
  EXPECT_EQ(cmd->instance_id, "gen-1");
  Fixture fresh;  // the state of gen-1: no instance
  Transition t = Start(fresh.State(), *cmd, kNow, ids);
  ASSERT_TRUE(t.reply.ok());
  EXPECT_EQ(t.instance_id, "gen-1");
  EXPECT_FALSE(t.discard_existing);
}

TEST(LifecycleTest, RestartRefusesLiveAndUnknownInstances) {
  Fixture f;
  auto ids = [&] { return f.NewId(); };
  EXPECT_EQ(Restart(f.State(), {"i", false}, ids).status().code(), absl::StatusCode::kNotFound);
  f.record = Rec("i", ORCHESTRATION_STATUS_SUSPENDED);
  EXPECT_EQ(Restart(f.State(), {"i", true}, ids).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace taskhub::core
