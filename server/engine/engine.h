// The engine: owns every instance's dispatch state in memory, turns client and
// worker requests into atomic store writes (through the CommitQueue, which groups
// concurrent commits into one WAL sync), and pushes work items to worker streams.
//
// Parts, one job each:
//   Partition   (partition*.cc)  the instance table (live instances, pending changes,
//                                history cache), inboxes, activity tasks, ready queues;
//                                applies a request as lookup -> decide -> write -> dispatch;
//                                durable entities (partition_entity.cc) are live instances
//                                whose inbox is their request queue
//   Dispatcher  (dispatcher.*)   worker streams, capacity per work-item kind, tokens
//   Waiters     (waiters.*)      clients waiting for a start or a completion
//   CommitQueue (commit_queue.*) group commit, FIFO
//   TimerQueue  (timer_queue.*)  durable timers, leases, pings, on the injected clock
//   Executor    (executor.*)     the reader thread: reads after everything queued is
//                                durable, history loads; the purger thread: purge slices
//   Engine      (this file)      the facade: routes requests to the partition of their
//                                instance, runs reads and purges, entity queries and
//                                cleaning (engine_entities.cc)
//
// Consistency model: a request mutates the in-memory (logical) state under its
// partition's lock and queues its WriteSet in the same order (the commit queue is
// FIFO). Nothing a client can observe leaves the server before it is durable:
// replies and waiter wake-ups are produced by the post-commit step of the write that
// made them true, and reads run after everything queued before them is durable.
//
// Lock order: Partition::mu_ -> Dispatcher::mu_ -> Waiters::mu_ -> the internal locks
// of TimerQueue, CommitQueue and Executor. No storage read and no client callback
// (`Done`) runs under a partition lock.
//
// Thread-safety: every public method may be called from any thread; callbacks
// (`Done`) run on engine or caller threads with no engine lock held and must not block.
#ifndef TASKHUB_SERVER_ENGINE_ENGINE_H_
#define TASKHUB_SERVER_ENGINE_ENGINE_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/clock.h"
#include "server/common/ids.h"
#include "server/core/commands.h"
#include "server/engine/commit_queue.h"
#include "server/engine/dispatcher.h"
#include "server/engine/engine_metrics.h"
#include "server/engine/engine_options.h"
#include "server/engine/executor.h"
#include "server/engine/timer_queue.h"
#include "server/engine/waiters.h"
#include "server/storage/backend.h"

namespace taskhub::engine {

class Partition;

struct EngineStats {
  size_t live_instances = 0, ready_orchestrations = 0, activities = 0, streams = 0;
  size_t cached_history_events = 0, timers = 0;
  uint64_t commits = 0, submissions = 0;
  size_t ready_entities = 0, connections = 0, waiters = 0;
  size_t in_flight[kWorkKinds] = {};  // deliveries by WorkKind
  // Instances deleted by purges since start-up, and how many of them by retention.
  uint64_t purged_instances = 0, retention_purged_instances = 0;
};

class Engine {
 public:
  static constexpr int kMaxPartitions = 64;
  // Recovers the state stored in `backend` and starts the engine threads.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(storage::Backend* backend, Clock* clock,
                                                        IdGenerator* ids, EngineOptions options);
  ~Engine();

  // Closes worker streams (status OK), fails waiters with UNAVAILABLE and refuses
  // new requests. Then Stop() finishes queued commits and joins the threads.
  void BeginShutdown();
  void Stop();

  // --- Clients ------------------------------------------------------------------
  // Commands arrive valid (the api layer translates and checks wire requests:
  // server/api/translate.h); the pure lifecycle (server/core/lifecycle.h) decides.
  void StartInstance(core::StartCommand cmd, DoneWith<std::string> done);
  void GetInstance(const std::string& id, bool payloads, DoneWith<GetInstanceResponse> done);
  // Completes when the instance has started (or reached a terminal state when
  // `completion`), when it does not exist (exists=false), at the server-side cap
  // (DEADLINE_EXCEEDED; `wait` shortens it, on the engine's clock) or on CancelWait
  // (CANCELLED). Returns a handle for CancelWait.
  uint64_t WaitForInstance(const std::string& id, bool completion, bool payloads,
                           DoneWith<GetInstanceResponse> done,
                           absl::Duration wait = absl::InfiniteDuration());
  void CancelWait(uint64_t handle);
  void RaiseEvent(const core::RaiseEventCommand& cmd, Done done);
  void Terminate(const core::TerminateCommand& cmd, Done done);
  void Suspend(const core::SuspendCommand& cmd, Done done);
  void Resume(const core::ResumeCommand& cmd, Done done);
  void Rewind(const core::RewindCommand& cmd, Done done);
  void Restart(const core::RestartCommand& cmd, DoneWith<std::string> done);
  // Purges finished instances (by id, batch or filter; `recursive` follows children
  // whose records name their parent, to any depth). Runs in bounded slices between
  // other reads; a filter purge stops after min(client timeout, max_purge_time) with
  // isComplete=false.
  void Purge(const core::PurgeCommand& cmd, DoneWith<PurgeInstancesResponse> done);
  void Query(const core::QueryCommand& cmd, DoneWith<QueryInstancesResponse> done);
  void ListInstanceIds(const core::ListIdsCommand& cmd, DoneWith<ListInstanceIdsResponse> done);
  void GetHistory(const std::string& id, DoneWith<std::vector<HistoryEvent>> done);
  // Deletes everything, entities included.
  void DeleteTaskHub(Done done);

  // --- Durable entities (engine_entities.cc; the model: server/core/entity.h) ------
  // Entities never appear in GetInstance (exists=false), Query, ListInstanceIds or a
  // purge by filter; a purge by id deletes an entity that has no queued request, no
  // lock and no batch in flight (count 1), else counts 0.
  // `cmd.instance_id` normalized; an empty request id is generated here.
  void SignalEntity(core::SignalEntityCommand cmd, Done done);
  // nullopt: no such entity. `id` normalized.
  void GetEntity(const std::string& id, bool include_state,
                 DoneWith<std::optional<EntityMetadata>> done);
  // Pages through the stored entities in id order (a storage prefix query with
  // entities=true) filtered by core::MatchesEntityQuery (last-modified range, both ends
  // inclusive; entities without state only with include_transient). A page may hold fewer entities than asked (filtered) and still
  // carry a continuation token.
  void QueryEntities(const core::EntityQueryCommand& cmd, DoneWith<QueryEntitiesResponse> done);
  // One page of entities per call (continuation token when more): releases locks
  // whose owner is not a live instance (owners may live in any partition), removes
  // entities with no state, no queue and no lock. Entities with a batch in flight are
  // skipped. Replies once its writes are durable.
  void CleanEntityStorage(const core::CleanEntitiesCommand& cmd,
                          DoneWith<CleanEntityStorageResponse> done);

  // --- Workers ------------------------------------------------------------------
  // Registers a stream; work items are pushed to `sink` until RemoveStream().
  // `peer` identifies the worker's connection (grpc peer(), e.g. "ipv4:127.0.0.1:5123").
  uint64_t AddStream(WorkItemSink* sink, const core::ConnectCommand& cmd,
                     const std::string& peer = "");
  // Unregisters a stream; its in-flight work items are dispatched again. After it
  // returns the engine no longer touches `sink`. Idempotent.
  void RemoveStream(uint64_t stream_id);
  // Completions. With a completion token, only the delivery that token was sent with
  // is completed (a stale or unknown token completes nothing and is answered OK).
  // Without one (older SDKs send none), the work item is found by instance id (and
  // task id) and the completion is accepted only when `peer` is the connection the
  // work item was sent on; otherwise FAILED_PRECONDITION.
  void CompleteOrchestration(const core::EpisodeResultCommand& cmd, const std::string& peer,
                             Done done);
  void CompleteActivity(const core::ActivityResultCommand& cmd, const std::string& peer, Done done);
  // An entity batch's result, matched by its completion token only (`peer` is not
  // needed: results without a token are refused by the api layer).
  void CompleteEntity(const core::EntityResultCommand& cmd, const std::string& peer, Done done);
  void Abandon(const core::AbandonCommand& cmd, Done done);

  // Counts from memory (a lock per partition, no store read): cheap enough per scrape.
  EngineStats Stats();
  // The engine's counters (engine_metrics.h), for /metrics.
  const EngineMetrics& metrics() const { return metrics_; }
  // The options the engine runs with (the api layer translates with its payload limit).
  const EngineOptions& options() const { return options_; }

  // --- Deterministic scheduling (EngineOptions::manual_scheduling) ---------------
  // Each returns at once (false / 0) when the engine runs its own threads.
  // Commits everything queued as one group commit and runs its callbacks; false
  // when nothing was queued.
  bool RunCommit();
  // Runs one queued reader-thread task; false when none.
  bool RunRead();
  // Runs every timer due at clock->Now(); returns how many ran.
  size_t RunDueTimers();
  // The earliest scheduled timer, if any (in either mode).
  std::optional<absl::Time> NextTimer();
  // Crash simulation (either mode): drops every queued, uncommitted write (their
  // callbacks get UNAVAILABLE), drops all timers and queued reads, and stops (closes
  // streams, fails waiters with UNAVAILABLE). Nothing reaches the backend after it.
  // After it the Engine may only be destroyed.
  void CrashForTesting();

  // --- Lifecycle notifications (engine_notify.cc; lifecycle_sink.h) --------------
  // Commits the sink's outbox updates (PutNotification / DeleteNotification only) in
  // order with every other write; `done` gets the commit's status.
  void CommitNotificationRows(storage::WriteSet ws, Done done);

 private:
  // Hands the stored notification rows to the sink (Recover; engine_notify.cc).
  void RecoverNotifications(storage::RecoveryState& st);
  Engine(storage::Backend* backend, Clock* clock, IdGenerator* ids, EngineOptions options);
  absl::Status Recover();
  size_t PartitionIndex(const std::string& instance_id) const;
  Partition& PartitionOf(const std::string& instance_id);
  void PumpAll();
  // Runs fn on the reader thread once everything queued so far is durable.
  void AfterDurable(absl::AnyInvocable<void(absl::Status)> fn);
  bool shutting_down() const { return shutting_down_.load(); }
  // Purges run in slices on the purger thread (engine_purge.cc): each slice deletes
  // a bounded number of instances in one commit and posts the next slice from that
  // commit's callback; reads run on the reader thread meanwhile.
  struct PurgeJob;
  void StartPurge(std::shared_ptr<PurgeJob> job);
  void PurgeSlice(std::shared_ptr<PurgeJob> job);
  void FinishPurge(std::shared_ptr<PurgeJob> job, absl::Status st, bool complete);
  // Retention (engine_retention.cc): a sweep every retention interval purges, rule
  // by rule, the finished instances older than the rule's age, at a bounded rate.
  void ScheduleRetention(absl::Duration delay);
  void RetentionSweep(size_t rule);

  storage::Backend* const backend_;
  Clock* const clock_;
  IdGenerator* const ids_;
  const EngineOptions options_;
  EngineMetrics metrics_;  // before the parts that update it
  std::atomic<bool> shutting_down_{false};
  std::atomic<uint64_t> seq_{0};

  TimerQueue timers_;
  Executor reader_;
  Executor purger_;
  std::atomic<uint64_t> purged_{0}, retention_purged_{0};
  CommitQueue commits_;
  Dispatcher dispatcher_;
  Waiters waiters_;
  std::vector<std::unique_ptr<Partition>> partitions_;
};

}  // namespace taskhub::engine

#endif  // TASKHUB_SERVER_ENGINE_ENGINE_H_
