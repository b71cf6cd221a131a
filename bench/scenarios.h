// Benchmark scenarios: each drives orchestrations through a taskhubd (over the wire
// protocol only) with a C++ SDK worker and client, and reports figures.
#ifndef TASKHUB_BENCH_SCENARIOS_H_
#define TASKHUB_BENCH_SCENARIOS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "bench/server_process.h"
#include "taskhub/taskhub.h"

namespace taskhub::bench {

struct Figure {
  std::string scenario, metric;
  double value = 0;
  std::string unit;
};

struct BenchConfig {
  std::string address;
  const ServerProcess* server = nullptr;  // set when the bench started taskhubd itself
  int concurrency = 64;  // worker concurrency (orchestrations and activities each)
  int clients = 8;       // client threads starting instances
  int hello_n = 5000;
  int fan_out_small = 1000, fan_out_large = 10000;
  int sequential_k = 1000;
  int latency_runs = 200;
  int timer_n = 1000;
  int idle_instances = 10000;
  double idle_seconds = 60;
  int memory_completed = 100000, memory_running = 10000;
  int entity_signals = 10000, entity_keys = 1000;
  // large (large_scenario.cc): finished instances, live ones, the small reference hub.
  int large_n = 1000000, large_live = 10000, large_small = 5000;
  bool large_check = false;  // exact counts and the anti-quadratic bound
  double large_max_ratio = 5;  // per-instance purge time, large_n vs large_small
};

// The orchestrators, activities and entities every scenario uses.
Registry BenchRegistry();
void AddEntityBench(Registry& r);  // entity_scenarios.cc

absl::Status HelloSeq(const BenchConfig& c, Client& client, std::vector<Figure>* out);
absl::Status FanOut(const BenchConfig& c, Client& client, std::vector<Figure>* out);
absl::Status Sequential(const BenchConfig& c, Client& client, std::vector<Figure>* out);
absl::Status Latency(const BenchConfig& c, Client& client, std::vector<Figure>* out);
absl::Status Timers(const BenchConfig& c, Client& client, std::vector<Figure>* out);
// Need a server the bench started (CPU time and RSS come from /proc).
absl::Status Idle(const BenchConfig& c, Client& client, std::vector<Figure>* out);
absl::Status Memory(const BenchConfig& c, Client& client, std::vector<Figure>* out);
// Signals/s to one entity and spread over entity_keys entities (skipped, OK, when
// the server answers UNIMPLEMENTED).
// A task hub with large_n finished instances (needs a local server).
absl::Status Large(const BenchConfig& c, Client& client, std::vector<Figure>* out);

// Runs fn(0..n-1) on `threads` threads (at least one); stops early and returns the first
// error. Blocks until every thread is done.
absl::Status ParallelFor(size_t n, int threads, const std::function<absl::Status(size_t)>& fn);
absl::Status Entities(const BenchConfig& c, Client& client, std::vector<Figure>* out);

}  // namespace taskhub::bench

#endif  // TASKHUB_BENCH_SCENARIOS_H_
