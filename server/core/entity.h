// Durable entities: the pure side of the entity scheduler. An entity is an instance
// with id "@name@key" whose store::InstanceRecord has `entity` (store::EntityData) set:
// status always RUNNING, name = the entity name, an execution id set once at creation
// (from the IdSource by SignalEntity; "entity-<hex micros of now>" when a message creates
// it, as Receive has no IdSource), history empty. Its inbox (the ordinary instance inbox) is the queue of
// operation requests, in arrival order: entityOperationSignaled, entityOperationCalled,
// entityLockRequested, entityUnlockSent (eventId -1).
//
// An entity exists while it has state, or queued requests, or a lock; a transition that
// leaves it with none of them deletes it (discard_existing without a record).
//
// Critical sections follow the classic forwarding protocol: a lock request
// (criticalSectionId, lockSet sorted and de-duplicated, position p, parentInstanceId =
// the owner) reaching the front of an unlocked entity's queue takes the lock and is
// forwarded with position p+1 to lockSet[p+1]; the last entity sends kLockGranted to the
// owner. While locked by owner O for section C the entity runs only O's calls and O's
// unlock for C; everything else waits, in order.
//
// Transitions follow the contract of server/core/lifecycle.h (how to apply them).
// Pure: no I/O, no clock, no threads, no logging. Thread-compatible.
#ifndef TASKHUB_SERVER_CORE_ENTITY_H_
#define TASKHUB_SERVER_CORE_ENTITY_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orchestrator_service.pb.h"
#include "server/core/commands.h"
#include "server/core/lifecycle.h"
#include "taskhub_store.pb.h"

namespace taskhub::core {

// How many request ids an entity remembers for dedupe (EntityData.recent_request_ids).
inline constexpr size_t kEntityRecentRequestIds = 128;
// The most entities one lock action may name.
inline constexpr size_t kMaxLockSetSize = 64;

// True when `id` names an entity (starts with '@').
bool IsEntityId(std::string_view id);

// "@Name@key" -> "@name@key" (the name ASCII-lower-cased, as the SDKs do). INVALID_ARGUMENT
// when malformed: not starting with '@', no second '@', an empty name or an empty key, or
// the whole id breaking the instance-id rules other than the leading '@' (length <= 256
// bytes, valid UTF-8, no control characters). The key may contain '@'.
absl::StatusOr<std::string> NormalizeEntityId(std::string_view id);

// The name part of a normalized id: "@name@key" -> "name".
std::string EntityNameOf(std::string_view normalized_id);

// True when the record is an entity's (rec.has_entity()).
bool IsEntity(const store::InstanceRecord& rec);

// SignalEntity from a client (cmd.instance_id normalized; cmd.request_id set). Due now
// (no scheduled_time, or not later than `now`): appends entityOperationSignaled{requestId,
// operation, input, targetInstanceId} to the entity's queue, creating the entity when it
// does not exist (record with a new execution id from `ids`); a request id already
// queued or remembered is a duplicate: OK, nothing written. Future scheduled_time: only
// t.delayed (one kEvent message to the entity, delivered through Receive). Reply OK.
Transition SignalEntity(const InstanceState& state, const SignalEntityCommand& cmd, absl::Time now,
                        IdSource ids);

// What a live entity without a batch in flight does next.
struct EntityStep {
  enum class Kind { kIdle, kServer, kBatch };
  Kind kind = Kind::kIdle;
  // kServer: apply it (lock taken/forwarded/granted, unlock, a request dropped), then
  // ask again.
  Transition server;
  // kBatch: positions in state.inbox of the operations to run, in order (1..max_batch).
  std::vector<size_t> batch;
};

// Unlocked: the operations at the front of the queue (signals and calls, any caller) up
// to max_batch, stopping at the first lock or unlock request; a lock request at the
// front takes the lock (kServer: record locked, request removed, forwarded to the next
// entity of the set or kLockGranted to the owner); an unlock at the front whose section
// has a lock request queued here removes both (the request was cancelled), and the
// entities before this one in the lock set (which took the lock on the way, and whose own
// unlocks may have overtaken the request and been dropped) get entityUnlockSent; any
// other unlock at the front is dropped. Locked by (O, C): the queued calls of O (in order, up
// to max_batch; stopping at O's unlock for C) run; O's unlock for C (when it comes
// before any of O's calls) clears the lock (kServer); everything else waits. kIdle when
// nothing can run. Needs no history.
EntityStep NextEntityStep(const InstanceState& state, absl::Time now, size_t max_batch);

// The work item for a batch of `ops` (the events at the batch positions) of entity `rec`:
// V2 (`entityRequestV2`: instanceId, executionId, entityState, the events with eventId
// -1) or, when `v1`, V1 (`entityRequest`: instanceId, entityState, OperationRequests).
// The caller sets completionToken.
void BuildEntityWorkItem(const store::InstanceRecord& rec, const std::vector<HistoryEvent>& ops,
                         bool v1, WorkItem* out);

// The batch in flight completed. `positions`/`ops`: what NextEntityStep chose and was
// dispatched (the inbox only grew at the back since). Let n = ops.size(), r =
// results.size(). Valid (r <= n, each result success or failure, valid actions, payloads
// within limits, no batch failureDetails): the first r ops are consumed (the rest stay
// queued), the state becomes entityState (absent: no state), each call's result goes to
// its caller (kEvent, expected_execution_id = parentExecutionId when set), actions are
// sent (sendSignal: entityOperationSignaled with a new request id, delayed when
// scheduledTime > now; startNewOrchestration: kStartChild without parent, id generated
// when empty). Batch-level failureDetails: every op fails with it, all n consumed, state
// unchanged, actions ignored; reply OK. Invalid result (r > n, a result without outcome,
// an invalid action): INVALID_ARGUMENT; oversized payloads: RESOURCE_EXHAUSTED; in both
// cases the batch fails as above and the Transition must still be applied. An entity left
// with no state, no queued request and no lock is deleted. A completion for an entity
// that no longer exists: empty Transition, reply OK.
Transition CompleteEntityBatch(const InstanceState& state, const std::vector<size_t>& positions,
                               const std::vector<HistoryEvent>& ops, const EntityResultCommand& cmd,
                               absl::Time now, IdSource ids, const Limits& limits);

// The wire view: instanceId, lastModifiedTime, backlogQueueSize = backlog, lockedBy (when
// locked), serializedState (only when include_state and the entity has state).
EntityMetadata ToEntityMetadata(const store::InstanceRecord& rec, size_t backlog,
                                bool include_state);

// QueryEntities' filter over one entity record (the caller pages in id order): the id
// starts with id_prefix (as sent), last_modified within [modified_from, modified_to]
// (both inclusive, like the instance filters), and, unless include_transient, the entity
// has state (transient = no state, only queued requests or a lock).
bool MatchesEntityQuery(const EntityQueryCommand& q, const store::InstanceRecord& rec);

// Deletes the entity when it has no state, no queued request and no lock (CleanEntityStorage
// removeEmptyEntities); otherwise an empty Transition. The caller must not call it while a
// batch is in flight.
Transition RemoveEmptyEntity(const InstanceState& state);

// PurgeInstances of an entity id: deletes it with its state when it has no queued request
// and no lock; otherwise an empty Transition. The caller must not call it while a batch
// is in flight.
Transition PurgeEntity(const InstanceState& state);

// Clears the lock when it is still held by (owner, critical_section) (orphaned-lock
// release): the entity may then run what waited; deleted when left empty. Otherwise an
// empty Transition.
Transition ReleaseEntityLock(const InstanceState& state, const std::string& owner,
                             const std::string& critical_section, absl::Time now);

// The unlock messages an ending execution of `instance_id` owes: for every entity of every
// lock set requested in `history` + `appended` (entityLockRequested events), one kEvent
// entityUnlockSent{criticalSectionId, parentInstanceId = instance_id} to that entity,
// unless those events already hold an entityUnlockSent to it for that section. In the
// order of the requests and lock sets, each (entity, section) once.
std::vector<Message> UnlockMessagesFor(const std::string& instance_id,
                                       const std::vector<HistoryEvent>& history,
                                       const std::vector<HistoryEvent>& appended, absl::Time now);

}  // namespace taskhub::core

#endif  // TASKHUB_SERVER_CORE_ENTITY_H_
