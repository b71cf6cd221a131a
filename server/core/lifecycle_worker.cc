// Transitions driven by workers, timers and other instances: terminate-now, activity
// and episode results, timers, messages between instances, parent notification.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/core/entity.h"
#include "server/core/entity_internal.h"
#include "server/core/history.h"
#include "server/core/lifecycle.h"
#include "server/core/lifecycle_internal.h"
#include "server/core/rewind.h"
#include "server/core/validation.h"

namespace taskhub::core {

using internal::ForInstance;
using internal::Refuse;

namespace {

const HistoryEvent* FirstTermination(const std::vector<const HistoryEvent*>& inbox) {
  for (const HistoryEvent* ev : inbox) {
    if (ev->has_executionterminated()) return ev;
  }
  return nullptr;
}

// The terminal record `rec` ends: notify its parent.
void AddParentNotification(const store::InstanceRecord& rec, absl::Time now, Transition* t) {
  if (std::optional<Message> m = NotifyParent(rec, now)) t->outbox.push_back(std::move(*m));
}

Message Terminate(const std::string& target, ExecutionTerminatedEvent term, absl::Time now) {
  Message m;
  m.kind = Message::Kind::kTerminate;
  m.target = target;
  m.event = NewEvent(now);
  *m.event.mutable_executionterminated() = std::move(term);
  return m;
}

// After a rewind of `parent` (its new record and history): every sub-orchestration
// without a result in the new history is rewound at the child, or created again if it
// was purged.
void RewindChildren(const store::InstanceRecord& parent, const std::vector<HistoryEvent>& history,
                    absl::Time now, IdSource ids, Transition* t) {
  ExecutionRewoundEvent reason;
  for (const auto& e : history) {
    if (e.has_executionrewound()) reason = e.executionrewound();
  }
  reason.mutable_parentexecutionid()->set_value(parent.execution_id());
  const std::vector<std::string> open = OpenChildren(history);
  for (const auto& e : history) {
    if (!e.has_suborchestrationinstancecreated()) continue;
    const auto& created = e.suborchestrationinstancecreated();
    if (std::find(open.begin(), open.end(), created.instanceid()) == open.end()) continue;
    Message m;
    m.kind = Message::Kind::kRewindChild;
    m.target = created.instanceid();
    m.event = NewEvent(now);
    *m.event.mutable_executionrewound() = reason;
    InstanceSpec spec;
    spec.instance_id = created.instanceid();
    spec.name = created.name();
    if (created.has_version()) spec.version = created.version().value();
    if (created.has_input()) spec.input = created.input().value();
    spec.tags.insert(created.tags().begin(), created.tags().end());
    spec.execution_id = ids();
    ParentInstanceInfo& p = spec.parent.emplace();
    p.set_taskscheduledid(e.eventid());
    p.mutable_name()->set_value(parent.name());
    if (parent.has_version()) *p.mutable_version() = parent.version();
    p.mutable_orchestrationinstance()->set_instanceid(parent.instance_id());
    p.mutable_orchestrationinstance()->mutable_executionid()->set_value(parent.execution_id());
    m.child = BuildInstance(spec, now);
    t->outbox.push_back(std::move(m));
  }
}

}  // namespace

bool HasPendingTermination(const std::vector<const HistoryEvent*>& inbox) {
  return FirstTermination(inbox) != nullptr;
}

Transition TerminateNow(const InstanceState& state, absl::Time now) {
  if (!state.live()) return ForInstance(state.record ? state.record->instance_id() : "");
  const store::InstanceRecord& rec = *state.record;
  Transition t = ForInstance(rec.instance_id());
  const HistoryEvent* term = FirstTermination(state.inbox);
  if (term == nullptr) return t;
  EpisodeResult r = TerminateInstance(rec, *term, now);
  // A rewind still pending (its episode has not rewritten the history yet): the history
  // still ends with the failed execution's executionCompleted. Terminate the rewound
  // history instead, so the history holds one completion (the termination).
  std::vector<HistoryEvent> rewound;
  if (state.history != nullptr) {
    std::vector<HistoryEvent> pending;
    for (const HistoryEvent* ev : state.inbox) {
      if (ev->has_executionrewound()) pending.push_back(*ev);
    }
    if (IsRewindEpisode(*state.history, pending)) {
      rewound = RewoundHistory(*state.history, pending, rec.execution_id());
      r.history_append.insert(r.history_append.begin(), rewound.begin(), rewound.end());
      r.record.set_history_size(r.history_append.size());
      t.reset_history = true;
    }
  }
  const std::vector<HistoryEvent>* history = t.reset_history ? &rewound : state.history;
  const bool never_ran =
      state.history != nullptr ? state.history->empty() : rec.history_size() == 0;
  if (never_ran) {
    // Never started: keep its executionStarted so the history reads as a whole.
    for (const HistoryEvent* ev : state.inbox) {
      if (ev->has_executionstarted()) {
        r.history_append.insert(r.history_append.begin() + 1, *ev);
        r.record.set_history_size(r.record.history_size() + 1);
        break;
      }
    }
  }
  if (term->executionterminated().recurse() && history != nullptr) {
    // (The events appended here create and close no sub-orchestration.)
    for (const auto& child : OpenChildren(*history)) {
      t.outbox.push_back(Terminate(child, term->executionterminated(), now));
    }
  }
  if (history != nullptr) {
    // Release the entity locks the execution still holds or waits for.
    for (Message& m : UnlockMessagesFor(rec.instance_id(), *history, {}, now)) {
      t.outbox.push_back(std::move(m));
    }
  }
  t.history_append = std::move(r.history_append);
  t.record = std::move(r.record);
  t.release_episode = true;
  t.became_terminal = true;
  AddParentNotification(*t.record, now, &t);
  return t;
}

Transition Purge(const InstanceState& state, const std::string& instance_id,
                 const std::string& parent_id) {
  Transition t = ForInstance(instance_id);
  if (!state.finished()) return t;  // none, or live: only finished instances are purged
  if (!parent_id.empty() &&
      state.record->parent().orchestrationinstance().instanceid() != parent_id) {
    return t;  // not our child
  }
  t.discard_existing = true;
  return t;
}

NextStep Next(const InstanceState& state) {
  if (!state.live() || IsEntity(*state.record)) return NextStep::kIdle;
  if (HasPendingTermination(state.inbox)) return NextStep::kTerminate;
  if (state.inbox.empty() && !state.record->force_episode()) return NextStep::kIdle;
  return NextStep::kEpisode;
}

EpisodeOpen OpenEpisode(const InstanceState& state, absl::Time now) {
  EpisodeOpen out;
  out.dispatched = state.inbox.size();
  for (size_t i = 1; i < state.inbox.size(); ++i) {
    if (state.inbox[i]->has_executionsuspended()) {
      out.dispatched = i;
      break;
    }
  }
  out.new_events.reserve(out.dispatched + 1);
  out.new_events.push_back(NewEvent(now));
  out.new_events.back().mutable_orchestratorstarted();
  for (size_t i = 0; i < out.dispatched; ++i) out.new_events.push_back(*state.inbox[i]);
  return out;
}

Transition CompleteActivity(const InstanceState& state, const std::string& task_execution_id,
                            const ActivityResultCommand& cmd, absl::Time now,
                            const Limits& limits) {
  google::protobuf::StringValue result;
  if (cmd.result) result.set_value(*cmd.result);
  absl::Status reply = ValidatePayload("result", result, limits.max_payload_bytes);
  if (reply.ok() && cmd.failure) {
    reply = ValidateFailureDetails("failureDetails", *cmd.failure, limits.max_payload_bytes);
  }
  Transition t =
      ForInstance(state.record != nullptr ? state.record->instance_id() : cmd.instance_id);
  t.reply = reply;
  if (!state.live() || state.record->execution_id() != task_execution_id) return t;  // stale
  HistoryEvent ev = NewEvent(now);
  if (!reply.ok()) {
    auto* f = ev.mutable_taskfailed();
    f->set_taskscheduledid(cmd.task_id);
    f->mutable_failuredetails()->set_errortype("PayloadTooLarge");
    f->mutable_failuredetails()->set_errormessage(std::string(reply.message()));
    f->mutable_failuredetails()->set_isnonretriable(true);
  } else if (cmd.failure) {
    ev.mutable_taskfailed()->set_taskscheduledid(cmd.task_id);
    *ev.mutable_taskfailed()->mutable_failuredetails() = *cmd.failure;
  } else {
    ev.mutable_taskcompleted()->set_taskscheduledid(cmd.task_id);
    if (cmd.result) *ev.mutable_taskcompleted()->mutable_result() = result;
  }
  t.inbox_append.push_back(std::move(ev));
  return t;
}

Transition CompleteEpisode(const InstanceState& state,
                           const std::vector<HistoryEvent>& new_events, size_t dispatched,
                           const EpisodeResultCommand& cmd, absl::Time now, IdSource ids,
                           const Limits& limits) {
  if (!state.live()) return ForInstance(cmd.instance_id);  // nothing in flight
  const store::InstanceRecord& rec = *state.record;
  const std::string& id = rec.instance_id();
  if (!cmd.instance_id.empty() && cmd.instance_id != id) {
    return Refuse(id, absl::InvalidArgumentError(absl::StrCat(
                          "instanceId '", cmd.instance_id,
                          "' does not match the work item's instance '", id, "'")));
  }
  EpisodeInput in;
  in.record = &rec;
  in.new_events = &new_events;
  in.response = &cmd.response;
  in.history = state.history;
  in.now = now;
  in.new_execution_id = ids();
  in.max_payload_bytes = limits.max_payload_bytes;
  in.max_actions = limits.max_actions;
  in.max_history_bytes = limits.max_history_bytes;
  absl::StatusOr<EpisodeResult> res = ApplyEpisode(in);
  absl::Status reply = absl::OkStatus();
  if (!res.ok()) {
    // A response we cannot apply fails the orchestration (otherwise it would be
    // redelivered forever); the worker gets the error too.
    reply = res.status();
    OrchestratorResponse failed;
    auto* c = failed.add_actions()->mutable_completeorchestration();
    c->set_orchestrationstatus(ORCHESTRATION_STATUS_FAILED);
    c->mutable_failuredetails()->set_errortype(
        absl::StrCat("InvalidOrchestratorResponse.", absl::StatusCodeToString(reply.code())));
    c->mutable_failuredetails()->set_errormessage(std::string(reply.message()));
    c->mutable_failuredetails()->set_isnonretriable(true);
    in.response = &failed;
    in.history = nullptr;
    in.max_payload_bytes = 0;
    in.max_actions = 0;
    in.max_history_bytes = 0;
    res = ApplyEpisode(in);
    if (!res.ok()) return Refuse(id, res.status());
  }
  EpisodeResult& r = *res;
  Transition t = ForInstance(id);
  t.reply = reply;
  t.release_episode = true;
  t.inbox_consumed = dispatched;
  t.reset_history = r.reset_history;
  t.history_append = std::move(r.history_append);
  t.inbox_front = std::move(r.inbox_front);
  t.activities = std::move(r.activities);
  t.timers = std::move(r.timers);
  t.became_terminal = r.became_terminal;
  // Children first: an event the same episode sends to a child it creates must find
  // the child (as the Durable Task Framework delivers it with the child's start).
  for (auto& c : r.children) {
    Message out;
    out.kind = Message::Kind::kStartChild;
    out.target = c.record.instance_id();
    out.child = NewInstance{std::move(c.record), std::move(c.start)};
    SetExecutionId(out.child, ids());
    t.outbox.push_back(std::move(out));
  }
  for (auto& m : r.messages) {
    Message out;
    out.kind = Message::Kind::kEvent;
    out.target = std::move(m.instance_id);
    out.event = std::move(m.event);
    if (m.deliver_at) {
      t.delayed.push_back({*m.deliver_at, std::move(out)});
    } else {
      t.outbox.push_back(std::move(out));
    }
  }
  for (auto& term : r.terminations) {
    ExecutionTerminatedEvent ev;
    if (term.reason.ByteSizeLong() > 0) *ev.mutable_input() = term.reason;
    ev.set_recurse(term.recurse);
    t.outbox.push_back(Terminate(term.instance_id, std::move(ev), now));
  }
  if (r.rewound) RewindChildren(r.record, t.history_append, now, ids, &t);
  if (r.became_terminal || r.continued_as_new) {
    // The execution ended: release the entity locks it still holds or waits for.
    static const std::vector<HistoryEvent> kNoHistory;
    for (Message& m : UnlockMessagesFor(id, state.history ? *state.history : kNoHistory,
                                        r.entity_lock_events, now)) {
      t.outbox.push_back(std::move(m));
    }
  }
  if (r.became_terminal) AddParentNotification(r.record, now, &t);
  t.record = std::move(r.record);
  return t;
}

Transition TimerFired(const InstanceState& state, const std::string& timer_execution_id,
                      const HistoryEvent& event, absl::Time now) {
  if (!state.live() || state.record->execution_id() != timer_execution_id) {
    return ForInstance(state.record ? state.record->instance_id() : "");
  }
  Transition t = ForInstance(state.record->instance_id());
  HistoryEvent ev = event;
  *ev.mutable_timestamp() = ToProto(now);
  t.inbox_append.push_back(std::move(ev));
  return t;
}

std::optional<Message> NotifyParent(const store::InstanceRecord& child, absl::Time now) {
  if (!IsTerminal(child.status())) return std::nullopt;
  Message m;
  m.kind = Message::Kind::kEvent;
  if (!ParentNotification(child, now, &m.target, &m.expected_execution_id, &m.event)) {
    return std::nullopt;
  }
  return m;
}

Transition Receive(const InstanceState& state, const Message& m, absl::Time now) {
  Transition t = ForInstance(m.target);
  if (internal::ReceiveEntityMessage(state, m, now, &t)) return t;
  switch (m.kind) {
    case Message::Kind::kEvent:
    case Message::Kind::kTerminate:
      if (!state.live()) return t;
      if (m.kind == Message::Kind::kEvent && !m.expected_execution_id.empty() &&
          state.record->execution_id() != m.expected_execution_id) {
        return t;
      }
      t.inbox_append.push_back(m.event);
      return t;
    case Message::Kind::kStartChild: {
      if (state.live()) {
        const ParentInstanceInfo& p = m.child.record.parent();
        Message failed;
        failed.kind = Message::Kind::kEvent;
        failed.target = p.orchestrationinstance().instanceid();
        failed.expected_execution_id = p.orchestrationinstance().executionid().value();
        failed.event = NewEvent(now);
        auto* f = failed.event.mutable_suborchestrationinstancefailed();
        f->set_taskscheduledid(p.taskscheduledid());
        f->mutable_failuredetails()->set_errortype("OrchestrationAlreadyExists");
        f->mutable_failuredetails()->set_errormessage(
            absl::StrCat("an orchestration with instance id '", m.target,
                         "' already exists and is not in a terminal state"));
        t.outbox.push_back(std::move(failed));
        return t;
      }
      t.discard_existing = state.exists();
      t.record = m.child.record;
      t.inbox_append.push_back(m.child.start);
      return t;
    }
    case Message::Kind::kRewindChild: {
      if (!state.exists()) {
        t.record = m.child.record;
        t.inbox_append.push_back(m.child.start);
        return t;
      }
      // Only a child whose record names this parent is touched (not an unrelated id).
      const ParentInstanceInfo& parent = m.child.record.parent();
      const ParentInstanceInfo& current = state.record->parent();
      if (!state.record->has_parent() || current.orchestrationinstance().instanceid() !=
                                             parent.orchestrationinstance().instanceid()) {
        return t;
      }
      if (state.record->status() != ORCHESTRATION_STATUS_FAILED) {
        // The rewound parent runs under a new execution id. A live child reports to it
        // when it ends; a child that ended otherwise (TERMINATED, COMPLETED after its
        // parent failed) is not re-run: its result is delivered again, so the parent
        // does not wait for it forever.
        store::InstanceRecord rec = *state.record;
        *rec.mutable_parent() = parent;
        if (state.live()) {
          t.record = std::move(rec);
        } else if (std::optional<Message> n = NotifyParent(rec, now)) {
          t.outbox.push_back(std::move(*n));
        }
        return t;
      }
      // The rewound parent runs under a new execution id: point the child at it.
      store::InstanceRecord rec = *state.record;
      const auto& parent_exec = m.event.executionrewound().parentexecutionid();
      if (rec.has_parent() && !parent_exec.value().empty()) {
        *rec.mutable_parent()->mutable_orchestrationinstance()->mutable_executionid() =
            parent_exec;
      }
      internal::RewindInto(rec, m.event.executionrewound(), now, &t);
      return t;
    }
    case Message::Kind::kLockGranted:
      return t;  // (handled by ReceiveEntityMessage)
  }
  return t;
}

}  // namespace taskhub::core
