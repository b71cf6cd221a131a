// Partition infrastructure: recovery, lookups, batching, the instance table and the
// history cache.
#include "server/engine/partition.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/core/entity.h"
#include "server/core/record.h"
#include "server/engine/partition_internal.h"

namespace taskhub::engine {

using core::FromProto;

Partition::Partition(int index, EngineContext ctx) : index_(index), ctx_(ctx) {}
Partition::~Partition() = default;

void Partition::Recover(storage::RecoveryState& st) {
  absl::MutexLock l(&mu_);
  for (auto& rec : st.live_instances) {
    auto live = std::make_unique<Live>();
    live->stored = storage::IndexedFields::Of(rec);
    live->history_loaded = core::IsEntity(rec);  // an entity keeps no history
    if (rec.has_scheduled_start_time()) live->not_before = FromProto(rec.scheduled_start_time());
    live->rec = std::move(rec);
    live_[live->rec.instance_id()] = std::move(live);
  }
  Batch cleanup;
  for (auto& item : st.inbox) {
    Live* live = FindLive(item.instance_id);
    if (live == nullptr) {
      cleanup.ws.ops.push_back(storage::DeleteInbox{item.instance_id, item.seq});
      continue;
    }
    live->inbox.emplace_back(item.seq, std::move(item.event));
  }
  for (auto& item : st.activities) {
    Live* live = FindLive(item.task.instance_id());
    if (live == nullptr || live->rec.execution_id() != item.task.execution_id()) {
      cleanup.ws.ops.push_back(storage::DeleteActivity{item.seq});
      continue;
    }
    auto act = std::make_unique<Activity>();
    act->seq = item.seq;
    act->task = std::move(item.task);
    act->queued = true;
    ready_act_.push_back(item.seq);
    activities_of_[act->task.instance_id()].insert(item.seq);
    activities_[item.seq] = std::move(act);
  }
  for (auto& t : st.timers) RegisterTimer(t.fire_us, t.seq, t.timer, hub_gen_);
  // In id order, so a recovery is deterministic.
  std::vector<std::string> ids;
  for (auto& [id, live] : live_) {
    if (!live->inbox.empty() || live->rec.force_episode()) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  for (const auto& id : ids) MarkReady(id);
  if (!cleanup.ws.empty()) Submit(std::move(cleanup));
}

void Partition::BeginShutdown() {
  absl::MutexLock l(&mu_);
  shutting_down_ = true;
}

absl::Status Partition::CheckOpen() {
  if (shutting_down_) return absl::UnavailableError("the server is shutting down");
  return absl::OkStatus();
}

Partition::Counts Partition::Stats() {
  absl::MutexLock l(&mu_);
  return Counts{live_.size(), ready_orch_.size() + ready_ent_.size(), activities_.size(),
                cached_events_, ready_ent_.size()};
}

// --- lookups ----------------------------------------------------------------------

Partition::Live* Partition::FindLive(const std::string& id) {
  auto it = live_.find(id);
  return it == live_.end() ? nullptr : it->second.get();
}

std::vector<Partition::Found> Partition::Lookup(const std::vector<std::string>& ids) {
  std::vector<Found> out(ids.size());
  for (;;) {
    std::vector<size_t> unread;
    for (size_t i = 0; i < ids.size(); ++i) {
      out[i] = Found{};
      if (Live* live = FindLive(ids[i])) {
        out[i].live = live;
      } else if (auto it = pending_.find(ids[i]); it != pending_.end()) {
        out[i].rec = it->second.rec;
      } else {
        unread.push_back(i);
      }
    }
    if (unread.empty()) return out;
    // Read the store without the lock. A change of one of these ids made meanwhile
    // is either still in memory (live_/pending_, checked again below) or already
    // cleared from pending_, which bumps store_gen_: then read again.
    const uint64_t gen = store_gen_;
    std::vector<absl::StatusOr<std::optional<store::InstanceRecord>>> read;
    mu_.Unlock();
    for (size_t i : unread) read.push_back(ctx_.backend->GetInstance(ids[i]));
    mu_.Lock();
    if (gen != store_gen_) continue;
    bool changed = false;
    for (size_t i : unread) changed |= FindLive(ids[i]) != nullptr || pending_.contains(ids[i]);
    if (changed) continue;
    for (size_t k = 0; k < unread.size(); ++k) {
      Found& f = out[unread[k]];
      if (read[k].ok()) {
        f.rec = std::move(*read[k]);
      } else {
        f.error = read[k].status();
      }
    }
    return out;
  }
}

// --- batching -------------------------------------------------------------------

void Partition::PutRecord(Batch& b, Live& live) {
  NoteLifecycle(b, live);
  b.ws.ops.push_back(storage::PutInstance{live.rec, live.stored});
  live.stored = storage::IndexedFields::Of(live.rec);
  b.changed.push_back(live.rec);
}

void Partition::AddInbox(Batch& b, Live& live, HistoryEvent ev) {
  const uint64_t seq = NextSeq();
  b.ws.ops.push_back(storage::PutInbox{live.rec.instance_id(), seq, ev});
  live.inbox.emplace_back(seq, std::move(ev));
  // Ready at once: an episode that consumes this event completes (and commits)
  // after this write, because the commit queue is FIFO.
  MarkReady(live.rec.instance_id());
}

void Partition::Submit(Batch b) {
  b.ws.max_seq = ctx_.seq->load();
  b.hub_gen = hub_gen_;
  storage::WriteSet ws = std::move(b.ws);
  const bool read_barrier = !b.purge_only;
  ctx_.commits->Submit(
      std::move(ws), [this, b = std::move(b)](absl::Status st) mutable { AfterCommit(b, st); },
      read_barrier);
}

void Partition::SubmitAndReply(Batch b, Done done, absl::Status reply) {
  b.done.push_back(
      [done = std::move(done), reply](absl::Status st) mutable { done(st.ok() ? reply : st); });
  Submit(std::move(b));
  PumpLocked();
}

void Partition::AfterCommit(Batch& b, absl::Status st) {
  if (st.ok()) {
    absl::MutexLock l(&mu_);
    for (auto& [id, gen] : b.pending_clear) {
      auto it = pending_.find(id);
      if (it != pending_.end() && it->second.gen == gen) {
        pending_.erase(it);
        ++store_gen_;
      }
    }
    for (const auto& id : b.flushed) {
      if (Live* live = FindLive(id)) --live->unflushed;
    }
    if (b.hub_gen == hub_gen_) {  // else the task hub was deleted since
      for (auto& t : b.timers) RegisterTimer(t.fire_us, t.seq, t.timer, b.hub_gen);
    }
    for (const auto& id : b.ready) MarkReady(id);
    PumpLocked();
    EvictHistories();
  }
  if (st.ok() && !b.outbox.empty()) {
    // Each target partition takes its messages on the reader thread (it may read the
    // store), in commit order.
    std::map<Partition*, std::vector<RemoteMessage>> by_target;
    for (auto& m : b.outbox) {
      by_target[ctx_.route(m.message.target())].push_back(std::move(m));
    }
    for (auto& entry : by_target) {
      Partition* target = entry.first;
      ctx_.reader->Post(
          [target, msgs = std::move(entry.second)]() mutable { target->Deliver(std::move(msgs)); });
    }
  }
  if (st.ok()) {
    for (const auto& rec : b.changed) ctx_.waiters->Notify(rec);
    NotifyCommitted(b);
  }
  for (auto& d : b.done) d(st);
}

void Partition::AfterDurable(absl::AnyInvocable<void(absl::Status)> fn) {
  PostAfterDurable(ctx_.commits, ctx_.reader, std::move(fn));
}

// --- the instance table -----------------------------------------------------------

Partition::Live& Partition::NewLive(store::InstanceRecord rec,
                                    std::optional<storage::IndexedFields> previous,
                                    bool history_loaded) {
  auto owned = std::make_unique<Live>();
  Live& live = *owned;
  live.rec = std::move(rec);
  live.stored = std::move(previous);
  live.history_loaded = history_loaded;
  if (live.rec.has_scheduled_start_time()) {
    live.not_before = FromProto(live.rec.scheduled_start_time());
  }
  const std::string id = live.rec.instance_id();
  pending_.erase(id);
  live_[id] = std::move(owned);
  if (history_loaded && !core::IsEntity(live.rec)) TouchHistory(live);
  return live;
}

void Partition::PendingDelete(Batch& b, const std::string& id) {
  pending_[id] = Pending{std::nullopt, ++pending_gen_};
  b.pending_clear.emplace_back(id, pending_gen_);
}

void Partition::Forget(Batch& b, Live& live, std::optional<store::InstanceRecord> pending) {
  const std::string id = live.rec.instance_id();
  if (live.in_flight()) ReleaseOrchestration(live, absl::ZeroDuration());
  ctx_.timers->Cancel(live.wake_timer);
  if (live.in_lru) history_lru_.erase(live.lru);
  if (live.history_loaded) cached_events_ -= live.history.size();
  DropActivities(b, id);
  if (pending) {
    pending_[id] = Pending{std::move(pending), ++pending_gen_};
    b.pending_clear.emplace_back(id, pending_gen_);
  }
  live_.erase(id);
}

void Partition::Retire(Batch& b, const std::string& id) {
  Live* live = FindLive(id);
  if (live == nullptr) return;
  for (const auto& [seq, ev] : live->inbox) b.ws.ops.push_back(storage::DeleteInbox{id, seq});
  Forget(b, *live, live->rec);
}

void Partition::DropActivities(Batch& b, const std::string& id) {
  auto it = activities_of_.find(id);
  if (it == activities_of_.end()) return;
  std::set<uint64_t> held;
  for (uint64_t seq : it->second) {
    auto a = activities_.find(seq);
    if (a == activities_.end()) continue;
    if (a->second->in_flight()) {
      held.insert(seq);
      continue;
    }
    ctx_.timers->Cancel(a->second->wake_timer);
    b.ws.ops.push_back(storage::DeleteActivity{seq});
    activities_.erase(a);  // a queued entry in ready_act_ is skipped when missing
  }
  if (held.empty()) {
    activities_of_.erase(it);
  } else {
    it->second = std::move(held);
  }
}

void Partition::DeleteEverything(Done done) {
  absl::Status st;
  {
    absl::MutexLock l(&mu_);
    st = CheckOpen();
    if (st.ok()) {
      for (auto& [id, live] : live_) {
        ctx_.timers->Cancel(live->wake_timer);
        ctx_.timers->Cancel(live->lease_timer);
      }
      for (auto& [seq, act] : activities_) {
        ctx_.timers->Cancel(act->wake_timer);
        ctx_.timers->Cancel(act->lease_timer);
      }
      live_.clear();
      activities_.clear();
      activities_of_.clear();
      ready_orch_.clear();
      ready_ent_.clear();
      ready_act_.clear();
      history_lru_.clear();
      cached_events_ = 0;
      pending_.clear();
      ++store_gen_;
      ++hub_gen_;
      if (!done) return;  // another partition writes the deletion
      Batch b;
      b.ws.ops.push_back(storage::DeleteEverything{});
      b.done.push_back(std::move(done));
      Submit(std::move(b));
      return;
    }
  }
  if (done) done(st);
}

// --- the history cache ------------------------------------------------------------

void Partition::LoadHistory(Live& live) {
  if (live.loading || live.history_loaded) return;
  live.loading = true;
  const std::string id = live.rec.instance_id();
  const std::string exec = live.rec.execution_id();
  // After everything queued is durable, so the store holds every event of it.
  AfterDurable([this, id, exec](absl::Status st) {
    absl::StatusOr<std::vector<HistoryEvent>> h =
        st.ok() ? ctx_.backend->GetHistory(id) : absl::StatusOr<std::vector<HistoryEvent>>(st);
    absl::MutexLock l(&mu_);
    Live* live = FindLive(id);
    if (live == nullptr || live->rec.execution_id() != exec) return;
    live->loading = false;
    if (live->history_loaded) return;
    if (h.ok() && h->size() != live->rec.history_size()) {
      h = absl::DataLossError(absl::StrCat("history of '", id, "' has ", h->size(),
                                           " events in the store; the instance record says ",
                                           live->rec.history_size()));
    }
    if (!h.ok()) {
      Logger("engine")->error("cannot load history of '{}'{}: {}; retrying", id,
                              core::TraceNote(live->rec.trace_parent()), h.status().ToString());
      WakeAt(*live, ctx_.clock->Now() + AbandonDelay(++live->abandons));
      return;
    }
    live->history = std::move(*h);
    live->history_loaded = true;
    live->cold = true;
    ctx_.metrics->history_cache_misses.fetch_add(1);
    cached_events_ += live->history.size();
    TouchHistory(*live);
    MarkReady(id);
    PumpLocked();
  });
}

void Partition::TouchHistory(Live& live) {
  if (live.in_lru) history_lru_.erase(live.lru);
  history_lru_.push_back(live.rec.instance_id());
  live.lru = std::prev(history_lru_.end());
  live.in_lru = true;
}

void Partition::EvictHistories() {
  size_t budget = history_lru_.size();
  while (cached_events_ > ctx_.options->history_cache_events && budget-- > 0) {
    std::string id = history_lru_.front();
    history_lru_.pop_front();
    Live* live = FindLive(id);
    if (live == nullptr) continue;
    live->in_lru = false;
    if (live->in_flight() || live->unflushed > 0) {
      TouchHistory(*live);
      continue;
    }
    cached_events_ -= live->history.size();
    live->history.clear();
    live->history.shrink_to_fit();
    live->history_loaded = false;
  }
}

}  // namespace taskhub::engine
