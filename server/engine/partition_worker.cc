// Partition: worker results (episode and activity completions) and the lifecycle
// steps the server runs itself (terminate, rewind of children, child starts).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/core/validation.h"
#include "server/engine/partition.h"
#include "server/engine/partition_internal.h"

namespace taskhub::engine {

using core::ToProto;

namespace {
absl::Status UnknownInstance(const std::string& id) {
  return absl::InvalidArgumentError(
      absl::StrCat("instanceId '", id, "' does not name an orchestration instance on this server"));
}
absl::Status ForeignCompletion(absl::string_view what) {
  return absl::FailedPreconditionError(absl::StrCat(
      "completionToken is empty and ", what,
      " was not sent on this connection; send the completionToken of the work item "
      "(a completion without one is accepted only on the worker's own connection)"));
}
bool RewindsHistory(const std::vector<HistoryEvent>& new_events) {
  for (const auto& e : new_events) {
    if (e.has_executionrewound()) return true;
  }
  return false;
}
}  // namespace

Partition::Found Partition::Known(const std::map<std::string, Found>& prefetched,
                                  const std::string& id) {
  Found f;
  if ((f.live = FindLive(id)) != nullptr) return f;
  if (auto it = pending_.find(id); it != pending_.end()) {
    f.rec = it->second.rec;
    return f;
  }
  auto it = prefetched.find(id);
  if (it == prefetched.end()) {
    f.error = absl::InternalError(absl::StrCat("instance '", id, "' was not looked up"));
    return f;
  }
  f.rec = it->second.rec;
  f.error = it->second.error;
  return f;
}

void Partition::CompleteOrchestration(const OrchestratorResponse& resp, const std::string& peer,
                                      const std::optional<TokenOwner>& owner, Done done) {
  absl::Status reply;
  {
    absl::MutexLock l(&mu_);
    reply = CheckOpen();
    if (reply.ok()) reply = CompleteOrchestrationLocked(resp, peer, owner, done);
  }
  if (done) done(reply);
}

absl::Status Partition::CompleteOrchestrationLocked(const OrchestratorResponse& resp,
                                                    const std::string& peer,
                                                    const std::optional<TokenOwner>& owner,
                                                    Done& done) {
  const std::string& token = resp.completiontoken();
  // The live instance whose episode this completes; null when stale. Called again
  // after the lock was released for reads.
  auto resolve = [&](std::string* token_out) -> absl::StatusOr<Live*> {
    if (!token.empty()) {
      if (!owner || owner->kind != WorkKind::kOrchestration) return nullptr;
      Live* live = FindLive(owner->instance_id);
      if (live == nullptr || live->token != token) return nullptr;
      *token_out = token;
      return live;
    }
    Live* live = FindLive(resp.instanceid());
    if (live == nullptr || !live->in_flight()) return nullptr;
    if (!ctx_.dispatcher->SentTo(live->token, peer)) {
      return ForeignCompletion(
          absl::StrCat("the work item of instance '", resp.instanceid(), "'"));
    }
    *token_out = live->token;
    return live;
  };
  std::string held;
  ASSIGN_OR_RETURN(Live * live, resolve(&held));
  if (live == nullptr) {
    if (!resp.instanceid().empty()) {
      Found f = Lookup(resp.instanceid());
      if (f.error.ok() && f.live == nullptr && !f.rec) return UnknownInstance(resp.instanceid());
    }
    Logger("engine")->info("ignoring a stale orchestration completion for '{}'",
                           resp.instanceid());
    return absl::OkStatus();
  }
  const std::string id = live->rec.instance_id();
  if (!resp.instanceid().empty() && resp.instanceid() != id) {
    return absl::InvalidArgumentError(absl::StrCat(
        "instanceId '", resp.instanceid(), "' does not match the work item's instance '", id, "'"));
  }
  // Look up (outside the lock) the instances this episode may create or rewind.
  std::vector<std::string> children;
  for (auto& c : core::ChildIdsOf(id, resp)) {
    if (IsLocal(c)) children.push_back(std::move(c));
  }
  if (RewindsHistory(live->new_events)) {
    for (auto& c : core::AllChildren(live->history)) {
      if (IsLocal(c)) children.push_back(std::move(c));
    }
  }
  std::map<std::string, Found> prefetched;
  if (!children.empty()) {
    std::vector<Found> found = Lookup(children);
    for (size_t i = 0; i < children.size(); ++i) {
      found[i].live = nullptr;  // memory is checked again when used (Known)
      prefetched[children[i]] = std::move(found[i]);
    }
    std::string again;
    ASSIGN_OR_RETURN(live, resolve(&again));
    if (live == nullptr || again != held) return absl::OkStatus();  // redelivered meanwhile
  }
  core::EpisodeInput in;
  in.record = &live->rec;
  in.new_events = &live->new_events;
  in.response = &resp;
  in.history = &live->history;
  in.now = ctx_.clock->Now();
  in.new_execution_id = ctx_.ids->NewId();
  in.max_payload_bytes = ctx_.options->max_payload_bytes;
  in.max_actions = ctx_.options->max_actions_per_response;
  in.max_history_bytes = ctx_.options->max_episode_history_bytes;
  absl::StatusOr<core::EpisodeResult> res = core::ApplyEpisode(in);
  absl::Status reply = absl::OkStatus();
  if (!res.ok()) {
    // A response we cannot apply fails the orchestration (otherwise it would be
    // redelivered forever); the worker gets the error too.
    reply = res.status();
    Logger("engine")->warn("orchestration '{}' failed: invalid response: {}", id,
                           reply.ToString());
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
    res = core::ApplyEpisode(in);
    if (!res.ok()) return res.status();
  }
  const size_t consumed = live->dispatched;
  ReleaseOrchestration(*live, absl::ZeroDuration());
  live->abandons = 0;
  Batch b;
  ApplyEpisodeResult(b, *live, consumed, *res, prefetched);
  b.done.push_back([done = std::move(done), reply](absl::Status st) mutable {
    done(st.ok() ? reply : st);
  });
  done = nullptr;
  Submit(std::move(b));
  PumpLocked();
  return absl::OkStatus();
}

void Partition::ApplyEpisodeResult(Batch& b, Live& live, size_t consumed,
                                   core::EpisodeResult& r,
                                   const std::map<std::string, Found>& children) {
  const std::string id = live.rec.instance_id();
  for (size_t i = 0; i < consumed && !live.inbox.empty(); ++i) {
    b.ws.ops.push_back(storage::DeleteInbox{id, live.inbox.front().first});
    live.inbox.pop_front();
  }
  uint64_t index = live.rec.history_size();
  if (r.reset_history) {
    b.ws.ops.push_back(storage::ClearHistory{id});
    cached_events_ -= live.history.size();
    live.history.clear();
    index = 0;
  }
  if (!r.history_append.empty()) {
    b.ws.ops.push_back(storage::AppendHistory{id, index, r.history_append});
  }
  for (auto& ev : r.history_append) {
    live.history.push_back(std::move(ev));
    ++cached_events_;
  }
  ++live.unflushed;
  b.flushed.push_back(id);
  live.rec = std::move(r.record);
  if (!r.inbox_front.empty()) {
    auto rest = std::move(live.inbox);
    live.inbox.clear();
    for (auto& ev : r.inbox_front) AddInbox(b, live, std::move(ev));
    for (auto& [seq, ev] : rest) {
      b.ws.ops.push_back(storage::DeleteInbox{id, seq});
      AddInbox(b, live, std::move(ev));
    }
  }
  for (auto& req : r.activities) {
    const uint64_t seq = NextSeq();
    auto act = std::make_unique<Activity>();
    act->seq = seq;
    act->task.set_instance_id(id);
    act->task.set_execution_id(live.rec.execution_id());
    act->task.set_orchestration_name(live.rec.name());
    *act->task.mutable_request() = std::move(req);
    b.ws.ops.push_back(storage::PutActivity{seq, act->task});
    // Dispatched at once, overlapping the WAL sync: if this write is lost in a crash,
    // the episode is redelivered and schedules the activity again (activities are
    // at-least-once), and this delivery's completion is ignored as stale.
    QueueActivity(*act);
    activities_of_[id].insert(seq);
    activities_[seq] = std::move(act);
  }
  for (auto& t : r.timers) {
    const uint64_t seq = NextSeq();
    store::TimerRecord tr;
    tr.set_instance_id(id);
    tr.set_execution_id(live.rec.execution_id());
    *tr.mutable_event() = std::move(t.event);
    const int64_t fire_us = absl::ToUnixMicros(t.fire_at);
    b.ws.ops.push_back(storage::PutTimer{fire_us, seq, tr});
    b.timers.push_back({fire_us, seq, std::move(tr)});
  }
  for (auto& m : r.messages) SendToInstance(b, m.instance_id, std::move(m.event));
  for (auto& c : r.children) {
    const std::string child_id = c.record.instance_id();
    const int32_t task_id = c.record.parent().taskscheduledid();
    if (!IsLocal(child_id)) {
      // The child's partition creates it (or answers "already exists").
      c.start.mutable_executionstarted()->mutable_orchestrationinstance()->mutable_executionid()
          ->set_value(ctx_.ids->NewId());
      Outbox(b, child_id, std::move(c.start), "");
      continue;
    }
    Found f = Known(children, child_id);
    if (f.live != nullptr || !f.error.ok()) {
      HistoryEvent failed = core::NewEvent(ctx_.clock->Now());
      failed.mutable_suborchestrationinstancefailed()->set_taskscheduledid(task_id);
      auto* fd = failed.mutable_suborchestrationinstancefailed()->mutable_failuredetails();
      fd->set_errortype("OrchestrationAlreadyExists");
      fd->set_errormessage(absl::StrCat("an orchestration with instance id '", child_id,
                                        "' already exists and is not in a terminal state"));
      AddInbox(b, live, std::move(failed));
      continue;
    }
    if (f.rec) DeleteStored(b, *f.rec);
    const std::string exec = ctx_.ids->NewId();
    c.record.set_execution_id(exec);
    c.start.mutable_executionstarted()->mutable_orchestrationinstance()->mutable_executionid()
        ->set_value(exec);
    CreateLive(b, std::move(c.record), std::move(c.start));
  }
  for (auto& t : r.terminations) {
    HistoryEvent ev = core::NewEvent(ctx_.clock->Now());
    if (t.reason.ByteSizeLong() > 0) *ev.mutable_executionterminated()->mutable_input() = t.reason;
    ev.mutable_executionterminated()->set_recurse(t.recurse);
    SendToInstance(b, t.instance_id, std::move(ev));
  }
  if (r.rewound) RewindChildren(b, live, children);
  PutRecord(b, live);
  if (r.became_terminal) {
    Retire(b, id);
  } else {
    b.ready.push_back(id);
  }
}

void Partition::TerminateNow(Live& live, const HistoryEvent& term) {
  const std::string id = live.rec.instance_id();
  const absl::Time now = ctx_.clock->Now();
  core::EpisodeResult r = core::TerminateInstance(live.rec, term, now);
  if (live.history.empty()) {
    // Never started: keep its executionStarted so the history reads as a whole.
    for (const auto& [seq, ev] : live.inbox) {
      if (ev.has_executionstarted()) {
        r.history_append.insert(r.history_append.begin() + 1, ev);
        r.record.set_history_size(r.record.history_size() + 1);
        break;
      }
    }
  }
  Batch b;
  b.ws.ops.push_back(storage::AppendHistory{id, live.rec.history_size(), r.history_append});
  for (auto& ev : r.history_append) {
    live.history.push_back(std::move(ev));
    ++cached_events_;
  }
  live.rec = std::move(r.record);
  if (term.executionterminated().recurse()) {
    for (const auto& child : core::OpenChildren(live.history)) {
      HistoryEvent ev = core::NewEvent(now);
      *ev.mutable_executionterminated() = term.executionterminated();
      SendToInstance(b, child, std::move(ev));
    }
  }
  PutRecord(b, live);
  Retire(b, id);
  Submit(std::move(b));
}

// After a rewind: failed sub-orchestrations without a result in the new history are
// rewound too; purged ones are created again from their creation event.
void Partition::RewindChildren(Batch& b, Live& parent,
                               const std::map<std::string, Found>& children) {
  HistoryEvent reason;
  reason.mutable_executionrewound();
  for (const auto& e : parent.history) {
    if (e.has_executionrewound()) reason = e;
  }
  const std::vector<std::string> open = core::OpenChildren(parent.history);
  for (const auto& e : parent.history) {
    if (!e.has_suborchestrationinstancecreated()) continue;
    const auto& created = e.suborchestrationinstancecreated();
    if (std::find(open.begin(), open.end(), created.instanceid()) == open.end()) continue;
    if (!IsLocal(created.instanceid())) {
      Outbox(b, created.instanceid(), RewindChildMessage(parent, reason, e), "");
      continue;
    }
    Found f = Known(children, created.instanceid());
    if (f.live != nullptr || !f.error.ok()) continue;
    if (f.rec) {
      if (f.rec->status() == ORCHESTRATION_STATUS_FAILED) {
        // The rewound parent runs under a new execution id: point the child at it.
        store::InstanceRecord rec = std::move(*f.rec);
        rec.mutable_parent()->mutable_orchestrationinstance()->mutable_executionid()->set_value(
            parent.rec.execution_id());
        HistoryEvent child_reason = reason;
        child_reason.mutable_executionrewound()->mutable_parentexecutionid()->set_value(
            parent.rec.execution_id());
        RewindLocked(b, std::move(rec), child_reason);
      }
      continue;
    }
    store::InstanceRecord child;
    child.set_instance_id(created.instanceid());
    child.set_name(created.name());
    if (created.has_version()) *child.mutable_version() = created.version();
    if (created.has_input()) {
      *child.mutable_input() = created.input();
      *child.mutable_original_input() = created.input();
    }
    auto* p = child.mutable_parent();
    p->set_taskscheduledid(e.eventid());
    p->mutable_name()->set_value(parent.rec.name());
    if (parent.rec.has_version()) *p->mutable_version() = parent.rec.version();
    p->mutable_orchestrationinstance()->set_instanceid(parent.rec.instance_id());
    p->mutable_orchestrationinstance()->mutable_executionid()->set_value(
        parent.rec.execution_id());
    RecreateChild(b, std::move(child));
  }
}

void Partition::RewindLocked(Batch& b, store::InstanceRecord rec, const HistoryEvent& ev) {
  const auto previous = storage::IndexedFields::Of(rec);
  rec.set_status(ORCHESTRATION_STATUS_RUNNING);
  rec.clear_output();
  rec.clear_failure_details();
  rec.clear_completed_time();
  *rec.mutable_last_updated_time() = ToProto(ctx_.clock->Now());
  auto owned = std::make_unique<Live>();
  Live& live = *owned;
  live.rec = std::move(rec);
  live.stored = previous;
  const std::string id = live.rec.instance_id();
  pending_.erase(id);
  live_[id] = std::move(owned);
  PutRecord(b, live);
  HistoryEvent rewound = core::NewEvent(ctx_.clock->Now());
  *rewound.mutable_executionrewound() = ev.executionrewound();
  AddInbox(b, live, std::move(rewound));
}

void Partition::CompleteActivity(const ActivityResponse& resp, const std::string& peer,
                                 const std::optional<TokenOwner>& owner, Done done) {
  absl::Status reply;
  {
    absl::MutexLock l(&mu_);
    reply = CheckOpen();
    if (reply.ok()) reply = CompleteActivityLocked(resp, peer, owner, done);
  }
  if (done) done(reply);
}

absl::Status Partition::CompleteActivityLocked(const ActivityResponse& resp,
                                               const std::string& peer,
                                               const std::optional<TokenOwner>& owner,
                                               Done& done) {
  Activity* act = nullptr;
  if (!resp.completiontoken().empty()) {
    if (owner && owner->kind == WorkKind::kActivity) {
      auto a = activities_.find(owner->seq);
      if (a != activities_.end() && a->second->token == resp.completiontoken()) {
        act = a->second.get();
      }
    }
  } else if (auto of = activities_of_.find(resp.instanceid()); of != activities_of_.end()) {
    // Only the instance's own tasks are searched, and only deliveries made on the
    // caller's connection may be completed without a token.
    bool foreign = false;
    for (uint64_t seq : of->second) {
      auto a = activities_.find(seq);
      if (a == activities_.end() || !a->second->in_flight() ||
          a->second->task.request().taskid() != resp.taskid()) {
        continue;
      }
      if (ctx_.dispatcher->SentTo(a->second->token, peer)) {
        act = a->second.get();
        break;
      }
      foreign = true;
    }
    if (act == nullptr && foreign) {
      return ForeignCompletion(absl::StrCat("activity task ", resp.taskid(), " of instance '",
                                            resp.instanceid(), "'"));
    }
  }
  if (act == nullptr) {
    if (!resp.instanceid().empty()) {
      Found f = Lookup(resp.instanceid());
      if (f.error.ok() && f.live == nullptr && !f.rec) return UnknownInstance(resp.instanceid());
    }
    Logger("engine")->info("ignoring a stale activity completion for '{}' task {}",
                           resp.instanceid(), resp.taskid());
    return absl::OkStatus();
  }
  absl::Status reply =
      core::ValidatePayload("result", resp.result(), ctx_.options->max_payload_bytes);
  if (reply.ok()) {
    reply = core::ValidateFailureDetails("failureDetails", resp.failuredetails(),
                                         ctx_.options->max_payload_bytes);
  }
  const uint64_t seq = act->seq;
  const store::ActivityTask task = act->task;
  ReleaseActivity(*act, absl::ZeroDuration());
  activities_.erase(seq);
  if (auto of = activities_of_.find(task.instance_id()); of != activities_of_.end()) {
    of->second.erase(seq);
    if (of->second.empty()) activities_of_.erase(of);
  }
  Batch b;
  b.ws.ops.push_back(storage::DeleteActivity{seq});
  Live* live = FindLive(task.instance_id());
  if (live != nullptr && live->rec.execution_id() == task.execution_id()) {
    HistoryEvent ev = core::NewEvent(ctx_.clock->Now());
    const int32_t task_id = task.request().taskid();
    if (!reply.ok()) {
      auto* f = ev.mutable_taskfailed();
      f->set_taskscheduledid(task_id);
      f->mutable_failuredetails()->set_errortype("PayloadTooLarge");
      f->mutable_failuredetails()->set_errormessage(std::string(reply.message()));
      f->mutable_failuredetails()->set_isnonretriable(true);
    } else if (resp.has_failuredetails()) {
      ev.mutable_taskfailed()->set_taskscheduledid(task_id);
      *ev.mutable_taskfailed()->mutable_failuredetails() = resp.failuredetails();
    } else {
      ev.mutable_taskcompleted()->set_taskscheduledid(task_id);
      if (resp.has_result()) *ev.mutable_taskcompleted()->mutable_result() = resp.result();
    }
    AddInbox(b, *live, std::move(ev));
  }
  b.done.push_back([done = std::move(done), reply](absl::Status st) mutable {
    done(st.ok() ? reply : st);
  });
  done = nullptr;
  Submit(std::move(b));
  PumpLocked();
  return absl::OkStatus();
}

}  // namespace taskhub::engine
