// Client-command transitions: start, restart, raise, terminate, suspend, resume, rewind.
// (Worker results and messages between instances: lifecycle_worker.cc.)
#include "server/core/lifecycle.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/core/history.h"
#include "server/core/lifecycle_internal.h"

namespace taskhub::core {

bool InstanceState::live() const { return record != nullptr && !IsTerminal(record->status()); }
bool InstanceState::finished() const {
  return record != nullptr && IsTerminal(record->status());
}

bool Transition::empty() const {
  return !discard_existing && !record && !reset_history && history_append.empty() &&
         inbox_consumed == 0 && inbox_removed.empty() && inbox_front.empty() &&
         inbox_append.empty() && activities.empty() && timers.empty() && !release_episode &&
         !became_terminal && outbox.empty() && delayed.empty();
}

namespace internal {

absl::Status NotFound(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("no orchestration instance with id '", id, "'"));
}

absl::Status WrongState(const std::string& id, OrchestrationStatus s, absl::string_view need) {
  return absl::FailedPreconditionError(
      absl::StrCat("instance '", id, "' is ", StatusName(s), "; ", need));
}

Transition Refuse(const std::string& id, absl::Status status) {
  Transition t;
  t.instance_id = id;
  t.reply = std::move(status);
  return t;
}

Transition ForInstance(const std::string& id) {
  Transition t;
  t.instance_id = id;
  return t;
}

void RewindInto(const store::InstanceRecord& failed, ExecutionRewoundEvent rewound,
                absl::Time now, Transition* t) {
  store::InstanceRecord rec = failed;
  rec.set_status(ORCHESTRATION_STATUS_RUNNING);
  rec.clear_output();
  rec.clear_failure_details();
  rec.clear_completed_time();
  *rec.mutable_last_updated_time() = ToProto(now);
  t->record = std::move(rec);
  HistoryEvent ev = NewEvent(now);
  *ev.mutable_executionrewound() = std::move(rewound);
  t->inbox_append.push_back(std::move(ev));
}

}  // namespace internal

using internal::ForInstance;
using internal::NotFound;
using internal::Refuse;
using internal::WrongState;

namespace {

absl::Status AlreadyExists(const std::string& id, OrchestrationStatus s) {
  return absl::AlreadyExistsError(absl::StrCat("an orchestration with instance id '", id,
                                               "' already exists and is ", StatusName(s)));
}

google::protobuf::StringValue Wrap(const std::optional<std::string>& v) {
  google::protobuf::StringValue out;
  if (v) out.set_value(*v);
  return out;
}

// A control event (raise, suspend, resume, terminate) for a live instance's inbox.
Transition AppendToLive(const InstanceState& state, HistoryEvent ev) {
  Transition t = ForInstance(state.record->instance_id());
  t.inbox_append.push_back(std::move(ev));
  return t;
}

}  // namespace

const std::string& ResolveStartId(StartCommand* cmd, IdSource ids) {
  if (cmd->instance_id.empty()) cmd->instance_id = ids();
  return cmd->instance_id;
}

Transition Start(const InstanceState& state, StartCommand cmd, absl::Time now, IdSource ids) {
  const bool generated = cmd.instance_id.empty();
  const std::string id = ResolveStartId(&cmd, ids);
  Transition t = ForInstance(id);
  if (state.exists() && !generated) {
    const OrchestrationStatus s = state.record->status();
    const bool replaceable =
        cmd.replaceable_statuses
            ? std::find(cmd.replaceable_statuses->begin(), cmd.replaceable_statuses->end(),
                        s) != cmd.replaceable_statuses->end()
            : IsTerminal(s);
    if (!replaceable) return Refuse(id, AlreadyExists(id, s));
    t.discard_existing = true;
  }
  InstanceSpec spec;
  spec.instance_id = id;
  spec.name = std::move(cmd.name);
  spec.version = std::move(cmd.version);
  spec.input = std::move(cmd.input);
  spec.execution_id = cmd.execution_id.empty() ? ids() : std::move(cmd.execution_id);
  spec.scheduled_start = cmd.scheduled_start;
  spec.tags = std::move(cmd.tags);
  spec.parent_trace_context = std::move(cmd.parent_trace_context);
  NewInstance built = BuildInstance(spec, now);
  t.record = std::move(built.record);
  t.inbox_append.push_back(std::move(built.start));
  return t;
}

absl::StatusOr<StartCommand> Restart(const InstanceState& old, const RestartCommand& cmd,
                                     IdSource ids) {
  if (!old.exists()) return NotFound(cmd.instance_id);
  const store::InstanceRecord& rec = *old.record;
  if (!IsTerminal(rec.status())) {
    return WrongState(cmd.instance_id, rec.status(), "only finished instances can be restarted");
  }
  StartCommand start;
  start.instance_id = cmd.new_instance_id ? ids() : rec.instance_id();
  start.name = rec.name();
  if (rec.has_version()) start.version = rec.version().value();
  if (rec.has_original_input()) start.input = rec.original_input().value();
  start.tags.insert(rec.tags().begin(), rec.tags().end());
  return start;
}

Transition RaiseEvent(const InstanceState& state, const RaiseEventCommand& cmd,
                      absl::Time now) {
  if (!state.exists()) return Refuse(cmd.instance_id, NotFound(cmd.instance_id));
  if (!state.live()) return ForInstance(cmd.instance_id);  // finished: events are ignored
  HistoryEvent ev = NewEvent(now);
  ev.mutable_eventraised()->set_name(cmd.name);
  if (cmd.input) ev.mutable_eventraised()->mutable_input()->set_value(*cmd.input);
  return AppendToLive(state, std::move(ev));
}

Transition RequestTerminate(const InstanceState& state, const TerminateCommand& cmd,
                            absl::Time now) {
  if (!state.exists()) return Refuse(cmd.instance_id, NotFound(cmd.instance_id));
  if (!state.live()) return ForInstance(cmd.instance_id);  // already finished
  HistoryEvent ev = NewEvent(now);
  if (cmd.reason) *ev.mutable_executionterminated()->mutable_input() = Wrap(cmd.reason);
  ev.mutable_executionterminated()->set_recurse(cmd.recursive);
  Transition t = AppendToLive(state, std::move(ev));
  // Don't wait for an episode in flight: its completion will be ignored.
  t.release_episode = true;
  return t;
}

bool EffectivelySuspended(const InstanceState& state) {
  if (state.record == nullptr) return false;
  bool suspended = state.record->status() == ORCHESTRATION_STATUS_SUSPENDED;
  for (const HistoryEvent* ev : state.inbox) {
    if (ev->has_executionsuspended()) suspended = true;
    if (ev->has_executionresumed()) suspended = false;
  }
  return suspended;
}

namespace {
absl::Status ControlPrecondition(const InstanceState& state, const std::string& id) {
  if (!state.exists()) return NotFound(id);
  if (!state.live()) {
    return WrongState(id, state.record->status(), "the instance has already finished");
  }
  return absl::OkStatus();
}
}  // namespace

Transition Suspend(const InstanceState& state, const SuspendCommand& cmd, absl::Time now) {
  if (absl::Status st = ControlPrecondition(state, cmd.instance_id); !st.ok()) {
    return Refuse(cmd.instance_id, st);
  }
  if (EffectivelySuspended(state)) return ForInstance(cmd.instance_id);
  HistoryEvent ev = NewEvent(now);
  ev.mutable_executionsuspended();
  if (cmd.reason) *ev.mutable_executionsuspended()->mutable_input() = Wrap(cmd.reason);
  return AppendToLive(state, std::move(ev));
}

Transition Resume(const InstanceState& state, const ResumeCommand& cmd, absl::Time now) {
  if (absl::Status st = ControlPrecondition(state, cmd.instance_id); !st.ok()) {
    return Refuse(cmd.instance_id, st);
  }
  if (!EffectivelySuspended(state)) return ForInstance(cmd.instance_id);  // a no-op
  HistoryEvent ev = NewEvent(now);
  ev.mutable_executionresumed();
  if (cmd.reason) *ev.mutable_executionresumed()->mutable_input() = Wrap(cmd.reason);
  return AppendToLive(state, std::move(ev));
}

Transition Rewind(const InstanceState& state, const RewindCommand& cmd, absl::Time now) {
  if (!state.exists()) return Refuse(cmd.instance_id, NotFound(cmd.instance_id));
  if (state.record->status() != ORCHESTRATION_STATUS_FAILED) {
    return Refuse(cmd.instance_id, WrongState(cmd.instance_id, state.record->status(),
                                              "only FAILED instances can be rewound"));
  }
  if (state.record->has_parent()) {
    // Its parent already got (or was sent) the failure as the sub-orchestration's
    // result; a rewound child would report a second result for the same task.
    return Refuse(cmd.instance_id,
                  absl::FailedPreconditionError(absl::StrCat(
                      "instance '", cmd.instance_id, "' is a sub-orchestration of '",
                      state.record->parent().orchestrationinstance().instanceid(),
                      "'; rewind the parent instead (it rewinds its failed children)")));
  }
  Transition t = ForInstance(cmd.instance_id);
  ExecutionRewoundEvent rewound;
  if (cmd.reason) *rewound.mutable_reason() = Wrap(cmd.reason);
  internal::RewindInto(*state.record, std::move(rewound), now, &t);
  return t;
}

}  // namespace taskhub::core
