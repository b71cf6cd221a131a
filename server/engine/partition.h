// A partition: the live instances of a set of instance ids, their inboxes, activity
// tasks and ready queues, behind one lock. Every client or worker request that changes
// an instance runs here as: look the instance up (storage reads without the lock),
// decide under the lock, queue one WriteSet on the commit queue, dispatch.
//
// Consistency (as the Engine header states): a request mutates the in-memory (logical)
// state under mu_ and queues its WriteSet in the same order (the commit queue is FIFO);
// replies and waiter wake-ups come from the post-commit step of the write that made
// them true. Work items may be dispatched before the write that created them is
// durable: their completions are queued after that write, and a crash that loses the
// write makes the old token stale.
//
// Lock order (never taken the other way round):
//   Partition::mu_ -> Dispatcher::mu_ -> Waiters::mu_ -> TimerQueue / CommitQueue /
//   Executor internal locks.
// Under mu_ there are no storage reads and no client callbacks (`Done`): callbacks run
// after the lock is released, or on the committer thread after the commit.
//
// Thread-safety: every public method may be called from any thread.
#ifndef TASKHUB_SERVER_ENGINE_PARTITION_H_
#define TASKHUB_SERVER_ENGINE_PARTITION_H_

#include <atomic>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "server/common/clock.h"
#include "server/common/ids.h"
#include "server/core/commands.h"
#include "server/core/lifecycle.h"
#include "server/core/orchestration.h"
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

// What every partition shares: the store, time, ids, and the engine's services.
struct EngineContext {
  storage::Backend* backend = nullptr;
  Clock* clock = nullptr;
  IdGenerator* ids = nullptr;
  const EngineOptions* options = nullptr;
  CommitQueue* commits = nullptr;
  TimerQueue* timers = nullptr;
  Executor* reader = nullptr;
  Dispatcher* dispatcher = nullptr;
  Waiters* waiters = nullptr;
  EngineMetrics* metrics = nullptr;
  // Store sequence numbers (inbox, activity and timer keys): one counter for all.
  std::atomic<uint64_t>* seq = nullptr;
  // The partition that owns an instance id.
  std::function<Partition*(const std::string&)> route;
};

// A message to an instance of another partition (the outbox path): the sender's
// commit writes it (storage::PutMessage, keyed by `seq`); after that commit the
// target's partition takes it (Deliver), receiving it (core::Receive) in a write of
// its own that also deletes it. Recovery hands the messages never taken to Deliver
// again, so each is received exactly once.
struct RemoteMessage {
  uint64_t seq = 0;
  store::OutboxMessage message;
};

class Partition {
 public:
  Partition(int index, EngineContext ctx);
  ~Partition();

  // Installs recovered state (before any request); `st` holds this partition's items
  // only (the engine splits the store's; messages are handed to Deliver instead).
  void Recover(storage::RecoveryState& st);
  // Takes messages sent to instances of this partition (see RemoteMessage).
  void Deliver(std::vector<RemoteMessage> msgs);
  void BeginShutdown();

  // --- client commands (partition_client.cc) ---
  // `cmd.instance_id` is set (the engine resolves generated ids to route them).
  void Start(core::StartCommand cmd, DoneWith<std::string> done);
  void RaiseEvent(const core::RaiseEventCommand& cmd, Done done);
  void Terminate(const core::TerminateCommand& cmd, Done done);
  void Suspend(const core::SuspendCommand& cmd, Done done);
  void Resume(const core::ResumeCommand& cmd, Done done);
  void Rewind(const core::RewindCommand& cmd, Done done);
  // Restart, step 1: the StartCommand that restarts a finished instance of this
  // partition (step 2 is Start in the partition of its instance id).
  absl::StatusOr<core::StartCommand> RestartCommand(const core::RestartCommand& cmd);
  // Deletes the finished instances among `ids` whose record names `parent` (empty: any).
  // Returns the deleted records through `done` once durable (purge slices).
  void DeleteFinished(std::vector<std::pair<std::string, std::string>> ids,
                      DoneWith<std::vector<store::InstanceRecord>> done);
  // Forgets every instance; with a `done`, also writes the deletion of the whole store.
  void DeleteEverything(Done done);

  // --- worker results (partition_worker.cc) ---
  void CompleteOrchestration(const core::EpisodeResultCommand& cmd, const std::string& peer,
                             const std::optional<TokenOwner>& owner, Done done);
  void CompleteActivity(const core::ActivityResultCommand& cmd, const std::string& peer,
                        const std::optional<TokenOwner>& owner, Done done);
  // Abandons episodes and entity batches (owner.kind kOrchestration / kEntity) and
  // activity tasks.
  void Abandon(const std::string& token, const TokenOwner& owner);
  // Work held by a stream that went away: dispatch it again.
  void Redeliver(const std::vector<TokenOwner>& owners);
  // Dispatches what is ready (called when streams gain room).
  void Pump();

  // --- durable entities (partition_entity.cc; server/core/entity.h) ---
  // `cmd.instance_id` normalized and `cmd.request_id` set.
  void SignalEntity(const core::SignalEntityCommand& cmd, Done done);
  // The batch in flight completed (matched by token only; a stale token is OK).
  void CompleteEntity(const core::EntityResultCommand& cmd, const std::optional<TokenOwner>& owner,
                      Done done);
  // The entity as memory holds it (every entity is live); nullopt when there is none.
  // `done` runs once everything queued before the read is durable.
  void GetEntity(const std::string& id, bool include_state,
                 DoneWith<std::optional<EntityMetadata>> done);
  // Queued requests of entity `id` (0 when there is none).
  size_t EntityBacklog(const std::string& id);
  // True when `id` is a live (non-terminal) instance of this partition.
  bool IsLive(const std::string& id);
  // The (owner, critical section) holding entity `id`'s lock, if any.
  std::optional<std::pair<std::string, std::string>> EntityLock(const std::string& id);
  // CleanEntityStorage on entity `id` (skipped while a batch is in flight): releases
  // its lock when still held by (owner, section) (`release` set), removes it when it
  // has no state, no queue and no lock (`remove_empty`). Returns what it did.
  struct CleanResult {
    bool released = false, removed = false;
  };
  CleanResult CleanEntity(const std::string& id, bool remove_empty,
                          const std::optional<std::pair<std::string, std::string>>& release);

  struct Counts {
    size_t live = 0, ready = 0, activities = 0, cached_history_events = 0;
    size_t ready_entities = 0;  // of `ready`
  };
  Counts Stats();

 private:
  struct Live;
  struct Activity;
  struct Batch;
  // An instance looked up for a request: live, or the record of a finished one.
  struct Found {
    Live* live = nullptr;
    std::optional<store::InstanceRecord> rec;
    absl::Status error;
  };
  using Prefetched = std::map<std::string, Found>;

  // --- lookups (partition.cc) ---
  Live* FindLive(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Looks `ids` up. The store is read with mu_ RELEASED (callers hold no pointers
  // into the partition across this call); returns with mu_ held and every result
  // consistent with the in-memory state.
  std::vector<Found> Lookup(const std::vector<std::string>& ids) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Found Lookup(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return std::move(Lookup(std::vector<std::string>{id})[0]);
  }
  // Lookup() of `ids` kept for Known() (live pointers dropped: memory is asked again).
  Prefetched Prefetch(const std::vector<std::string>& ids) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `id` as memory knows it (live, pending), else as `prefetched` read it.
  Found Known(const Prefetched& prefetched, const std::string& id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckOpen() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- batching (partition.cc) ---
  uint64_t NextSeq() { return ++*ctx_.seq; }
  void PutRecord(Batch& b, Live& live) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddInbox(Batch& b, Live& live, HistoryEvent ev) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Submit(Batch b) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Submits `b` with the caller's reply: `done` gets `reply` once `b` is durable (or the
  // commit's error); then dispatches what became ready.
  void SubmitAndReply(Batch b, Done done, absl::Status reply) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AfterCommit(Batch& b, absl::Status st) ABSL_LOCKS_EXCLUDED(mu_);
  void AfterDurable(absl::AnyInvocable<void(absl::Status)> fn);

  // --- the instance table and history cache (partition.cc) ---
  // A live instance for `rec` (made live by a start or a rewind); `previous`: the
  // index fields of its stored record, if any; `history_loaded`: its history is empty.
  Live& NewLive(store::InstanceRecord rec, std::optional<storage::IndexedFields> previous,
                bool history_loaded) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops a live instance from memory (it is replaced or becomes terminal); a
  // `pending` record is what readers of the instance see until the batch is durable.
  void Forget(Batch& b, Live& live, std::optional<store::InstanceRecord> pending)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks `id` deleted until the batch is durable.
  void PendingDelete(Batch& b, const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A live instance became terminal: drops its inbox and queued work, forgets it.
  void Retire(Batch& b, const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropActivities(Batch& b, const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts loading `live`'s history on the reader thread (no lock held while reading);
  // the instance is marked ready when it is in memory.
  void LoadHistory(Live& live) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TouchHistory(Live& live) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EvictHistories() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- messages between instances (partition_messages.cc) ---
  bool IsLocal(const std::string& id) const { return ctx_.route(id) == this; }
  // Writes `m` (for another partition's instance) into the outbox in `b`; the
  // target's partition takes it after the commit.
  void Outbox(Batch& b, const core::Message& m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The stored form of a message and back.
  static store::OutboxMessage ToStore(const core::Message& m);
  static core::Message FromStore(const store::OutboxMessage& m);

  // --- dispatch (partition_dispatch.cc) ---
  // Queues a live instance for dispatch (entities in ready_ent_, others in ready_orch_).
  void MarkReady(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The entity half of PumpLocked (partition_entity.cc): server steps applied at once,
  // batches dispatched as kEntity work items.
  void PumpEntities(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies the entity's server steps (locks, unlocks, drops) until it is idle or has
  // a batch to run; true (and `batch` set) in the latter case. `live` may be deleted:
  // returns false then.
  bool EntityServerSteps(const std::string& id, absl::Time now, std::vector<size_t>* batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool TryDispatchEntity(Live& live, const std::vector<size_t>& batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CompleteEntityLocked(const core::EntityResultCommand& cmd,
                                    const std::optional<TokenOwner>& owner, Done& done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes `t.delayed` as durable timers carrying their messages (TimerRecord.message).
  void Delay(Batch& b, core::Transition& t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A durable timer carrying a message fired: delivers the message (Send).
  void DeliverDelayed(Batch& b, const store::OutboxMessage& m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool TryDispatchOrchestration(Live& live) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool TryDispatchActivity(Activity& act) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void QueueActivity(Activity& act) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The lease of the delivery `live` holds (an episode or an entity batch): if it is not
  // completed by `deadline`, it is released with the abandon back-off and redelivered.
  void ScheduleLease(Live& live, absl::Time deadline, const char* what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `outcome`: why the delivery ends (metrics).
  void ReleaseOrchestration(Live& live, absl::Duration delay,
                            WorkOutcome outcome = WorkOutcome::kDropped)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReleaseActivity(Activity& act, absl::Duration delay,
                       WorkOutcome outcome = WorkOutcome::kDropped)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WakeAt(Live& live, absl::Time when) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Duration AbandonDelay(int attempts) const;
  // `gen`: the task hub generation the timer belongs to (hub_gen_ when its write was
  // queued); a timer of a deleted task hub does nothing when it fires.
  void RegisterTimer(int64_t fire_us, uint64_t seq, const store::TimerRecord& t, uint64_t gen)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FireTimer(int64_t fire_us, uint64_t seq, store::TimerRecord t, uint64_t gen)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Applies the pending termination of `live` (its history is loaded).
  void TerminateNow(Live& live) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- lifecycle notifications (partition_notify.cc; lifecycle_sink.h) ---
  // The sink's outbox rows for the record write of `live` (before live.stored moves).
  void NoteLifecycle(Batch& b, const Live& live) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After the commit of `b`: hands its rows to the sink.
  void NotifyCommitted(Batch& b) ABSL_LOCKS_EXCLUDED(mu_);

  // --- applying lifecycle transitions (partition_apply.cc) ---
  // The pure core's view of an instance.
  static core::InstanceState StateOf(const Live& live);
  static core::InstanceState StateOf(const Found& f);
  // Applies `t` in `b`, in the order core/lifecycle.h states ("Applying a
  // Transition"). `finished` is the instance's record when it is not live (a finished
  // one; null when there is none). Messages to local instances are received in the
  // same batch (their states from memory, else from `prefetched`); others go through
  // the outbox.
  void Apply(Batch& b, core::Transition& t, const store::InstanceRecord* finished,
             const Prefetched& prefetched) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Send(Batch& b, core::Message& m, const Prefetched& prefetched)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Looks `id` up, runs `body` on its state and applies the Transition it returns;
  // `done` gets the transition's reply once everything queued before it is durable
  // (also when it writes nothing: the reply may rest on state still being written).
  void Command(const std::string& id,
               absl::FunctionRef<core::Transition(const core::InstanceState&)> body, Done done)
      ABSL_LOCKS_EXCLUDED(mu_);
  core::Limits Limits() const;

  // --- worker results (partition_worker.cc) ---
  absl::Status CompleteOrchestrationLocked(const core::EpisodeResultCommand& cmd,
                                           const std::string& peer,
                                           const std::optional<TokenOwner>& owner, Done& done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CompleteActivityLocked(const core::ActivityResultCommand& cmd,
                                      const std::string& peer,
                                      const std::optional<TokenOwner>& owner, Done& done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int index_;
  const EngineContext ctx_;

  absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, std::unique_ptr<Live>> live_ ABSL_GUARDED_BY(mu_);
  // Non-live instances whose last change is not durable yet (nullopt = deleted).
  struct Pending {
    std::optional<store::InstanceRecord> rec;
    uint64_t gen;
  };
  absl::flat_hash_map<std::string, Pending> pending_ ABSL_GUARDED_BY(mu_);
  uint64_t pending_gen_ ABSL_GUARDED_BY(mu_) = 0;
  // Bumped whenever a pending change is cleared (the store alone holds it from then
  // on): a store read that overlapped such a change is read again.
  uint64_t store_gen_ ABSL_GUARDED_BY(mu_) = 0;
  // Bumped by DeleteEverything: timers and batches of an older generation are void.
  uint64_t hub_gen_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::string> ready_orch_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> ready_ent_ ABSL_GUARDED_BY(mu_);  // entities to step or dispatch
  std::map<uint64_t, std::unique_ptr<Activity>> activities_ ABSL_GUARDED_BY(mu_);
  // Activity tasks of each instance (keys of activities_), to drop them when it ends.
  absl::flat_hash_map<std::string, std::set<uint64_t>> activities_of_ ABSL_GUARDED_BY(mu_);
  std::deque<uint64_t> ready_act_ ABSL_GUARDED_BY(mu_);
  // History cache: LRU of instances whose history is loaded.
  std::list<std::string> history_lru_ ABSL_GUARDED_BY(mu_);
  size_t cached_events_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace taskhub::engine

#endif  // TASKHUB_SERVER_ENGINE_PARTITION_H_
