// Replay engine tests from recorded histories: no server, no gRPC.
#include "taskhub/replay.h"

#include "gtest/gtest.h"
#include "sdk/src/replay_test_support.h"
#include "sdk/src/sdk_util.h"

namespace taskhub {
namespace {

using testing_support::History;
using testing_support::kT0;
using testing_support::Replay;

Task<std::vector<std::string>> Cities(OrchestrationContext& ctx) {
  std::vector<std::string> out;
  for (std::string city : {"Tokyo", "Seattle"}) {
    out.push_back(co_await ctx.CallActivity<std::string>("hello", city));
  }
  co_return out;
}

Registry CitiesRegistry() {
  Registry r;
  r.AddOrchestrator("cities", Cities);
  return r;
}

TEST(ReplayTest, FirstEpisodeSchedulesTheFirstActivity) {
  History fresh;
  fresh.Started().Execution("cities", "null");
  OrchestratorResponse resp = Replay(CitiesRegistry(), History(), fresh);
  EXPECT_EQ(resp.completiontoken(), "tok");
  ASSERT_EQ(resp.actions_size(), 1);
  EXPECT_EQ(resp.actions(0).id(), 1);
  EXPECT_EQ(resp.actions(0).scheduletask().name(), "hello");
  EXPECT_EQ(resp.actions(0).scheduletask().input().value(), "\"Tokyo\"");
}

TEST(ReplayTest, ReplaysToCompletion) {
  History past;
  past.Started().Execution("cities", "null").Scheduled(1, "hello").Done();
  past.Started().Completed(1, "\"Hi Tokyo\"").Scheduled(2, "hello").Done();
  History fresh;
  fresh.Started().Completed(2, "\"Hi Seattle\"");
  OrchestratorResponse resp = Replay(CitiesRegistry(), past, fresh);
  ASSERT_EQ(resp.actions_size(), 1);
  const auto& c = resp.actions(0).completeorchestration();
  EXPECT_EQ(c.orchestrationstatus(), ORCHESTRATION_STATUS_COMPLETED);
  EXPECT_EQ(nlohmann::json::parse(c.result().value()), nlohmann::json({"Hi Tokyo", "Hi Seattle"}));
}

TEST(ReplayTest, ChangedActivityNameIsANonDeterminismErrorNamingBoth) {
  History past;
  past.Started().Execution("cities", "null").Scheduled(1, "greet").Done();
  History fresh;
  fresh.Started().Completed(1, "\"x\"");
  OrchestratorResponse resp = Replay(CitiesRegistry(), past, fresh);
  ASSERT_EQ(resp.actions_size(), 1);
  const auto& c = resp.actions(0).completeorchestration();
  EXPECT_EQ(c.orchestrationstatus(), ORCHESTRATION_STATUS_FAILED);
  EXPECT_EQ(c.failuredetails().errortype(), "NonDeterminismError");
  EXPECT_NE(c.failuredetails().errormessage().find("'greet'"), std::string::npos);
  EXPECT_NE(c.failuredetails().errormessage().find("'hello'"), std::string::npos);
}

TEST(ReplayTest, ActionInHistoryThatCodeNoLongerSchedules) {
  History past;
  past.Started().Execution("cities", "null").Scheduled(1, "hello").Scheduled(2, "extra").Done();
  History fresh;
  fresh.Started();
  OrchestratorResponse resp = Replay(CitiesRegistry(), past, fresh);
  ASSERT_EQ(resp.actions_size(), 1);
  EXPECT_EQ(resp.actions(0).completeorchestration().failuredetails().errortype(),
            "NonDeterminismError");
  EXPECT_NE(resp.actions(0).completeorchestration().failuredetails().errormessage().find("'extra'"),
            std::string::npos);
}

TEST(ReplayTest, FanOutWhenAll) {
  Registry r;
  r.AddOrchestrator("fan", [](OrchestrationContext& ctx) -> Task<int> {
    std::vector<DurableTask<int>> tasks;
    for (int i = 0; i < 3; ++i) tasks.push_back(ctx.CallActivity<int>("square", i));
    std::vector<int> all = co_await ctx.WhenAll(tasks);
    int sum = 0;
    for (int v : all) sum += v;
    co_return sum;
  });
  History first;
  first.Started().Execution("fan", "null");
  EXPECT_EQ(Replay(r, History(), first).actions_size(), 3);
  History past;
  past.Started()
      .Execution("fan", "null")
      .Scheduled(1, "square")
      .Scheduled(2, "square")
      .Scheduled(3, "square")
      .Done();
  History fresh;
  fresh.Started().Completed(3, "4").Completed(1, "0");
  EXPECT_EQ(Replay(r, past, fresh).actions_size(), 0);  // still waiting for task 2
  fresh.Completed(2, "1");
  OrchestratorResponse resp = Replay(r, past, fresh);
  ASSERT_EQ(resp.actions_size(), 1);
  EXPECT_EQ(resp.actions(0).completeorchestration().result().value(), "5");
}

Registry ApprovalRegistry() {
  Registry r;
  r.AddOrchestrator("approval", [](OrchestrationContext& ctx) -> Task<std::string> {
    try {
      bool ok = co_await ctx.WaitForExternalEvent<bool>("Approval", absl::Hours(1));
      co_return ok ? "approved" : "rejected";
    } catch (const TimeoutError&) {
      co_return "escalated";
    }
  });
  return r;
}

TEST(ReplayTest, EventBeatsTimeout) {
  History past;
  past.Started().Execution("approval", "null").TimerCreated(1, kT0 + absl::Hours(1)).Done();
  History fresh;
  fresh.Started().Raised("approval", "true");  // names match case-insensitively
  OrchestratorResponse resp = Replay(ApprovalRegistry(), past, fresh);
  ASSERT_EQ(resp.actions_size(), 1);
  EXPECT_EQ(resp.actions(0).completeorchestration().result().value(), "\"approved\"");
}

TEST(ReplayTest, TimeoutBeatsEvent) {
  History past;
  past.Started().Execution("approval", "null").TimerCreated(1, kT0 + absl::Hours(1)).Done();
  History fresh;
  fresh.Started(kT0 + absl::Hours(1)).TimerFired(1, kT0 + absl::Hours(1));
  OrchestratorResponse resp = Replay(ApprovalRegistry(), past, fresh);
  ASSERT_EQ(resp.actions_size(), 1);
  EXPECT_EQ(resp.actions(0).completeorchestration().result().value(), "\"escalated\"");
}

TEST(ReplayTest, EventRaisedBeforeTheWaitIsBuffered) {
  History fresh;
  fresh.Started().Execution("approval", "null").Raised("Approval", "false");
  OrchestratorResponse resp = Replay(ApprovalRegistry(), History(), fresh);
  // The timer is still scheduled (deterministically), then the result.
  ASSERT_EQ(resp.actions_size(), 2);
  EXPECT_TRUE(resp.actions(0).has_createtimer());
  EXPECT_EQ(resp.actions(1).completeorchestration().result().value(), "\"rejected\"");
}

TEST(ReplayTest, FailuresAreCatchableAndUncaughtOnesFailTheOrchestration) {
  Registry r;
  r.AddOrchestrator("catching", [](OrchestrationContext& ctx) -> Task<std::string> {
    try {
      co_await ctx.CallActivity("boom");
      co_return "no error";
    } catch (const TaskFailedError& e) {
      co_return e.failure().error_type + ": " + e.failure().message;
    }
  });
  r.AddOrchestrator("throwing", [](OrchestrationContext& ctx) -> Task<void> {
    co_await ctx.CallActivity("boom");
  });
  History past;
  past.Started().Execution("catching", "null").Scheduled(1, "boom").Done();
  History fresh;
  fresh.Started().Failed(1, "std::runtime_error", "kaput");
  auto resp = Replay(r, past, fresh);
  EXPECT_EQ(resp.actions(0).completeorchestration().result().value(),
            "\"std::runtime_error: kaput\"");
  past.events[1].mutable_executionstarted()->set_name("throwing");
  resp = Replay(r, past, fresh);
  const auto& c = resp.actions(0).completeorchestration();
  EXPECT_EQ(c.orchestrationstatus(), ORCHESTRATION_STATUS_FAILED);
  EXPECT_EQ(c.failuredetails().errortype(), "taskhub::TaskFailedError");
  EXPECT_EQ(c.failuredetails().innerfailure().errormessage(), "kaput");
}

TEST(ReplayTest, RetryPolicyWaitsOnADurableTimerThenRetries) {
  Registry r;
  r.AddOrchestrator("retrying", [](OrchestrationContext& ctx) -> Task<int> {
    RetryPolicy p;
    p.max_attempts = 3;
    p.first_retry_interval = absl::Seconds(5);
    ActivityOptions options;
    options.retry = p;
    co_return co_await ctx.CallActivity<int>("flaky", nullptr, options);
  });
  History past;
  past.Started().Execution("retrying", "null").Scheduled(1, "flaky").Done();
  History fresh;
  fresh.Started().Failed(1, "E", "once");
  auto resp = Replay(r, past, fresh);
  ASSERT_EQ(resp.actions_size(), 1);
  ASSERT_TRUE(resp.actions(0).has_createtimer());
  EXPECT_EQ(internal::FromTimestamp(resp.actions(0).createtimer().fireat()),
            kT0 + absl::Seconds(5));
  past.Started().Failed(1, "E", "once").TimerCreated(2, kT0 + absl::Seconds(5)).Done();
  History fresh2;
  fresh2.Started(kT0 + absl::Seconds(5)).TimerFired(2, kT0 + absl::Seconds(5));
  resp = Replay(r, past, fresh2);
  ASSERT_EQ(resp.actions_size(), 1);
  EXPECT_EQ(resp.actions(0).scheduletask().name(), "flaky");
  EXPECT_EQ(resp.actions(0).id(), 3);
}

TEST(ReplayTest, ContinueAsNewCarriesUnprocessedEvents) {
  Registry r;
  r.AddOrchestrator("loop", [](OrchestrationContext& ctx) -> Task<void> {
    int n = ctx.GetInput<int>();
    ctx.SetCustomStatus(nlohmann::json{{"n", n}});
    ctx.ContinueAsNew(n + 1);
    co_return;
  });
  History fresh;
  fresh.Started().Execution("loop", "41").Raised("later", "1");
  auto resp = Replay(r, History(), fresh);
  ASSERT_EQ(resp.actions_size(), 1);
  const auto& c = resp.actions(0).completeorchestration();
  EXPECT_EQ(c.orchestrationstatus(), ORCHESTRATION_STATUS_CONTINUED_AS_NEW);
  EXPECT_EQ(c.result().value(), "42");
  ASSERT_EQ(c.carryoverevents_size(), 1);
  EXPECT_EQ(c.carryoverevents(0).eventraised().name(), "later");
  EXPECT_EQ(resp.customstatus().value(), "{\"n\":41}");
}

TEST(ReplayTest, SuspendedInstancesBufferResultsUntilResumed) {
  History past;
  past.Started().Execution("cities", "null").Scheduled(1, "hello").Done();
  History fresh;
  fresh.Started().Suspended().Completed(1, "\"Hi\"");
  EXPECT_EQ(Replay(CitiesRegistry(), past, fresh).actions_size(), 0);
  fresh.Resumed();
  auto resp = Replay(CitiesRegistry(), past, fresh);
  ASSERT_EQ(resp.actions_size(), 1);
  EXPECT_EQ(resp.actions(0).scheduletask().input().value(), "\"Seattle\"");
}

TEST(ReplayTest, RepeatedExecutionStartedIsIgnored) {
  History past;
  past.Started()
      .Execution("approval", "null")
      .Execution("approval", "null")
      .TimerCreated(1, kT0 + absl::Hours(1))
      .Done();
  History fresh;
  fresh.Started(kT0 + absl::Hours(1)).TimerFired(1, kT0 + absl::Hours(1));
  OrchestratorResponse resp = Replay(ApprovalRegistry(), past, fresh);
  ASSERT_EQ(resp.actions_size(), 1);
  EXPECT_EQ(resp.actions(0).completeorchestration().result().value(), "\"escalated\"");
}

TEST(ReplayTest, UnknownOrchestratorFails) {
  History fresh;
  fresh.Started().Execution("nope", "null");
  auto resp = Replay(CitiesRegistry(), History(), fresh);
  EXPECT_EQ(resp.actions(0).completeorchestration().failuredetails().errortype(),
            "OrchestratorNotFound");
}

TEST(ReplayTest, ClockAndGuidsAreDeterministic) {
  Registry r;
  r.AddOrchestrator("ids", [](OrchestrationContext& ctx) -> Task<std::vector<std::string>> {
    std::string a = ctx.NewGuid();
    co_await ctx.CreateTimer(absl::Seconds(1));
    co_return std::vector<std::string>{a, ctx.NewGuid(),
                                       absl::FormatTime(ctx.CurrentUtcDateTime())};
  });
  History past;
  past.Started().Execution("ids", "null").TimerCreated(1, kT0 + absl::Seconds(1)).Done();
  History fresh;
  fresh.Started(kT0 + absl::Seconds(1)).TimerFired(1, kT0 + absl::Seconds(1));
  auto a = Replay(r, past, fresh);
  auto b = Replay(r, past, fresh);
  EXPECT_EQ(a.actions(0).completeorchestration().result().value(),
            b.actions(0).completeorchestration().result().value());
  auto ids = nlohmann::json::parse(a.actions(0).completeorchestration().result().value());
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_EQ(ids[2], absl::FormatTime(kT0 + absl::Seconds(1)));
}

TEST(OrchestrationSessionTest, ContinuesInMemoryAndMatchesAFullReplay) {
  const Registry r = CitiesRegistry();
  OrchestrationSession session(r);
  OrchestratorRequest first;
  first.set_instanceid("inst");
  History h1;
  h1.Started().Execution("cities", "null");
  for (const auto& e : h1.events) *first.add_newevents() = e;
  auto a = session.Execute(first, "t1");
  ASSERT_EQ(a.actions_size(), 1);
  ASSERT_TRUE(session.reusable());
  // The server's next request: old events + confirmation as past, result as new.
  History past;
  past.Started().Execution("cities", "null").Scheduled(1, "hello").Done();
  History fresh;
  fresh.Started().Completed(1, "\"Hi Tokyo\"");
  OrchestratorRequest second;
  second.set_instanceid("inst");
  for (const auto& e : past.events) *second.add_pastevents() = e;
  for (const auto& e : fresh.events) *second.add_newevents() = e;
  auto b = session.Execute(second, "t2");
  auto full = ExecuteOrchestrator(r, second, "t2");
  EXPECT_EQ(b.SerializeAsString(), full.SerializeAsString());
  ASSERT_EQ(b.actions_size(), 1);
  EXPECT_EQ(b.actions(0).id(), 2);
  // A redelivery of the same episode does not extend what the session saw: full replay.
  auto again = session.Execute(second, "t3");
  EXPECT_EQ(again.actions(0).scheduletask().input().value(), "\"Seattle\"");
  EXPECT_EQ(again.actions(0).id(), 2);
}

}  // namespace
}  // namespace taskhub
