// The instance lifecycle: every transition of an orchestration instance as a pure
// function of (its current state, a command, `now`, an id source). The engine looks the
// state up, calls one function, writes the Transition it gets, dispatches, and replies;
// it makes no domain decision of its own.
//
// Pure: no I/O, no clock, no threads, no logging. Thread-compatible.
//
// ## Applying a Transition (the engine's contract)
// A Transition `t` returned for the instance `t.instance_id` is applied in this order,
// all of steps 1-5 in one atomic write:
//  1. If `t.discard_existing`: the existing instance with that id (record, history,
//     inbox, queued activity tasks, an episode or entity batch in flight) is dropped,
//     silently (no parent notification, no waiter sees a terminal state). With no
//     `t.record` this deletes the instance (purge; an entity left empty).
//  2. If `t.record` is set it becomes the instance's record. A non-terminal record of an
//     instance that was not live (start, rewind) makes it live; its first episode waits
//     for record.scheduled_start_time if set.
//  3. History: if `t.reset_history` the stored history is cleared first; then
//     `t.history_append` is appended in order (at index record.history_size() before
//     the transition, or 0 after a reset or a discard).
//  4. Inbox: the first `t.inbox_consumed` events are removed, or (entities; never set
//     together with inbox_consumed) the events at the positions `t.inbox_removed`
//     (indexes into state.inbox, ascending); then `t.inbox_front` goes to the front (in
//     order, ahead of the events that remain); then `t.inbox_append` goes to the back.
//  5. Dispatch effects: `t.activities` become activity tasks of the record's current
//     execution; `t.timers` become durable timers of that execution; each of
//     `t.delayed` becomes a durable timer that, at `at`, delivers its message with
//     Receive() at message.target (TimerRecord.message; instance_id = the target).
//  6. `t.release_episode`: the episode in flight (if any) ends; a later completion for it
//     is stale and ignored.
//  7. `t.became_terminal`: the instance is finished: the engine deletes its whole
//     remaining inbox, drops its queued activity tasks, releases any episode in flight
//     and keeps only the record and history. (`t.record` is then terminal.)
//  8. `t.outbox`, in order, after the write: each Message is delivered at its target
//     with Receive() below (possibly in another partition; order per target kept).
//  9. The caller gets `t.reply` (and `t.instance_id` for start) once the write is
//     durable. A Transition with a non-OK reply changes nothing (all ops are empty),
//     except CompleteActivity and CompleteEpisode, whose non-OK reply comes with a
//     Transition that must still be applied (the worker is told, the instance moves on).
//  10. An instance that is still live and has inbox events (or record.force_episode)
//     afterwards is ready for dispatch, unless an episode is in flight: Next() says
//     whether to apply TerminateNow or to dispatch OpenEpisode(). An entity (record with
//     `entity` set) is dispatched by NextEntityStep (server/core/entity.h) instead, one
//     batch in flight at a time.
//
// ## State
// Functions take an InstanceState: the record (nullptr when no instance has the id:
// never created or purged), and, where a function says "needs history", the current
// execution's history. A record with a terminal status is a finished instance; any
// other record is live.
#ifndef TASKHUB_SERVER_CORE_LIFECYCLE_H_
#define TASKHUB_SERVER_CORE_LIFECYCLE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orchestrator_service.pb.h"
#include "server/core/commands.h"
#include "server/core/orchestration.h"
#include "server/core/record.h"
#include "taskhub_store.pb.h"

namespace taskhub::core {

// New unique ids (instance and execution ids). E.g. [&] { return ids->NewId(); }.
using IdSource = absl::FunctionRef<std::string()>;

struct InstanceState {
  const store::InstanceRecord* record = nullptr;  // nullptr: no such instance
  // The current execution's history; required only where a function says so.
  const std::vector<HistoryEvent>* history = nullptr;
  // The pending inbox, oldest first (live instances; empty otherwise).
  std::vector<const HistoryEvent*> inbox;

  bool exists() const { return record != nullptr; }
  bool live() const;      // exists and not terminal
  bool finished() const;  // exists and terminal
};

// Limits from the server options (0 = no limit).
struct Limits {
  size_t max_payload_bytes = 0;
  size_t max_actions = 0;        // per episode response
  size_t max_history_bytes = 0;  // added to the history per episode response
};

// A message from one instance (or from the server on its behalf) to another.
struct Message {
  enum class Kind {
    // Append `event` to the target's inbox if it is live (and, when
    // `expected_execution_id` is set, runs that execution); else drop it.
    kEvent,
    // `event` is an executionTerminated: appended like kEvent (any execution). An
    // episode in flight at the target is not released (its result is applied first).
    kTerminate,
    // Start `child` (a PENDING record with its execution id) at the target, with
    // `child_start` as its first inbox event. If the target is live, the parent
    // (child.record.parent()) gets subOrchestrationInstanceFailed
    // (OrchestrationAlreadyExists) instead; a finished target is replaced.
    kStartChild,
    // The parent was rewound and this child has no result in its new history. A target
    // that does not exist (purged) is created again from `child`. A target that is not
    // that parent's child is left alone. Otherwise the child is pointed at the parent's
    // new execution and: FAILED is rewound (`event` is its executionRewound, naming the
    // parent's new execution); live reports to the new execution when it ends; any
    // other finished status (TERMINATED, or COMPLETED after its parent failed) is not
    // re-run, its result is sent to the parent again (the parent never waits forever).
    kRewindChild,
    // `event` is an entityLockGranted for the target (the lock owner), `lock_set` the
    // entities it holds. A live owner gets it in its inbox; an owner that is not live
    // (finished, purged) answers with entityUnlockSent to every entity of lock_set, so
    // a grant that races the owner's end never leaks a lock. When the state passed to
    // Receive carries the owner's history, a live owner whose current execution holds no
    // entityLockRequested for the section (it continued as new) answers the same way:
    // pass the history for kLockGranted (they are rare) to close that race too.
    kLockGranted,
  };
  Kind kind = Kind::kEvent;
  std::string target;
  std::string expected_execution_id;  // kEvent only; empty = any execution
  HistoryEvent event;
  NewInstance child;  // kStartChild, kRewindChild
  std::vector<std::string> lock_set;  // kLockGranted
};

// A message to deliver later (a scheduled entity signal): a durable timer at `at`.
struct DelayedMessage {
  absl::Time at;
  Message message;
};

struct Transition {
  absl::Status reply;
  std::string instance_id;  // the instance the ops below apply to
  bool discard_existing = false;
  std::optional<store::InstanceRecord> record;
  bool reset_history = false;
  std::vector<HistoryEvent> history_append;
  size_t inbox_consumed = 0;
  std::vector<size_t> inbox_removed;  // positions in state.inbox, ascending (entities)
  std::vector<HistoryEvent> inbox_front;
  std::vector<HistoryEvent> inbox_append;
  std::vector<ActivityRequest> activities;
  std::vector<TimerOut> timers;
  bool release_episode = false;
  bool became_terminal = false;
  std::vector<Message> outbox;
  std::vector<DelayedMessage> delayed;

  // True when applying it writes nothing (a no-op or a refused command).
  bool empty() const;
};

// --- client commands -------------------------------------------------------------

// Fills cmd->instance_id from `ids` when empty, and returns it. A partitioned engine
// calls it first to route the start; Start calls it too.
const std::string& ResolveStartId(StartCommand* cmd, IdSource ids);

// StartInstance. `state` is the state of cmd.instance_id (after ResolveStartId; an id
// just generated names no instance). ALREADY_EXISTS when the reuse policy keeps the
// existing instance (see StartCommand). Replacing sets discard_existing.
// reply OK and t.instance_id = the id.
Transition Start(const InstanceState& state, StartCommand cmd, absl::Time now, IdSource ids);

// RestartInstance, step 1: the StartCommand that restarts `old` (the state of
// cmd.instance_id): same name, version, original input and tags, a new execution id,
// under the same id or (new_instance_id) under a new id from `ids`. Step 2 is Start on
// the state of the returned command's instance_id. NOT_FOUND when `old` does not
// exist; FAILED_PRECONDITION when it is live.
absl::StatusOr<StartCommand> Restart(const InstanceState& old, const RestartCommand& cmd,
                                     IdSource ids);

// RaiseEvent: appends eventRaised to a live instance. A finished instance ignores it
// (OK, nothing written); NOT_FOUND when there is no such instance.
Transition RaiseEvent(const InstanceState& state, const RaiseEventCommand& cmd,
                      absl::Time now);

// TerminateInstance (the request): appends executionTerminated (reason, recursive) to
// a live instance's inbox and releases its episode in flight; the termination itself
// is TerminateNow, at the next dispatch. Finished: OK, nothing. None: NOT_FOUND.
Transition RequestTerminate(const InstanceState& state, const TerminateCommand& cmd,
                            absl::Time now);

// True when the inbox holds an executionTerminated (the instance must be terminated
// by TerminateNow instead of being dispatched).
bool HasPendingTermination(const std::vector<const HistoryEvent*>& inbox);

// Applies the first executionTerminated of a live instance's inbox on the server (no
// worker): appends [orchestratorStarted, (executionStarted when the instance never
// ran), executionTerminated, executionCompleted(TERMINATED), orchestratorCompleted],
// status TERMINATED with output = reason. A rewind still pending (executionRewound in
// the inbox, the history still ends the failed execution) is applied first: the history
// is reset to the rewound history (RewoundHistory, same execution id) and the
// termination follows it, so the history holds one executionCompleted. Recursive: every open
// sub-orchestration gets a kTerminate message; the parent (if any) a notification. Needs history.
// Empty Transition when the inbox holds no termination or the instance is not live.
Transition TerminateNow(const InstanceState& state, absl::Time now);

// SuspendInstance / ResumeInstance over a live instance. Whether it is suspended is
// decided over its record and its inbox ("effectively suspended": the last
// suspend/resume event still in the inbox wins). Suspending a suspended instance or
// resuming a running one is OK and writes nothing. None: NOT_FOUND; finished:
// FAILED_PRECONDITION.
Transition Suspend(const InstanceState& state, const SuspendCommand& cmd, absl::Time now);
Transition Resume(const InstanceState& state, const ResumeCommand& cmd, absl::Time now);
bool EffectivelySuspended(const InstanceState& state);

// RewindInstance: a FAILED instance becomes RUNNING (output, failure, completion time
// cleared) with executionRewound in its inbox; its history is kept (the rewind
// episode rewrites it; see CompleteEpisode). None: NOT_FOUND; any other status:
// FAILED_PRECONDITION; a sub-orchestration (its record names a parent):
// FAILED_PRECONDITION (its parent already has its failure as the task's result; rewind
// the parent, which rewinds its failed children).
Transition Rewind(const InstanceState& state, const RewindCommand& cmd, absl::Time now);

// PurgeInstances, one instance: a finished instance is deleted (discard_existing, no
// record); when reached as a child of `parent_id` in a recursive purge (non-empty), only
// if its record names that parent (an id reused by an unrelated instance is left
// alone). Otherwise (none, live, someone else's child): an empty Transition. The
// children to visit next are AllChildren(history) (server/core/history.h).
Transition Purge(const InstanceState& state, const std::string& instance_id,
                 const std::string& parent_id);

// --- dispatch ------------------------------------------------------------------------

// What a live instance without an episode in flight does next: nothing (empty inbox and
// no forced episode), TerminateNow (a termination is pending), or an episode. The
// engine holds an episode (not a termination, which is applied at once) back until
// record.scheduled_start_time and after abandons; that timing is its own. Entities are
// never dispatched as episodes (kIdle): see NextEntityStep in server/core/entity.h.
enum class NextStep { kIdle, kTerminate, kEpisode };
NextStep Next(const InstanceState& state);

// The episode to dispatch: orchestratorStarted (at `now`) then the first `dispatched`
// inbox events. A suspension opens an episode of its own: the events before a later
// executionSuspended go in this one (an SDK confirms actions decided in an episode
// that also delivers the suspension only after it).
struct EpisodeOpen {
  size_t dispatched = 0;
  std::vector<HistoryEvent> new_events;
};
EpisodeOpen OpenEpisode(const InstanceState& state, absl::Time now);

// --- worker results ---------------------------------------------------------------

// An activity task of `task_execution_id` (task cmd.task_id) completed. When the
// instance is live and still runs that execution, taskCompleted or taskFailed joins its
// inbox; else nothing (a stale result). A result or failure over the payload cap is
// recorded as taskFailed "PayloadTooLarge" (non-retriable) and the reply is the
// RESOURCE_EXHAUSTED error: apply the Transition, then reply with it.
Transition CompleteActivity(const InstanceState& state, const std::string& task_execution_id,
                            const ActivityResultCommand& cmd, absl::Time now,
                            const Limits& limits);

// The episode in flight completed. `new_events` are the events it dispatched
// (orchestratorStarted + the first `dispatched` inbox events). Wraps ApplyEpisode: a
// response that cannot be applied fails the orchestration (FAILED,
// "InvalidOrchestratorResponse.<CODE>", non-retriable) and the worker gets the error as
// the reply; apply the Transition in both cases. Effects: children get execution ids
// and become kStartChild messages, sendEvent kEvent messages, terminations kTerminate,
// a rewind sends kRewindChild to its open children, a terminal instance notifies its
// parent. Needs history. release_episode is set.
Transition CompleteEpisode(const InstanceState& state,
                           const std::vector<HistoryEvent>& new_events, size_t dispatched,
                           const EpisodeResultCommand& cmd, absl::Time now, IdSource ids,
                           const Limits& limits);

// A durable timer of `timer_execution_id` fired: its timerFired `event` (timestamped
// now) joins the inbox if the instance is live and runs that execution.
Transition TimerFired(const InstanceState& state, const std::string& timer_execution_id,
                      const HistoryEvent& event, absl::Time now);

// --- messages between instances -----------------------------------------------------

// Delivers `m` at its target (`state` is the state of m.target). See Message::Kind.
// Entity targets (IsEntityId(m.target), server/core/entity.h): a kEvent carrying one of
// the four request events (entityOperationSignaled/Called, entityLockRequested,
// entityUnlockSent) joins the entity's queue, creating the entity when it does not
// exist; a signal or call whose requestId is already queued or among the entity's
// recent request ids is dropped; any other event is dropped. kStartChild whose record
// names no parent (an entity's startNewOrchestration) at a live target is dropped.
Transition Receive(const InstanceState& state, const Message& m, absl::Time now);

// The message that tells `child`'s parent it reached its terminal status (nullopt
// when it has no parent). Used by TerminateNow and CompleteEpisode.
std::optional<Message> NotifyParent(const store::InstanceRecord& child, absl::Time now);

}  // namespace taskhub::core

#endif  // TASKHUB_SERVER_CORE_LIFECYCLE_H_
