// Partition: client commands (start, raise, terminate, suspend, resume, rewind) and
// the deletions of purges. Each looks the instance up (store reads without mu_),
// decides under mu_ and queues one write; `done` runs after the lock is released
// (directly for errors, on the committer thread once the write is durable).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/core/validation.h"
#include "server/engine/partition.h"
#include "server/engine/partition_internal.h"

namespace taskhub::engine {

using core::FromProto;
using core::ToProto;

namespace {
absl::Status NotFound(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("no orchestration instance with id '", id, "'"));
}
absl::Status WrongState(const std::string& id, OrchestrationStatus s, absl::string_view need) {
  return absl::FailedPreconditionError(absl::StrCat("instance '", id, "' is ",
                                                    core::StatusName(s), "; ", need));
}
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

absl::StatusOr<std::string> Partition::StartLocked(Batch& b, const CreateInstanceRequest& req,
                                                   const std::string& id, const Found& found) {
  RETURN_IF_ERROR(found.error);
  const bool has_policy = req.has_orchestrationidreusepolicy();
  auto replaceable = [&](OrchestrationStatus s) {
    const auto& r = req.orchestrationidreusepolicy().replaceablestatus();
    return std::find(r.begin(), r.end(), s) != r.end();
  };
  if (Live* live = found.live) {
    if (!has_policy || !replaceable(live->rec.status())) {
      return absl::AlreadyExistsError(absl::StrCat("an orchestration with instance id '", id,
                                                   "' already exists and is ",
                                                   core::StatusName(live->rec.status())));
    }
    // Replace a live instance: drop it without notifying anyone.
    if (live->stored) b.ws.ops.push_back(storage::DeleteInstance{id, *live->stored});
    Forget(b, *live, std::nullopt);
  } else if (found.rec) {
    if (has_policy && !replaceable(found.rec->status())) {
      return absl::AlreadyExistsError(absl::StrCat("an orchestration with instance id '", id,
                                                   "' already exists and is ",
                                                   core::StatusName(found.rec->status())));
    }
    DeleteStored(b, *found.rec);
  }
  const absl::Time now = ctx_.clock->Now();
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
                           : ctx_.ids->NewId());
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

void Partition::Start(const CreateInstanceRequest& req, DoneWith<std::string> done) {
  absl::Status error;
  {
    absl::MutexLock l(&mu_);
    error = CheckOpen();
    if (error.ok()) {
      const std::string id = req.instanceid();
      Found found = Lookup(id);
      Batch b;
      absl::StatusOr<std::string> started = StartLocked(b, req, id, found);
      if (started.ok()) {
        b.done.push_back([done = std::move(done), id](absl::Status st) mutable {
          if (st.ok()) {
            done(id);
          } else {
            done(st);
          }
        });
        Submit(std::move(b));
        PumpLocked();
        return;
      }
      error = started.status();
    }
  }
  done(error);
}

void Partition::Control(const std::string& id, bool finished_is_error, absl::string_view need,
                        absl::FunctionRef<void(Batch&, Live&)> body, Done done) {
  absl::Status reply;
  {
    absl::MutexLock l(&mu_);
    reply = CheckOpen();
    if (reply.ok()) {
      Found f = Lookup(id);
      if (!f.error.ok()) {
        reply = f.error;
      } else if (f.live != nullptr) {
        Batch b;
        body(b, *f.live);
        if (!b.ws.empty()) {
          b.done.push_back(std::move(done));
          Submit(std::move(b));
          PumpLocked();
          return;
        }
      } else if (!f.rec) {
        reply = NotFound(id);
      } else if (finished_is_error) {
        reply = WrongState(id, f.rec->status(), need);
      }
    }
  }
  done(reply);
}

void Partition::RaiseEvent(const RaiseEventRequest& req, Done done) {
  // Finished instances ignore events.
  Control(
      req.instanceid(), false, "",
      [&](Batch& b, Live& live) {
        HistoryEvent ev = core::NewEvent(ctx_.clock->Now());
        ev.mutable_eventraised()->set_name(req.name());
        if (req.has_input()) *ev.mutable_eventraised()->mutable_input() = req.input();
        AddInbox(b, live, std::move(ev));
      },
      std::move(done));
}

void Partition::Terminate(const TerminateRequest& req, Done done) {
  // Terminating a finished instance does nothing.
  Control(
      req.instanceid(), false, "",
      [&](Batch& b, Live& live) {
        HistoryEvent ev = core::NewEvent(ctx_.clock->Now());
        if (req.has_output()) *ev.mutable_executionterminated()->mutable_input() = req.output();
        ev.mutable_executionterminated()->set_recurse(req.recursive());
        AddInbox(b, live, std::move(ev));
        // Don't wait for an episode in flight: its completion will be ignored.
        if (live.in_flight()) ReleaseOrchestration(live, absl::ZeroDuration());
      },
      std::move(done));
}

void Partition::Suspend(const SuspendRequest& req, Done done) {
  Control(
      req.instanceid(), true, "the instance has already finished",
      [&](Batch& b, Live& live) {
        if (EffectivelySuspended(live.rec.status(), live.inbox)) return;
        HistoryEvent ev = core::NewEvent(ctx_.clock->Now());
        ev.mutable_executionsuspended();
        if (req.has_reason()) *ev.mutable_executionsuspended()->mutable_input() = req.reason();
        AddInbox(b, live, std::move(ev));
      },
      std::move(done));
}

void Partition::Resume(const ResumeRequest& req, Done done) {
  // Resuming an instance that is not suspended is a no-op.
  Control(
      req.instanceid(), true, "the instance has already finished",
      [&](Batch& b, Live& live) {
        if (!EffectivelySuspended(live.rec.status(), live.inbox)) return;
        HistoryEvent ev = core::NewEvent(ctx_.clock->Now());
        ev.mutable_executionresumed();
        if (req.has_reason()) *ev.mutable_executionresumed()->mutable_input() = req.reason();
        AddInbox(b, live, std::move(ev));
      },
      std::move(done));
}

void Partition::Rewind(const RewindInstanceRequest& req, Done done) {
  const std::string& id = req.instanceid();
  absl::Status reply;
  {
    absl::MutexLock l(&mu_);
    reply = CheckOpen();
    if (reply.ok()) {
      Found f = Lookup(id);
      if (!f.error.ok()) {
        reply = f.error;
      } else if (f.live != nullptr) {
        reply = WrongState(id, f.live->rec.status(), "only FAILED instances can be rewound");
      } else if (!f.rec) {
        reply = NotFound(id);
      } else if (f.rec->status() != ORCHESTRATION_STATUS_FAILED) {
        reply = WrongState(id, f.rec->status(), "only FAILED instances can be rewound");
      } else {
        Batch b;
        HistoryEvent ev;
        ev.mutable_executionrewound();
        if (req.has_reason()) *ev.mutable_executionrewound()->mutable_reason() = req.reason();
        RewindLocked(b, std::move(*f.rec), ev);
        b.done.push_back(std::move(done));
        Submit(std::move(b));
        PumpLocked();
        return;
      }
    }
  }
  done(reply);
}

absl::StatusOr<store::InstanceRecord> Partition::FinishedRecord(const std::string& id) {
  absl::MutexLock l(&mu_);
  RETURN_IF_ERROR(CheckOpen());
  Found f = Lookup(id);
  RETURN_IF_ERROR(f.error);
  if (f.live != nullptr) {
    return WrongState(id, f.live->rec.status(), "only finished instances can be restarted");
  }
  if (!f.rec) return NotFound(id);
  return std::move(*f.rec);
}

void Partition::DeleteFinished(std::vector<std::pair<std::string, std::string>> ids,
                               DoneWith<std::vector<store::InstanceRecord>> done) {
  absl::Status reply;
  {
    absl::MutexLock l(&mu_);
    reply = CheckOpen();
    if (reply.ok()) {
      std::vector<std::string> keys;
      for (const auto& [id, parent] : ids) keys.push_back(id);
      std::vector<Found> found = Lookup(keys);
      Batch b;
      std::vector<store::InstanceRecord> deleted;
      for (size_t i = 0; i < ids.size() && reply.ok(); ++i) {
        // Only finished instances are purged; a running one counts as zero deleted
        // (what the SDKs document for purge by id).
        const Found& f = found[i];
        if (!f.error.ok()) reply = f.error;
        if (!reply.ok() || f.live != nullptr || !f.rec) continue;
        const std::string& parent = ids[i].second;
        if (!parent.empty() && f.rec->parent().orchestrationinstance().instanceid() != parent) {
          continue;  // not our child (an id reused by an unrelated instance)
        }
        DeleteStored(b, *f.rec);
        deleted.push_back(std::move(*f.rec));
      }
      if (reply.ok()) {
        b.done.push_back([done = std::move(done), deleted = std::move(deleted)](
                             absl::Status st) mutable {
          if (st.ok()) {
            done(std::move(deleted));
          } else {
            done(st);
          }
        });
        Submit(std::move(b));
        return;
      }
    }
  }
  done(reply);
}

}  // namespace taskhub::engine
