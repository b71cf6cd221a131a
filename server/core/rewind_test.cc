// Tests of the server-computed rewind (for SDKs that predate rewind).
#include "server/core/rewind.h"

#include "gtest/gtest.h"
#include "server/core/history.h"
#include "server/core/orchestration.h"

namespace taskhub::core {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

HistoryEvent Started(const std::string& exec, const std::string& parent_exec = "") {
  HistoryEvent e = NewEvent(kT0);
  auto* s = e.mutable_executionstarted();
  s->set_name("orch");
  s->mutable_orchestrationinstance()->set_instanceid("abc");
  s->mutable_orchestrationinstance()->mutable_executionid()->set_value(exec);
  if (!parent_exec.empty()) {
    s->mutable_parentinstance()->mutable_orchestrationinstance()->set_instanceid("parent");
    s->mutable_parentinstance()->mutable_orchestrationinstance()->mutable_executionid()->set_value(
        parent_exec);
  }
  return e;
}
HistoryEvent OS() {
  HistoryEvent e = NewEvent(kT0);
  e.mutable_orchestratorstarted();
  return e;
}
HistoryEvent OC() {
  HistoryEvent e = NewEvent(kT0);
  e.mutable_orchestratorcompleted();
  return e;
}
HistoryEvent Scheduled(int id) {
  HistoryEvent e = NewEvent(kT0, id);
  e.mutable_taskscheduled()->set_name("act");
  return e;
}
HistoryEvent Completed(int id) {
  HistoryEvent e = NewEvent(kT0);
  e.mutable_taskcompleted()->set_taskscheduledid(id);
  return e;
}
HistoryEvent Failed(int id) {
  HistoryEvent e = NewEvent(kT0);
  e.mutable_taskfailed()->set_taskscheduledid(id);
  e.mutable_taskfailed()->mutable_failuredetails()->set_errormessage("boom");
  return e;
}
HistoryEvent ChildCreated(int id, const std::string& child) {
  HistoryEvent e = NewEvent(kT0, id);
  e.mutable_suborchestrationinstancecreated()->set_instanceid(child);
  return e;
}
HistoryEvent ChildFailed(int id) {
  HistoryEvent e = NewEvent(kT0);
  e.mutable_suborchestrationinstancefailed()->set_taskscheduledid(id);
  return e;
}
HistoryEvent ExecCompleted() {
  HistoryEvent e = NewEvent(kT0);
  e.mutable_executioncompleted()->set_orchestrationstatus(ORCHESTRATION_STATUS_FAILED);
  return e;
}
HistoryEvent Rewound(const std::string& parent_exec = "") {
  HistoryEvent e = NewEvent(kT0);
  e.mutable_executionrewound()->mutable_reason()->set_value("fixed");
  if (!parent_exec.empty()) {
    e.mutable_executionrewound()->mutable_parentexecutionid()->set_value(parent_exec);
  }
  return e;
}

// [OS, ES(e1), sched 1, OC, OS, done 1, sched 2, OC, OS, failed 2, execCompleted, OC]
std::vector<HistoryEvent> FailedHistory(const std::string& parent_exec = "") {
  return {OS(), Started("e1", parent_exec), Scheduled(1), OC(), OS(), Completed(1),
          Scheduled(2), OC(), OS(), Failed(2), ExecCompleted(), OC()};
}

std::vector<std::string> Kinds(const std::vector<HistoryEvent>& h) {
  std::vector<std::string> out;
  for (const auto& e : h) {
    std::string k(HistoryEvent::descriptor()->FindFieldByNumber(e.eventType_case())->name());
    if (e.has_taskscheduled()) k += std::to_string(e.eventid());
    out.push_back(k);
  }
  return out;
}

TEST(RewindTest, DetectsAnUnansweredRewindEpisodeOnly) {
  EXPECT_TRUE(IsRewindEpisode(FailedHistory(), {OS(), Rewound()}));
  EXPECT_FALSE(IsRewindEpisode(FailedHistory(), {OS()}));
  // Already rewound (no executionCompleted left): the next episode is a normal one.
  std::vector<HistoryEvent> rewound = RewoundHistory(FailedHistory(), {OS(), Rewound()}, "e2");
  EXPECT_FALSE(IsRewindEpisode(rewound, {OS()}));
}

TEST(RewindTest, DropsFailedTasksTheirSchedulingAndTheCompletion) {
  std::vector<HistoryEvent> h = RewoundHistory(FailedHistory(), {OS(), Rewound()}, "e2");
  EXPECT_EQ(Kinds(h), (std::vector<std::string>{
                          "orchestratorStarted", "executionStarted", "taskScheduled1",
                          "orchestratorCompleted", "orchestratorStarted", "taskCompleted",
                          "orchestratorCompleted", "orchestratorStarted",
                          "orchestratorCompleted", "orchestratorStarted", "executionRewound"}));
  EXPECT_EQ(h[1].executionstarted().orchestrationinstance().executionid().value(), "e2");
  EXPECT_FALSE(h[1].executionstarted().has_parentinstance());
}

TEST(RewindTest, KeepsChildCreationAndDropsChildFailure) {
  std::vector<HistoryEvent> failed = {OS(), Started("e1"), ChildCreated(1, "kid"), OC(),
                                      OS(), ChildFailed(1), ExecCompleted(), OC()};
  std::vector<HistoryEvent> h = RewoundHistory(failed, {OS(), Rewound()}, "e2");
  EXPECT_EQ(Kinds(h), (std::vector<std::string>{
                          "orchestratorStarted", "executionStarted",
                          "subOrchestrationInstanceCreated", "orchestratorCompleted",
                          "orchestratorStarted", "orchestratorCompleted", "orchestratorStarted",
                          "executionRewound"}));
}

TEST(RewindTest, ChildPointsAtItsParentsNewExecution) {
  std::vector<HistoryEvent> h =
      RewoundHistory(FailedHistory("p1"), {OS(), Rewound("p2")}, "e2");
  const auto& parent = h[1].executionstarted().parentinstance().orchestrationinstance();
  EXPECT_EQ(parent.executionid().value(), "p2");
  EXPECT_EQ(parent.instanceid(), "parent");
}

store::InstanceRecord FailedRecord() {
  store::InstanceRecord r;
  r.set_instance_id("abc");
  r.set_name("orch");
  r.set_execution_id("e1");
  r.set_status(ORCHESTRATION_STATUS_RUNNING);  // RewindInstance made it RUNNING
  r.mutable_custom_status()->set_value("\"kept\"");
  r.set_history_size(FailedHistory().size());
  return r;
}

// ApplyEpisode of `resp` to the episode `fresh` after `past`; continue-as-new or a
// server rewind gets execution id "e2".
absl::StatusOr<EpisodeResult> Apply(const store::InstanceRecord& rec,
                                    const std::vector<HistoryEvent>& past,
                                    const std::vector<HistoryEvent>& fresh,
                                    const OrchestratorResponse& resp) {
  EpisodeInput in;
  in.record = &rec;
  in.new_events = &fresh;
  in.response = &resp;
  in.history = &past;
  in.now = kT0;
  in.new_execution_id = "e2";
  return ApplyEpisode(in);
}

TEST(RewindTest, ApplyEpisodeRewindsForAWorkerThatFailsAgain) {
  const store::InstanceRecord rec = FailedRecord();
  const std::vector<HistoryEvent> past = FailedHistory();
  const std::vector<HistoryEvent> fresh = {OS(), Rewound()};
  // What Java durabletask-client 1.5.0 answers: it replays the failure and fails again.
  OrchestratorResponse resp;
  resp.set_instanceid("abc");
  auto* c = resp.add_actions();
  c->set_id(3);
  c->mutable_completeorchestration()->set_orchestrationstatus(ORCHESTRATION_STATUS_FAILED);
  absl::StatusOr<EpisodeResult> r = Apply(rec, past, fresh, resp);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->rewound);
  EXPECT_TRUE(r->reset_history);
  EXPECT_FALSE(r->became_terminal);
  EXPECT_EQ(r->record.status(), ORCHESTRATION_STATUS_RUNNING);
  EXPECT_EQ(r->record.execution_id(), "e2");
  EXPECT_TRUE(r->record.force_episode());
  EXPECT_EQ(r->record.custom_status().value(), "\"kept\"");
  EXPECT_EQ(r->history_append.size(), RewoundHistory(past, fresh, "e2").size());
  EXPECT_EQ(r->record.history_size(), r->history_append.size());
}

TEST(RewindTest, ApplyEpisodeKeepsTheHistoryARewindAwareSdkComputed) {
  const store::InstanceRecord rec = FailedRecord();
  const std::vector<HistoryEvent> past = FailedHistory();
  const std::vector<HistoryEvent> fresh = {OS(), Rewound()};
  OrchestratorResponse resp;
  resp.set_instanceid("abc");
  auto* a = resp.add_actions();
  a->set_id(-1);
  *a->mutable_rewindorchestration()->add_newhistory() = Started("sdk-exec");
  *a->mutable_rewindorchestration()->add_newhistory() = Rewound();
  absl::StatusOr<EpisodeResult> r = Apply(rec, past, fresh, resp);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->rewound);
  EXPECT_EQ(r->history_append.size(), 2u);
  EXPECT_EQ(r->record.execution_id(), "sdk-exec");
}

TEST(RewindTest, NormalEpisodeIsNotARewind) {
  const store::InstanceRecord rec = FailedRecord();
  const std::vector<HistoryEvent> past = {OS(), Started("e1"), OC()};
  const std::vector<HistoryEvent> fresh = {OS(), Completed(1)};
  OrchestratorResponse resp;
  absl::StatusOr<EpisodeResult> r = Apply(rec, past, fresh, resp);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->rewound);
  EXPECT_EQ(r->record.execution_id(), "e1");
}

}  // namespace
}  // namespace taskhub::core
