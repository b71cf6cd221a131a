// Engine: client (management) operations.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/core/validation.h"
#include "server/engine/engine.h"
#include "server/engine/engine_internal.h"

namespace taskhub::engine {

using core::FromProto;
using core::ToProto;

namespace {
// One query page is one read on the reader thread: bounded, whatever the client asks
// (a larger request gets this many and a continuation token).
constexpr int32_t kMaxPageSize = 1000;
absl::Status NotFound(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("no orchestration instance with id '", id, "'"));
}
absl::Status WrongState(const std::string& id, OrchestrationStatus s, absl::string_view need) {
  return absl::FailedPreconditionError(absl::StrCat("instance '", id, "' is ",
                                                    core::StatusName(s), "; ", need));
}
}  // namespace

absl::StatusOr<std::string> Engine::StartLocked(Batch& b, const CreateInstanceRequest& req) {
  RETURN_IF_ERROR(core::ValidateCreateInstance(req, options_.max_payload_bytes));
  const std::string id = req.instanceid().empty() ? ids_->NewId() : req.instanceid();
  RETURN_IF_ERROR(core::ValidateInstanceId("instanceId", id));
  const bool has_policy = req.has_orchestrationidreusepolicy();
  auto replaceable = [&](OrchestrationStatus s) {
    const auto& r = req.orchestrationidreusepolicy().replaceablestatus();
    return std::find(r.begin(), r.end(), s) != r.end();
  };
  if (Live* live = FindLive(id)) {
    if (!has_policy || !replaceable(live->rec.status())) {
      return absl::AlreadyExistsError(absl::StrCat("an orchestration with instance id '", id,
                                                   "' already exists and is ",
                                                   core::StatusName(live->rec.status())));
    }
    // Replace a live instance: drop it without notifying anyone.
    if (live->in_flight()) ReleaseOrchestration(*live, absl::ZeroDuration());
    timers_.Cancel(live->wake_timer);
    if (live->in_lru) history_lru_.erase(live->lru);
    if (live->history_loaded) cached_events_ -= live->history.size();
    if (live->stored) {
      b.ws.ops.push_back(storage::DeleteInstance{id, *live->stored});
    }
    DropActivities(b, id);
    live_.erase(id);
  } else {
    ASSIGN_OR_RETURN(std::optional<store::InstanceRecord> stored, FindStored(id));
    if (stored) {
      if (has_policy && !replaceable(stored->status())) {
        return absl::AlreadyExistsError(absl::StrCat("an orchestration with instance id '", id,
                                                     "' already exists and is ",
                                                     core::StatusName(stored->status())));
      }
      DeleteStored(b, *stored);
    }
  }
  const absl::Time now = clock_->Now();
  store::InstanceRecord rec;
  rec.set_instance_id(id);
  rec.set_name(req.name());
  if (req.has_version()) *rec.mutable_version() = req.version();
  if (req.has_input()) {
    *rec.mutable_input() = req.input();
    *rec.mutable_original_input() = req.input();
  }
  rec.set_status(ORCHESTRATION_STATUS_PENDING);
  rec.set_execution_id(req.has_executionid() && !req.executionid().value().empty()
                           ? req.executionid().value()
                           : ids_->NewId());
  *rec.mutable_created_time() = ToProto(now);
  *rec.mutable_last_updated_time() = ToProto(now);
  if (req.has_scheduledstarttimestamp() && FromProto(req.scheduledstarttimestamp()) > now) {
    *rec.mutable_scheduled_start_time() = req.scheduledstarttimestamp();
  }
  for (const auto& [k, v] : req.tags()) (*rec.mutable_tags())[k] = v;
  HistoryEvent start = core::ExecutionStartedFor(rec, now);
  if (req.has_parenttracecontext()) {
    *start.mutable_executionstarted()->mutable_parenttracecontext() = req.parenttracecontext();
  }
  CreateLive(b, std::move(rec), std::move(start));
  return id;
}

void Engine::StartInstance(const CreateInstanceRequest& req, DoneWith<std::string> done) {
  absl::MutexLock l(&mu_);
  if (absl::Status st = CheckOpen(); !st.ok()) return done(st);
  Batch b;
  absl::StatusOr<std::string> id = StartLocked(b, req);
  if (!id.ok()) return done(id.status());
  b.done.push_back([done = std::move(done), id = *id](absl::Status st) mutable {
    if (st.ok()) {
      done(id);
    } else {
      done(st);
    }
  });
  Submit(std::move(b));
  Pump();
}

void Engine::GetInstance(const std::string& id, bool payloads,
                         DoneWith<GetInstanceResponse> done) {
  if (absl::Status st = core::ValidateInstanceId("instanceId", id); !st.ok()) return done(st);
  AfterDurable([this, id, payloads, done = std::move(done)](absl::Status st) mutable {
    if (!st.ok()) return done(st);
    auto rec = backend_->GetInstance(id);
    if (!rec.ok()) return done(rec.status());
    if (!rec->has_value()) return done(GetInstanceResponse());
    done(StateResponse(**rec, payloads));
  });
}

uint64_t Engine::WaitForInstance(const std::string& id, bool completion, bool payloads,
                                 DoneWith<GetInstanceResponse> done) {
  auto w = std::make_shared<Waiter>();
  w->id = id;
  w->completion = completion;
  w->payloads = payloads;
  {
    absl::MutexLock l(&w->mu);
    w->done = std::move(done);
  }
  {
    absl::MutexLock l(&waiters_mu_);
    w->handle = ++next_waiter_;
    waiters_.emplace(id, w);
    waiters_by_handle_[w->handle] = w;
  }
  const uint64_t handle = w->handle;
  w->cap_timer = timers_.Schedule(clock_->Now() + options_.max_wait, [this, handle] {
    EndWait(handle, absl::DeadlineExceededError(absl::StrCat(
                        "the server-side wait limit of ", absl::FormatDuration(options_.max_wait),
                        " was reached; call again to keep waiting")));
  });
  AfterDurable([this, w](absl::Status st) {
    if (st.ok()) st = core::ValidateInstanceId("instanceId", w->id);
    if (!st.ok()) {
      EndWait(w->handle, st);
      return;
    }
    auto rec = backend_->GetInstance(w->id);
    if (!rec.ok() || !rec->has_value() || w->Satisfied(**rec)) {
      {
        absl::MutexLock l(&waiters_mu_);
        waiters_by_handle_.erase(w->handle);
        auto [b, e] = waiters_.equal_range(w->id);
        for (auto it = b; it != e; ++it) {
          if (it->second == w) {
            waiters_.erase(it);
            break;
          }
        }
      }
      timers_.Cancel(w->cap_timer);
      if (!rec.ok()) return w->Fire(rec.status());
      if (!rec->has_value()) return w->Fire(GetInstanceResponse());
      w->Fire(StateResponse(**rec, w->payloads));
    }
  });
  return handle;
}

void Engine::CancelWait(uint64_t handle) {
  EndWait(handle, absl::CancelledError("the wait was cancelled"));
}

void Engine::EndWait(uint64_t handle, absl::Status status) {
  std::shared_ptr<Waiter> w;
  {
    absl::MutexLock l(&waiters_mu_);
    auto it = waiters_by_handle_.find(handle);
    if (it == waiters_by_handle_.end()) return;
    w = it->second;
    waiters_by_handle_.erase(it);
    auto [b, e] = waiters_.equal_range(w->id);
    for (auto i = b; i != e; ++i) {
      if (i->second == w) {
        waiters_.erase(i);
        break;
      }
    }
  }
  timers_.Cancel(w->cap_timer);
  w->Fire(std::move(status));
}

absl::StatusOr<Engine::Live*> Engine::LiveForControl(const std::string& id) {
  if (Live* live = FindLive(id)) return live;
  ASSIGN_OR_RETURN(std::optional<store::InstanceRecord> stored, FindStored(id));
  if (!stored) return NotFound(id);
  return WrongState(id, stored->status(), "the instance has already finished");
}

void Engine::RaiseEvent(const RaiseEventRequest& req, Done done) {
  absl::Status st = core::ValidateInstanceId("instanceId", req.instanceid());
  if (st.ok()) st = core::ValidateName("name", req.name());
  if (st.ok()) st = core::ValidatePayload("input", req.input(), options_.max_payload_bytes);
  if (!st.ok()) return done(st);
  absl::MutexLock l(&mu_);
  if (absl::Status open = CheckOpen(); !open.ok()) return done(open);
  Live* live = FindLive(req.instanceid());
  if (live == nullptr) {
    auto stored = FindStored(req.instanceid());
    if (!stored.ok()) return done(stored.status());
    if (!stored->has_value()) return done(NotFound(req.instanceid()));
    return done(absl::OkStatus());  // finished instances ignore events
  }
  Batch b;
  HistoryEvent ev = core::NewEvent(clock_->Now());
  ev.mutable_eventraised()->set_name(req.name());
  if (req.has_input()) *ev.mutable_eventraised()->mutable_input() = req.input();
  AddInbox(b, *live, std::move(ev));
  b.done.push_back(std::move(done));
  Submit(std::move(b));
  Pump();
}

void Engine::Terminate(const TerminateRequest& req, Done done) {
  absl::Status st = core::ValidateInstanceId("instanceId", req.instanceid());
  if (st.ok()) st = core::ValidatePayload("output", req.output(), options_.max_payload_bytes);
  if (!st.ok()) return done(st);
  absl::MutexLock l(&mu_);
  if (absl::Status open = CheckOpen(); !open.ok()) return done(open);
  Live* live = FindLive(req.instanceid());
  if (live == nullptr) {
    auto stored = FindStored(req.instanceid());
    if (!stored.ok()) return done(stored.status());
    if (!stored->has_value()) return done(NotFound(req.instanceid()));
    return done(absl::OkStatus());  // already finished: nothing to do
  }
  Batch b;
  HistoryEvent ev = core::NewEvent(clock_->Now());
  if (req.has_output()) *ev.mutable_executionterminated()->mutable_input() = req.output();
  ev.mutable_executionterminated()->set_recurse(req.recursive());
  AddInbox(b, *live, std::move(ev));
  // Don't wait for an episode in flight: its completion will be ignored.
  if (live->in_flight()) ReleaseOrchestration(*live, absl::ZeroDuration());
  b.done.push_back(std::move(done));
  Submit(std::move(b));
  Pump();
}

namespace {
bool EffectivelySuspended(OrchestrationStatus status,
                          const std::deque<std::pair<uint64_t, HistoryEvent>>& inbox) {
  bool suspended = status == ORCHESTRATION_STATUS_SUSPENDED;
  for (const auto& [seq, ev] : inbox) {
    if (ev.has_executionsuspended()) suspended = true;
    if (ev.has_executionresumed()) suspended = false;
  }
  return suspended;
}
}  // namespace

void Engine::Suspend(const SuspendRequest& req, Done done) {
  absl::Status st = core::ValidateInstanceId("instanceId", req.instanceid());
  if (st.ok()) st = core::ValidatePayload("reason", req.reason(), options_.max_payload_bytes);
  if (!st.ok()) return done(st);
  absl::MutexLock l(&mu_);
  if (absl::Status open = CheckOpen(); !open.ok()) return done(open);
  auto live = LiveForControl(req.instanceid());
  if (!live.ok()) return done(live.status());
  if (EffectivelySuspended((*live)->rec.status(), (*live)->inbox)) return done(absl::OkStatus());
  Batch b;
  HistoryEvent ev = core::NewEvent(clock_->Now());
  ev.mutable_executionsuspended();
  if (req.has_reason()) *ev.mutable_executionsuspended()->mutable_input() = req.reason();
  AddInbox(b, **live, std::move(ev));
  b.done.push_back(std::move(done));
  Submit(std::move(b));
  Pump();
}

void Engine::Resume(const ResumeRequest& req, Done done) {
  absl::Status st = core::ValidateInstanceId("instanceId", req.instanceid());
  if (st.ok()) st = core::ValidatePayload("reason", req.reason(), options_.max_payload_bytes);
  if (!st.ok()) return done(st);
  absl::MutexLock l(&mu_);
  if (absl::Status open = CheckOpen(); !open.ok()) return done(open);
  auto live = LiveForControl(req.instanceid());
  if (!live.ok()) return done(live.status());
  if (!EffectivelySuspended((*live)->rec.status(), (*live)->inbox)) {
    return done(absl::OkStatus());  // not suspended: resuming is a no-op
  }
  Batch b;
  HistoryEvent ev = core::NewEvent(clock_->Now());
  ev.mutable_executionresumed();
  if (req.has_reason()) *ev.mutable_executionresumed()->mutable_input() = req.reason();
  AddInbox(b, **live, std::move(ev));
  b.done.push_back(std::move(done));
  Submit(std::move(b));
  Pump();
}

void Engine::Rewind(const RewindInstanceRequest& req, Done done) {
  absl::Status valid = core::ValidateInstanceId("instanceId", req.instanceid());
  if (valid.ok()) {
    valid = core::ValidatePayload("reason", req.reason(), options_.max_payload_bytes);
  }
  if (!valid.ok()) return done(valid);
  absl::MutexLock l(&mu_);
  if (absl::Status open = CheckOpen(); !open.ok()) return done(open);
  if (Live* live = FindLive(req.instanceid())) {
    return done(WrongState(req.instanceid(), live->rec.status(),
                           "only FAILED instances can be rewound"));
  }
  auto stored = FindStored(req.instanceid());
  if (!stored.ok()) return done(stored.status());
  if (!stored->has_value()) return done(NotFound(req.instanceid()));
  if ((*stored)->status() != ORCHESTRATION_STATUS_FAILED) {
    return done(WrongState(req.instanceid(), (*stored)->status(),
                           "only FAILED instances can be rewound"));
  }
  Batch b;
  HistoryEvent ev;
  if (req.has_reason()) *ev.mutable_executionrewound()->mutable_reason() = req.reason();
  ev.mutable_executionrewound();
  if (absl::Status st = RewindLocked(b, **stored, ev); !st.ok()) return done(st);
  b.done.push_back(std::move(done));
  Submit(std::move(b));
  Pump();
}

void Engine::Restart(const RestartInstanceRequest& req, DoneWith<std::string> done) {
  if (absl::Status st = core::ValidateInstanceId("instanceId", req.instanceid()); !st.ok()) {
    return done(st);
  }
  absl::MutexLock l(&mu_);
  if (absl::Status open = CheckOpen(); !open.ok()) return done(open);
  if (Live* live = FindLive(req.instanceid())) {
    return done(WrongState(req.instanceid(), live->rec.status(),
                           "only finished instances can be restarted"));
  }
  auto stored = FindStored(req.instanceid());
  if (!stored.ok()) return done(stored.status());
  if (!stored->has_value()) return done(NotFound(req.instanceid()));
  const store::InstanceRecord& old = **stored;
  CreateInstanceRequest create;
  if (!req.restartwithnewinstanceid()) create.set_instanceid(old.instance_id());
  create.set_name(old.name());
  if (old.has_version()) *create.mutable_version() = old.version();
  if (old.has_original_input()) *create.mutable_input() = old.original_input();
  for (const auto& [k, v] : old.tags()) (*create.mutable_tags())[k] = v;
  Batch b;
  absl::StatusOr<std::string> id = StartLocked(b, create);
  if (!id.ok()) return done(id.status());
  b.done.push_back([done = std::move(done), id = *id](absl::Status st) mutable {
    if (st.ok()) {
      done(id);
    } else {
      done(st);
    }
  });
  Submit(std::move(b));
  Pump();
}

void Engine::Query(const InstanceQuery& q, DoneWith<QueryInstancesResponse> done) {
  storage::InstanceFilter f;
  for (int s : q.runtimestatus()) f.statuses.push_back(static_cast<OrchestrationStatus>(s));
  if (q.has_createdtimefrom()) f.created_from = FromProto(q.createdtimefrom());
  if (q.has_createdtimeto()) f.created_to = FromProto(q.createdtimeto());
  if (q.has_instanceidprefix()) f.id_prefix = q.instanceidprefix().value();
  f.page_size = q.maxinstancecount() > 0 ? std::min(q.maxinstancecount(), kMaxPageSize) : 100;
  if (q.has_continuationtoken()) f.continuation = q.continuationtoken().value();
  const bool payloads = q.fetchinputsandoutputs();
  AfterDurable([this, f, payloads, done = std::move(done)](absl::Status st) mutable {
    if (!st.ok()) return done(st);
    absl::StatusOr<storage::InstancePage> page = backend_->QueryInstances(f);
    if (!page.ok()) return done(page.status());
    QueryInstancesResponse resp;
    for (const auto& rec : page->records) {
      *resp.add_orchestrationstate() = core::ToOrchestrationState(rec, payloads);
    }
    if (!page->continuation.empty()) resp.mutable_continuationtoken()->set_value(page->continuation);
    done(resp);
  });
}

void Engine::ListInstanceIds(const ListInstanceIdsRequest& req,
                             DoneWith<ListInstanceIdsResponse> done) {
  storage::InstanceFilter f;
  std::optional<std::vector<OrchestrationStatus>> statuses = TerminalOnly(req.runtimestatus());
  if (!statuses) return done(ListInstanceIdsResponse());  // ids of finished instances only
  f.statuses = *statuses;
  if (req.has_completedtimefrom()) f.completed_from = FromProto(req.completedtimefrom());
  if (req.has_completedtimeto()) f.completed_to = FromProto(req.completedtimeto());
  f.page_size = req.pagesize() > 0 ? std::min(req.pagesize(), kMaxPageSize) : 100;
  if (req.has_lastinstancekey()) f.continuation = req.lastinstancekey().value();
  AfterDurable([this, f, done = std::move(done)](absl::Status st) mutable {
    if (!st.ok()) return done(st);
    absl::StatusOr<storage::InstancePage> page = backend_->QueryInstances(f);
    if (!page.ok()) return done(page.status());
    ListInstanceIdsResponse resp;
    for (const auto& rec : page->records) resp.add_instanceids(rec.instance_id());
    if (!page->continuation.empty()) resp.mutable_lastinstancekey()->set_value(page->continuation);
    done(resp);
  });
}

void Engine::GetHistory(const std::string& id, DoneWith<std::vector<HistoryEvent>> done) {
  AfterDurable([this, id, done = std::move(done)](absl::Status st) mutable {
    if (st.ok()) st = core::ValidateInstanceId("instanceId", id);
    if (!st.ok()) return done(st);
    auto rec = backend_->GetInstance(id);
    if (!rec.ok()) return done(rec.status());
    if (!rec->has_value()) return done(NotFound(id));
    done(backend_->GetHistory(id));
  });
}

void Engine::DeleteTaskHub(Done done) {
  absl::MutexLock l(&mu_);
  if (absl::Status open = CheckOpen(); !open.ok()) return done(open);
  for (auto& [id, live] : live_) {
    timers_.Cancel(live->wake_timer);
    timers_.Cancel(live->lease_timer);
  }
  for (auto& [seq, act] : activities_) {
    timers_.Cancel(act->wake_timer);
    timers_.Cancel(act->lease_timer);
  }
  for (auto& [id, s] : streams_) {
    s->orch = 0;
    s->act = 0;
    s->tokens.clear();
  }
  live_.clear();
  activities_.clear();
  activities_of_.clear();
  ready_orch_.clear();
  ready_act_.clear();
  orch_tokens_.clear();
  act_tokens_.clear();
  history_lru_.clear();
  cached_events_ = 0;
  pending_.clear();
  Batch b;
  b.ws.ops.push_back(storage::DeleteEverything{});
  b.done.push_back(std::move(done));
  Submit(std::move(b));
  Logger("engine")->warn("task hub deleted");
}

}  // namespace taskhub::engine
