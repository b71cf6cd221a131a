#include "bench/scenarios.h"

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/stats.h"

namespace taskhub::bench {
namespace {

Task<int> HelloSeqOrch(OrchestrationContext& ctx) {
  int v = 0;
  for (int i = 0; i < 5; ++i) v = co_await ctx.CallActivity<int>("bench_inc", v);
  co_return v;
}

Task<int> FanOutOrch(OrchestrationContext& ctx) {
  const int m = ctx.GetInput<int>();
  std::vector<DurableTask<int>> tasks;
  tasks.reserve(m);
  for (int i = 0; i < m; ++i) tasks.push_back(ctx.CallActivity<int>("bench_inc", i));
  std::vector<int> results = co_await ctx.WhenAll(tasks);
  co_return static_cast<int>(results.size());
}

Task<int> SequentialOrch(OrchestrationContext& ctx) {
  const int k = ctx.GetInput<int>();
  int v = 0;
  for (int i = 0; i < k; ++i) v = co_await ctx.CallActivity<int>("bench_inc", v);
  co_return v;
}

Task<std::string> WaitEventOrch(OrchestrationContext& ctx) {
  co_return co_await ctx.WaitForExternalEvent<std::string>("go");
}

// Returns how late the orchestration resumed after its 1 s timer, in microseconds.
Task<int64_t> TimerOrch(OrchestrationContext& ctx) {
  const absl::Time fire_at = ctx.CurrentUtcDateTime() + absl::Seconds(1);
  co_await ctx.CreateTimer(fire_at);
  co_return absl::ToInt64Microseconds(ctx.CurrentUtcDateTime() - fire_at);
}

Task<int> OneActivityOrch(OrchestrationContext& ctx) {
  co_return co_await ctx.CallActivity<int>("bench_inc", 0);
}

// Starts `n` instances of `name` from `threads` client threads; returns their ids.
absl::StatusOr<std::vector<std::string>> StartMany(Client& client, const std::string& name,
                                                   const std::string& input, int n,
                                                   int threads) {
  std::vector<std::string> ids(n);
  absl::Status st = ParallelFor(n, threads, [&](size_t i) {
    auto id = client.ScheduleNewOrchestration(name, input);
    if (!id.ok()) return id.status();
    ids[i] = *id;
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return ids;
}

// Waits for every instance; returns their final states (COMPLETED required).
absl::StatusOr<std::vector<OrchestrationMetadata>> WaitAll(Client& client,
                                                           const std::vector<std::string>& ids,
                                                           int threads, absl::Duration timeout) {
  std::vector<OrchestrationMetadata> states(ids.size());
  absl::Status st = ParallelFor(ids.size(), threads, [&](size_t i) {
    auto s = client.WaitForInstanceCompletion(ids[i], timeout, /*fetch_payloads=*/true);
    if (!s.ok()) return s.status();
    if (!s->has_value() || (*s)->status != ORCHESTRATION_STATUS_COMPLETED) {
      return absl::InternalError(absl::StrCat("instance ", ids[i], " did not complete"));
    }
    states[i] = **s;
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return states;
}

struct Span {
  absl::Time first_created = absl::InfiniteFuture(), last_completed = absl::InfinitePast();
  std::vector<double> latencies_ms;
};
Span Measure(const std::vector<OrchestrationMetadata>& states) {
  Span s;
  for (const auto& m : states) {
    s.first_created = std::min(s.first_created, m.created_at);
    const absl::Time done = m.completed_at.value_or(m.last_updated_at);
    s.last_completed = std::max(s.last_completed, done);
    s.latencies_ms.push_back(Ms(done - m.created_at));
  }
  return s;
}

using StorageCounts = std::map<std::string, double>;

// The storage counts now, when the bench started taskhubd with a store that counts
// them (--store azure); an empty map otherwise.
absl::StatusOr<StorageCounts> StorageNow(const BenchConfig& c) {
  if (c.server == nullptr || !c.server->has_storage_stats()) return StorageCounts{};
  return c.server->StorageStats();
}

// Figures of the storage transactions between two StorageNow() snapshots, divided by
// `per` (the total, then each kind used): "storage transactions" in `unit`.
void AddStorageFigures(const std::string& scenario, const StorageCounts& before,
                       const StorageCounts& after, double per, const std::string& unit,
                       std::vector<Figure>* out) {
  if (after.empty()) return;
  auto delta = [&](const std::string& kind) {
    auto b = before.find(kind);
    return after.at(kind) - (b == before.end() ? 0 : b->second);
  };
  out->push_back({scenario, "storage transactions", delta("total") / per, unit});
  for (const auto& [kind, n] : after) {
    if (kind != "total" && delta(kind) > 0) {
      out->push_back({scenario, absl::StrCat("  of which ", kind), delta(kind) / per, unit});
    }
  }
}

}  // namespace

absl::Status ParallelFor(size_t n, int threads, const std::function<absl::Status(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  absl::Status first_error;
  std::mutex mu;
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < n && !failed; i = next++) {
        if (absl::Status st = fn(i); !st.ok()) {
          std::lock_guard<std::mutex> l(mu);
          if (!failed) first_error = st;
          failed = true;
          return;
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  return first_error;
}

Registry BenchRegistry() {
  Registry r;
  r.AddOrchestrator("bench_hello_seq", HelloSeqOrch);
  r.AddOrchestrator("bench_fan_out", FanOutOrch);
  r.AddOrchestrator("bench_sequential", SequentialOrch);
  r.AddOrchestrator("bench_wait_event", WaitEventOrch);
  r.AddOrchestrator("bench_timer", TimerOrch);
  r.AddOrchestrator("bench_one", OneActivityOrch);
  r.AddActivity("bench_inc", [](ActivityContext&, int v) { return v + 1; });
  AddEntityBench(r);
  return r;
}

absl::Status HelloSeq(const BenchConfig& c, Client& client, std::vector<Figure>* out) {
  auto storage_before = StorageNow(c);
  if (!storage_before.ok()) return storage_before.status();
  auto ids = StartMany(client, "bench_hello_seq", "null", c.hello_n, c.clients);
  if (!ids.ok()) return ids.status();
  auto states = WaitAll(client, *ids, c.clients, absl::Minutes(10));
  if (!states.ok()) return states.status();
  auto storage_after = StorageNow(c);
  if (!storage_after.ok()) return storage_after.status();
  auto history = client.GetHistory(ids->front());
  if (!history.ok()) return history.status();
  const Span s = Measure(*states);
  const double secs = absl::ToDoubleSeconds(s.last_completed - s.first_created);
  out->push_back({"hello-seq", "orchestrations", static_cast<double>(c.hello_n), ""});
  out->push_back({"hello-seq", "throughput", c.hello_n / secs, "orchestrations/s"});
  out->push_back({"hello-seq", "history events", c.hello_n * history->size() / secs, "events/s"});
  out->push_back({"hello-seq", "latency p50", Percentile(s.latencies_ms, 50), "ms"});
  out->push_back({"hello-seq", "latency p99", Percentile(s.latencies_ms, 99), "ms"});
  AddStorageFigures("hello-seq", *storage_before, *storage_after, c.hello_n, "tx/orchestration",
                    out);
  return absl::OkStatus();
}

absl::Status FanOut(const BenchConfig& c, Client& client, std::vector<Figure>* out) {
  for (int m : {c.fan_out_small, c.fan_out_large}) {
    auto id = client.ScheduleNewOrchestration("bench_fan_out", std::to_string(m));
    if (!id.ok()) return id.status();
    auto states = WaitAll(client, {*id}, 1, absl::Minutes(10));
    if (!states.ok()) return states.status();
    if ((*states)[0].output != std::to_string(m)) return absl::InternalError("wrong fan-out result");
    const Span s = Measure(*states);
    const std::string name = absl::StrCat("fan-out ", m);
    out->push_back({name, "total time", s.latencies_ms[0] / 1000.0, "s"});
    out->push_back({name, "activities", m / (s.latencies_ms[0] / 1000.0), "activities/s"});
  }
  return absl::OkStatus();
}

absl::Status Sequential(const BenchConfig& c, Client& client, std::vector<Figure>* out) {
  auto id = client.ScheduleNewOrchestration("bench_sequential", std::to_string(c.sequential_k));
  if (!id.ok()) return id.status();
  auto states = WaitAll(client, {*id}, 1, absl::Minutes(10));
  if (!states.ok()) return states.status();
  const Span s = Measure(*states);
  const std::string name = absl::StrCat("sequential ", c.sequential_k);
  out->push_back({name, "total time", s.latencies_ms[0] / 1000.0, "s"});
  out->push_back({name, "steps", c.sequential_k / (s.latencies_ms[0] / 1000.0), "steps/s"});
  return absl::OkStatus();
}

absl::Status Latency(const BenchConfig& c, Client& client, std::vector<Figure>* out) {
  std::vector<double> end_to_end, event_rtt;
  for (int i = 0; i < c.latency_runs; ++i) {
    const absl::Time t0 = absl::Now();
    auto id = client.ScheduleNewOrchestration("bench_hello_seq", "null");
    if (!id.ok()) return id.status();
    auto done = client.WaitForInstanceCompletion(*id, absl::Seconds(30), false);
    if (!done.ok()) return done.status();
    end_to_end.push_back(Ms(absl::Now() - t0));
  }
  for (int i = 0; i < std::max(1, c.latency_runs / 2); ++i) {
    auto id = client.ScheduleNewOrchestration("bench_wait_event", "null");
    if (!id.ok()) return id.status();
    // Wait until the orchestration is parked on the event, then time the round trip.
    auto started = client.WaitForInstanceStart(*id, absl::Seconds(30), false);
    if (!started.ok()) return started.status();
    const absl::Time t0 = absl::Now();
    if (auto st = client.RaiseEvent(*id, "go", "\"now\""); !st.ok()) return st;
    auto done = client.WaitForInstanceCompletion(*id, absl::Seconds(30), false);
    if (!done.ok()) return done.status();
    event_rtt.push_back(Ms(absl::Now() - t0));
  }
  out->push_back({"latency", "hello-seq p50", Percentile(end_to_end, 50), "ms"});
  out->push_back({"latency", "hello-seq p99", Percentile(end_to_end, 99), "ms"});
  out->push_back({"latency", "event round trip p50", Percentile(event_rtt, 50), "ms"});
  out->push_back({"latency", "event round trip p99", Percentile(event_rtt, 99), "ms"});
  return absl::OkStatus();
}

absl::Status Timers(const BenchConfig& c, Client& client, std::vector<Figure>* out) {
  auto ids = StartMany(client, "bench_timer", "null", c.timer_n, c.clients);
  if (!ids.ok()) return ids.status();
  auto states = WaitAll(client, *ids, c.clients, absl::Minutes(5));
  if (!states.ok()) return states.status();
  std::vector<double> lateness;
  for (const auto& m : *states) lateness.push_back(std::stod(m.output.value_or("0")) / 1000.0);
  out->push_back({"timers", "lateness p50", Percentile(lateness, 50), "ms"});
  out->push_back({"timers", "lateness p99", Percentile(lateness, 99), "ms"});
  return absl::OkStatus();
}

absl::Status Idle(const BenchConfig& c, Client& client, std::vector<Figure>* out) {
  if (c.server == nullptr) return absl::FailedPreconditionError("idle needs a local server");
  auto ids = StartMany(client, "bench_wait_event", "null", c.idle_instances, c.clients);
  if (!ids.ok()) return ids.status();
  // Let every instance reach its wait.
  for (size_t i = 0; i < ids->size(); i += std::max<size_t>(1, ids->size() / 20)) {
    auto st = client.WaitForInstanceStart((*ids)[i], absl::Minutes(2), false);
    if (!st.ok()) return st.status();
  }
  auto last = client.WaitForInstanceStart(ids->back(), absl::Minutes(2), false);
  if (!last.ok()) return last.status();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto storage_before = StorageNow(c);
  if (!storage_before.ok()) return storage_before.status();
  const absl::Time storage_t0 = absl::Now();
  const absl::Duration before = c.server->CpuTime();
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(c.idle_seconds * 1000)));
  const absl::Duration used = c.server->CpuTime() - before;
  auto storage_after = StorageNow(c);
  if (!storage_after.ok()) return storage_after.status();
  const double storage_minutes = absl::ToDoubleMinutes(absl::Now() - storage_t0);
  out->push_back({"idle", "waiting instances", static_cast<double>(c.idle_instances), ""});
  out->push_back({"idle", "window", c.idle_seconds, "s"});
  out->push_back({"idle", "taskhubd CPU", Ms(used), "ms"});
  AddStorageFigures("idle", *storage_before, *storage_after, storage_minutes, "tx/minute", out);
  return absl::OkStatus();
}

absl::Status Memory(const BenchConfig& c, Client& client, std::vector<Figure>* out) {
  if (c.server == nullptr) return absl::FailedPreconditionError("memory needs a local server");
  const int64_t base = c.server->RssBytes();
  auto done_ids = StartMany(client, "bench_one", "null", c.memory_completed, c.clients);
  if (!done_ids.ok()) return done_ids.status();
  auto states = WaitAll(client, *done_ids, c.clients, absl::Minutes(20));
  if (!states.ok()) return states.status();
  const int64_t with_completed = c.server->RssBytes();
  auto running = StartMany(client, "bench_wait_event", "null", c.memory_running, c.clients);
  if (!running.ok()) return running.status();
  auto last = client.WaitForInstanceStart(running->back(), absl::Minutes(2), false);
  if (!last.ok()) return last.status();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const int64_t with_running = c.server->RssBytes();
  out->push_back({"memory", "RSS at start", base / 1048576.0, "MiB"});
  out->push_back({"memory", absl::StrCat("RSS with ", c.memory_completed, " completed"),
                  with_completed / 1048576.0, "MiB"});
  out->push_back({"memory", absl::StrCat("RSS with ", c.memory_running, " more running"),
                  with_running / 1048576.0, "MiB"});
  return absl::OkStatus();
}

}  // namespace taskhub::bench
