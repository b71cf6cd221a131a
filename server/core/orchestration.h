// The orchestration state machine: given an instance's committed state, the events
// dispatched in an episode and the worker's response, compute the new history, the
// updated instance record and the side effects (activity tasks, timers, messages to
// other instances, child starts, terminations).
//
// Pure: no I/O, no clock, no threads, no logging. `now` and new ids are arguments.
// Thread-compatible.
#ifndef TASKHUB_SERVER_CORE_ORCHESTRATION_H_
#define TASKHUB_SERVER_CORE_ORCHESTRATION_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orchestrator_service.pb.h"
#include "taskhub_store.pb.h"

namespace taskhub::core {

// A durable timer to create: at `fire_at`, `event` (timerFired) joins the inbox.
struct TimerOut {
  absl::Time fire_at;
  HistoryEvent event;
};

// An event for another instance's inbox (eventRaised from sendEvent; an entity request
// from sendEntityMessage, to the normalized entity id). `deliver_at`: a scheduled signal,
// delivered then (a delayed message).
struct MessageOut {
  std::string instance_id;
  HistoryEvent event;
  std::optional<absl::Time> deliver_at;
};

// A sub-orchestration to create. `record` is the child's new instance record
// (PENDING) and `start` its executionStarted event.
struct ChildStart {
  store::InstanceRecord record;
  HistoryEvent start;
};

// A termination requested by an orchestration (terminateOrchestration action).
struct TerminationOut {
  std::string instance_id;
  google::protobuf::StringValue reason;
  bool recurse = false;
};

// Everything one committed episode changes.
struct EpisodeResult {
  store::InstanceRecord record;  // the updated record (status, output, sizes...)
  // When true the current history is discarded and `history_append` is the whole
  // new history (continue-as-new starts empty; rewind supplies its own).
  bool reset_history = false;
  std::vector<HistoryEvent> history_append;
  // Events that go to the front of the inbox (continue-as-new: executionStarted and
  // carried-over events), ahead of events that arrived during the episode.
  std::vector<HistoryEvent> inbox_front;
  std::vector<ActivityRequest> activities;
  std::vector<TimerOut> timers;
  std::vector<MessageOut> messages;
  std::vector<ChildStart> children;
  std::vector<TerminationOut> terminations;
  bool became_terminal = false;
  bool continued_as_new = false;
  bool rewound = false;
  // The confirmations (entityLockRequested, entityUnlockSent) of this response's lock and
  // unlock actions, kept even when continue-as-new drops them from the history: what the
  // execution requested and released (see UnlockMessagesFor in server/core/entity.h).
  std::vector<HistoryEvent> entity_lock_events;
};

struct EpisodeInput {
  const store::InstanceRecord* record = nullptr;
  // Events sent to the worker in this episode: OrchestratorStarted + inbox events.
  const std::vector<HistoryEvent>* new_events = nullptr;
  const OrchestratorResponse* response = nullptr;
  // The committed history before the episode. When set and the episode is a rewind the
  // worker did not answer with a rewindOrchestration action (an SDK that predates
  // rewind), the server rewinds the history itself and ignores the response's actions
  // (see server/core/rewind.h).
  const std::vector<HistoryEvent>* history = nullptr;
  absl::Time now;
  // Used when the episode starts a new execution (continue-as-new).
  std::string new_execution_id;
  size_t max_payload_bytes = 0;  // 0 = no limit
  // Per-response limits (0 = no limit): the number of actions, and the bytes the
  // worker's response adds to the history (confirmations, carried-over events, a
  // rewind's new history). Over a limit: RESOURCE_EXHAUSTED naming it.
  size_t max_actions = 0;
  size_t max_history_bytes = 0;
};

// Applies a worker's response to an episode. Errors: INVALID_ARGUMENT for a malformed
// action (the message names it), RESOURCE_EXHAUSTED for oversized payloads. On error
// nothing must be committed.
//
// sendEntityMessage actions: the confirmation event (eventId = action id) is the action's
// event with targetInstanceId set to the normalized entity id (PY parses it on replay),
// parentInstanceId = this instance (call, lock, unlock) and parentExecutionId = this
// execution (call); a lock's lockSet is normalized, sorted (byte order) and de-duplicated.
// Each becomes one MessageOut (eventId -1): signal and call to the target (a signal whose
// scheduledTime is after `now`: deliver_at), lock to lockSet[0] with position 0, unlock
// to the target.
absl::StatusOr<EpisodeResult> ApplyEpisode(const EpisodeInput& in);

// Terminates an instance on the server (no worker involved): appends
// [OrchestratorStarted, executionTerminated, executionCompleted(TERMINATED),
//  OrchestratorCompleted] and sets status TERMINATED with output = reason.
EpisodeResult TerminateInstance(const store::InstanceRecord& record,
                                const HistoryEvent& terminated_event, absl::Time now);

// The status implied by suspend/resume events among `events`, starting from `current`.
OrchestrationStatus StatusAfterEvents(OrchestrationStatus current,
                                      const std::vector<HistoryEvent>& events);

// The event a parent receives when its child reaches terminal status `child`.
// Returns false when the child has no parent.
bool ParentNotification(const store::InstanceRecord& child, absl::Time now, std::string* parent_id,
                        std::string* parent_execution_id, HistoryEvent* event);

// The instance ids of the sub-orchestrations `response` asks to create (explicit
// ids, or the default "<parent>:<action id>" ones), unvalidated, in action order.
std::vector<std::string> ChildIdsOf(const std::string& parent,
                                    const OrchestratorResponse& response);

}  // namespace taskhub::core

#endif  // TASKHUB_SERVER_CORE_ORCHESTRATION_H_
