// Table-driven tests of the pure orchestration state machine.
#include "server/core/orchestration.h"

#include <functional>

#include "gtest/gtest.h"
#include "server/core/history.h"

namespace taskhub::core {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

store::InstanceRecord Running() {
  store::InstanceRecord r;
  r.set_instance_id("abc");
  r.set_name("seq");
  r.set_execution_id("e1");
  r.set_status(ORCHESTRATION_STATUS_PENDING);
  *r.mutable_created_time() = ToProto(kT0);
  return r;
}

std::vector<HistoryEvent> FirstEpisode(const store::InstanceRecord& rec) {
  HistoryEvent os = NewEvent(kT0);
  os.mutable_orchestratorstarted();
  return {os, ExecutionStartedFor(rec, kT0)};
}

OrchestratorAction Schedule(int id, const std::string& name, const std::string& input) {
  OrchestratorAction a;
  a.set_id(id);
  a.mutable_scheduletask()->set_name(name);
  a.mutable_scheduletask()->mutable_input()->set_value(input);
  return a;
}

OrchestratorAction CompleteWith(int id, OrchestrationStatus s, const std::string& result) {
  OrchestratorAction a;
  a.set_id(id);
  a.mutable_completeorchestration()->set_orchestrationstatus(s);
  a.mutable_completeorchestration()->mutable_result()->set_value(result);
  return a;
}

struct Case {
  std::string name;
  std::vector<OrchestratorAction> actions;
  std::function<void(const absl::StatusOr<EpisodeResult>&)> check;
};

class ApplyEpisodeTest : public ::testing::TestWithParam<Case> {};

TEST_P(ApplyEpisodeTest, Table) {
  const store::InstanceRecord rec = Running();
  const std::vector<HistoryEvent> events = FirstEpisode(rec);
  OrchestratorResponse resp;
  resp.set_instanceid("abc");
  for (const auto& a : GetParam().actions) *resp.add_actions() = a;
  EpisodeInput in;
  in.record = &rec;
  in.new_events = &events;
  in.response = &resp;
  in.now = kT0 + absl::Seconds(1);
  in.new_execution_id = "e2";
  in.max_payload_bytes = 1024;
  GetParam().check(ApplyEpisode(in));
}

const Case kCases[] = {
    {"schedule_task_confirms_with_action_id",
     {Schedule(1, "hello", "\"x\"")},
     [](const absl::StatusOr<EpisodeResult>& r) {
       ASSERT_TRUE(r.ok()) << r.status();
       ASSERT_EQ(r->history_append.size(), 4u);  // OS, ES, taskScheduled, OC
       EXPECT_TRUE(r->history_append[0].has_orchestratorstarted());
       EXPECT_TRUE(r->history_append[1].has_executionstarted());
       EXPECT_EQ(r->history_append[2].eventid(), 1);
       EXPECT_EQ(r->history_append[2].taskscheduled().name(), "hello");
       EXPECT_TRUE(r->history_append[3].has_orchestratorcompleted());
       ASSERT_EQ(r->activities.size(), 1u);
       EXPECT_EQ(r->activities[0].taskid(), 1);
       EXPECT_EQ(r->activities[0].input().value(), "\"x\"");
       EXPECT_EQ(r->activities[0].orchestrationinstance().executionid().value(), "e1");
       EXPECT_EQ(r->record.status(), ORCHESTRATION_STATUS_RUNNING);
       EXPECT_EQ(r->record.history_size(), 4u);
     }},
    {"timer_fires_with_same_fire_at",
     [] {
       OrchestratorAction a;
       a.set_id(7);
       *a.mutable_createtimer()->mutable_fireat() = ToProto(kT0 + absl::Seconds(30));
       return std::vector<OrchestratorAction>{a};
     }(),
     [](const absl::StatusOr<EpisodeResult>& r) {
       ASSERT_TRUE(r.ok());
       ASSERT_EQ(r->timers.size(), 1u);
       EXPECT_EQ(r->timers[0].fire_at, kT0 + absl::Seconds(30));
       EXPECT_EQ(r->timers[0].event.timerfired().timerid(), 7);
       EXPECT_EQ(r->timers[0].event.eventid(), -1);
       EXPECT_EQ(r->history_append[2].timercreated().fireat().seconds(), absl::ToUnixSeconds(kT0) + 30);
     }},
    {"complete_is_terminal_and_keeps_result_verbatim",
     {CompleteWith(2, ORCHESTRATION_STATUS_COMPLETED, "{ \"a\" : 1 }")},
     [](const absl::StatusOr<EpisodeResult>& r) {
       ASSERT_TRUE(r.ok());
       EXPECT_TRUE(r->became_terminal);
       EXPECT_EQ(r->record.status(), ORCHESTRATION_STATUS_COMPLETED);
       EXPECT_EQ(r->record.output().value(), "{ \"a\" : 1 }");
       EXPECT_TRUE(r->record.has_completed_time());
       EXPECT_TRUE(r->history_append[2].has_executioncompleted());
     }},
    {"failed_keeps_failure_details",
     [] {
       OrchestratorAction a = CompleteWith(2, ORCHESTRATION_STATUS_FAILED, "");
       auto* f = a.mutable_completeorchestration()->mutable_failuredetails();
       f->set_errortype("builtins.ValueError");
       f->set_errormessage("boom");
       return std::vector<OrchestratorAction>{a};
     }(),
     [](const absl::StatusOr<EpisodeResult>& r) {
       ASSERT_TRUE(r.ok());
       EXPECT_EQ(r->record.status(), ORCHESTRATION_STATUS_FAILED);
       EXPECT_EQ(r->record.failure_details().errortype(), "builtins.ValueError");
       EXPECT_EQ(r->record.failure_details().errormessage(), "boom");
     }},
    {"continue_as_new_resets_history_and_carries_events",
     [] {
       OrchestratorAction a = CompleteWith(3, ORCHESTRATION_STATUS_CONTINUED_AS_NEW, "5");
       HistoryEvent ev = NewEvent(kT0);
       ev.mutable_eventraised()->set_name("go");
       *a.mutable_completeorchestration()->add_carryoverevents() = ev;
       return std::vector<OrchestratorAction>{Schedule(1, "x", "1"), a};
     }(),
     [](const absl::StatusOr<EpisodeResult>& r) {
       ASSERT_TRUE(r.ok());
       EXPECT_TRUE(r->continued_as_new);
       EXPECT_TRUE(r->reset_history);
       EXPECT_TRUE(r->history_append.empty());
       EXPECT_TRUE(r->activities.empty());
       EXPECT_EQ(r->record.execution_id(), "e2");
       EXPECT_EQ(r->record.input().value(), "5");
       EXPECT_EQ(r->record.status(), ORCHESTRATION_STATUS_RUNNING);
       ASSERT_EQ(r->inbox_front.size(), 2u);
       EXPECT_EQ(r->inbox_front[0].executionstarted().input().value(), "5");
       EXPECT_EQ(r->inbox_front[0].executionstarted().orchestrationinstance().executionid().value(), "e2");
       EXPECT_EQ(r->inbox_front[1].eventraised().name(), "go");
     }},
    {"sub_orchestration_gets_default_id_and_parent",
     [] {
       OrchestratorAction a;
       a.set_id(10);
       a.mutable_createsuborchestration()->set_name("child");
       return std::vector<OrchestratorAction>{a};
     }(),
     [](const absl::StatusOr<EpisodeResult>& r) {
       ASSERT_TRUE(r.ok());
       ASSERT_EQ(r->children.size(), 1u);
       EXPECT_EQ(r->children[0].record.instance_id(), "abc:000a");
       EXPECT_EQ(r->children[0].record.parent().taskscheduledid(), 10);
       EXPECT_EQ(r->children[0].record.parent().orchestrationinstance().instanceid(), "abc");
       EXPECT_EQ(r->history_append[2].suborchestrationinstancecreated().instanceid(), "abc:000a");
     }},
    {"send_event_goes_to_target",
     [] {
       OrchestratorAction a;
       a.set_id(4);
       a.mutable_sendevent()->mutable_instance()->set_instanceid("other");
       a.mutable_sendevent()->set_name("ping");
       a.mutable_sendevent()->mutable_data()->set_value("1");
       return std::vector<OrchestratorAction>{a};
     }(),
     [](const absl::StatusOr<EpisodeResult>& r) {
       ASSERT_TRUE(r.ok());
       ASSERT_EQ(r->messages.size(), 1u);
       EXPECT_EQ(r->messages[0].instance_id, "other");
       EXPECT_EQ(r->messages[0].event.eventraised().name(), "ping");
       EXPECT_EQ(r->history_append[2].eventid(), 4);
       EXPECT_EQ(r->history_append[2].eventsent().instanceid(), "other");
     }},
    {"empty_activity_name_is_invalid_argument_naming_the_field",
     {Schedule(1, "", "1")},
     [](const absl::StatusOr<EpisodeResult>& r) {
       ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
       EXPECT_NE(r.status().message().find("scheduleTask.name"), std::string::npos);
     }},
    {"oversized_payload_is_resource_exhausted",
     {Schedule(1, "x", std::string(2000, 'a'))},
     [](const absl::StatusOr<EpisodeResult>& r) {
       EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
     }},
    {"entity_signal_without_target_is_invalid",
     [] {
       OrchestratorAction a;
       a.set_id(1);
       a.mutable_sendentitymessage()->mutable_entityoperationsignaled()->set_operation("add");
       return std::vector<OrchestratorAction>{a};
     }(),
     [](const absl::StatusOr<EpisodeResult>& r) {
       EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
       EXPECT_NE(r.status().message().find("entityOperationSignaled.targetInstanceId"),
                 std::string::npos);
     }},
    {"sub_orchestration_with_an_entity_id_is_invalid",
     [] {
       OrchestratorAction a;
       a.set_id(10);
       a.mutable_createsuborchestration()->set_name("child");
       a.mutable_createsuborchestration()->set_instanceid("@counter@1");
       return std::vector<OrchestratorAction>{a};
     }(),
     [](const absl::StatusOr<EpisodeResult>& r) {
       EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
       EXPECT_NE(r.status().message().find("reserved for entity ids"), std::string::npos);
     }},
    {"action_without_type_is_invalid",
     [] {
       OrchestratorAction a;
       a.set_id(1);
       return std::vector<OrchestratorAction>{a};
     }(),
     [](const absl::StatusOr<EpisodeResult>& r) {
       EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
     }},
};

INSTANTIATE_TEST_SUITE_P(Episodes, ApplyEpisodeTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return info.param.name; });

TEST(StatusAfterEventsTest, SuspendAndResume) {
  HistoryEvent s = NewEvent(kT0), r = NewEvent(kT0);
  s.mutable_executionsuspended();
  r.mutable_executionresumed();
  EXPECT_EQ(StatusAfterEvents(ORCHESTRATION_STATUS_RUNNING, {s}), ORCHESTRATION_STATUS_SUSPENDED);
  EXPECT_EQ(StatusAfterEvents(ORCHESTRATION_STATUS_RUNNING, {s, r}), ORCHESTRATION_STATUS_RUNNING);
  EXPECT_EQ(StatusAfterEvents(ORCHESTRATION_STATUS_PENDING, {}), ORCHESTRATION_STATUS_RUNNING);
}

TEST(TerminateInstanceTest, AppendsTerminationAndCompletes) {
  store::InstanceRecord rec = Running();
  rec.set_status(ORCHESTRATION_STATUS_RUNNING);
  rec.set_history_size(3);
  HistoryEvent term = NewEvent(kT0);
  term.mutable_executionterminated()->mutable_input()->set_value("\"stop\"");
  EpisodeResult r = TerminateInstance(rec, term, kT0 + absl::Seconds(2));
  EXPECT_EQ(r.record.status(), ORCHESTRATION_STATUS_TERMINATED);
  EXPECT_EQ(r.record.output().value(), "\"stop\"");
  ASSERT_EQ(r.history_append.size(), 4u);
  EXPECT_TRUE(r.history_append[1].has_executionterminated());
  EXPECT_EQ(r.history_append[2].executioncompleted().orchestrationstatus(),
            ORCHESTRATION_STATUS_TERMINATED);
  EXPECT_EQ(r.record.history_size(), 7u);
}

TEST(ParentNotificationTest, CompletedAndFailedChildren) {
  store::InstanceRecord child = Running();
  child.mutable_parent()->set_taskscheduledid(5);
  child.mutable_parent()->mutable_orchestrationinstance()->set_instanceid("p");
  child.mutable_parent()->mutable_orchestrationinstance()->mutable_executionid()->set_value("pe");
  child.set_status(ORCHESTRATION_STATUS_COMPLETED);
  child.mutable_output()->set_value("42");
  std::string pid, pexec;
  HistoryEvent ev;
  ASSERT_TRUE(ParentNotification(child, kT0, &pid, &pexec, &ev));
  EXPECT_EQ(pid, "p");
  EXPECT_EQ(pexec, "pe");
  EXPECT_EQ(ev.suborchestrationinstancecompleted().taskscheduledid(), 5);
  EXPECT_EQ(ev.suborchestrationinstancecompleted().result().value(), "42");
  child.set_status(ORCHESTRATION_STATUS_TERMINATED);
  ASSERT_TRUE(ParentNotification(child, kT0, &pid, &pexec, &ev));
  EXPECT_EQ(ev.suborchestrationinstancefailed().taskscheduledid(), 5);
  EXPECT_FALSE(ev.suborchestrationinstancefailed().failuredetails().errormessage().empty());
  EXPECT_FALSE(ParentNotification(Running(), kT0, &pid, &pexec, &ev));
}

TEST(OpenChildrenTest, OnlyUnfinished) {
  std::vector<HistoryEvent> h(3);
  h[0].set_eventid(1);
  h[0].mutable_suborchestrationinstancecreated()->set_instanceid("a");
  h[1].set_eventid(2);
  h[1].mutable_suborchestrationinstancecreated()->set_instanceid("b");
  h[2].mutable_suborchestrationinstancecompleted()->set_taskscheduledid(1);
  EXPECT_EQ(OpenChildren(h), std::vector<std::string>{"b"});
  EXPECT_EQ(AllChildren(h), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace taskhub::core
