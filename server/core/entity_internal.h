// Helpers shared by entity*.cc and lifecycle_worker.cc. Not part of the core's API.
#ifndef TASKHUB_SERVER_CORE_ENTITY_INTERNAL_H_
#define TASKHUB_SERVER_CORE_ENTITY_INTERNAL_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/core/entity.h"

namespace taskhub::core::internal {

// entityOperationSignaled or entityOperationCalled.
bool IsEntityOperation(const HistoryEvent& ev);
// One of the four request events an entity queues (operations, lock, unlock).
bool IsEntityRequest(const HistoryEvent& ev);
// The requestId of an operation event ("" for other events).
const std::string& OperationRequestId(const HistoryEvent& ev);

// A new entity record for the normalized `id`: RUNNING, name from the id, the given
// execution id, created = last updated = now, empty EntityData.
store::InstanceRecord NewEntityRecord(const std::string& id, const std::string& execution_id,
                                      absl::Time now);

// True when the request id of operation `ev` is already queued at the entity or among
// its recent request ids. Events without a request id are never duplicates.
bool IsDuplicateRequest(const InstanceState& state, const HistoryEvent& ev);
// Remembers `request_id` in data->recent_request_ids (keeping the last
// kEntityRecentRequestIds). Empty ids are not remembered.
void RememberRequestId(const std::string& request_id, store::EntityData* data);

// Queues request `ev` at the entity of `state` (id `id`): creates it (with
// `execution_id`) when it does not exist, drops duplicates, remembers request ids.
// `ev` must be one of the four request events. An unlock for an entity that does not
// exist is dropped (it holds no lock and no lock request).
Transition QueueAtEntity(const InstanceState& state, const std::string& id, const HistoryEvent& ev,
                         const std::string& execution_id, absl::Time now);

// Delivers kEvent / kLockGranted / kStartChild messages whose target is an entity id
// or which need the entity rules (see Receive in lifecycle.h). Returns false when `m`
// is not handled here (the ordinary Receive applies).
bool ReceiveEntityMessage(const InstanceState& state, const Message& m, absl::Time now,
                          Transition* t);

// Finishes a transition of a live entity whose new record is `rec` and whose inbox keeps
// `remaining` requests: when the entity is left with no state, no request and no lock it
// is deleted (discard_existing, no record, no inbox ops); otherwise t->record = rec.
void SetEntityRecordOrDelete(store::InstanceRecord rec, size_t remaining, Transition* t);

// A kEvent message carrying `ev` (eventId -1) to `target`.
Message EntityMessage(const std::string& target, HistoryEvent ev);

}  // namespace taskhub::core::internal

#endif  // TASKHUB_SERVER_CORE_ENTITY_INTERNAL_H_
