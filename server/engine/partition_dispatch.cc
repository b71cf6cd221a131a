// Partition: ready queues and dispatch of episodes and activity tasks through the
// Dispatcher, leases, abandons and redelivery, durable timers.
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/core/entity.h"
#include "server/core/record.h"
#include "server/engine/partition.h"
#include "server/engine/partition_internal.h"

namespace taskhub::engine {

void Partition::MarkReady(const std::string& id) {
  Live* live = FindLive(id);
  if (live == nullptr || live->queued) return;
  live->queued = true;
  (core::IsEntity(live->rec) ? ready_ent_ : ready_orch_).push_back(id);
}

void Partition::QueueActivity(Activity& act) {
  if (act.queued) return;
  act.queued = true;
  ready_act_.push_back(act.seq);
}

absl::Duration Partition::AbandonDelay(int attempts) const {
  const EngineOptions& o = *ctx_.options;
  absl::Duration d = o.abandon_delay;
  for (int i = 1; i < attempts && d < o.max_abandon_delay; ++i) d *= 2;
  return std::min(d, o.max_abandon_delay);
}

void Partition::WakeAt(Live& live, absl::Time when) {
  ctx_.timers->Cancel(live.wake_timer);
  const std::string id = live.rec.instance_id();
  live.wake_timer = ctx_.timers->Schedule(when, [this, id] {
    absl::MutexLock l(&mu_);
    if (Live* lv = FindLive(id)) {
      lv->wake_timer = 0;
      MarkReady(id);
      PumpLocked();
    }
  });
}

void Partition::Pump() {
  absl::MutexLock l(&mu_);
  PumpLocked();
}

void Partition::PumpLocked() {
  if (shutting_down_) return;
  const absl::Time now = ctx_.clock->Now();
  Dispatcher& d = *ctx_.dispatcher;
  // Skip a whole kind when no stream has room for it (keeps a pump O(streams) while
  // work waits for capacity).
  bool orch_room = d.HasRoom(WorkKind::kOrchestration);
  for (size_t n = ready_orch_.size(); n > 0; --n) {
    std::string id = std::move(ready_orch_.front());
    ready_orch_.pop_front();
    Live* live = FindLive(id);
    if (live == nullptr) continue;
    live->queued = false;
    if (live->in_flight()) continue;
    const core::NextStep next = core::Next(StateOf(*live));
    if (next == core::NextStep::kIdle) continue;
    if (next == core::NextStep::kTerminate) {
      if (!live->history_loaded) {
        LoadHistory(*live);  // marks it ready again when loaded
      } else {
        TerminateNow(*live);
      }
      continue;
    }
    if (live->not_before > now) {
      WakeAt(*live, live->not_before);
      continue;
    }
    if (orch_room && !live->history_loaded) {
      LoadHistory(*live);
      continue;
    }
    if (!orch_room || !TryDispatchOrchestration(*live)) {
      live->queued = true;
      ready_orch_.push_back(std::move(id));
      orch_room = d.HasRoom(WorkKind::kOrchestration);
      if (!orch_room) break;  // the rest keeps its place at the front of the queue
    }
  }
  bool act_room = d.HasRoom(WorkKind::kActivity);
  for (size_t n = ready_act_.size(); n > 0; --n) {
    const uint64_t seq = ready_act_.front();
    ready_act_.pop_front();
    auto it = activities_.find(seq);
    if (it == activities_.end()) continue;
    Activity& act = *it->second;
    act.queued = false;
    if (act.in_flight()) continue;
    if (act.not_before > now) {
      ctx_.timers->Cancel(act.wake_timer);
      act.wake_timer = ctx_.timers->Schedule(act.not_before, [this, seq] {
        absl::MutexLock l(&mu_);
        auto a = activities_.find(seq);
        if (a == activities_.end() || a->second->queued) return;
        a->second->wake_timer = 0;
        QueueActivity(*a->second);
        PumpLocked();
      });
      continue;
    }
    if (!act_room || !TryDispatchActivity(act)) {
      QueueActivity(act);
      act_room = d.HasRoom(WorkKind::kActivity);
      if (!act_room) break;
    }
  }
  PumpEntities(now);
}

bool Partition::TryDispatchOrchestration(Live& live) {
  const absl::Time now = ctx_.clock->Now();
  const std::string id = live.rec.instance_id();
  core::EpisodeOpen episode = core::OpenEpisode(StateOf(live), now);
  TokenOwner owner{WorkKind::kOrchestration, index_, id, 0, ""};
  std::optional<std::string> token = ctx_.dispatcher->Dispatch(
      WorkKind::kOrchestration, live.rec.name(), live.rec.version().value(), owner,
      [&](WorkItem* wi) {
        auto* req = wi->mutable_orchestratorrequest();
        req->set_instanceid(id);
        req->mutable_executionid()->set_value(live.rec.execution_id());
        req->mutable_pastevents()->Reserve(static_cast<int>(live.history.size()));
        for (const auto& e : live.history) *req->add_pastevents() = e;
        for (const auto& e : episode.new_events) *req->add_newevents() = e;
        if (live.rec.has_trace_context()) {
          *req->mutable_orchestrationtracecontext() = live.rec.trace_context();
        }
      });
  if (!token) return false;
  live.token = *token;
  live.dispatched = episode.dispatched;
  live.new_events = std::move(episode.new_events);
  if (!std::exchange(live.cold, false)) ctx_.metrics->history_cache_hits.fetch_add(1);
  TouchHistory(live);
  ScheduleLease(live, now + ctx_.options->orchestration_lease, "episode");
  return true;
}

void Partition::ScheduleLease(Live& live, absl::Time deadline, const char* what) {
  live.lease_timer = ctx_.timers->Schedule(
      deadline, [this, what, id = live.rec.instance_id(), token = live.token] {
        absl::MutexLock l(&mu_);
        Live* lv = FindLive(id);
        if (lv == nullptr || lv->token != token) return;
        Logger("engine")->warn("{} of '{}'{} not completed within the lease; redelivering", what,
                               id, core::TraceNote(lv->rec.trace_parent()));
        ReleaseOrchestration(*lv, AbandonDelay(++lv->abandons), WorkOutcome::kLeaseExpired);
        PumpLocked();
      });
}

bool Partition::TryDispatchActivity(Activity& act) {
  const auto& r = act.task.request();
  TokenOwner owner{WorkKind::kActivity, index_, act.task.instance_id(), act.seq, ""};
  std::optional<std::string> token =
      ctx_.dispatcher->Dispatch(WorkKind::kActivity, r.name(), r.version().value(), owner,
                                [&](WorkItem* wi) { *wi->mutable_activityrequest() = r; });
  if (!token) return false;
  act.token = *token;
  if (ctx_.options->activity_lease > absl::ZeroDuration()) {
    act.lease_timer = ctx_.timers->Schedule(
        ctx_.clock->Now() + ctx_.options->activity_lease, [this, seq = act.seq, token = act.token] {
          absl::MutexLock l(&mu_);
          auto it = activities_.find(seq);
          if (it == activities_.end() || it->second->token != token) return;
          Logger("engine")->warn(
              "activity task {} of '{}'{} not completed within the lease", seq,
              it->second->task.instance_id(),
              core::TraceNote(it->second->task.request().parenttracecontext().traceparent()));
          ReleaseActivity(*it->second, AbandonDelay(++it->second->abandons),
                          WorkOutcome::kLeaseExpired);
          PumpLocked();
        });
  }
  return true;
}

void Partition::ReleaseOrchestration(Live& live, absl::Duration delay, WorkOutcome outcome) {
  ctx_.dispatcher->Release(live.token, outcome);
  ctx_.timers->Cancel(live.lease_timer);
  live.lease_timer = 0;
  live.token.clear();
  live.dispatched = 0;
  live.new_events.clear();
  live.batch_positions.clear();
  live.batch_ops.clear();
  if (delay > absl::ZeroDuration()) live.not_before = ctx_.clock->Now() + delay;
  MarkReady(live.rec.instance_id());
}

void Partition::ReleaseActivity(Activity& act, absl::Duration delay, WorkOutcome outcome) {
  ctx_.dispatcher->Release(act.token, outcome);
  ctx_.timers->Cancel(act.lease_timer);
  act.lease_timer = 0;
  act.token.clear();
  if (delay > absl::ZeroDuration()) act.not_before = ctx_.clock->Now() + delay;
  QueueActivity(act);
}

void Partition::Abandon(const std::string& token, const TokenOwner& owner) {
  absl::MutexLock l(&mu_);
  if (owner.kind != WorkKind::kActivity) {  // an episode or an entity batch
    Live* live = FindLive(owner.instance_id);
    if (live == nullptr || live->token != token) return;
    ReleaseOrchestration(*live, AbandonDelay(++live->abandons), WorkOutcome::kAbandoned);
  } else {
    auto it = activities_.find(owner.seq);
    if (it == activities_.end() || it->second->token != token) return;
    ReleaseActivity(*it->second, AbandonDelay(++it->second->abandons), WorkOutcome::kAbandoned);
  }
  PumpLocked();
}

void Partition::Redeliver(const std::vector<TokenOwner>& owners) {
  absl::MutexLock l(&mu_);
  for (const auto& o : owners) {
    if (o.kind != WorkKind::kActivity) {
      Live* live = FindLive(o.instance_id);
      if (live != nullptr && live->token == o.token) {
        // The dispatcher already forgot the token; release the local state.
        ReleaseOrchestration(*live, absl::ZeroDuration());
      }
    } else {
      auto it = activities_.find(o.seq);
      if (it != activities_.end() && it->second->token == o.token) {
        ReleaseActivity(*it->second, absl::ZeroDuration());
      }
    }
  }
  PumpLocked();
}

// --- durable timers -------------------------------------------------------------

void Partition::RegisterTimer(int64_t fire_us, uint64_t seq, const store::TimerRecord& t,
                              uint64_t gen) {
  ctx_.metrics->durable_timers.fetch_add(1);
  ctx_.timers->Schedule(absl::FromUnixMicros(fire_us),
                        [this, fire_us, seq, t, gen] { FireTimer(fire_us, seq, t, gen); });
}

void Partition::FireTimer(int64_t fire_us, uint64_t seq, store::TimerRecord t, uint64_t gen) {
  ctx_.metrics->durable_timers.fetch_sub(1);
  absl::MutexLock l(&mu_);
  if (shutting_down_ || gen != hub_gen_) return;  // a deleted task hub's timer
  Batch b;
  b.ws.ops.push_back(storage::DeleteTimer{fire_us, seq});
  if (t.has_message()) {
    DeliverDelayed(b, t.message());
  } else if (Live* live = FindLive(t.instance_id())) {
    core::Transition tr =
        core::TimerFired(StateOf(*live), t.execution_id(), t.event(), ctx_.clock->Now());
    if (!tr.empty()) Apply(b, tr, nullptr, {});
  }
  Submit(std::move(b));
  PumpLocked();
}

void Partition::TerminateNow(Live& live) {
  core::Transition t = core::TerminateNow(StateOf(live), ctx_.clock->Now());
  if (t.empty()) return;
  Batch b;
  Apply(b, t, nullptr, {});
  Submit(std::move(b));
}

}  // namespace taskhub::engine
