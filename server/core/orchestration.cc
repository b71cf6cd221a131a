#include "server/core/orchestration.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/core/entity.h"
#include "server/core/history.h"
#include "server/core/record.h"
#include "server/core/rewind.h"
#include "server/core/validation.h"

namespace taskhub::core {
namespace {

std::string DefaultChildId(const std::string& parent, int32_t action_id) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04x", static_cast<unsigned>(action_id) & 0xFFFFu);
  return absl::StrCat(parent, ":", buf);
}

OrchestrationInstance InstanceOf(const store::InstanceRecord& rec) {
  OrchestrationInstance oi;
  oi.set_instanceid(rec.instance_id());
  oi.mutable_executionid()->set_value(rec.execution_id());
  return oi;
}

// The normalized form of an entity id already validated by ValidateAction.
std::string Normalized(const std::string& id) {
  absl::StatusOr<std::string> n = NormalizeEntityId(id);
  return n.ok() ? *std::move(n) : id;
}

// A sendEntityMessage action (validated): fills its confirmation and adds its message.
void ApplyEntityMessage(const OrchestratorAction& a, const store::InstanceRecord& rec,
                        absl::Time now, HistoryEvent* confirm, EpisodeResult* out) {
  const SendEntityMessageAction& m = a.sendentitymessage();
  MessageOut msg;
  msg.event = NewEvent(now);
  if (m.has_entityoperationsignaled()) {
    auto* s = confirm->mutable_entityoperationsignaled();
    *s = m.entityoperationsignaled();
    msg.instance_id = Normalized(s->targetinstanceid().value());
    s->mutable_targetinstanceid()->set_value(msg.instance_id);
    if (s->has_scheduledtime() && FromProto(s->scheduledtime()) > now) {
      msg.deliver_at = FromProto(s->scheduledtime());
    }
    *msg.event.mutable_entityoperationsignaled() = *s;
  } else if (m.has_entityoperationcalled()) {
    auto* c = confirm->mutable_entityoperationcalled();
    *c = m.entityoperationcalled();
    msg.instance_id = Normalized(c->targetinstanceid().value());
    c->mutable_targetinstanceid()->set_value(msg.instance_id);
    c->mutable_parentinstanceid()->set_value(rec.instance_id());
    c->mutable_parentexecutionid()->set_value(rec.execution_id());
    *msg.event.mutable_entityoperationcalled() = *c;
  } else if (m.has_entitylockrequested()) {
    auto* l = confirm->mutable_entitylockrequested();
    *l = m.entitylockrequested();
    std::vector<std::string> set;
    for (const std::string& id : l->lockset()) set.push_back(Normalized(id));
    std::sort(set.begin(), set.end());
    set.erase(std::unique(set.begin(), set.end()), set.end());
    l->clear_lockset();
    for (const std::string& id : set) l->add_lockset(id);
    l->set_position(0);
    l->mutable_parentinstanceid()->set_value(rec.instance_id());
    msg.instance_id = set.front();
    *msg.event.mutable_entitylockrequested() = *l;
    out->entity_lock_events.push_back(*confirm);
  } else {
    auto* u = confirm->mutable_entityunlocksent();
    *u = m.entityunlocksent();
    msg.instance_id = Normalized(u->targetinstanceid().value());
    u->mutable_targetinstanceid()->set_value(msg.instance_id);
    u->mutable_parentinstanceid()->set_value(rec.instance_id());
    *msg.event.mutable_entityunlocksent() = *u;
    out->entity_lock_events.push_back(*confirm);
  }
  out->messages.push_back(std::move(msg));
}

// Applies one non-terminal action: appends its confirmation event (eventId = action
// id) and records its side effect.
absl::Status ApplyAction(const OrchestratorAction& a, const store::InstanceRecord& rec,
                         absl::Time now, EpisodeResult* out) {
  HistoryEvent confirm = NewEvent(now, a.id());
  switch (a.orchestratorActionType_case()) {
    case OrchestratorAction::kScheduleTask: {
      const auto& st = a.scheduletask();
      auto* ev = confirm.mutable_taskscheduled();
      ev->set_name(st.name());
      if (st.has_version()) *ev->mutable_version() = st.version();
      if (st.has_input()) *ev->mutable_input() = st.input();
      if (st.has_parenttracecontext()) *ev->mutable_parenttracecontext() = st.parenttracecontext();
      for (const auto& [k, v] : st.tags()) (*ev->mutable_tags())[k] = v;
      ActivityRequest req;
      req.set_name(st.name());
      if (st.has_version()) *req.mutable_version() = st.version();
      if (st.has_input()) *req.mutable_input() = st.input();
      *req.mutable_orchestrationinstance() = InstanceOf(rec);
      req.set_taskid(a.id());
      if (st.has_parenttracecontext()) *req.mutable_parenttracecontext() = st.parenttracecontext();
      for (const auto& [k, v] : st.tags()) (*req.mutable_tags())[k] = v;
      out->activities.push_back(std::move(req));
      break;
    }
    case OrchestratorAction::kCreateTimer: {
      confirm.mutable_timercreated()->mutable_fireat()->CopyFrom(a.createtimer().fireat());
      TimerOut t;
      t.fire_at = FromProto(a.createtimer().fireat());
      t.event = NewEvent(now);
      t.event.mutable_timerfired()->mutable_fireat()->CopyFrom(a.createtimer().fireat());
      t.event.mutable_timerfired()->set_timerid(a.id());
      out->timers.push_back(std::move(t));
      break;
    }
    case OrchestratorAction::kCreateSubOrchestration: {
      const auto& c = a.createsuborchestration();
      const std::string child_id =
          c.instanceid().empty() ? DefaultChildId(rec.instance_id(), a.id()) : c.instanceid();
      // Also the derived id: "<parent>:xxxx" may be too long for a long parent id.
      RETURN_IF_ERROR(ValidateInstanceId(
          absl::StrCat("actions[id=", a.id(), "].createSubOrchestration.instanceId"), child_id));
      auto* ev = confirm.mutable_suborchestrationinstancecreated();
      ev->set_instanceid(child_id);
      ev->set_name(c.name());
      if (c.has_version()) *ev->mutable_version() = c.version();
      if (c.has_input()) *ev->mutable_input() = c.input();
      if (c.has_parenttracecontext()) *ev->mutable_parenttracecontext() = c.parenttracecontext();
      for (const auto& [k, v] : c.tags()) (*ev->mutable_tags())[k] = v;
      InstanceSpec spec;
      spec.instance_id = child_id;
      spec.name = c.name();
      if (c.has_version()) spec.version = c.version().value();
      if (c.has_input()) spec.input = c.input().value();
      spec.tags.insert(c.tags().begin(), c.tags().end());
      ParentInstanceInfo& p = spec.parent.emplace();
      p.set_taskscheduledid(a.id());
      p.mutable_name()->set_value(rec.name());
      if (rec.has_version()) *p.mutable_version() = rec.version();
      *p.mutable_orchestrationinstance() = InstanceOf(rec);
      if (c.has_parenttracecontext()) spec.parent_trace_context = c.parenttracecontext();
      // The execution id is assigned before committing (core::CompleteEpisode).
      NewInstance built = BuildInstance(spec, now);
      ChildStart child{std::move(built.record), std::move(built.start)};
      out->children.push_back(std::move(child));
      break;
    }
    case OrchestratorAction::kSendEvent: {
      const auto& s = a.sendevent();
      auto* ev = confirm.mutable_eventsent();
      ev->set_instanceid(s.instance().instanceid());
      ev->set_name(s.name());
      if (s.has_data()) *ev->mutable_input() = s.data();
      MessageOut m;
      m.instance_id = s.instance().instanceid();
      m.event = NewEvent(now);
      m.event.mutable_eventraised()->set_name(s.name());
      if (s.has_data()) *m.event.mutable_eventraised()->mutable_input() = s.data();
      out->messages.push_back(std::move(m));
      break;
    }
    case OrchestratorAction::kSendEntityMessage:
      ApplyEntityMessage(a, rec, now, &confirm, out);
      break;
    case OrchestratorAction::kTerminateOrchestration: {
      const auto& t = a.terminateorchestration();
      out->terminations.push_back({t.instanceid(), t.reason(), t.recurse()});
      return absl::OkStatus();  // no confirmation event in the source history
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("actions[id=", a.id(), "] has an unexpected type"));
  }
  out->history_append.push_back(std::move(confirm));
  return absl::OkStatus();
}

void Complete(const CompleteOrchestrationAction& c, absl::Time now, EpisodeResult* out) {
  auto& rec = out->record;
  rec.set_status(c.orchestrationstatus());
  if (c.has_result()) {
    *rec.mutable_output() = c.result();
  } else {
    rec.clear_output();
  }
  if (c.orchestrationstatus() == ORCHESTRATION_STATUS_FAILED && c.has_failuredetails()) {
    *rec.mutable_failure_details() = c.failuredetails();
  } else if (c.orchestrationstatus() == ORCHESTRATION_STATUS_FAILED) {
    // Tolerate FAILED without details (an old JS SDK bug): keep what it said.
    auto* f = rec.mutable_failure_details();
    f->set_errortype("OrchestrationFailed");
    f->set_errormessage(c.has_result() ? c.result().value() : "the orchestration failed");
  } else {
    rec.clear_failure_details();
  }
  *rec.mutable_completed_time() = ToProto(now);
  HistoryEvent done = NewEvent(now);
  auto* ec = done.mutable_executioncompleted();
  ec->set_orchestrationstatus(c.orchestrationstatus());
  if (c.has_result()) *ec->mutable_result() = c.result();
  if (rec.has_failure_details()) *ec->mutable_failuredetails() = rec.failure_details();
  out->history_append.push_back(std::move(done));
  out->became_terminal = true;
}

void ContinueAsNew(const CompleteOrchestrationAction& c, const std::string& new_execution_id,
                   absl::Time now, EpisodeResult* out) {
  auto& rec = out->record;
  rec.set_status(ORCHESTRATION_STATUS_RUNNING);
  rec.set_execution_id(new_execution_id);
  if (c.has_result()) {
    *rec.mutable_input() = c.result();
  } else {
    rec.clear_input();
  }
  if (c.has_newversion()) *rec.mutable_version() = c.newversion();
  rec.clear_output();
  rec.clear_failure_details();
  rec.clear_completed_time();
  out->reset_history = true;
  out->history_append.clear();
  out->continued_as_new = true;
  out->inbox_front.push_back(ExecutionStartedFor(rec, now));
  for (const auto& e : c.carryoverevents()) {
    HistoryEvent carried = e;
    carried.set_eventid(-1);
    out->inbox_front.push_back(std::move(carried));
  }
}

}  // namespace

OrchestrationStatus StatusAfterEvents(OrchestrationStatus current,
                                      const std::vector<HistoryEvent>& events) {
  OrchestrationStatus s = current;
  for (const auto& e : events) {
    if (e.has_executionstarted() && s == ORCHESTRATION_STATUS_PENDING) {
      s = ORCHESTRATION_STATUS_RUNNING;
    } else if (e.has_executionsuspended()) {
      s = ORCHESTRATION_STATUS_SUSPENDED;
    } else if (e.has_executionresumed()) {
      s = ORCHESTRATION_STATUS_RUNNING;
    } else if (e.has_executionrewound()) {
      s = ORCHESTRATION_STATUS_RUNNING;
    }
  }
  if (s == ORCHESTRATION_STATUS_PENDING) s = ORCHESTRATION_STATUS_RUNNING;
  return s;
}

absl::StatusOr<EpisodeResult> ApplyEpisode(const EpisodeInput& in) {
  if (in.history != nullptr && IsRewindEpisode(*in.history, *in.new_events) &&
      std::none_of(in.response->actions().begin(), in.response->actions().end(),
                   [](const OrchestratorAction& a) { return a.has_rewindorchestration(); })) {
    // Answer the rewind for the worker, as a rewind-aware SDK would have.
    OrchestratorResponse answer;
    answer.set_instanceid(in.record->instance_id());
    if (in.record->has_custom_status()) *answer.mutable_customstatus() = in.record->custom_status();
    auto* action = answer.add_actions();
    action->set_id(-1);
    for (auto& e : RewoundHistory(*in.history, *in.new_events, in.new_execution_id)) {
      *action->mutable_rewindorchestration()->add_newhistory() = std::move(e);
    }
    EpisodeInput server = in;
    server.history = nullptr;
    server.response = &answer;
    return ApplyEpisode(server);
  }
  const auto& resp = *in.response;
  if (in.max_actions != 0 && static_cast<size_t>(resp.actions_size()) > in.max_actions) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "actions: the response carries ", resp.actions_size(),
        " actions; this server accepts at most ", in.max_actions,
        " per response (--max-actions-per-response)"));
  }
  for (const auto& a : resp.actions()) RETURN_IF_ERROR(ValidateAction(a, in.max_payload_bytes));
  RETURN_IF_ERROR(ValidatePayload("customStatus", resp.customstatus(), in.max_payload_bytes));
  if (resp.orchestrationtracecontext().ByteSizeLong() > kMetadataAllowance) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "orchestrationTraceContext is ", resp.orchestrationtracecontext().ByteSizeLong(),
        " bytes; the maximum is ", kMetadataAllowance));
  }

  EpisodeResult out;
  out.record = *in.record;
  auto& rec = out.record;
  out.history_append = *in.new_events;
  rec.set_status(StatusAfterEvents(rec.status(), *in.new_events));
  rec.set_force_episode(false);

  const CompleteOrchestrationAction* completion = nullptr;
  const RewindOrchestrationAction* rewind = nullptr;
  for (const auto& a : resp.actions()) {
    if (a.has_completeorchestration()) {
      if (completion != nullptr) {
        return absl::InvalidArgumentError("actions: more than one completeOrchestration action");
      }
      completion = &a.completeorchestration();
    } else if (a.has_rewindorchestration()) {
      rewind = &a.rewindorchestration();
    } else {
      RETURN_IF_ERROR(ApplyAction(a, rec, in.now, &out));
    }
  }

  if (resp.has_customstatus() && !resp.customstatus().value().empty()) {
    *rec.mutable_custom_status() = resp.customstatus();
  } else {
    rec.clear_custom_status();
  }
  if (resp.has_orchestrationtracecontext()) {
    *rec.mutable_trace_context() = resp.orchestrationtracecontext();
  }

  if (rewind != nullptr) {
    out.reset_history = true;
    out.rewound = true;
    out.history_append.assign(rewind->newhistory().begin(), rewind->newhistory().end());
    for (const auto& e : out.history_append) {
      if (e.has_executionstarted() &&
          e.executionstarted().orchestrationinstance().has_executionid()) {
        rec.set_execution_id(e.executionstarted().orchestrationinstance().executionid().value());
      }
    }
    rec.set_status(ORCHESTRATION_STATUS_RUNNING);
    rec.clear_output();
    rec.clear_failure_details();
    rec.clear_completed_time();
    rec.set_force_episode(true);
    // Side effects of other actions in a rewind response are not expected.
    out.activities.clear();
    out.timers.clear();
    out.children.clear();
  } else if (completion != nullptr) {
    if (completion->orchestrationstatus() == ORCHESTRATION_STATUS_CONTINUED_AS_NEW) {
      ContinueAsNew(*completion, in.new_execution_id, in.now, &out);
      // Results of work scheduled by the old execution are dropped when they
      // return; don't create new work for it.
      out.activities.clear();
      out.timers.clear();
      out.children.clear();
    } else {
      Complete(*completion, in.now, &out);
      out.activities.clear();
      out.timers.clear();
      out.children.clear();
    }
  }
  if (!out.continued_as_new && !out.rewound) {
    out.history_append.push_back(NewEvent(in.now));
    out.history_append.back().mutable_orchestratorcompleted();
  }
  if (in.max_history_bytes != 0) {
    // What the worker adds: everything appended or carried over, less the events
    // the server dispatched (client and timer events, each capped on its own).
    size_t added = 0, dispatched = 0;
    for (const auto& e : out.history_append) added += e.ByteSizeLong();
    for (const auto& e : out.inbox_front) added += e.ByteSizeLong();
    if (!out.reset_history) {
      for (const auto& e : *in.new_events) dispatched += e.ByteSizeLong();
    }
    added = added > dispatched ? added - dispatched : 0;
    if (added > in.max_history_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "actions: the response adds ", added, " bytes to the history; this server accepts "
          "at most ", in.max_history_bytes, " per episode (--max-episode-history-bytes)"));
    }
  }
  rec.set_history_size(out.reset_history ? out.history_append.size()
                                         : rec.history_size() + out.history_append.size());
  *rec.mutable_last_updated_time() = ToProto(in.now);
  return out;
}

EpisodeResult TerminateInstance(const store::InstanceRecord& record,
                                const HistoryEvent& terminated_event, absl::Time now) {
  EpisodeResult out;
  out.record = record;
  HistoryEvent started = NewEvent(now);
  started.mutable_orchestratorstarted();
  out.history_append.push_back(started);
  HistoryEvent term = terminated_event;
  term.set_eventid(-1);
  out.history_append.push_back(term);
  CompleteOrchestrationAction c;
  c.set_orchestrationstatus(ORCHESTRATION_STATUS_TERMINATED);
  if (terminated_event.executionterminated().has_input()) {
    *c.mutable_result() = terminated_event.executionterminated().input();
  }
  Complete(c, now, &out);
  out.history_append.push_back(NewEvent(now));
  out.history_append.back().mutable_orchestratorcompleted();
  out.record.set_force_episode(false);
  out.record.set_history_size(record.history_size() + out.history_append.size());
  *out.record.mutable_last_updated_time() = ToProto(now);
  return out;
}

bool ParentNotification(const store::InstanceRecord& child, absl::Time now,
                        std::string* parent_id, std::string* parent_execution_id,
                        HistoryEvent* event) {
  if (!child.has_parent()) return false;
  const auto& p = child.parent();
  *parent_id = p.orchestrationinstance().instanceid();
  *parent_execution_id = p.orchestrationinstance().executionid().value();
  *event = NewEvent(now);
  if (child.status() == ORCHESTRATION_STATUS_COMPLETED) {
    auto* c = event->mutable_suborchestrationinstancecompleted();
    c->set_taskscheduledid(p.taskscheduledid());
    if (child.has_output()) *c->mutable_result() = child.output();
  } else {
    auto* f = event->mutable_suborchestrationinstancefailed();
    f->set_taskscheduledid(p.taskscheduledid());
    if (child.has_failure_details()) {
      *f->mutable_failuredetails() = child.failure_details();
    } else {
      f->mutable_failuredetails()->set_errortype("SubOrchestrationTerminated");
      f->mutable_failuredetails()->set_errormessage(absl::StrCat(
          "sub-orchestration '", child.instance_id(), "' ended with status ",
          StatusName(child.status()),
          child.has_output() ? absl::StrCat(": ", child.output().value()) : ""));
    }
  }
  return true;
}

std::vector<std::string> ChildIdsOf(const std::string& parent,
                                    const OrchestratorResponse& response) {
  std::vector<std::string> ids;
  for (const auto& a : response.actions()) {
    if (!a.has_createsuborchestration()) continue;
    const auto& c = a.createsuborchestration();
    ids.push_back(c.instanceid().empty() ? DefaultChildId(parent, a.id()) : c.instanceid());
  }
  return ids;
}

}  // namespace taskhub::core
