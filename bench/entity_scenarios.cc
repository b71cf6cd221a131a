// The entity scenario: one-way signals to one entity, and spread over many, until
// every one has been applied (checked exactly: the counters' sum).
#include <atomic>
#include <iostream>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/scenarios.h"
#include "bench/stats.h"

namespace taskhub::bench {
namespace {

int64_t CounterEntity(EntityContext& ctx, const std::string& op, int64_t amount) {
  int64_t value = ctx.GetState<int64_t>(0);
  if (op == "add") ctx.SetState(value += amount);
  return value;
}

// Sums the counters named in the input ("@name@key" ids) with parallel entity
// calls. Each call is queued behind the signals sent before the orchestration
// started, so it completes once they were all applied.
Task<int64_t> ReadCountersOrch(OrchestrationContext& ctx) {
  const std::vector<std::string> ids = ctx.GetInput<std::vector<std::string>>();
  std::vector<DurableTask<int64_t>> reads;
  reads.reserve(ids.size());
  for (const std::string& raw : ids) {
    const EntityInstanceId id = *EntityInstanceId::Parse(raw);
    reads.push_back(ctx.CallEntity<int64_t>(id, "get"));
  }
  std::vector<int64_t> values = co_await ctx.WhenAll(reads);
  int64_t sum = 0;
  for (int64_t v : values) sum += v;
  co_return sum;
}

// Sends `n` "add 1" signals round-robin over `keys` counters from the client
// threads, then waits for the read; reports signals/s from the first signal to
// the read's completion (every signal applied) and the client's send rate.
absl::Status SignalRun(const BenchConfig& c, Client& client, const std::string& label, int n,
                       int keys, std::vector<Figure>* out) {
  const std::string run = absl::StrCat("bench-", absl::ToUnixNanos(absl::Now()), "-");
  std::vector<EntityInstanceId> ids;
  for (int k = 0; k < keys; ++k) ids.emplace_back("bench_counter", run + std::to_string(k));
  const absl::Time start = absl::Now();
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  absl::Status first_error;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, c.clients); ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < n && !failed; i = next++) {
        absl::Status st = client.SignalEntity(ids[i % keys], "add", "1");
        if (!st.ok()) {
          std::lock_guard<std::mutex> l(mu);
          if (!failed) first_error = st;
          failed = true;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  if (failed) return first_error;
  const absl::Time sent = absl::Now();
  nlohmann::json names = nlohmann::json::array();
  for (const auto& id : ids) names.push_back(id.ToString());
  auto read = client.ScheduleNewOrchestration("bench_read_counters", names.dump());
  if (!read.ok()) return read.status();
  auto state = client.WaitForInstanceCompletion(*read, absl::Minutes(10));
  if (!state.ok()) return state.status();
  if (!state->has_value() || (*state)->status != ORCHESTRATION_STATUS_COMPLETED) {
    return absl::InternalError("the read of the counters did not complete");
  }
  const absl::Time done = absl::Now();
  const int64_t sum = nlohmann::json::parse((*state)->output.value_or("0")).get<int64_t>();
  if (sum != n) {
    return absl::InternalError(absl::StrCat(label, ": the counters sum to ", sum, ", not ", n));
  }
  const std::string scenario = "entities";
  out->push_back({scenario, label + " signals applied/s", n / absl::ToDoubleSeconds(done - start),
                  "signals/s"});
  out->push_back(
      {scenario, label + " signals sent/s", n / absl::ToDoubleSeconds(sent - start), "signals/s"});
  return absl::OkStatus();
}

}  // namespace

void AddEntityBench(Registry& r) {
  r.AddEntity("bench_counter", CounterEntity);
  r.AddOrchestrator("bench_read_counters", ReadCountersOrch);
}

absl::Status Entities(const BenchConfig& c, Client& client, std::vector<Figure>* out) {
  // A server without entities (UNIMPLEMENTED) is reported, not measured.
  absl::Status probe = client.SignalEntity(EntityInstanceId("bench_counter", "probe"), "get");
  if (absl::IsUnimplemented(probe)) {
    std::cerr << "entities: the server does not implement entities; skipped\n";
    return absl::OkStatus();
  }
  if (!probe.ok()) return probe;
  if (absl::Status st = SignalRun(c, client, "1 entity:", c.entity_signals, 1, out); !st.ok()) {
    return st;
  }
  return SignalRun(c, client, absl::StrCat(c.entity_keys, " entities:"), c.entity_signals,
                   c.entity_keys, out);
}

}  // namespace taskhub::bench
