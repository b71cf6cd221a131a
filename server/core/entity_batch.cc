// Entity batches: the work item and the completion.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/core/entity.h"
#include "server/core/entity_internal.h"
#include "server/core/history.h"
#include "server/core/lifecycle_internal.h"
#include "server/core/record.h"
#include "server/core/validation.h"

namespace taskhub::core {

using internal::ForInstance;

void BuildEntityWorkItem(const store::InstanceRecord& rec, const std::vector<HistoryEvent>& ops,
                         bool v1, WorkItem* out) {
  const store::EntityData& e = rec.entity();
  if (!v1) {
    EntityRequest* req = out->mutable_entityrequestv2();
    req->set_instanceid(rec.instance_id());
    req->set_executionid(rec.execution_id());
    if (e.has_state()) *req->mutable_entitystate() = e.state();
    for (const HistoryEvent& op : ops) {
      HistoryEvent* ev = req->add_operationrequests();
      *ev = op;
      ev->set_eventid(-1);
      // V2 has no slot for it (the SDKs read none): taskhubd-internal, not sent.
      if (ev->has_entityoperationsignaled()) {
        ev->mutable_entityoperationsignaled()->clear_parenttracecontext();
      }
    }
    return;
  }
  EntityBatchRequest* req = out->mutable_entityrequest();
  req->set_instanceid(rec.instance_id());
  if (e.has_state()) *req->mutable_entitystate() = e.state();
  for (const HistoryEvent& op : ops) {
    OperationRequest* o = req->add_operations();
    if (op.has_entityoperationcalled()) {
      const auto& c = op.entityoperationcalled();
      o->set_operation(c.operation());
      o->set_requestid(c.requestid());
      if (c.has_input()) *o->mutable_input() = c.input();
    } else {
      const auto& s = op.entityoperationsignaled();
      o->set_operation(s.operation());
      o->set_requestid(s.requestid());
      if (s.has_input()) *o->mutable_input() = s.input();
      if (s.has_parenttracecontext()) *o->mutable_tracecontext() = s.parenttracecontext();
    }
  }
}

namespace {

// Validates one entity action (payload caps like orchestration actions).
absl::Status ValidateEntityAction(const OperationAction& a, size_t max_payload) {
  const std::string where = absl::StrCat("actions[id=", a.id(), "]");
  switch (a.operationActionType_case()) {
    case OperationAction::kSendSignal: {
      const auto& s = a.sendsignal();
      RETURN_IF_ERROR(NormalizeEntityId(s.instanceid()).status());
      RETURN_IF_ERROR(ValidateName(where + ".sendSignal.name", s.name()));
      RETURN_IF_ERROR(ValidatePayload(where + ".sendSignal.input", s.input(), max_payload));
      return ValidateMessageSize(where, a, max_payload);
    }
    case OperationAction::kStartNewOrchestration: {
      const auto& s = a.startneworchestration();
      if (!s.instanceid().empty()) {
        RETURN_IF_ERROR(
            ValidateInstanceId(where + ".startNewOrchestration.instanceId", s.instanceid()));
      }
      RETURN_IF_ERROR(ValidateName(where + ".startNewOrchestration.name", s.name()));
      RETURN_IF_ERROR(
          ValidateShortField(where + ".startNewOrchestration.version", s.version().value()));
      RETURN_IF_ERROR(
          ValidatePayload(where + ".startNewOrchestration.input", s.input(), max_payload));
      return ValidateMessageSize(where, a, max_payload);
    }
    case OperationAction::OPERATIONACTIONTYPE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(where + " has no action type set");
}

// Checks a worker's batch result against the n operations dispatched.
absl::Status ValidateBatchResult(const EntityBatchResult& r, size_t n, const Limits& limits) {
  const size_t max = limits.max_payload_bytes;
  if (static_cast<size_t>(r.results_size()) > n) {
    return absl::InvalidArgumentError(
        absl::StrCat("results: ", r.results_size(), " results for a batch of ", n, " operations"));
  }
  if (r.results_size() == 0 && n > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("results: no result for a batch of ", n, " operations"));
  }
  for (int i = 0; i < r.results_size(); ++i) {
    const OperationResult& res = r.results(i);
    const std::string where = absl::StrCat("results[", i, "]");
    if (res.has_success()) {
      RETURN_IF_ERROR(ValidatePayload(where + ".success.result", res.success().result(), max));
    } else if (res.has_failure()) {
      RETURN_IF_ERROR(ValidateFailureDetails(where + ".failure.failureDetails",
                                             res.failure().failuredetails(), max));
    } else {
      return absl::InvalidArgumentError(where + " has neither success nor failure");
    }
  }
  if (limits.max_actions != 0 && static_cast<size_t>(r.actions_size()) > limits.max_actions) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "actions: the result carries ", r.actions_size(), " actions; this server accepts at most ",
        limits.max_actions, " per response (--max-actions-per-response)"));
  }
  for (const OperationAction& a : r.actions()) RETURN_IF_ERROR(ValidateEntityAction(a, max));
  return ValidatePayload("entityState", r.entitystate(), max);
}

// The reply to a call (nothing for a signal or a call without a caller).
void ReplyToCaller(const HistoryEvent& op, HistoryEvent reply, Transition* t) {
  if (!op.has_entityoperationcalled()) return;
  const auto& c = op.entityoperationcalled();
  if (c.parentinstanceid().value().empty()) return;
  Message m;
  m.kind = Message::Kind::kEvent;
  m.target = c.parentinstanceid().value();
  m.expected_execution_id = c.parentexecutionid().value();
  m.event = std::move(reply);
  t->outbox.push_back(std::move(m));
}

HistoryEvent Failed(const std::string& request_id, const TaskFailureDetails& f, absl::Time now) {
  HistoryEvent ev = NewEvent(now);
  ev.mutable_entityoperationfailed()->set_requestid(request_id);
  *ev.mutable_entityoperationfailed()->mutable_failuredetails() = f;
  return ev;
}

void SendAction(const OperationAction& a, absl::Time now, IdSource ids, Transition* t) {
  if (a.has_sendsignal()) {
    const auto& s = a.sendsignal();
    const std::string target = *NormalizeEntityId(s.instanceid());  // validated
    HistoryEvent ev = NewEvent(now);
    auto* sig = ev.mutable_entityoperationsignaled();
    sig->set_requestid(ids());
    sig->set_operation(s.name());
    if (s.has_input()) *sig->mutable_input() = s.input();
    sig->mutable_targetinstanceid()->set_value(target);
    if (s.has_parenttracecontext()) *sig->mutable_parenttracecontext() = s.parenttracecontext();
    if (s.has_scheduledtime() && FromProto(s.scheduledtime()) > now) {
      *sig->mutable_scheduledtime() = s.scheduledtime();
      t->delayed.push_back(
          {FromProto(s.scheduledtime()), internal::EntityMessage(target, std::move(ev))});
    } else {
      t->outbox.push_back(internal::EntityMessage(target, std::move(ev)));
    }
    return;
  }
  const auto& s = a.startneworchestration();
  InstanceSpec spec;
  spec.instance_id = s.instanceid().empty() ? ids() : s.instanceid();
  spec.name = s.name();
  if (s.has_version()) spec.version = s.version().value();
  if (s.has_input()) spec.input = s.input().value();
  spec.execution_id = ids();
  if (s.has_scheduledtime()) spec.scheduled_start = FromProto(s.scheduledtime());
  if (s.has_parenttracecontext()) spec.parent_trace_context = s.parenttracecontext();
  Message m;
  m.kind = Message::Kind::kStartChild;
  m.target = spec.instance_id;
  m.child = BuildInstance(spec, now);
  t->outbox.push_back(std::move(m));
}

}  // namespace

Transition CompleteEntityBatch(const InstanceState& state, const std::vector<size_t>& positions,
                               const std::vector<HistoryEvent>& ops, const EntityResultCommand& cmd,
                               absl::Time now, IdSource ids, const Limits& limits) {
  Transition t = ForInstance(state.record != nullptr ? state.record->instance_id() : "");
  if (!state.live() || !IsEntity(*state.record)) return t;  // deleted since: nothing to do
  const EntityBatchResult& r = cmd.result;
  const size_t n = std::min(positions.size(), ops.size());
  store::InstanceRecord rec = *state.record;
  *rec.mutable_last_updated_time() = ToProto(now);

  // A batch-level failure (e.g. JS on a framework error, with no results) fails the batch
  // whatever else the result says.
  t.reply = r.has_failuredetails() ? ValidateFailureDetails("failureDetails", r.failuredetails(),
                                                            limits.max_payload_bytes)
                                   : ValidateBatchResult(r, n, limits);
  std::optional<TaskFailureDetails> batch_failure;
  if (!t.reply.ok()) {
    TaskFailureDetails& f = batch_failure.emplace();
    f.set_errortype(t.reply.code() == absl::StatusCode::kResourceExhausted
                        ? "PayloadTooLarge"
                        : "InvalidEntityBatchResult");
    f.set_errormessage(std::string(t.reply.message()));
    f.set_isnonretriable(true);
  } else if (r.has_failuredetails()) {
    batch_failure = r.failuredetails();
  }

  size_t consumed = n;
  if (batch_failure) {
    // Every operation fails with it; the state stays as it was; no action is sent.
    for (size_t i = 0; i < n; ++i) {
      ReplyToCaller(ops[i], Failed(internal::OperationRequestId(ops[i]), *batch_failure, now), &t);
    }
  } else {
    consumed = static_cast<size_t>(r.results_size());
    store::EntityData* e = rec.mutable_entity();
    if (r.has_entitystate()) {
      *e->mutable_state() = r.entitystate();
    } else {
      e->clear_state();
    }
    *e->mutable_last_modified() = ToProto(now);
    for (size_t i = 0; i < consumed; ++i) {
      const OperationResult& res = r.results(static_cast<int>(i));
      const std::string& request_id = internal::OperationRequestId(ops[i]);
      if (res.has_success()) {
        HistoryEvent ev = NewEvent(now);
        ev.mutable_entityoperationcompleted()->set_requestid(request_id);
        if (res.success().has_result()) {
          *ev.mutable_entityoperationcompleted()->mutable_output() = res.success().result();
        }
        ReplyToCaller(ops[i], std::move(ev), &t);
      } else {
        ReplyToCaller(ops[i], Failed(request_id, res.failure().failuredetails(), now), &t);
      }
    }
    for (const OperationAction& a : r.actions()) SendAction(a, now, ids, &t);
  }
  for (size_t i = 0; i < consumed; ++i) {
    if (positions[i] < state.inbox.size()) t.inbox_removed.push_back(positions[i]);
  }
  std::sort(t.inbox_removed.begin(), t.inbox_removed.end());
  t.inbox_removed.erase(std::unique(t.inbox_removed.begin(), t.inbox_removed.end()),
                        t.inbox_removed.end());
  internal::SetEntityRecordOrDelete(std::move(rec), state.inbox.size() - t.inbox_removed.size(),
                                    &t);
  return t;
}

}  // namespace taskhub::core
