// Fuzz target: the C++ SDK's replay engine on arbitrary histories (past and new
// events) with a few registered orchestrators that use every context feature
// (entity calls, signals and critical sections included).
// Each episode runs through ExecuteOrchestrator, and all episodes in order through
// one OrchestrationSession. Input: fuzz.ReplayInput.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_input.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "taskhub/replay.h"
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/proto_mutator.h"

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
  r.AddOrchestrator("entities", [](OrchestrationContext& ctx) -> Task<int> {
    const EntityInstanceId a("account", "a"), b("Account", "b"), c("counter", "c");
    ctx.SignalEntity(c, "add", 1, ctx.CurrentUtcDateTime() + absl::Seconds(5));
    int total = 0;
    try {
      total += co_await ctx.CallEntity<int>(c, "get");
    } catch (const EntityOperationFailedError&) {
      total -= 1;
    }
    {
      auto lock = co_await ctx.LockEntities(b, a, b);
      total += co_await ctx.CallEntity<int>(a, "balance");
      if (total > 10) co_return total;  // released by the lock's destructor
      total += co_await ctx.CallEntity<int>(b, "balance");
      lock.Release();
    }
    ctx.SignalEntity(a, "deposit", total);
    co_return total;
  });
  return r;
}

}  // namespace
}  // namespace taskhub::fuzz

TASKHUB_FUZZ_PROTO_MUTATOR(taskhub::fuzz::ReplayInput)

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  taskhub::fuzz::QuietLogs();
  return 0;
}

namespace taskhub::fuzz {
namespace {

// True when `req`'s past events start with every event of `seen`: the history
// extends the one already processed, the only case in which a session keeps its
// state (the session checks the execution id and the event at the seam only; a
// server never rewrites the history of a running execution).
// `prev` is the request the session processed last.
bool Extends(const OrchestratorRequest& req, const OrchestratorRequest& prev,
             const std::vector<std::string>& seen) {
  if (req.instanceid() != prev.instanceid()) return false;  // a worker keys sessions by id
  if (seen.empty() || static_cast<size_t>(req.pastevents_size()) < seen.size()) return false;
  for (size_t i = 0; i < seen.size(); ++i) {
    if (req.pastevents(static_cast<int>(i)).SerializeAsString() != seen[i]) return false;
  }
  return true;
}

}  // namespace
}  // namespace taskhub::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace taskhub;
  static const Registry* registry = new Registry(fuzz::MakeRegistry());
  fuzz::ReplayInput in;
  if (!fuzz::ParseInput(data, size, &in) || in.episodes_size() > 16) return -1;
  auto session = std::make_unique<OrchestrationSession>(*registry);
  std::vector<std::string> seen;  // the events the session has processed
  const OrchestratorRequest* prev = nullptr;
  for (const auto& req : in.episodes()) {
    OrchestratorResponse full = ExecuteOrchestrator(*registry, req, "tok");
    const bool extends = prev != nullptr && fuzz::Extends(req, *prev, seen);
    if (!seen.empty() && (!session->reusable() || !extends)) {
      session = std::make_unique<OrchestrationSession>(*registry);  // as a worker does
    }
    OrchestratorResponse kept = session->Execute(req, "tok");
    prev = &req;
    seen.clear();
    for (const auto& e : req.pastevents()) seen.push_back(e.SerializeAsString());
    for (const auto& e : req.newevents()) seen.push_back(e.SerializeAsString());
    // The session must answer as a full replay does.
    // (Compared field by field: map fields serialize in no fixed order.)
    if (!google::protobuf::util::MessageDifferencer::Equals(kept, full)) {
      fprintf(stderr, "session and full replay disagree on episode:\n%s\nsession: %s\nfull:    %s\n",
              req.ShortDebugString().c_str(), kept.ShortDebugString().c_str(),
              full.ShortDebugString().c_str());
      __builtin_trap();
    }
  }
  return 0;
}
