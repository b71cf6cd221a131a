// Partition: messages between instances — local ones go straight into the target's
// inbox; ones for another partition go through the outbox (a durable inbox write in
// the sender's commit, taken by the target partition after it: see RemoteMessage).
#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/engine/partition.h"
#include "server/engine/partition_internal.h"

namespace taskhub::engine {

using core::ToProto;

namespace {
bool IsChildStart(const HistoryEvent& ev) {
  return ev.has_executionstarted() && ev.executionstarted().has_parentinstance();
}
bool IsRewindChild(const HistoryEvent& ev) {
  return ev.has_executionrewound() && ev.executionrewound().has_parentinstance();
}
}  // namespace

bool Partition::IsMessage(const HistoryEvent& ev, const std::string* live_execution) {
  if (IsRewindChild(ev)) return true;
  // A live instance's own start event names its execution; a start for another one
  // is a child start that has not been taken yet.
  return IsChildStart(ev) &&
         (live_execution == nullptr ||
          ev.executionstarted().orchestrationinstance().executionid().value() != *live_execution);
}

void Partition::SendToInstance(Batch& b, const std::string& id, HistoryEvent ev,
                               const std::string& expected_execution) {
  if (!IsLocal(id)) return Outbox(b, id, std::move(ev), expected_execution);
  Live* live = FindLive(id);
  if (live == nullptr) return;
  if (!expected_execution.empty() && live->rec.execution_id() != expected_execution) return;
  AddInbox(b, *live, std::move(ev));
}

void Partition::Outbox(Batch& b, const std::string& id, HistoryEvent ev,
                       const std::string& expected_execution) {
  const uint64_t seq = NextSeq();
  b.ws.ops.push_back(storage::PutInbox{id, seq, ev});
  b.outbox.push_back(RemoteMessage{id, seq, std::move(ev), expected_execution});
}

void Partition::Deliver(std::vector<RemoteMessage> msgs) {
  absl::MutexLock l(&mu_);
  if (shutting_down_) return;  // recovery delivers them again
  std::vector<std::string> ids;
  for (const auto& m : msgs) {
    if (IsChildStart(m.event) || IsRewindChild(m.event)) ids.push_back(m.target);
  }
  std::map<std::string, Found> prefetched;
  if (!ids.empty()) {
    std::vector<Found> found = Lookup(ids);
    for (size_t i = 0; i < ids.size(); ++i) {
      found[i].live = nullptr;  // memory is checked again when used (Known)
      prefetched[ids[i]] = std::move(found[i]);
    }
  }
  Batch b;
  for (auto& m : msgs) ApplyMessage(b, m, prefetched);
  Submit(std::move(b));
  PumpLocked();
}

void Partition::ApplyMessage(Batch& b, RemoteMessage& m,
                             const std::map<std::string, Found>& prefetched) {
  Live* live = FindLive(m.target);
  const HistoryEvent& ev = m.event;
  if (IsChildStart(ev)) {
    b.ws.ops.push_back(storage::DeleteInbox{m.target, m.seq});
    if (!IsMessage(ev, live ? &live->rec.execution_id() : nullptr)) return;  // taken before
    const auto& parent = ev.executionstarted().parentinstance();
    Found f = Known(prefetched, m.target);
    if (f.live != nullptr || !f.error.ok()) {
      HistoryEvent failed = core::NewEvent(ctx_.clock->Now());
      auto* sf = failed.mutable_suborchestrationinstancefailed();
      sf->set_taskscheduledid(parent.taskscheduledid());
      sf->mutable_failuredetails()->set_errortype("OrchestrationAlreadyExists");
      sf->mutable_failuredetails()->set_errormessage(
          absl::StrCat("an orchestration with instance id '", m.target,
                       "' already exists and is not in a terminal state"));
      SendToInstance(b, parent.orchestrationinstance().instanceid(), std::move(failed),
                     parent.orchestrationinstance().executionid().value());
      return;
    }
    if (f.rec) DeleteStored(b, *f.rec);
    CreateLive(b, core::RecordFromStart(ev), ev);
    return;
  }
  if (IsRewindChild(ev)) {
    b.ws.ops.push_back(storage::DeleteInbox{m.target, m.seq});
    Found f = Known(prefetched, m.target);
    if (f.live != nullptr || !f.error.ok()) return;
    const auto& rw = ev.executionrewound();
    if (!f.rec) {
      store::InstanceRecord child;
      child.set_instance_id(m.target);
      child.set_name(rw.name().value());
      if (rw.has_version()) *child.mutable_version() = rw.version();
      if (rw.has_input()) {
        *child.mutable_input() = rw.input();
        *child.mutable_original_input() = rw.input();
      }
      *child.mutable_parent() = rw.parentinstance();
      RecreateChild(b, std::move(child));
      return;
    }
    if (f.rec->status() != ORCHESTRATION_STATUS_FAILED) return;
    // The rewound parent runs under a new execution id: point the child at it.
    store::InstanceRecord rec = std::move(*f.rec);
    *rec.mutable_parent()->mutable_orchestrationinstance() =
        rw.parentinstance().orchestrationinstance();
    HistoryEvent reason;
    auto* r = reason.mutable_executionrewound();
    if (rw.has_reason()) *r->mutable_reason() = rw.reason();
    *r->mutable_parentexecutionid() = rw.parentexecutionid();
    RewindLocked(b, std::move(rec), reason);
    return;
  }
  if (live != nullptr &&
      (m.expected_execution.empty() || live->rec.execution_id() == m.expected_execution)) {
    live->inbox.emplace_back(m.seq, std::move(m.event));
    MarkReady(m.target);
  } else {
    b.ws.ops.push_back(storage::DeleteInbox{m.target, m.seq});
  }
}

HistoryEvent Partition::RewindChildMessage(const Live& parent, const HistoryEvent& reason,
                                           const HistoryEvent& created) {
  const auto& c = created.suborchestrationinstancecreated();
  HistoryEvent m = core::NewEvent(ctx_.clock->Now());
  auto* rw = m.mutable_executionrewound();
  if (reason.executionrewound().has_reason()) *rw->mutable_reason() = reason.executionrewound().reason();
  rw->mutable_parentexecutionid()->set_value(parent.rec.execution_id());
  rw->mutable_name()->set_value(c.name());
  if (c.has_version()) *rw->mutable_version() = c.version();
  if (c.has_input()) *rw->mutable_input() = c.input();
  auto* p = rw->mutable_parentinstance();
  p->set_taskscheduledid(created.eventid());
  p->mutable_name()->set_value(parent.rec.name());
  if (parent.rec.has_version()) *p->mutable_version() = parent.rec.version();
  p->mutable_orchestrationinstance()->set_instanceid(parent.rec.instance_id());
  p->mutable_orchestrationinstance()->mutable_executionid()->set_value(parent.rec.execution_id());
  return m;
}

void Partition::RecreateChild(Batch& b, store::InstanceRecord child) {
  child.set_status(ORCHESTRATION_STATUS_PENDING);
  child.set_execution_id(ctx_.ids->NewId());
  *child.mutable_created_time() = ToProto(ctx_.clock->Now());
  *child.mutable_last_updated_time() = child.created_time();
  HistoryEvent start = core::ExecutionStartedFor(child, ctx_.clock->Now());
  CreateLive(b, std::move(child), std::move(start));
}

}  // namespace taskhub::engine
