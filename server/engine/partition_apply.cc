// Partition: applying the pure core's lifecycle transitions (server/core/lifecycle.h)
// to the instance table, the store (one batch) and the dispatch queues. No domain
// decision is taken here: the core decides, this file writes.
#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/engine/partition.h"
#include "server/engine/partition_internal.h"

namespace taskhub::engine {

core::InstanceState Partition::StateOf(const Live& live) {
  core::InstanceState s;
  s.record = &live.rec;
  if (live.history_loaded) s.history = &live.history;
  s.inbox.reserve(live.inbox.size());
  for (const auto& [seq, ev] : live.inbox) s.inbox.push_back(&ev);
  return s;
}

core::InstanceState Partition::StateOf(const Found& f) {
  if (f.live != nullptr) return StateOf(*f.live);
  core::InstanceState s;
  if (f.rec) s.record = &*f.rec;
  return s;
}

core::Limits Partition::Limits() const {
  const EngineOptions& o = *ctx_.options;
  return core::Limits{o.max_payload_bytes, o.max_actions_per_response, o.max_episode_history_bytes};
}

Partition::Prefetched Partition::Prefetch(const std::vector<std::string>& ids) {
  Prefetched out;
  if (ids.empty()) return out;
  std::vector<Found> found = Lookup(ids);
  for (size_t i = 0; i < ids.size(); ++i) {
    found[i].live = nullptr;  // memory is asked again when used (Known)
    out[ids[i]] = std::move(found[i]);
  }
  return out;
}

Partition::Found Partition::Known(const Prefetched& prefetched, const std::string& id) {
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

void Partition::Command(const std::string& id,
                        absl::FunctionRef<core::Transition(const core::InstanceState&)> body,
                        Done done) {
  absl::Status reply;
  {
    absl::MutexLock l(&mu_);
    reply = CheckOpen();
    if (reply.ok()) {
      Found f = Lookup(id);
      reply = f.error;
      if (reply.ok()) {
        core::Transition t = body(StateOf(f));
        reply = t.reply;
        // Also a reply that writes nothing goes through the commit queue: it may rest on
        // state that is not durable yet (a finished instance whose end is still being
        // written, a suspension still in flight), and must not be seen before it is.
        Batch b;
        if (!t.empty()) Apply(b, t, f.live == nullptr && f.rec ? &*f.rec : nullptr, {});
        SubmitAndReply(std::move(b), std::move(done), reply);
        return;
      }
    }
  }
  done(reply);
}

void Partition::Apply(Batch& b, core::Transition& t, const store::InstanceRecord* finished,
                      const Prefetched& prefetched) {
  const std::string id = t.instance_id;
  Live* live = FindLive(id);
  uint64_t history_size = live ? live->rec.history_size() : finished ? finished->history_size() : 0;
  // 1. Discard the existing instance, silently.
  if (t.discard_existing) {
    if (live != nullptr) {
      if (live->stored) b.ws.ops.push_back(storage::DeleteInstance{id, *live->stored});
      Forget(b, *live, std::nullopt);
      live = nullptr;
    } else if (finished != nullptr) {
      b.ws.ops.push_back(storage::DeleteInstance{id, storage::IndexedFields::Of(*finished)});
    }
    if (!t.record) PendingDelete(b, id);
    finished = nullptr;
    history_size = 0;
  }
  // 2. The record; a non-terminal record of an instance that was not live makes it live.
  if (t.record) {
    if (live != nullptr) {
      live->rec = std::move(*t.record);
    } else {
      std::optional<storage::IndexedFields> previous;
      if (finished != nullptr) previous = storage::IndexedFields::Of(*finished);
      // A new instance's history is empty (in memory at once); a rewound one's is in
      // the store (loaded when dispatched).
      live = &NewLive(std::move(*t.record), previous, /*history_loaded=*/finished == nullptr);
    }
    PutRecord(b, *live);
  }
  if (live == nullptr) {
    if (!t.history_append.empty() || t.reset_history) {
      Logger("engine")->error("transition of '{}' writes history but the instance is not live", id);
    }
    Delay(b, t);
    for (auto& m : t.outbox) Send(b, m, prefetched);
    return;
  }
  // 3. History.
  if (t.reset_history) {
    b.ws.ops.push_back(storage::ClearHistory{id});
    if (live->history_loaded) cached_events_ -= live->history.size();
    live->history.clear();
    live->history_loaded = true;
    history_size = 0;
  }
  if (!t.history_append.empty()) {
    b.ws.ops.push_back(storage::AppendHistory{id, history_size, t.history_append});
    if (live->history_loaded) {
      for (auto& ev : t.history_append) {
        live->history.push_back(std::move(ev));
        ++cached_events_;
      }
    }
  }
  if (t.reset_history || !t.history_append.empty()) {
    ++live->unflushed;
    b.flushed.push_back(id);
  }
  // 4. Inbox.
  for (size_t i = 0; i < t.inbox_consumed && !live->inbox.empty(); ++i) {
    b.ws.ops.push_back(storage::DeleteInbox{id, live->inbox.front().first});
    live->inbox.pop_front();
  }
  if (!t.inbox_removed.empty()) {
    // Positions into the inbox as the core saw it (ascending); kept in order.
    decltype(live->inbox) kept;
    size_t next = 0;
    for (size_t i = 0; i < live->inbox.size(); ++i) {
      while (next < t.inbox_removed.size() && t.inbox_removed[next] < i) ++next;
      if (next < t.inbox_removed.size() && t.inbox_removed[next] == i) {
        b.ws.ops.push_back(storage::DeleteInbox{id, live->inbox[i].first});
      } else {
        kept.push_back(std::move(live->inbox[i]));
      }
    }
    live->inbox = std::move(kept);
  }
  if (!t.inbox_front.empty()) {
    auto rest = std::move(live->inbox);
    live->inbox.clear();
    for (auto& ev : t.inbox_front) AddInbox(b, *live, std::move(ev));
    for (auto& [seq, ev] : rest) {
      b.ws.ops.push_back(storage::DeleteInbox{id, seq});
      AddInbox(b, *live, std::move(ev));
    }
  }
  for (auto& ev : t.inbox_append) AddInbox(b, *live, std::move(ev));
  // 5. Activity tasks and durable timers of the current execution.
  for (auto& req : t.activities) {
    const uint64_t seq = NextSeq();
    auto act = std::make_unique<Activity>();
    act->seq = seq;
    act->task.set_instance_id(id);
    act->task.set_execution_id(live->rec.execution_id());
    act->task.set_orchestration_name(live->rec.name());
    *act->task.mutable_request() = std::move(req);
    b.ws.ops.push_back(storage::PutActivity{seq, act->task});
    // Dispatched at once, overlapping the WAL sync: if this write is lost in a crash,
    // the episode is redelivered and schedules the activity again (activities are
    // at-least-once), and this delivery's completion is ignored as stale.
    QueueActivity(*act);
    activities_of_[id].insert(seq);
    activities_[seq] = std::move(act);
  }
  for (auto& timer : t.timers) {
    const uint64_t seq = NextSeq();
    store::TimerRecord tr;
    tr.set_instance_id(id);
    tr.set_execution_id(live->rec.execution_id());
    *tr.mutable_event() = std::move(timer.event);
    const int64_t fire_us = absl::ToUnixMicros(timer.fire_at);
    b.ws.ops.push_back(storage::PutTimer{fire_us, seq, tr});
    b.timers.push_back({fire_us, seq, std::move(tr)});
  }
  Delay(b, t);
  // 6. The episode in flight ends.
  if (t.release_episode && live->in_flight()) ReleaseOrchestration(*live, absl::ZeroDuration());
  // 7. Finished: only the record and the history stay.
  if (t.became_terminal) {
    Retire(b, id);
  } else {
    b.ready.push_back(id);
  }
  // 8. Messages, in order.
  for (auto& m : t.outbox) Send(b, m, prefetched);
}

void Partition::Send(Batch& b, core::Message& m, const Prefetched& prefetched) {
  if (!IsLocal(m.target)) return Outbox(b, m);
  Found f = Known(prefetched, m.target);
  if (!f.error.ok()) {
    using Kind = core::Message::Kind;
    if (m.kind == Kind::kEvent || m.kind == Kind::kTerminate || m.kind == Kind::kLockGranted) {
      f = Found{};  // only a live target takes it, and live ones are in memory
    } else {
      // The target's state is unknown (a store read failed): do not create or rewind
      // over it; a child start is refused as if the id were taken.
      Logger("engine")->warn("cannot look up '{}': {}", m.target, f.error.ToString());
      if (m.kind == Kind::kRewindChild) return;
      store::InstanceRecord taken;
      taken.set_instance_id(m.target);
      taken.set_status(ORCHESTRATION_STATUS_RUNNING);
      core::InstanceState s;
      s.record = &taken;
      core::Transition t = core::Receive(s, m, ctx_.clock->Now());
      t.record.reset();
      t.discard_existing = false;
      t.inbox_append.clear();
      for (auto& out : t.outbox) Send(b, out, prefetched);
      return;
    }
  }
  core::Transition t = core::Receive(StateOf(f), m, ctx_.clock->Now());
  if (t.empty()) return;
  Apply(b, t, f.live == nullptr && f.rec ? &*f.rec : nullptr, prefetched);
}

void Partition::Delay(Batch& b, core::Transition& t) {
  for (auto& d : t.delayed) {
    const uint64_t seq = NextSeq();
    store::TimerRecord tr;
    tr.set_instance_id(d.message.target);  // recovery routes the timer to the target
    *tr.mutable_message() = ToStore(d.message);
    const int64_t fire_us = absl::ToUnixMicros(d.at);
    b.ws.ops.push_back(storage::PutTimer{fire_us, seq, tr});
    b.timers.push_back({fire_us, seq, std::move(tr)});
  }
}

}  // namespace taskhub::engine
