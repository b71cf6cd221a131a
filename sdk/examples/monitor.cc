// Monitor: check a job periodically until it is done or a deadline passes; each
// check is a fresh execution (continue-as-new), so the history stays small.
// Run: taskhub-example-monitor [--address localhost:4001]
#include "sdk/examples/example_main.h"

using taskhub::ActivityContext;
using taskhub::OrchestrationContext;
using taskhub::Task;

Task<nlohmann::json> JobMonitor(OrchestrationContext& ctx) {
  nlohmann::json state = ctx.GetInput();
  const int checks = state.value("checks", 0) + 1;
  const absl::Time deadline = absl::FromUnixSeconds(state.value("deadline_unix", 0));
  nlohmann::json check_input{{"job", state["job"]}, {"attempt", checks}};
  std::string status = co_await ctx.CallActivity<std::string>("check_job_status", check_input);
  if (status == "done" || ctx.CurrentUtcDateTime() >= deadline) {
    co_return nlohmann::json{{"checks", checks},
                             {"status", status == "done" ? "done" : "timed out"}};
  }
  ctx.SetCustomStatus(nlohmann::json{{"checks", checks}, {"last", status}});
  co_await ctx.CreateTimer(absl::Milliseconds(500));
  state["checks"] = checks;
  co_await ctx.ContinueAsNew(state);  // never returns: the next execution starts over
}

int main(int argc, char** argv) {
  taskhub::Registry registry;
  registry.AddOrchestrator("job_monitor", JobMonitor);
  // Stands in for polling an external system: the job finishes at the third check.
  registry.AddActivity("check_job_status", [](ActivityContext&, nlohmann::json in) {
    return std::string(in["attempt"].get<int>() >= 3 ? "done" : "running");
  });
  return taskhub::examples::RunExample(
      taskhub::examples::ParseArgs(argc, argv), std::move(registry), [](taskhub::Client& client) {
        const int64_t deadline = absl::ToUnixSeconds(absl::Now() + absl::Minutes(5));
        return taskhub::examples::RunToCompletion(
            client, "job_monitor", nlohmann::json{{"job", "job-1"}, {"deadline_unix", deadline}});
      });
}
