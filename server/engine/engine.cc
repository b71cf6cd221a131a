// Engine infrastructure: creation and recovery, batching, dispatch, timers, the
// history cache and waiter notification.
#include "server/engine/engine.h"

#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/engine/engine_internal.h"

namespace taskhub::engine {

using core::FromProto;
using core::ToProto;

Engine::Engine(storage::Backend* backend, Clock* clock, IdGenerator* ids, EngineOptions options)
    : backend_(backend),
      clock_(clock),
      ids_(ids),
      options_(options),
      timers_(clock, options.manual_scheduling),
      reader_(options.manual_scheduling),
      commits_(backend, options.on_store_failure, options.manual_scheduling) {
  // Not absl::BitGen(seed_seq): absl salts a seed sequence per process, so a seeded
  // BitGen differs from one run of a binary to the next and a seed would not replay.
  absl::MutexLock l(&mu_);
  if (options.token_seed != 0) seeded_token_gen_.emplace(options.token_seed);
}

Engine::~Engine() { Stop(); }

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(storage::Backend* backend, Clock* clock,
                                                       IdGenerator* ids, EngineOptions options) {
  std::unique_ptr<Engine> e(new Engine(backend, clock, ids, options));
  RETURN_IF_ERROR(e->Recover());
  return e;
}

absl::Status Engine::Recover() {
  ASSIGN_OR_RETURN(storage::RecoveryState st, backend_->LoadRecoveryState());
  absl::MutexLock l(&mu_);
  seq_ = st.max_seq;
  std::vector<std::string> recovered;  // in the backend's order: deterministic dispatch
  for (auto& rec : st.live_instances) {
    recovered.push_back(rec.instance_id());
    auto live = std::make_unique<Live>();
    live->stored = storage::IndexedFields::Of(rec);
    if (rec.has_scheduled_start_time()) live->not_before = FromProto(rec.scheduled_start_time());
    live->rec = std::move(rec);
    live_[live->rec.instance_id()] = std::move(live);
  }
  Batch cleanup;
  for (auto& item : st.inbox) {
    seq_ = std::max(seq_, item.seq);
    Live* live = FindLive(item.instance_id);
    if (live == nullptr) {
      cleanup.ws.ops.push_back(storage::DeleteInbox{item.instance_id, item.seq});
      continue;
    }
    live->inbox.emplace_back(item.seq, std::move(item.event));
  }
  for (auto& item : st.activities) {
    seq_ = std::max(seq_, item.seq);
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
  for (auto& t : st.timers) {
    seq_ = std::max(seq_, t.seq);
    RegisterTimer(t.fire_us, t.seq, t.timer);
  }
  for (const auto& id : recovered) {
    Live* live = FindLive(id);
    if (!live->inbox.empty() || live->rec.force_episode()) MarkReady(id);
  }
  Logger("engine")->info(
      "recovered {} live instances, {} inbox events, {} activity tasks, {} timers",
      live_.size(), st.inbox.size(), activities_.size(), st.timers.size());
  if (!cleanup.ws.empty()) Submit(std::move(cleanup));
  return absl::OkStatus();
}

void Engine::BeginShutdown() {
  std::vector<std::shared_ptr<Waiter>> waiters;
  {
    absl::MutexLock l(&mu_);
    if (shutting_down_) return;
    shutting_down_ = true;
    for (auto& [id, s] : streams_) s->sink->Close();
  }
  {
    absl::MutexLock l(&waiters_mu_);
    for (auto& [h, w] : waiters_by_handle_) waiters.push_back(w);
    waiters_.clear();
    waiters_by_handle_.clear();
  }
  for (auto& w : waiters) {
    timers_.Cancel(w->cap_timer);
    w->Fire(absl::UnavailableError("the server is shutting down"));
  }
}

void Engine::Stop() {
  BeginShutdown();
  timers_.Stop();
  commits_.Stop();
  reader_.Stop();
}

bool Engine::RunCommit() { return commits_.RunOnce(); }
bool Engine::RunRead() { return reader_.RunOne(); }
size_t Engine::RunDueTimers() { return timers_.RunDue(); }
std::optional<absl::Time> Engine::NextTimer() { return timers_.NextDeadline(); }

void Engine::CrashForTesting() {
  // Reads first: commit callbacks that post reads (AfterDurable) then post nothing.
  reader_.Abandon();
  timers_.Stop();
  commits_.Abandon();
  BeginShutdown();
}

absl::Status Engine::CheckOpen() {
  if (shutting_down_) return absl::UnavailableError("the server is shutting down");
  return absl::OkStatus();
}

EngineStats Engine::Stats() {
  absl::MutexLock l(&mu_);
  EngineStats s;
  s.live_instances = live_.size();
  s.ready_orchestrations = ready_orch_.size();
  s.activities = activities_.size();
  s.streams = streams_.size();
  s.cached_history_events = cached_events_;
  s.timers = timers_.size();
  s.commits = commits_.commits();
  s.submissions = commits_.submissions();
  return s;
}

// --- batching -------------------------------------------------------------------

void Engine::PutRecord(Batch& b, Live& live) {
  b.ws.ops.push_back(storage::PutInstance{live.rec, live.stored});
  live.stored = storage::IndexedFields::Of(live.rec);
  b.changed.push_back(live.rec);
}

void Engine::AddInbox(Batch& b, Live& live, HistoryEvent ev) {
  const uint64_t seq = NextSeq();
  b.ws.ops.push_back(storage::PutInbox{live.rec.instance_id(), seq, ev});
  live.inbox.emplace_back(seq, std::move(ev));
  // Ready at once: an episode that consumes this event completes (and commits)
  // after this write, because the commit queue is FIFO. (AfterCommit pumps again,
  // so instances marked while a Pump runs are not left waiting.)
  MarkReady(live.rec.instance_id());
}

void Engine::SendToInstance(Batch& b, const std::string& id, HistoryEvent ev) {
  Live* live = FindLive(id);
  if (live != nullptr) AddInbox(b, *live, std::move(ev));
}

void Engine::Submit(Batch b) {
  b.ws.max_seq = seq_;
  storage::WriteSet ws = std::move(b.ws);
  commits_.Submit(std::move(ws), [this, b = std::move(b)](absl::Status st) mutable {
    AfterCommit(b, st);
  });
}

void Engine::AfterCommit(Batch& b, absl::Status st) {
  if (st.ok()) {
    absl::MutexLock l(&mu_);
    for (auto& [id, gen] : b.pending_clear) {
      auto it = pending_.find(id);
      if (it != pending_.end() && it->second.gen == gen) pending_.erase(it);
    }
    for (const auto& id : b.flushed) {
      if (Live* live = FindLive(id)) --live->unflushed;
    }
    for (auto& t : b.timers) RegisterTimer(t.fire_us, t.seq, t.timer);
    for (const auto& id : b.ready) MarkReady(id);
    Pump();
    EvictHistories();
  }
  if (st.ok()) {
    for (const auto& rec : b.changed) NotifyWaiters(rec);
  }
  for (auto& d : b.done) d(st);
}

void Engine::AfterDurable(absl::AnyInvocable<void(absl::Status)> fn) {
  commits_.Submit(storage::WriteSet{}, [this, fn = std::move(fn)](absl::Status st) mutable {
    reader_.Post([fn = std::move(fn), st]() mutable { fn(st); });
  });
}

// --- lookups ----------------------------------------------------------------------

Engine::Live* Engine::FindLive(const std::string& id) {
  auto it = live_.find(id);
  return it == live_.end() ? nullptr : it->second.get();
}

absl::StatusOr<std::optional<store::InstanceRecord>> Engine::FindStored(const std::string& id) {
  auto it = pending_.find(id);
  if (it != pending_.end()) return it->second.rec;
  return backend_->GetInstance(id);
}

absl::Status Engine::EnsureHistory(Live& live) {
  if (!live.history_loaded) {
    ASSIGN_OR_RETURN(live.history, backend_->GetHistory(live.rec.instance_id()));
    if (live.history.size() != live.rec.history_size()) {
      return absl::DataLossError(absl::StrCat(
          "history of '", live.rec.instance_id(), "' has ", live.history.size(),
          " events in the store; the instance record says ", live.rec.history_size()));
    }
    live.history_loaded = true;
    cached_events_ += live.history.size();
  }
  TouchHistory(live);
  return absl::OkStatus();
}

void Engine::TouchHistory(Live& live) {
  if (live.in_lru) history_lru_.erase(live.lru);
  history_lru_.push_back(live.rec.instance_id());
  live.lru = std::prev(history_lru_.end());
  live.in_lru = true;
}

void Engine::EvictHistories() {
  size_t budget = history_lru_.size();
  while (cached_events_ > options_.history_cache_events && budget-- > 0) {
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

Engine::Live& Engine::CreateLive(Batch& b, store::InstanceRecord rec, HistoryEvent start) {
  auto owned = std::make_unique<Live>();
  Live& live = *owned;
  live.rec = std::move(rec);
  live.history_loaded = true;  // a new execution has an empty history
  if (live.rec.has_scheduled_start_time()) {
    live.not_before = FromProto(live.rec.scheduled_start_time());
  }
  const std::string id = live.rec.instance_id();
  pending_.erase(id);
  live_[id] = std::move(owned);
  TouchHistory(live);
  PutRecord(b, live);
  AddInbox(b, live, std::move(start));
  return live;
}

void Engine::DeleteStored(Batch& b, const store::InstanceRecord& rec) {
  b.ws.ops.push_back(storage::DeleteInstance{rec.instance_id(), storage::IndexedFields::Of(rec)});
  pending_[rec.instance_id()] = Pending{std::nullopt, ++pending_gen_};
  b.pending_clear.emplace_back(rec.instance_id(), pending_gen_);
}

void Engine::Retire(Batch& b, const std::string& id) {
  Live* live = FindLive(id);
  if (live == nullptr) return;
  if (live->in_flight()) ReleaseOrchestration(*live, absl::ZeroDuration());
  for (const auto& [seq, ev] : live->inbox) b.ws.ops.push_back(storage::DeleteInbox{id, seq});
  std::string parent_id, parent_exec;
  HistoryEvent note;
  if (core::IsTerminal(live->rec.status()) &&
      core::ParentNotification(live->rec, clock_->Now(), &parent_id, &parent_exec, &note)) {
    Live* parent = FindLive(parent_id);
    if (parent != nullptr && parent->rec.execution_id() == parent_exec) {
      AddInbox(b, *parent, std::move(note));
    }
  }
  timers_.Cancel(live->wake_timer);
  if (live->in_lru) history_lru_.erase(live->lru);
  if (live->history_loaded) cached_events_ -= live->history.size();
  DropActivities(b, id);
  pending_[id] = Pending{live->rec, ++pending_gen_};
  b.pending_clear.emplace_back(id, pending_gen_);
  live_.erase(id);
}

void Engine::DropActivities(Batch& b, const std::string& id) {
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
    timers_.Cancel(a->second->wake_timer);
    b.ws.ops.push_back(storage::DeleteActivity{seq});
    activities_.erase(a);  // a queued entry in ready_act_ is skipped when missing
  }
  if (held.empty()) {
    activities_of_.erase(it);
  } else {
    it->second = std::move(held);
  }
}

// --- dispatch ---------------------------------------------------------------------

void Engine::MarkReady(const std::string& id) {
  Live* live = FindLive(id);
  if (live == nullptr || live->queued) return;
  live->queued = true;
  ready_orch_.push_back(id);
}

absl::Duration Engine::AbandonDelay(int attempts) const {
  absl::Duration d = options_.abandon_delay;
  for (int i = 1; i < attempts && d < options_.max_abandon_delay; ++i) d *= 2;
  return std::min(d, options_.max_abandon_delay);
}

std::string Engine::NewToken(char kind) {
  // Random, not a counter: a worker must not be able to name another worker's
  // delivery, and a token from before a restart must not match one issued after it.
  auto next = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return seeded_token_gen_ ? (*seeded_token_gen_)() : absl::Uniform<uint64_t>(token_gen_);
  };
  const uint64_t hi = next();
  const uint64_t lo = next();
  return absl::StrCat(std::string(1, kind), absl::Hex(hi, absl::kZeroPad16),
                      absl::Hex(lo, absl::kZeroPad16));
}

bool Engine::SamePeer(uint64_t stream_id, const std::string& peer) const {
  if (peer.empty()) return false;
  auto it = streams_.find(stream_id);
  return it != streams_.end() && it->second->peer == peer;
}

void Engine::WakeAt(Live& live, absl::Time when) {
  timers_.Cancel(live.wake_timer);
  const std::string id = live.rec.instance_id();
  live.wake_timer = timers_.Schedule(when, [this, id] {
    absl::MutexLock l(&mu_);
    if (Live* lv = FindLive(id)) {
      lv->wake_timer = 0;
      MarkReady(id);
      Pump();
    }
  });
}

bool Engine::HasRoom(bool orchestrations) const {
  for (const auto& [sid, s] : streams_) {
    if (orchestrations ? s->orch < s->max_orch : s->act < s->max_act) return true;
  }
  return false;
}

void Engine::Pump() {
  if (shutting_down_) return;
  const absl::Time now = clock_->Now();
  // Skip a whole kind when no stream has room for it (keeps Pump O(streams) while
  // work waits for capacity).
  bool orch_room = HasRoom(true), act_room = HasRoom(false);
  for (size_t n = ready_orch_.size(); n > 0; --n) {
    std::string id = std::move(ready_orch_.front());
    ready_orch_.pop_front();
    Live* live = FindLive(id);
    if (live == nullptr) continue;
    live->queued = false;
    if (live->in_flight()) continue;
    const HistoryEvent* term = nullptr;
    for (const auto& [seq, ev] : live->inbox) {
      if (ev.has_executionterminated()) {
        term = &ev;
        break;
      }
    }
    if (term != nullptr) {
      TerminateNow(*live, *term);
      continue;
    }
    if (live->inbox.empty() && !live->rec.force_episode()) continue;
    if (live->not_before > now) {
      WakeAt(*live, live->not_before);
      continue;
    }
    if (!orch_room || !TryDispatchOrchestration(*live)) {
      live->queued = true;
      ready_orch_.push_back(std::move(id));
      orch_room = HasRoom(true);
      if (!orch_room) break;  // the rest keeps its place at the front of the queue
    }
  }
  for (size_t n = ready_act_.size(); n > 0; --n) {
    const uint64_t seq = ready_act_.front();
    ready_act_.pop_front();
    auto it = activities_.find(seq);
    if (it == activities_.end()) continue;
    Activity& act = *it->second;
    act.queued = false;
    if (act.in_flight()) continue;
    if (act.not_before > now) {
      timers_.Cancel(act.wake_timer);
      act.wake_timer = timers_.Schedule(act.not_before, [this, seq] {
        absl::MutexLock l(&mu_);
        auto a = activities_.find(seq);
        if (a == activities_.end() || a->second->queued) return;
        a->second->wake_timer = 0;
        a->second->queued = true;
        ready_act_.push_back(seq);
        Pump();
      });
      continue;
    }
    if (!act_room || !TryDispatchActivity(act)) {
      act.queued = true;
      ready_act_.push_back(seq);
      act_room = HasRoom(false);
      if (!act_room) break;
    }
  }
}

namespace {
template <typename Streams, typename Pred>
auto* PickStream(Streams& streams, uint64_t& cursor, Pred pred) {
  using Ptr = decltype(streams.begin()->second.get());
  auto it = streams.upper_bound(cursor);
  for (size_t i = 0; i < streams.size(); ++i, ++it) {
    if (it == streams.end()) it = streams.begin();
    if (pred(*it->second)) {
      cursor = it->first;
      return it->second.get();
    }
  }
  return static_cast<Ptr>(nullptr);
}
}  // namespace

bool Engine::TryDispatchOrchestration(Live& live) {
  const std::string& name = live.rec.name();
  const std::string& version = live.rec.version().value();
  Stream* s = PickStream(streams_, rr_cursor_, [&](const Stream& st) {
    return st.orch < st.max_orch && st.filter.MatchesOrchestration(name, version);
  });
  if (s == nullptr) return false;
  if (absl::Status st = EnsureHistory(live); !st.ok()) {
    Logger("engine")->error("cannot load history of '{}': {}", live.rec.instance_id(),
                            st.ToString());
    return false;
  }
  const absl::Time now = clock_->Now();
  const std::string id = live.rec.instance_id();
  live.token = NewToken('o');
  live.stream = s->id;
  // A suspension opens an episode of its own: the events before it go in this one.
  // Actions decided in an episode that also delivers ExecutionSuspended are confirmed
  // after it in the history; the Python SDK (1.12) buffers those confirmations while
  // it replays a suspended instance and re-sends the actions every episode (a timer
  // re-created at the same past time fired at once, forever).
  live.dispatched = live.inbox.size();
  for (size_t i = 1; i < live.inbox.size(); ++i) {
    if (live.inbox[i].second.has_executionsuspended()) {
      live.dispatched = i;
      break;
    }
  }
  live.new_events.clear();
  live.new_events.push_back(core::NewEvent(now));
  live.new_events.back().mutable_orchestratorstarted();
  for (size_t i = 0; i < live.dispatched; ++i) live.new_events.push_back(live.inbox[i].second);
  ++s->orch;
  s->tokens.insert(live.token);
  orch_tokens_[live.token] = id;
  live.lease_timer = timers_.Schedule(
      now + options_.orchestration_lease, [this, id, token = live.token] {
        absl::MutexLock l(&mu_);
        Live* lv = FindLive(id);
        if (lv == nullptr || lv->token != token) return;
        Logger("engine")->warn("episode of '{}' not completed within the lease; redelivering",
                               id);
        ReleaseOrchestration(*lv, AbandonDelay(++lv->abandons));
        Pump();
      });
  WorkItem wi;
  auto* req = wi.mutable_orchestratorrequest();
  req->set_instanceid(id);
  req->mutable_executionid()->set_value(live.rec.execution_id());
  req->mutable_pastevents()->Reserve(static_cast<int>(live.history.size()));
  for (const auto& e : live.history) *req->add_pastevents() = e;
  for (const auto& e : live.new_events) *req->add_newevents() = e;
  if (live.rec.has_trace_context()) {
    *req->mutable_orchestrationtracecontext() = live.rec.trace_context();
  }
  wi.set_completiontoken(live.token);
  s->sink->Send(wi);
  return true;
}

bool Engine::TryDispatchActivity(Activity& act) {
  const auto& r = act.task.request();
  Stream* s = PickStream(streams_, rr_cursor_, [&](const Stream& st) {
    return st.act < st.max_act && st.filter.MatchesActivity(r.name(), r.version().value());
  });
  if (s == nullptr) return false;
  act.token = NewToken('a');
  act.stream = s->id;
  ++s->act;
  s->tokens.insert(act.token);
  act_tokens_[act.token] = act.seq;
  if (options_.activity_lease > absl::ZeroDuration()) {
    act.lease_timer = timers_.Schedule(
        clock_->Now() + options_.activity_lease, [this, seq = act.seq, token = act.token] {
          absl::MutexLock l(&mu_);
          auto it = activities_.find(seq);
          if (it == activities_.end() || it->second->token != token) return;
          Logger("engine")->warn("activity task {} not completed within the lease", seq);
          ReleaseActivity(*it->second, AbandonDelay(++it->second->abandons));
          Pump();
        });
  }
  WorkItem wi;
  *wi.mutable_activityrequest() = r;
  wi.set_completiontoken(act.token);
  s->sink->Send(wi);
  return true;
}

void Engine::ReleaseOrchestration(Live& live, absl::Duration delay) {
  auto it = streams_.find(live.stream);
  if (it != streams_.end()) {
    --it->second->orch;
    it->second->tokens.erase(live.token);
  }
  orch_tokens_.erase(live.token);
  timers_.Cancel(live.lease_timer);
  live.lease_timer = 0;
  live.token.clear();
  live.stream = 0;
  live.dispatched = 0;
  live.new_events.clear();
  if (delay > absl::ZeroDuration()) live.not_before = clock_->Now() + delay;
  MarkReady(live.rec.instance_id());
}

void Engine::ReleaseActivity(Activity& act, absl::Duration delay) {
  auto it = streams_.find(act.stream);
  if (it != streams_.end()) {
    --it->second->act;
    it->second->tokens.erase(act.token);
  }
  act_tokens_.erase(act.token);
  timers_.Cancel(act.lease_timer);
  act.lease_timer = 0;
  act.token.clear();
  act.stream = 0;
  if (delay > absl::ZeroDuration()) act.not_before = clock_->Now() + delay;
  if (!act.queued) {
    act.queued = true;
    ready_act_.push_back(act.seq);
  }
}

// --- durable timers -------------------------------------------------------------

void Engine::RegisterTimer(int64_t fire_us, uint64_t seq, const store::TimerRecord& t) {
  timers_.Schedule(absl::FromUnixMicros(fire_us),
                   [this, fire_us, seq, t] { FireTimer(fire_us, seq, t); });
}

void Engine::FireTimer(int64_t fire_us, uint64_t seq, store::TimerRecord t) {
  absl::MutexLock l(&mu_);
  if (shutting_down_) return;
  Batch b;
  b.ws.ops.push_back(storage::DeleteTimer{fire_us, seq});
  Live* live = FindLive(t.instance_id());
  if (live != nullptr && live->rec.execution_id() == t.execution_id()) {
    HistoryEvent ev = std::move(*t.mutable_event());
    *ev.mutable_timestamp() = ToProto(clock_->Now());
    AddInbox(b, *live, std::move(ev));
  }
  Submit(std::move(b));
  Pump();
}

// --- waiters --------------------------------------------------------------------

void Engine::NotifyWaiters(const store::InstanceRecord& rec) {
  std::vector<std::shared_ptr<Waiter>> fire;
  {
    absl::MutexLock l(&waiters_mu_);
    auto [begin, end] = waiters_.equal_range(rec.instance_id());
    for (auto it = begin; it != end;) {
      if (it->second->Satisfied(rec)) {
        fire.push_back(it->second);
        waiters_by_handle_.erase(it->second->handle);
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& w : fire) {
    timers_.Cancel(w->cap_timer);
    w->Fire(StateResponse(rec, w->payloads));
  }
}

}  // namespace taskhub::engine
