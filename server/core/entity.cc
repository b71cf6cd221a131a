// Entity ids, queueing requests (client signals, messages), reads and admin transitions.
// (Scheduling and locks: entity_lock.cc; batches: entity_batch.cc.)
#include "server/core/entity.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/core/entity_internal.h"
#include "server/core/history.h"
#include "server/core/lifecycle_internal.h"
#include "server/core/validation.h"

namespace taskhub::core {

using internal::ForInstance;

namespace {
// This abseil's string_view is its own type, not std::string_view.
absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// The number of requests queued at a live entity.
size_t Queued(const InstanceState& state) { return state.inbox.size(); }

bool LiveEntity(const InstanceState& state) { return state.live() && IsEntity(*state.record); }
}  // namespace

bool IsEntityId(std::string_view id) { return !id.empty() && id[0] == '@'; }

absl::StatusOr<std::string> NormalizeEntityId(std::string_view id) {
  RETURN_IF_ERROR(ValidateIdText("entity id", Av(id)));
  if (id[0] != '@') {
    return absl::InvalidArgumentError(
        absl::StrCat("entity id '", Av(id), "' must have the form '@name@key'"));
  }
  const size_t at = id.find('@', 1);
  if (at == std::string_view::npos || at == 1 || at + 1 == id.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "entity id '", Av(id), "' must have the form '@name@key' (non-empty name and key)"));
  }
  std::string out(id);
  for (size_t i = 1; i < at; ++i) out[i] = absl::ascii_tolower(static_cast<unsigned char>(out[i]));
  return out;
}

std::string EntityNameOf(std::string_view normalized_id) {
  if (!IsEntityId(normalized_id)) return "";
  const size_t at = normalized_id.find('@', 1);
  if (at == std::string_view::npos) return std::string(normalized_id.substr(1));
  return std::string(normalized_id.substr(1, at - 1));
}

bool IsEntity(const store::InstanceRecord& rec) { return rec.has_entity(); }

namespace internal {

bool IsEntityOperation(const HistoryEvent& ev) {
  return ev.has_entityoperationsignaled() || ev.has_entityoperationcalled();
}

bool IsEntityRequest(const HistoryEvent& ev) {
  return IsEntityOperation(ev) || ev.has_entitylockrequested() || ev.has_entityunlocksent();
}

const std::string& OperationRequestId(const HistoryEvent& ev) {
  if (ev.has_entityoperationsignaled()) return ev.entityoperationsignaled().requestid();
  if (ev.has_entityoperationcalled()) return ev.entityoperationcalled().requestid();
  static const std::string kNone;
  return kNone;
}

store::InstanceRecord NewEntityRecord(const std::string& id, const std::string& execution_id,
                                      absl::Time now) {
  store::InstanceRecord rec;
  rec.set_instance_id(id);
  rec.set_name(EntityNameOf(id));
  rec.set_status(ORCHESTRATION_STATUS_RUNNING);
  rec.set_execution_id(execution_id);
  *rec.mutable_created_time() = ToProto(now);
  *rec.mutable_last_updated_time() = ToProto(now);
  *rec.mutable_entity()->mutable_last_modified() = ToProto(now);
  return rec;
}

bool IsDuplicateRequest(const InstanceState& state, const HistoryEvent& ev) {
  const std::string& id = OperationRequestId(ev);
  if (id.empty() || state.record == nullptr) return false;
  const auto& recent = state.record->entity().recent_request_ids();
  if (std::find(recent.begin(), recent.end(), id) != recent.end()) return true;
  return std::any_of(state.inbox.begin(), state.inbox.end(),
                     [&](const HistoryEvent* q) { return OperationRequestId(*q) == id; });
}

void RememberRequestId(const std::string& request_id, store::EntityData* data) {
  if (request_id.empty()) return;
  auto* recent = data->mutable_recent_request_ids();
  recent->Add()->assign(request_id);
  const int excess = recent->size() - static_cast<int>(kEntityRecentRequestIds);
  if (excess > 0) recent->DeleteSubrange(0, excess);
}

Transition QueueAtEntity(const InstanceState& state, const std::string& id, const HistoryEvent& ev,
                         const std::string& execution_id, absl::Time now) {
  Transition t = ForInstance(id);
  if (!IsEntityRequest(ev)) return t;  // only requests reach an entity's queue
  store::InstanceRecord rec;
  if (state.exists()) {
    // An id starting with '@' is always an entity (orchestrations cannot have one); a
    // record that is not an entity's is left alone.
    if (!LiveEntity(state)) return t;
    if (IsDuplicateRequest(state, ev)) return t;
    rec = *state.record;
  } else {
    if (ev.has_entityunlocksent()) return t;  // nothing to unlock, nothing to cancel
    rec = NewEntityRecord(id, execution_id, now);
  }
  RememberRequestId(OperationRequestId(ev), rec.mutable_entity());
  *rec.mutable_last_updated_time() = ToProto(now);
  t.record = std::move(rec);
  HistoryEvent queued = ev;
  queued.set_eventid(-1);
  t.inbox_append.push_back(std::move(queued));
  return t;
}

void SetEntityRecordOrDelete(store::InstanceRecord rec, size_t remaining, Transition* t) {
  const store::EntityData& e = rec.entity();
  if (remaining == 0 && !e.has_state() && e.locked_by().empty()) {
    t->discard_existing = true;
    t->record.reset();
    t->inbox_removed.clear();
    t->inbox_append.clear();
    t->inbox_front.clear();
    return;
  }
  t->record = std::move(rec);
}

Message EntityMessage(const std::string& target, HistoryEvent ev) {
  Message m;
  m.kind = Message::Kind::kEvent;
  m.target = target;
  ev.set_eventid(-1);
  m.event = std::move(ev);
  return m;
}

}  // namespace internal

Transition SignalEntity(const InstanceState& state, const SignalEntityCommand& cmd, absl::Time now,
                        IdSource ids) {
  HistoryEvent ev = NewEvent(now);
  auto* s = ev.mutable_entityoperationsignaled();
  s->set_requestid(cmd.request_id);
  s->set_operation(cmd.operation);
  if (cmd.input) s->mutable_input()->set_value(*cmd.input);
  s->mutable_targetinstanceid()->set_value(cmd.instance_id);
  if (cmd.parent_trace_context) *s->mutable_parenttracecontext() = *cmd.parent_trace_context;
  if (cmd.scheduled_time && *cmd.scheduled_time > now) {
    *s->mutable_scheduledtime() = ToProto(*cmd.scheduled_time);
    Transition t = ForInstance(cmd.instance_id);
    t.delayed.push_back({*cmd.scheduled_time, internal::EntityMessage(cmd.instance_id, ev)});
    return t;
  }
  if (state.exists() && !LiveEntity(state)) {
    return internal::Refuse(cmd.instance_id,
                            absl::FailedPreconditionError(
                                absl::StrCat("instance '", cmd.instance_id, "' is not an entity")));
  }
  return internal::QueueAtEntity(state, cmd.instance_id, ev, state.exists() ? "" : ids(), now);
}

EntityMetadata ToEntityMetadata(const store::InstanceRecord& rec, size_t backlog,
                                bool include_state) {
  EntityMetadata m;
  m.set_instanceid(rec.instance_id());
  const store::EntityData& e = rec.entity();
  if (e.has_last_modified()) {
    *m.mutable_lastmodifiedtime() = e.last_modified();
  } else {
    *m.mutable_lastmodifiedtime() = rec.last_updated_time();
  }
  m.set_backlogqueuesize(static_cast<int32_t>(backlog));
  if (!e.locked_by().empty()) m.mutable_lockedby()->set_value(e.locked_by());
  if (include_state && e.has_state()) *m.mutable_serializedstate() = e.state();
  return m;
}

bool MatchesEntityQuery(const EntityQueryCommand& q, const store::InstanceRecord& rec) {
  if (!IsEntity(rec)) return false;
  if (q.id_prefix && rec.instance_id().compare(0, q.id_prefix->size(), *q.id_prefix) != 0) {
    return false;
  }
  const store::EntityData& e = rec.entity();
  const absl::Time modified =
      FromProto(e.has_last_modified() ? e.last_modified() : rec.last_updated_time());
  if (q.modified_from && modified < *q.modified_from) return false;
  if (q.modified_to && modified > *q.modified_to) return false;
  return q.include_transient || e.has_state();
}

Transition RemoveEmptyEntity(const InstanceState& state) {
  Transition t = ForInstance(state.record ? state.record->instance_id() : "");
  if (!LiveEntity(state) || Queued(state) != 0) return t;
  const store::EntityData& e = state.record->entity();
  if (e.has_state() || !e.locked_by().empty()) return t;
  t.discard_existing = true;
  return t;
}

Transition PurgeEntity(const InstanceState& state) {
  Transition t = ForInstance(state.record ? state.record->instance_id() : "");
  if (!LiveEntity(state) || Queued(state) != 0) return t;
  if (!state.record->entity().locked_by().empty()) return t;
  t.discard_existing = true;
  return t;
}

Transition ReleaseEntityLock(const InstanceState& state, const std::string& owner,
                             const std::string& critical_section, absl::Time now) {
  Transition t = ForInstance(state.record ? state.record->instance_id() : "");
  if (!LiveEntity(state)) return t;
  const store::EntityData& e = state.record->entity();
  if (e.locked_by().empty() || e.locked_by() != owner ||
      e.lock_critical_section() != critical_section) {
    return t;
  }
  store::InstanceRecord rec = *state.record;
  rec.mutable_entity()->clear_locked_by();
  rec.mutable_entity()->clear_lock_critical_section();
  *rec.mutable_last_updated_time() = ToProto(now);
  internal::SetEntityRecordOrDelete(std::move(rec), Queued(state), &t);
  return t;
}

}  // namespace taskhub::core
