#include "tests/sim/sim_invariants.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/core/history.h"

namespace taskhub::sim {
namespace {

absl::Status Bad(const store::InstanceRecord& rec, size_t index, absl::string_view what) {
  return absl::InternalError(absl::StrCat("history of '", rec.instance_id(), "' (execution ",
                                          rec.execution_id(), ") event #", index, ": ", what));
}

bool SameState(const store::InstanceRecord& a, const store::InstanceRecord& b) {
  return a.status() == b.status() && a.execution_id() == b.execution_id() &&
         a.history_size() == b.history_size() && a.output().value() == b.output().value();
}

}  // namespace

absl::StatusOr<Snapshot> TakeSnapshot(storage::MemoryBackend& backend) {
  Snapshot s;
  storage::InstanceFilter all;
  all.page_size = 1 << 20;
  ASSIGN_OR_RETURN(storage::InstancePage page, backend.QueryInstances(all));
  for (auto& rec : page.records) {
    const std::string id = rec.instance_id();
    ASSIGN_OR_RETURN(s.histories[id], backend.GetHistory(id));
    s.records[id] = std::move(rec);
  }
  ASSIGN_OR_RETURN(storage::RecoveryState rs, backend.LoadRecoveryState());
  for (auto& item : rs.inbox) s.inboxes[item.instance_id].push_back(std::move(item.event));
  s.activities = rs.activities.size();
  s.timers = rs.timers.size();
  return s;
}

absl::Status CheckHistory(const store::InstanceRecord& rec, const std::vector<HistoryEvent>& h,
                          bool rewind_pending) {
  if (rec.history_size() != h.size()) {
    return Bad(rec, h.size(), absl::StrCat("record says history_size ", rec.history_size(),
                                           ", the store holds ", h.size(), " events"));
  }
  const bool terminal = core::IsTerminal(rec.status());
  if (h.empty()) {
    if (terminal) return Bad(rec, 0, "terminal instance with an empty history");
    return absl::OkStatus();
  }
  if (!h[0].has_orchestratorstarted()) {
    return Bad(rec, 0, "does not start with OrchestratorStarted");
  }
  if (h.size() < 2 || !h[1].has_executionstarted()) {
    return Bad(rec, 1, "the first episode does not deliver ExecutionStarted first");
  }
  std::set<int> confirmed, tasks, timers, children;
  std::set<int> task_results, timer_results, child_results;
  int completed_at = -1;
  bool terminated = false;
  for (size_t i = 0; i < h.size(); ++i) {
    const HistoryEvent& e = h[i];
    if (completed_at >= 0 && !e.has_orchestratorcompleted()) {
      return Bad(rec, i, "an event after ExecutionCompleted");
    }
    if (i > 1 && e.has_executionstarted()) return Bad(rec, i, "a second ExecutionStarted");
    if (e.has_taskscheduled() || e.has_timercreated() || e.has_suborchestrationinstancecreated() ||
        e.has_eventsent()) {
      if (!confirmed.insert(e.eventid()).second) {
        return Bad(rec, i, absl::StrCat("action id ", e.eventid(), " confirmed twice"));
      }
      if (e.has_taskscheduled()) tasks.insert(e.eventid());
      if (e.has_timercreated()) timers.insert(e.eventid());
      if (e.has_suborchestrationinstancecreated()) children.insert(e.eventid());
    }
    auto result = [&](const std::set<int>& actions, std::set<int>& results, int id,
                      absl::string_view what) -> absl::Status {
      if (!actions.count(id)) {
        return Bad(rec, i, absl::StrCat(what, " for ", id, ", which was never scheduled"));
      }
      if (!results.insert(id).second) {
        return Bad(rec, i, absl::StrCat(what, " for ", id, " applied twice"));
      }
      return absl::OkStatus();
    };
    if (e.has_taskcompleted()) {
      RETURN_IF_ERROR(result(tasks, task_results, e.taskcompleted().taskscheduledid(),
                             "TaskCompleted"));
    } else if (e.has_taskfailed()) {
      RETURN_IF_ERROR(result(tasks, task_results, e.taskfailed().taskscheduledid(), "TaskFailed"));
    } else if (e.has_timerfired()) {
      RETURN_IF_ERROR(result(timers, timer_results, e.timerfired().timerid(), "TimerFired"));
    } else if (e.has_suborchestrationinstancecompleted()) {
      RETURN_IF_ERROR(result(children, child_results,
                             e.suborchestrationinstancecompleted().taskscheduledid(),
                             "SubOrchestrationInstanceCompleted"));
    } else if (e.has_suborchestrationinstancefailed()) {
      RETURN_IF_ERROR(result(children, child_results,
                             e.suborchestrationinstancefailed().taskscheduledid(),
                             "SubOrchestrationInstanceFailed"));
    } else if (e.has_executionterminated()) {
      terminated = true;
    } else if (e.has_executioncompleted()) {
      completed_at = static_cast<int>(i);
      const auto& c = e.executioncompleted();
      if (c.orchestrationstatus() != rec.status() && !rewind_pending) {
        return Bad(rec, i,
                   absl::StrCat("ExecutionCompleted(", core::StatusName(c.orchestrationstatus()),
                                ") but the record is ", core::StatusName(rec.status())));
      }
      if (c.orchestrationstatus() == ORCHESTRATION_STATUS_TERMINATED && !terminated) {
        return Bad(rec, i, "TERMINATED without ExecutionTerminated");
      }
      if (c.result().value() != rec.output().value() && !rewind_pending) {
        return Bad(rec, i, "ExecutionCompleted's result differs from the record's output");
      }
    }
  }
  if (terminal && completed_at < 0) {
    return Bad(rec, h.size(), absl::StrCat("record is ", core::StatusName(rec.status()),
                                           " but the history has no ExecutionCompleted"));
  }
  if (!terminal && completed_at >= 0 && !rewind_pending) {
    return Bad(rec, completed_at, absl::StrCat("ExecutionCompleted but the record is ",
                                               core::StatusName(rec.status())));
  }
  return absl::OkStatus();
}

bool InvariantChecker::ResetAllowed(const std::string& id, const store::InstanceRecord& old,
                                    const Snapshot& snap) const {
  if (allow_reset_.count(id)) return true;
  if (!old.has_parent()) return false;
  const std::string& parent = old.parent().orchestrationinstance().instanceid();
  if (allow_reset_.count(parent)) return true;
  // A child of an execution that is no longer current may be re-created or purged.
  auto it = snap.records.find(parent);
  return it == snap.records.end() ||
         it->second.execution_id() != old.parent().orchestrationinstance().executionid().value();
}

absl::Status InvariantChecker::CheckStaysTerminal(const Snapshot& snap) {
  for (const auto& [id, old] : last_) {
    if (!core::IsTerminal(old.status())) continue;
    auto it = snap.records.find(id);
    const store::InstanceRecord* now = it == snap.records.end() ? nullptr : &it->second;
    if (now != nullptr && SameState(old, *now)) continue;
    if (!ResetAllowed(id, old, snap)) {
      return absl::InternalError(absl::StrCat(
          "terminal instance '", id, "' (", core::StatusName(old.status()), ", execution ",
          old.execution_id(), ") changed without a restart or purge: now ",
          now == nullptr ? "gone"
                         : absl::StrCat(core::StatusName(now->status()), ", execution ",
                                        now->execution_id(), ", history_size ",
                                        now->history_size())));
    }
  }
  return absl::OkStatus();
}

absl::Status InvariantChecker::CheckAckedEvents(const Snapshot& snap) {
  std::vector<AckedEvent> keep;
  for (auto& ev : acked_) {
    auto it = snap.records.find(ev.instance_id);
    if (it == snap.records.end() || it->second.execution_id() != ev.execution_id ||
        core::IsTerminal(it->second.status())) {
      continue;  // the execution ended or moved on: the event may be gone with it
    }
    auto has = [&](const std::map<std::string, std::vector<HistoryEvent>>& m) {
      auto e = m.find(ev.instance_id);
      if (e == m.end()) return false;
      return std::any_of(e->second.begin(), e->second.end(), [&](const HistoryEvent& h) {
        return h.has_eventraised() && h.eventraised().name() == ev.name &&
               h.eventraised().input().value() == ev.data;
      });
    };
    if (!has(snap.inboxes) && !has(snap.histories)) {
      return absl::InternalError(absl::StrCat(
          "acknowledged event '", ev.name, "' (", ev.data, ") of '", ev.instance_id,
          "' (execution ", ev.execution_id, ", ",
          core::StatusName(it->second.status()), ") is in neither its inbox nor its history"));
    }
    keep.push_back(std::move(ev));
  }
  acked_ = std::move(keep);
  return absl::OkStatus();
}

absl::Status InvariantChecker::CheckAfterCrash(const Snapshot& snap) {
  std::vector<AckedEvent> events = std::move(immediate_);
  immediate_.clear();
  for (const auto& ev : events) {
    auto it = snap.records.find(ev.instance_id);
    if (it == snap.records.end() || it->second.execution_id() != ev.execution_id ||
        core::IsTerminal(it->second.status())) {
      continue;
    }
    auto has = [&](const std::map<std::string, std::vector<HistoryEvent>>& m) {
      auto e = m.find(ev.instance_id);
      return e != m.end() &&
             std::any_of(e->second.begin(), e->second.end(), [&](const HistoryEvent& h) {
               return h.has_eventraised() && h.eventraised().input().value() == ev.data;
             });
    };
    if (!has(snap.inboxes) && !has(snap.histories)) {
      return absl::InternalError(absl::StrCat(
          "event '", ev.name, "' (", ev.data, ") to '", ev.instance_id,
          "' was acknowledged at once as sent to a finished instance, but after the crash "
          "the instance is ", core::StatusName(it->second.status()), " (execution ",
          ev.execution_id, ") without it: its end was not durable when the event was "
          "acknowledged, and the event is lost"));
    }
  }
  return absl::OkStatus();
}

absl::Status InvariantChecker::Check(const Snapshot& snap) {
  for (const auto& [id, rec] : snap.records) {
    bool rewind_pending = false;
    if (auto in = snap.inboxes.find(id); in != snap.inboxes.end()) {
      rewind_pending = std::any_of(in->second.begin(), in->second.end(),
                                   [](const HistoryEvent& e) { return e.has_executionrewound(); });
    }
    RETURN_IF_ERROR(CheckHistory(rec, snap.histories.at(id), rewind_pending));
  }
  RETURN_IF_ERROR(CheckStaysTerminal(snap));
  RETURN_IF_ERROR(CheckAckedEvents(snap));
  last_ = snap.records;
  for (const auto& id : reset_done_) {
    if (--allow_reset_[id] <= 0) allow_reset_.erase(id);
  }
  reset_done_.clear();
  return absl::OkStatus();
}

}  // namespace taskhub::sim
