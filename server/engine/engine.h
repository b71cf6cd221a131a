// The engine: owns every instance's dispatch state in memory, turns client and
// worker requests into atomic store writes (through the CommitQueue, which groups
// concurrent commits into one WAL sync), and pushes work items to worker streams.
//
// Consistency model: a request mutates the in-memory (logical) state under `mu_`
// and queues its WriteSet in the same order (the commit queue is FIFO). Nothing a
// client can observe leaves the server before it is durable: replies and waiter
// wake-ups are produced by the post-commit step of the write that made them true,
// and reads run after everything queued before them is durable. Work items may be
// dispatched before the write that created them is durable: any completion of
// theirs is queued after that write, and if a crash loses the write, the work is
// redone (activities are at-least-once) and the old completion token is stale.
//
// Thread-safety: every public method may be called from any thread; callbacks
// (`Done`) run on engine threads and must not block.
#ifndef TASKHUB_SERVER_ENGINE_ENGINE_H_
#define TASKHUB_SERVER_ENGINE_ENGINE_H_

#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/common/clock.h"
#include "server/common/ids.h"
#include "server/core/orchestration.h"
#include "server/engine/commit_queue.h"
#include "server/engine/executor.h"
#include "server/engine/timer_queue.h"
#include "server/engine/work_item_filter.h"
#include "server/storage/backend.h"

namespace taskhub::engine {

struct EngineOptions {
  size_t max_payload_bytes = 16 << 20;  // per payload (input, result, event data)
  absl::Duration orchestration_lease = absl::Minutes(5);  // episode completion deadline
  absl::Duration activity_lease = absl::ZeroDuration();  // 0: no deadline while connected
  absl::Duration abandon_delay = absl::Seconds(1);       // first redelivery delay
  absl::Duration max_abandon_delay = absl::Minutes(1);
  absl::Duration health_ping_interval = absl::Seconds(30);
  absl::Duration max_wait = absl::Minutes(10);  // server-side cap of WaitFor* calls
  size_t history_cache_events = 2'000'000;      // bound of cached history events
  int default_max_concurrent = 1000;            // per stream, when the worker sends 0
  // Per orchestrator response: at most this many actions, and at most this many
  // bytes added to the history (0 = no limit). Over a limit the orchestration fails
  // and the worker gets RESOURCE_EXHAUSTED naming the limit.
  size_t max_actions_per_response = 10'000;
  size_t max_episode_history_bytes = 64 << 20;
  // A purge by filter runs at most this long per call (the client's timeout is capped
  // to it); isComplete=false tells the client to call again.
  absl::Duration max_purge_time = absl::Seconds(30);
  // Called once, on the committer thread, when a store write fails and the engine
  // starts refusing writes for good (see CommitQueue). Must not block.
  std::function<void(const absl::Status&)> on_store_failure;
  // Deterministic scheduling (simulation tests): the engine starts no thread; the
  // caller drives it with RunCommit/RunRead/RunDueTimers, from one thread, and every
  // callback runs on that thread. Deterministic given the same calls.
  bool manual_scheduling = false;
  // Seeds the completion-token generator (0: OS entropy) so that a run with the same
  // seed issues the same tokens, in any process (tests only: seeded tokens are
  // predictable). Give each engine over the same store its own seed (e.g. seed +
  // restart count): a token from before a restart must not match one issued after it.
  uint64_t token_seed = 0;
};

// A worker's GetWorkItems stream, as the engine sees it. Implemented by the api
// layer. Thread-safe; Send() never blocks and may be called after Close().
class WorkItemSink {
 public:
  virtual ~WorkItemSink() = default;
  virtual void Send(const WorkItem& item) = 0;
  virtual void Close() = 0;  // end the stream with status OK (shutdown)
};

using Done = absl::AnyInvocable<void(absl::Status)>;
template <typename T>
using DoneWith = absl::AnyInvocable<void(absl::StatusOr<T>)>;

struct EngineStats {
  size_t live_instances = 0, ready_orchestrations = 0, activities = 0, streams = 0;
  size_t cached_history_events = 0, timers = 0;
  uint64_t commits = 0, submissions = 0;
};

class Engine {
 public:
  // Recovers the state stored in `backend` and starts the engine threads.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(storage::Backend* backend,
                                                        Clock* clock, IdGenerator* ids,
                                                        EngineOptions options);
  ~Engine();

  // Closes worker streams (status OK), fails waiters with UNAVAILABLE and refuses
  // new requests. Then Stop() finishes queued commits and joins the threads.
  void BeginShutdown();
  void Stop();

  // --- Clients ------------------------------------------------------------------
  void StartInstance(const CreateInstanceRequest& req, DoneWith<std::string> done);
  void GetInstance(const std::string& id, bool payloads, DoneWith<GetInstanceResponse> done);
  // Completes when the instance has started (or reached a terminal state when
  // `completion`), when it does not exist (exists=false), at the server-side cap
  // (DEADLINE_EXCEEDED) or on CancelWait (CANCELLED). Returns a handle for CancelWait.
  uint64_t WaitForInstance(const std::string& id, bool completion, bool payloads,
                           DoneWith<GetInstanceResponse> done);
  void CancelWait(uint64_t handle);
  void RaiseEvent(const RaiseEventRequest& req, Done done);
  void Terminate(const TerminateRequest& req, Done done);
  void Suspend(const SuspendRequest& req, Done done);
  void Resume(const ResumeRequest& req, Done done);
  void Rewind(const RewindInstanceRequest& req, Done done);
  void Restart(const RestartInstanceRequest& req, DoneWith<std::string> done);
  // Purges finished instances (by id, batch or filter; `recursive` follows children
  // whose records name their parent, to any depth). Runs in bounded slices between
  // other reads; a filter purge stops after min(client timeout, max_purge_time) with
  // isComplete=false.
  void Purge(const PurgeInstancesRequest& req, DoneWith<PurgeInstancesResponse> done);
  void Query(const InstanceQuery& q, DoneWith<QueryInstancesResponse> done);
  void ListInstanceIds(const ListInstanceIdsRequest& req, DoneWith<ListInstanceIdsResponse> done);
  void GetHistory(const std::string& id, DoneWith<std::vector<HistoryEvent>> done);
  void DeleteTaskHub(Done done);

  // --- Workers ------------------------------------------------------------------
  // Registers a stream; work items are pushed to `sink` until RemoveStream().
  // `peer` identifies the worker's connection (grpc peer(), e.g. "ipv4:127.0.0.1:5123").
  uint64_t AddStream(WorkItemSink* sink, const GetWorkItemsRequest& req,
                     const std::string& peer = "");
  // Unregisters a stream; its in-flight work items are dispatched again. After it
  // returns the engine no longer touches `sink`. Idempotent.
  void RemoveStream(uint64_t stream_id);
  // Completions. With a completion token, only the delivery that token was sent with
  // is completed (a stale or unknown token completes nothing and is answered OK).
  // Without one (older SDKs send none), the work item is found by instance id (and
  // task id) and the completion is accepted only when `peer` is the connection the
  // work item was sent on; otherwise FAILED_PRECONDITION.
  void CompleteOrchestration(const OrchestratorResponse& resp, const std::string& peer,
                             Done done);
  void CompleteActivity(const ActivityResponse& resp, const std::string& peer, Done done);
  void CompleteOrchestration(const OrchestratorResponse& resp, Done done) {
    CompleteOrchestration(resp, "", std::move(done));
  }
  void CompleteActivity(const ActivityResponse& resp, Done done) {
    CompleteActivity(resp, "", std::move(done));
  }
  void AbandonOrchestration(const std::string& token, Done done);
  void AbandonActivity(const std::string& token, Done done);

  EngineStats Stats();

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

 private:
  struct Live;
  struct Activity;
  struct Stream;
  struct Waiter;
  struct Batch;

  Engine(storage::Backend* backend, Clock* clock, IdGenerator* ids, EngineOptions options);
  absl::Status Recover();

  // --- batching (all require mu_) ---
  uint64_t NextSeq() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ++seq_; }
  void PutRecord(Batch& b, Live& live) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddInbox(Batch& b, Live& live, HistoryEvent ev) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Submit(Batch b) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AfterCommit(Batch& b, absl::Status st) ABSL_LOCKS_EXCLUDED(mu_);
  // Runs fn on the reader thread once everything queued so far is durable.
  void AfterDurable(absl::AnyInvocable<void(absl::Status)> fn);
  void EndWait(uint64_t handle, absl::Status status);

  // --- lookups and instance changes (require mu_) ---
  Live* FindLive(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The record of a non-live instance: pending terminal/deleted state, else the store.
  absl::StatusOr<std::optional<store::InstanceRecord>> FindStored(const std::string& id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status EnsureHistory(Live& live) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Live& CreateLive(Batch& b, store::InstanceRecord rec, HistoryEvent start)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes a stored (terminal) instance in `b`.
  void DeleteStored(Batch& b, const store::InstanceRecord& rec) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes `live` terminal in `b`: drops its inbox, notifies its parent, forgets it.
  void Retire(Batch& b, const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TerminateNow(Live& live, const HistoryEvent& term) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes the activity tasks of `id` that no worker holds (in `b`); held ones are
  // dropped when their completion arrives.
  void DropActivities(Batch& b, const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendToInstance(Batch& b, const std::string& id, HistoryEvent ev)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RewindChildren(Batch& b, Live& parent) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RewindLocked(Batch& b, store::InstanceRecord rec, const HistoryEvent& ev)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyEpisodeResult(Batch& b, Live& live, size_t consumed, core::EpisodeResult& r)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> StartLocked(Batch& b, const CreateInstanceRequest& req)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Live*> LiveForControl(const std::string& id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- dispatch (require mu_) ---
  void MarkReady(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Pump() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // True when some stream can take one more orchestration (or activity) work item.
  bool HasRoom(bool orchestrations) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool TryDispatchOrchestration(Live& live) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool TryDispatchActivity(Activity& act) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReleaseOrchestration(Live& live, absl::Duration delay) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReleaseActivity(Activity& act, absl::Duration delay) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WakeAt(Live& live, absl::Time when) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RegisterTimer(int64_t fire_us, uint64_t seq, const store::TimerRecord& t)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FireTimer(int64_t fire_us, uint64_t seq, store::TimerRecord t) ABSL_LOCKS_EXCLUDED(mu_);
  void TouchHistory(Live& live) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EvictHistories() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NotifyWaiters(const store::InstanceRecord& rec) ABSL_LOCKS_EXCLUDED(mu_);
  void SchedulePing(uint64_t stream_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Duration AbandonDelay(int attempts) const;
  // A fresh, unguessable completion token (128 random bits); differs across restarts.
  std::string NewToken(char kind) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // True when stream `stream_id` is connected and came from `peer` (non-empty).
  bool SamePeer(uint64_t stream_id, const std::string& peer) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckOpen() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Purges run in slices on the reader thread (engine_purge.cc): each slice deletes
  // a bounded number of instances in one commit and re-posts the next slice from
  // that commit's callback, so reads queued meanwhile run in between.
  struct PurgeJob;
  void PurgeSlice(std::shared_ptr<PurgeJob> job);
  void FinishPurge(std::shared_ptr<PurgeJob> job, absl::Status st, bool complete);

  storage::Backend* const backend_;
  Clock* const clock_;
  IdGenerator* const ids_;
  const EngineOptions options_;

  absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t seq_ ABSL_GUARDED_BY(mu_) = 0;
  absl::BitGen token_gen_ ABSL_GUARDED_BY(mu_);  // seeded from OS entropy at start
  // Used instead when options.token_seed != 0 (the same tokens in every process).
  std::optional<std::mt19937_64> seeded_token_gen_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<Live>> live_ ABSL_GUARDED_BY(mu_);
  // Non-live instances whose last change is not durable yet (nullopt = deleted).
  struct Pending {
    std::optional<store::InstanceRecord> rec;
    uint64_t gen;
  };
  absl::flat_hash_map<std::string, Pending> pending_ ABSL_GUARDED_BY(mu_);
  uint64_t pending_gen_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::string> ready_orch_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, std::unique_ptr<Activity>> activities_ ABSL_GUARDED_BY(mu_);
  // Activity tasks of each instance (keys of activities_), to drop them when it ends.
  absl::flat_hash_map<std::string, std::set<uint64_t>> activities_of_ ABSL_GUARDED_BY(mu_);
  std::deque<uint64_t> ready_act_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> orch_tokens_ ABSL_GUARDED_BY(mu_);  // -> id
  absl::flat_hash_map<std::string, uint64_t> act_tokens_ ABSL_GUARDED_BY(mu_);  // -> seq
  std::map<uint64_t, std::unique_ptr<Stream>> streams_ ABSL_GUARDED_BY(mu_);
  uint64_t next_stream_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t rr_cursor_ ABSL_GUARDED_BY(mu_) = 0;
  // History cache: LRU of instances whose history is loaded.
  std::list<std::string> history_lru_ ABSL_GUARDED_BY(mu_);
  size_t cached_events_ ABSL_GUARDED_BY(mu_) = 0;

  absl::Mutex waiters_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::multimap<std::string, std::shared_ptr<Waiter>> waiters_ ABSL_GUARDED_BY(waiters_mu_);
  std::map<uint64_t, std::shared_ptr<Waiter>> waiters_by_handle_ ABSL_GUARDED_BY(waiters_mu_);
  uint64_t next_waiter_ ABSL_GUARDED_BY(waiters_mu_) = 0;

  TimerQueue timers_;
  Executor reader_;
  CommitQueue commits_;
};

}  // namespace taskhub::engine

#endif  // TASKHUB_SERVER_ENGINE_ENGINE_H_
