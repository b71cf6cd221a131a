// Human interaction: ask for an approval, wait for the "ApprovalEvent" with a
// timeout, and escalate when nobody answers in time.
// Run: taskhub-example-human-interaction [--address localhost:4001] [--approve|--no-approve]
#include <thread>

#include "sdk/examples/example_main.h"

using taskhub::ActivityContext;
using taskhub::OrchestrationContext;
using taskhub::Task;

Task<nlohmann::json> ApprovalWorkflow(OrchestrationContext& ctx) {
  nlohmann::json request = ctx.GetInput();
  co_await ctx.CallActivity("request_approval", request);
  const absl::Duration timeout = absl::Seconds(request.value("timeout_seconds", 2));
  // The approval, or a durable timer: whichever comes first.
  auto approval = ctx.WaitForExternalEvent<bool>("ApprovalEvent");
  auto deadline = ctx.CreateTimer(timeout);
  if (co_await ctx.WhenAny(approval, deadline) == 0) {
    const bool approved = co_await approval;  // completed: returns at once
    co_return nlohmann::json{{"outcome", approved ? "approved" : "rejected"}};
  }
  std::string manager = co_await ctx.CallActivity<std::string>("escalate", request);
  co_return nlohmann::json{{"outcome", "escalated"}, {"escalated_to", manager}};
}

int main(int argc, char** argv) {
  const auto args = taskhub::examples::ParseArgs(argc, argv);
  taskhub::Registry registry;
  registry.AddOrchestrator("approval_workflow", ApprovalWorkflow);
  registry.AddActivity("request_approval", [](ActivityContext& ctx, nlohmann::json req) {
    std::cout << "approval requested for " << req["item"] << " (" << ctx.orchestration_id << ")"
              << std::endl;
  });
  registry.AddActivity("escalate",
                       [](ActivityContext&, nlohmann::json) { return std::string("manager"); });
  const bool approve = args.Has("--approve");
  return taskhub::examples::RunExample(
      args, std::move(registry),
      [approve](taskhub::Client& client) -> absl::StatusOr<nlohmann::json> {
        nlohmann::json input{{"item", "laptop"}, {"timeout_seconds", approve ? 30 : 2}};
        auto id = client.ScheduleNewOrchestration("approval_workflow", input);
        if (!id.ok()) return id.status();
        if (approve) {
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          if (auto st = client.RaiseEvent(*id, "ApprovalEvent", true); !st.ok()) return st;
          std::cout << "approval sent" << std::endl;
        }
        auto state = client.WaitForInstanceCompletion(*id, absl::Seconds(60));
        if (!state.ok()) return state.status();
        if (!state->has_value() || !(*state)->output) return absl::InternalError("no output");
        return *(*state)->GetOutput();
      });
}
