// Async HTTP API: the caller gets "202 Accepted" with a status location at once,
// then polls the status until the long-running work is done.
// Run: taskhub-example-async-http-api [--address localhost:4001]
#include <thread>

#include "sdk/examples/example_main.h"

using taskhub::ActivityContext;
using taskhub::OrchestrationContext;
using taskhub::Task;

Task<nlohmann::json> GenerateReport(OrchestrationContext& ctx) {
  const std::string period = ctx.GetInput<std::string>();
  int rows = co_await ctx.CallActivity<int>("query_rows", period);
  ctx.SetCustomStatus("rendering");
  std::string report = co_await ctx.CallActivity<std::string>("render_report", rows);
  co_return nlohmann::json{{"report", report}, {"rows", rows}};
}

int main(int argc, char** argv) {
  taskhub::Registry registry;
  registry.AddOrchestrator("generate_report", GenerateReport);
  registry.AddActivity("query_rows", [](ActivityContext&, std::string) {
    std::this_thread::sleep_for(std::chrono::milliseconds(800));  // a slow query
    return 42;
  });
  registry.AddActivity("render_report", [](ActivityContext&, int) { return std::string("ready"); });
  return taskhub::examples::RunExample(
      taskhub::examples::ParseArgs(argc, argv), std::move(registry),
      [](taskhub::Client& client) -> absl::StatusOr<nlohmann::json> {
        auto id = client.ScheduleNewOrchestration("generate_report", taskhub::Json("sales-2026"));
        if (!id.ok()) return id.status();
        std::cout << "202 Accepted: Location: /instances/" << *id << std::endl;
        for (int i = 0; i < 200; ++i) {
          auto state = client.GetInstance(*id);
          if (!state.ok()) return state.status();
          if (!state->has_value()) return absl::NotFoundError("instance vanished");
          const auto& m = **state;
          std::cout << "status: " << taskhub::ToString(m.runtime_status) << std::endl;
          if (m.runtime_status == taskhub::RuntimeStatus::kCompleted) {
            return m.GetOutput().value_or(nlohmann::json());
          }
          if (taskhub::IsTerminal(m.runtime_status))
            return absl::InternalError("the report failed");
          std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
        return absl::DeadlineExceededError("the report did not finish in time");
      });
}
