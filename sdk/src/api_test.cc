// The SDK's API shapes (issue 14): activities as any callable, WhenAll/WhenAny over
// tasks of different types, run through the Registry and the replay engine.
#include <string>

#include "gtest/gtest.h"
#include "sdk/src/replay_test_support.h"
#include "taskhub/taskhub.h"

namespace taskhub {
namespace {

using testing_support::History;
using testing_support::kT0;
using testing_support::Replay;

// Runs activity `name` of `r` with JSON text `input`.
std::optional<std::string> RunActivity(const Registry& r, const std::string& name,
                                       const std::optional<std::string>& input) {
  const ActivityFn* fn = r.FindActivity(name);
  if (fn == nullptr) return "<not registered>";
  ActivityContext ctx{.orchestration_id = "inst", .name = name, .task_id = 1};
  return (*fn)(ctx, input);
}

int Twice(ActivityContext&, int x) noexcept { return 2 * x; }

struct Billing {
  int rate = 3;
  int Charge(ActivityContext&, int units) const { return rate * units; }
  std::string Name(ActivityContext& ctx) { return ctx.name; }
};

Task<int> AddOneLater(int x) { co_return x + 1; }

TEST(ApiTest, ActivitiesAreAnyCallable) {
  Registry r;
  Billing billing;
  int calls = 0;
  r.AddActivity("generic", [](auto&, const auto& input) { return input.size(); });
  r.AddActivity("noexcept_lambda", [](ActivityContext&, int x) noexcept { return x + 1; });
  r.AddActivity("noexcept_function", Twice);
  r.AddActivity("noexcept_pointer", &Twice);
  r.AddActivity("member", &Billing::Charge, &billing);
  r.AddActivity("member_no_input", &Billing::Name, &billing);
  r.AddActivity("mutable", [calls](ActivityContext&) mutable { return ++calls; });
  r.AddActivity("void", [&calls](ActivityContext&, std::string) { ++calls; });
  r.AddActivity("async", [](ActivityContext&, int x) -> Task<int> {
    const int y = co_await AddOneLater(x);
    co_return y * 10;
  });
  r.AddActivity("async_void", [&calls](ActivityContext&) -> Task<void> {
    ++calls;
    co_return;
  });

  EXPECT_EQ(RunActivity(r, "generic", R"([1,2,3])"), "3");
  EXPECT_EQ(RunActivity(r, "noexcept_lambda", "41"), "42");
  EXPECT_EQ(RunActivity(r, "noexcept_function", "21"), "42");
  EXPECT_EQ(RunActivity(r, "noexcept_pointer", "4"), "8");
  EXPECT_EQ(RunActivity(r, "member", "5"), "15");
  EXPECT_EQ(RunActivity(r, "member_no_input", std::nullopt), "\"member_no_input\"");
  EXPECT_EQ(RunActivity(r, "mutable", std::nullopt), "1");
  EXPECT_EQ(RunActivity(r, "mutable", std::nullopt), "2");
  EXPECT_EQ(RunActivity(r, "void", "\"x\""), std::nullopt);
  EXPECT_EQ(RunActivity(r, "async", "3"), "40");
  EXPECT_EQ(RunActivity(r, "async_void", std::nullopt), std::nullopt);
  EXPECT_EQ(calls, 2);
}

TEST(ApiTest, AnAsyncActivityThatThrowsFailsItsTask) {
  Registry r;
  r.AddActivity("async_throws", [](ActivityContext&) -> Task<int> {
    throw std::runtime_error("nope");
    co_return 1;
  });
  EXPECT_THROW(RunActivity(r, "async_throws", std::nullopt), std::runtime_error);
}

// An event with a timeout, written as a user would: no casts.
Task<std::string> Approval(OrchestrationContext& ctx) {
  auto approval = ctx.WaitForExternalEvent<bool>("approval");
  auto timeout = ctx.CreateTimer(absl::Hours(24));
  const size_t first = co_await ctx.WhenAny(approval, timeout);
  if (first == 1) co_return "timed out";
  co_return (co_await approval) ? "approved" : "rejected";
}

TEST(ApiTest, WhenAnyOverAnEventAndATimer) {
  Registry r;
  r.AddOrchestrator("approval", Approval);
  History past;
  past.Started().Execution("approval").TimerCreated(1, kT0 + absl::Hours(24)).Done();
  History event;
  event.Started().Raised("approval", "true");
  auto resp = Replay(r, past, event);
  ASSERT_EQ(resp.actions_size(), 1);
  EXPECT_EQ(resp.actions(0).completeorchestration().result().value(), "\"approved\"");

  History fired;
  fired.Started(kT0 + absl::Hours(24)).TimerFired(1, kT0 + absl::Hours(24));
  resp = Replay(r, past, fired);
  ASSERT_EQ(resp.actions_size(), 1);
  EXPECT_EQ(resp.actions(0).completeorchestration().result().value(), "\"timed out\"");
}

TEST(ApiTest, WhenAllOverTasksOfDifferentTypes) {
  Registry r;
  r.AddOrchestrator("mixed", [](OrchestrationContext& ctx) -> Task<std::string> {
    auto count = ctx.CallActivity<int>("count");
    auto name = ctx.CallActivity<std::string>("name");
    auto pause = ctx.CreateTimer(absl::Seconds(1));
    co_await ctx.WhenAll(count, name, pause);
    co_return co_await name + ":" + std::to_string(co_await count);
  });
  History past;
  past.Started()
      .Execution("mixed")
      .Scheduled(1, "count")
      .Scheduled(2, "name")
      .TimerCreated(3, kT0 + absl::Seconds(1))
      .Done();
  History fresh;
  fresh.Started(kT0 + absl::Seconds(1)).Completed(2, "\"n\"").TimerFired(3, kT0 + absl::Seconds(1));
  auto resp = Replay(r, past, fresh);
  EXPECT_EQ(resp.actions_size(), 0);  // still waiting for count
  fresh.Completed(1, "7");
  resp = Replay(r, past, fresh);
  ASSERT_EQ(resp.actions_size(), 1);
  EXPECT_EQ(resp.actions(0).completeorchestration().result().value(), "\"n:7\"");
}

// A counter that continues as new until 3, with no dummy co_return after
// ContinueAsNew; in a helper coroutine too.
Task<void> Again(OrchestrationContext& ctx, int next) { co_await ctx.ContinueAsNew(next); }

TEST(ApiTest, AwaitedContinueAsNewEndsTheExecution) {
  Registry r;
  r.AddOrchestrator("count", [](OrchestrationContext& ctx) -> Task<int> {
    const int n = ctx.GetInput<int>();
    co_await ctx.CreateTimer(absl::Seconds(1));
    if (n < 3) co_await ctx.ContinueAsNew(n + 1);
    co_return n;
  });
  r.AddOrchestrator("nested", [](OrchestrationContext& ctx) -> Task<int> {
    co_await Again(ctx, 7);
    co_return -1;  // never reached
  });
  History past;
  past.Started().Execution("count", "1").TimerCreated(1, kT0 + absl::Seconds(1)).Done();
  History fresh;
  fresh.Started(kT0 + absl::Seconds(1)).TimerFired(1, kT0 + absl::Seconds(1));
  auto resp = Replay(r, past, fresh);
  ASSERT_EQ(resp.actions_size(), 1);
  EXPECT_EQ(resp.actions(0).completeorchestration().orchestrationstatus(),
            ORCHESTRATION_STATUS_CONTINUED_AS_NEW);
  EXPECT_EQ(resp.actions(0).completeorchestration().result().value(), "2");

  past.events[1].mutable_executionstarted()->mutable_input()->set_value("3");
  resp = Replay(r, past, fresh);
  ASSERT_EQ(resp.actions_size(), 1);
  EXPECT_EQ(resp.actions(0).completeorchestration().orchestrationstatus(),
            ORCHESTRATION_STATUS_COMPLETED);
  EXPECT_EQ(resp.actions(0).completeorchestration().result().value(), "3");

  History nested;
  nested.Started().Execution("nested", "null");
  resp = Replay(r, History(), nested);
  ASSERT_EQ(resp.actions_size(), 1);
  EXPECT_EQ(resp.actions(0).completeorchestration().orchestrationstatus(),
            ORCHESTRATION_STATUS_CONTINUED_AS_NEW);
  EXPECT_EQ(resp.actions(0).completeorchestration().result().value(), "7");
}

TEST(ApiTest, RuntimeStatusMirrorsTheWireEnum) {
  for (int i = 0; i <= 7; ++i) {
    const auto wire = static_cast<OrchestrationStatus>(i);
    const RuntimeStatus s = ToRuntimeStatus(wire);
    EXPECT_EQ(ToProto(s), wire);
    EXPECT_EQ(std::string("ORCHESTRATION_STATUS_") + ToString(s), OrchestrationStatus_Name(wire));
  }
  OrchestrationState state;
  state.set_orchestrationstatus(ORCHESTRATION_STATUS_TERMINATED);
  const OrchestrationMetadata m = OrchestrationMetadata::FromProto(state);
  EXPECT_EQ(m.runtime_status, RuntimeStatus::kTerminated);
  EXPECT_TRUE(IsTerminal(m.runtime_status));
  EXPECT_FALSE(IsTerminal(RuntimeStatus::kContinuedAsNew));
}

struct Point {
  int x = 0, y = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Point, x, y)

TEST(ApiTest, TypedClientPayloads) {
  OrchestrationMetadata m;
  EXPECT_EQ(m.GetOutput<int>(), std::nullopt);
  m.output = R"({"x":1,"y":2})";
  m.custom_status = R"("busy")";
  EXPECT_EQ(m.GetOutput<Point>()->y, 2);
  EXPECT_EQ(m.GetCustomStatus<std::string>(), "busy");
  EXPECT_EQ((*m.GetOutput())["x"], 1);
  // Values are converted to JSON; strings are JSON text unless wrapped in Json().
  EXPECT_EQ(internal::EncodeValue(Point{3, 4}), R"({"x":3,"y":4})");
  EXPECT_EQ(internal::EncodeValue(Json("Tokyo")), R"("Tokyo")");
  EXPECT_EQ(internal::EncodeValue(nlohmann::json()), std::nullopt);
  static_assert(internal::JsonText<std::string> && internal::JsonText<const char*> &&
                internal::JsonText<decltype("x")> && internal::JsonText<std::nullopt_t>);
  static_assert(!internal::JsonText<Json> && !internal::JsonText<int> &&
                !internal::JsonText<nlohmann::json> && !internal::JsonText<Point>);
}

}  // namespace
}  // namespace taskhub
