// Private state of Partition, shared by partition*.cc. Not part of the engine's API.
#ifndef TASKHUB_SERVER_ENGINE_PARTITION_INTERNAL_H_
#define TASKHUB_SERVER_ENGINE_PARTITION_INTERNAL_H_

#include <deque>
#include <list>

#include "server/core/history.h"
#include "server/engine/partition.h"

namespace taskhub::engine {

// A non-terminal instance. All fields guarded by Partition::mu_.
struct Partition::Live {
  store::InstanceRecord rec;                            // logical state (may be ahead of the store)
  std::optional<storage::IndexedFields> stored;         // index fields as last written
  std::deque<std::pair<uint64_t, HistoryEvent>> inbox;  // (seq, event), arrival order
  bool history_loaded = false;
  bool loading = false;  // a history load is on its way (LoadHistory)
  bool cold = false;     // history just loaded from the store (a cache miss; metrics)
  std::vector<HistoryEvent> history;
  bool in_lru = false;
  std::list<std::string>::iterator lru;
  int unflushed = 0;  // queued batches that append to this history, not yet durable
  // The episode in flight, if `token` is set.
  std::string token;
  size_t dispatched = 0;  // inbox entries included in the episode
  std::vector<HistoryEvent> new_events;
  uint64_t lease_timer = 0;
  bool queued = false;  // in ready_orch_
  absl::Time not_before = absl::InfinitePast();
  uint64_t wake_timer = 0;
  int abandons = 0;
  // Entities: the batch in flight (with `token`): its inbox positions and operations.
  std::vector<size_t> batch_positions;
  std::vector<HistoryEvent> batch_ops;
  bool in_flight() const { return !token.empty(); }
};

struct Partition::Activity {
  uint64_t seq = 0;
  store::ActivityTask task;
  std::string token;
  uint64_t lease_timer = 0;
  bool queued = false;
  int abandons = 0;
  absl::Time not_before = absl::InfinitePast();
  uint64_t wake_timer = 0;
  bool in_flight() const { return !token.empty(); }
};

// One unit of work for the CommitQueue plus what to do once it is durable.
struct Partition::Batch {
  storage::WriteSet ws;
  std::vector<std::string> ready;              // instances to consider for dispatch
  std::vector<store::InstanceRecord> changed;  // for waiters
  std::vector<storage::TimerItem> timers;      // new durable timers
  std::vector<std::pair<std::string, uint64_t>> pending_clear;  // (id, gen)
  std::vector<std::string> flushed;   // instances whose `unflushed` to decrement
  std::vector<RemoteMessage> outbox;  // for other partitions, after the commit
  std::vector<storage::NotificationItem> notifications;  // for the LifecycleSink, after it
  std::vector<Done> done;
  uint64_t hub_gen = 0;  // Partition::hub_gen_ when submitted
  // Only deletes of finished instances, told to nobody before `done`: reads need not
  // wait for it (CommitQueue::Submit's read_barrier).
  bool purge_only = false;
};

}  // namespace taskhub::engine

#endif  // TASKHUB_SERVER_ENGINE_PARTITION_INTERNAL_H_
