// The engine's counters for /metrics: plain atomics and fixed-bucket histograms,
// updated by small hooks in the engine (dispatcher, commit queue, partitions). No
// metrics library below server/metrics: the collector there reads these at scrape
// time and renders them.
//
// What is counted where:
//   dispatched/completed/abandoned by work-item kind, and the time from dispatch to
//   completion (Dispatcher: Dispatch, Release with an outcome, RemoveStream);
//   commit groups: submissions per group and the backend's Commit time, which
//   includes the WAL sync (CommitQueue::CommitGroup);
//   instances by runtime status and entities: seeded from the store at start-up
//   (Backend::CountInstances), then kept current from every committed WriteSet
//   (PutInstance/DeleteInstance/DeleteEverything), so a scrape never reads the store;
//   durable timers pending, history cache hits and misses (Partition).
//
// Thread-safety: every member may be updated and read from any thread. Snapshots
// are not atomic across members (a scrape may see a counter a moment ahead of
// another); each histogram snapshot is internally consistent (count = sum of buckets).
#ifndef TASKHUB_SERVER_ENGINE_ENGINE_METRICS_H_
#define TASKHUB_SERVER_ENGINE_ENGINE_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "server/engine/dispatcher.h"
#include "server/storage/backend.h"

namespace taskhub::engine {

// A histogram with fixed upper bounds (Prometheus "le"); Observe is lock-free.
class FixedHistogram {
 public:
  explicit FixedHistogram(std::vector<double> bounds);
  void Observe(double value);
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> counts;  // per bucket, NOT cumulative; bounds.size() + 1 (+Inf)
    double sum = 0;
    uint64_t count = 0;  // = sum of counts
  };
  Snapshot Read() const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

// Why a delivery's slot was freed (Dispatcher::Release).
enum class WorkOutcome : int {
  kCompleted = 0,     // the worker's result was accepted
  kAbandoned = 1,     // the worker abandoned it
  kLeaseExpired = 2,  // not completed within its lease
  kDisconnected = 3,  // its stream went away (counted by RemoveStream)
  kDropped = 4,       // the engine let it go (instance terminated, rewound, deleted)
};
constexpr int kWorkOutcomes = 5;
const char* WorkKindName(WorkKind kind);           // "orchestration", "activity", "entity"
const char* WorkOutcomeName(WorkOutcome outcome);  // "completed", "abandoned", ...
constexpr int kInstanceStatuses = 8;               // OrchestrationStatus 0..7
const char* StatusLabel(int status);               // "running", "completed", ...

struct EngineMetrics {
  EngineMetrics();

  std::array<std::atomic<uint64_t>, kWorkKinds> dispatched{};
  // [kind][outcome]: every delivery ends with exactly one outcome.
  std::array<std::array<std::atomic<uint64_t>, kWorkOutcomes>, kWorkKinds> released{};
  // Dispatch to accepted completion, seconds (engine clock), by kind.
  std::deque<FixedHistogram> work_seconds;  // (deque: not movable)
  // Backend Commit() time of a group (the WAL sync included), seconds (steady clock).
  FixedHistogram commit_seconds;
  // Submissions merged into one group commit.
  FixedHistogram commit_group_size;
  std::atomic<uint64_t> commit_failures{0};

  std::array<std::atomic<int64_t>, kInstanceStatuses> instances{};
  std::atomic<int64_t> entities{0};
  std::atomic<int64_t> durable_timers{0};
  std::atomic<uint64_t> history_cache_hits{0};
  std::atomic<uint64_t> history_cache_misses{0};

  void Released(WorkKind kind, WorkOutcome outcome) {
    released[static_cast<int>(kind)][static_cast<int>(outcome)].fetch_add(
        1, std::memory_order_relaxed);
  }
  // Start-up: the store's counts.
  void SeedInstances(const storage::InstanceCounts& counts);
  // After a successful commit: the instance gauges follow its records.
  void ApplyCommitted(const storage::WriteSet& ws);
};

}  // namespace taskhub::engine

#endif  // TASKHUB_SERVER_ENGINE_ENGINE_METRICS_H_
