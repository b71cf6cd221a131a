#include "server/engine/engine_metrics.h"

#include <algorithm>
#include <string>
#include <variant>

namespace taskhub::engine {

FixedHistogram::FixedHistogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void FixedHistogram::Observe(double value) {
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  sum_.fetch_add(value, std::memory_order_relaxed);
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
}

FixedHistogram::Snapshot FixedHistogram::Read() const {
  Snapshot s;
  s.bounds = bounds_;
  s.counts.resize(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    s.counts[i] = buckets_[i].load(std::memory_order_relaxed);
    s.count += s.counts[i];
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

namespace {
// Latencies from 1 ms to ~5 min; commits from 100 us to 10 s; group sizes 1..1024.
std::vector<double> WorkBounds() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
}
std::vector<double> CommitBounds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10};
}
std::vector<double> GroupBounds() { return {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}; }

int StatusIndex(int status) { return status >= 0 && status < kInstanceStatuses ? status : -1; }
}  // namespace

const char* WorkKindName(WorkKind kind) {
  switch (kind) {
    case WorkKind::kOrchestration:
      return "orchestration";
    case WorkKind::kActivity:
      return "activity";
    case WorkKind::kEntity:
      return "entity";
  }
  return "unknown";
}

const char* WorkOutcomeName(WorkOutcome outcome) {
  switch (outcome) {
    case WorkOutcome::kCompleted:
      return "completed";
    case WorkOutcome::kAbandoned:
      return "abandoned";
    case WorkOutcome::kLeaseExpired:
      return "lease_expired";
    case WorkOutcome::kDisconnected:
      return "disconnected";
    case WorkOutcome::kDropped:
      return "dropped";
  }
  return "unknown";
}

const char* StatusLabel(int status) {
  static const char* const kNames[kInstanceStatuses] = {"running", "completed", "continued_as_new",
                                                        "failed",  "canceled",  "terminated",
                                                        "pending", "suspended"};
  return StatusIndex(status) >= 0 ? kNames[status] : "unknown";
}

EngineMetrics::EngineMetrics() : commit_seconds(CommitBounds()), commit_group_size(GroupBounds()) {
  for (int k = 0; k < kWorkKinds; ++k) work_seconds.emplace_back(WorkBounds());
}

void EngineMetrics::SeedInstances(const storage::InstanceCounts& counts) {
  for (int s = 0; s < kInstanceStatuses; ++s) instances[s].store(counts.by_status[s]);
  entities.store(counts.entities);
}

void EngineMetrics::ApplyCommitted(const storage::WriteSet& ws) {
  auto is_entity = [](const std::string& id) { return !id.empty() && id[0] == '@'; };
  auto add = [this](int status, int64_t d) {
    if (StatusIndex(status) >= 0) instances[status].fetch_add(d, std::memory_order_relaxed);
  };
  for (const auto& op : ws.ops) {
    if (const auto* put = std::get_if<storage::PutInstance>(&op)) {
      if (is_entity(put->record.instance_id())) {
        if (!put->previous) entities.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (put->previous) add(put->previous->status, -1);
      add(put->record.status(), 1);
    } else if (const auto* del = std::get_if<storage::DeleteInstance>(&op)) {
      if (is_entity(del->instance_id)) {
        entities.fetch_sub(1, std::memory_order_relaxed);
      } else {
        add(del->previous.status, -1);
      }
    } else if (std::holds_alternative<storage::DeleteEverything>(op)) {
      for (auto& n : instances) n.store(0);
      entities.store(0);
    }
  }
}

}  // namespace taskhub::engine
