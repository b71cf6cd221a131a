// Fuzz target: the C++ SDK's replay engine on arbitrary histories (past and new
// events) with a few registered orchestrators that use every context feature.
// Each episode runs through ExecuteOrchestrator, and all episodes in order through
// one OrchestrationSession. Input: fuzz.ReplayInput.
#include <memory>

#include "fuzz_input.pb.h"
#include "taskhub/replay.h"
#include "tests/fuzz/fuzz_common.h"

namespace taskhub::fuzz {
namespace {

Registry MakeRegistry() {
  Registry r;
  r.AddOrchestrator("cities", [](OrchestrationContext& ctx) -> Task<std::vector<std::string>> {
    std::vector<std::string> out;
    for (std::string city : {"Tokyo", "Seattle"}) {
      out.push_back(co_await ctx.CallActivity<std::string>("hello", city));
    }
    co_return out;
  });
  r.AddOrchestrator("fan", [](OrchestrationContext& ctx) -> Task<int> {
    std::vector<DurableTask<int>> tasks;
    const int n = ctx.GetInput<int>() % 8;
    for (int i = 0; i < n; ++i) tasks.push_back(ctx.CallActivity<int>("square", i));
    std::vector<int> all = co_await ctx.WhenAll(tasks);
    int sum = 0;
    for (int v : all) sum += v;
    co_return sum;
  });
  r.AddOrchestrator("approval", [](OrchestrationContext& ctx) -> Task<std::string> {
    try {
      bool ok = co_await ctx.WaitForExternalEvent<bool>("Approval", absl::Hours(1));
      co_return ok ? "approved" : "rejected";
    } catch (const TimeoutError&) {
      co_return "escalated";
    }
  });
  r.AddOrchestrator("catching", [](OrchestrationContext& ctx) -> Task<std::string> {
    try {
      co_await ctx.CallActivity("boom");
      co_return "no error";
    } catch (const TaskFailedError& e) {
      co_return e.failure().error_type + ": " + e.failure().message;
    }
  });
  r.AddOrchestrator("retrying", [](OrchestrationContext& ctx) -> Task<int> {
    RetryPolicy p;
    p.max_attempts = 3;
    p.first_retry_interval = absl::Seconds(5);
    ActivityOptions options;
    options.retry = p;
    co_return co_await ctx.CallActivity<int>("flaky", nullptr, options);
  });
  r.AddOrchestrator("loop", [](OrchestrationContext& ctx) -> Task<void> {
    int n = ctx.GetInput<int>();
    ctx.SetCustomStatus(nlohmann::json{{"n", n}});
    ctx.ContinueAsNew(n + 1);
    co_return;
  });
  r.AddOrchestrator("parent", [](OrchestrationContext& ctx) -> Task<std::string> {
    std::string a = ctx.NewGuid();
    co_await ctx.CreateTimer(absl::Seconds(1));
    ctx.SendEvent("other", "ping", a);
    std::vector<DurableTask<std::string>> any;
    any.push_back(ctx.CallSubOrchestrator<std::string>("cities", nullptr));
    any.push_back(ctx.WaitForExternalEvent<std::string>("stop"));
    size_t first = co_await ctx.WhenAny(any);
    ctx.Log().Info("first");
    co_return absl::FormatTime(ctx.CurrentUtcDateTime()) + std::to_string(first) +
        ctx.InstanceId() + ctx.Name() + (ctx.IsReplaying() ? "r" : "n");
  });
  return r;
}

}  // namespace
}  // namespace taskhub::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  taskhub::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const taskhub::Registry* registry = new taskhub::Registry(taskhub::fuzz::MakeRegistry());
  taskhub::fuzz::ReplayInput in;
  if (!taskhub::fuzz::ParseInput(data, size, &in) || in.episodes_size() > 16) return -1;
  auto session = std::make_unique<taskhub::OrchestrationSession>(*registry);
  bool used = false;
  for (const auto& req : in.episodes()) {
    taskhub::OrchestratorResponse full = taskhub::ExecuteOrchestrator(*registry, req, "tok");
    if (used && !session->reusable()) {  // what a worker does: drop it, start over
      session = std::make_unique<taskhub::OrchestrationSession>(*registry);
    }
    used = true;
    taskhub::OrchestratorResponse kept = session->Execute(req, "tok");
    // A session that extends what it saw must answer as a full replay does.
    if (kept.SerializeAsString() != full.SerializeAsString()) __builtin_trap();
  }
  return 0;
}
