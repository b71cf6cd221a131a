// Private state of Engine, shared by engine*.cc. Not part of the engine's API.
#ifndef TASKHUB_SERVER_ENGINE_ENGINE_INTERNAL_H_
#define TASKHUB_SERVER_ENGINE_ENGINE_INTERNAL_H_

#include <list>

#include "server/core/history.h"
#include "server/core/orchestration.h"
#include "server/engine/engine.h"

namespace taskhub::engine {

// A non-terminal instance. All fields guarded by Engine::mu_.
struct Engine::Live {
  store::InstanceRecord rec;  // logical state (may be ahead of the store)
  std::optional<storage::IndexedFields> stored;  // index fields as last written
  std::deque<std::pair<uint64_t, HistoryEvent>> inbox;  // (seq, event), arrival order
  bool history_loaded = false;
  std::vector<HistoryEvent> history;
  bool in_lru = false;
  std::list<std::string>::iterator lru;
  int unflushed = 0;  // queued batches that append to this history, not yet durable
  // The episode in flight, if `token` is set.
  std::string token;
  uint64_t stream = 0;
  size_t dispatched = 0;  // inbox entries included in the episode
  std::vector<HistoryEvent> new_events;
  uint64_t lease_timer = 0;
  bool queued = false;  // in ready_orch_
  absl::Time not_before = absl::InfinitePast();
  uint64_t wake_timer = 0;
  int abandons = 0;
  bool in_flight() const { return !token.empty(); }
};

struct Engine::Activity {
  uint64_t seq = 0;
  store::ActivityTask task;
  std::string token;
  uint64_t stream = 0;
  uint64_t lease_timer = 0;
  bool queued = false;
  int abandons = 0;
  absl::Time not_before = absl::InfinitePast();
  uint64_t wake_timer = 0;
  bool in_flight() const { return !token.empty(); }
};

struct Engine::Stream {
  uint64_t id = 0;
  WorkItemSink* sink = nullptr;
  WorkItemFilter filter;
  std::string peer;  // the worker's connection; identifies tokenless completions
  int max_orch = 0, max_act = 0;
  int orch = 0, act = 0;  // in flight
  std::set<std::string> tokens;
  uint64_t ping_timer = 0;
};

struct Engine::Waiter {
  std::string id;
  bool completion = false;
  bool payloads = false;
  uint64_t handle = 0;
  uint64_t cap_timer = 0;
  absl::Mutex mu;
  DoneWith<GetInstanceResponse> done ABSL_GUARDED_BY(mu);
  bool Satisfied(const store::InstanceRecord& rec) const {
    return completion ? core::IsTerminal(rec.status())
                      : rec.status() != ORCHESTRATION_STATUS_PENDING;
  }
  void Fire(absl::StatusOr<GetInstanceResponse> r) {
    DoneWith<GetInstanceResponse> d;
    {
      absl::MutexLock l(&mu);
      d = std::move(done);
      done = nullptr;
    }
    if (d) d(std::move(r));
  }
};

// One unit of work for the CommitQueue plus what to do once it is durable.
struct Engine::Batch {
  storage::WriteSet ws;
  std::vector<std::string> ready;  // instances to consider for dispatch
  std::vector<store::InstanceRecord> changed;  // for waiters
  std::vector<storage::TimerItem> timers;  // new durable timers
  std::vector<std::pair<std::string, uint64_t>> pending_clear;  // (id, gen)
  std::vector<std::string> flushed;  // instances whose `unflushed` to decrement
  std::vector<Done> done;
};

// The terminal statuses among `given` (all terminal statuses when `given` is empty);
// nullopt when `given` names only non-terminal statuses, i.e. nothing can match.
inline std::optional<std::vector<OrchestrationStatus>> TerminalOnly(
    const google::protobuf::RepeatedField<int>& given) {
  std::vector<OrchestrationStatus> out;
  for (int s : given) {
    if (core::IsTerminal(static_cast<OrchestrationStatus>(s))) {
      out.push_back(static_cast<OrchestrationStatus>(s));
    }
  }
  if (given.empty()) {
    out = {ORCHESTRATION_STATUS_COMPLETED, ORCHESTRATION_STATUS_FAILED,
           ORCHESTRATION_STATUS_TERMINATED, ORCHESTRATION_STATUS_CANCELED};
  }
  if (out.empty()) return std::nullopt;
  return out;
}

inline GetInstanceResponse StateResponse(const store::InstanceRecord& rec, bool payloads) {
  GetInstanceResponse r;
  r.set_exists(true);
  *r.mutable_orchestrationstate() = core::ToOrchestrationState(rec, payloads);
  return r;
}

}  // namespace taskhub::engine

#endif  // TASKHUB_SERVER_ENGINE_ENGINE_INTERNAL_H_
