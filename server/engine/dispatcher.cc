#include "server/engine/dispatcher.h"

#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/engine/engine_metrics.h"

namespace taskhub::engine {

Dispatcher::Dispatcher(TimerQueue* timers, Clock* clock, DispatcherOptions options)
    : timers_(timers), clock_(clock), options_(options) {
  if (options_.token_seed != 0) seeded_.emplace(options_.token_seed);
}

uint64_t Dispatcher::AddStream(WorkItemSink* sink, const core::ConnectCommand& cmd,
                               const std::string& peer) {
  absl::MutexLock l(&mu_);
  if (shut_down_) {
    sink->Close();
    return 0;
  }
  auto s = std::make_unique<Stream>();
  s->id = ++next_stream_;
  s->sink = sink;
  s->filter = WorkItemFilter(cmd);
  s->peer = peer;
  const int dflt = options_.default_max_concurrent;
  s->max[0] = cmd.max_orchestrations > 0 ? cmd.max_orchestrations : dflt;
  s->max[1] = cmd.max_activities > 0 ? cmd.max_activities : dflt;
  s->max[2] = cmd.max_entities > 0 ? cmd.max_entities : dflt;
  const uint64_t id = s->id;
  streams_[id] = std::move(s);
  SchedulePing(id);
  Logger("engine")->debug("worker stream {} connected", id);
  return id;
}

void Dispatcher::SchedulePing(uint64_t stream_id) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  it->second->ping_timer =
      timers_->Schedule(clock_->Now() + options_.health_ping_interval, [this, stream_id] {
        absl::MutexLock l(&mu_);
        auto s = streams_.find(stream_id);
        if (s == streams_.end() || shut_down_) return;
        WorkItem ping;
        ping.mutable_healthping();
        s->second->sink->Send(ping);
        SchedulePing(stream_id);
      });
}

std::vector<TokenOwner> Dispatcher::RemoveStream(uint64_t stream_id) {
  absl::MutexLock l(&mu_);
  std::vector<TokenOwner> held;
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return held;
  timers_->Cancel(it->second->ping_timer);
  for (const auto& token : it->second->tokens) {
    auto d = deliveries_.find(token);
    if (d == deliveries_.end()) continue;
    held.push_back(d->second.owner);
    if (options_.metrics != nullptr) {
      options_.metrics->Released(d->second.owner.kind, WorkOutcome::kDisconnected);
    }
    --total_used_[static_cast<int>(d->second.owner.kind)];
    deliveries_.erase(d);
  }
  Logger("engine")->debug("worker stream {} disconnected; {} work items redelivered", stream_id,
                          held.size());
  streams_.erase(it);
  return held;
}

bool Dispatcher::HasRoom(WorkKind kind) const {
  absl::MutexLock l(&mu_);
  const int k = static_cast<int>(kind);
  if (options_.server_max[k] > 0 && total_used_[k] >= options_.server_max[k]) return false;
  for (const auto& [id, s] : streams_) {
    if (s->used[k] < s->max[k]) return true;
  }
  return false;
}

std::string Dispatcher::NewToken(WorkKind kind) {
  // Random, not a counter: a worker must not be able to name another worker's
  // delivery, and a token from before a restart must not match one issued after it.
  uint64_t hi, lo;
  if (seeded_) {
    hi = (*seeded_)();
    lo = (*seeded_)();
  } else {
    hi = absl::Uniform<uint64_t>(entropy_);
    lo = absl::Uniform<uint64_t>(entropy_);
  }
  const char* prefix = kind == WorkKind::kOrchestration ? "o"
                       : kind == WorkKind::kActivity    ? "a"
                                                        : "e";
  return absl::StrCat(prefix, absl::Hex(hi, absl::kZeroPad16), absl::Hex(lo, absl::kZeroPad16));
}

std::optional<std::string> Dispatcher::Dispatch(WorkKind kind, const std::string& name,
                                                const std::string& version, TokenOwner owner,
                                                absl::FunctionRef<void(WorkItem*)> build) {
  absl::MutexLock l(&mu_);
  if (shut_down_ || streams_.empty()) return std::nullopt;
  const int k = static_cast<int>(kind);
  if (options_.server_max[k] > 0 && total_used_[k] >= options_.server_max[k]) return std::nullopt;
  auto it = streams_.upper_bound(cursor_);
  Stream* s = nullptr;
  for (size_t i = 0; i < streams_.size(); ++i, ++it) {
    if (it == streams_.end()) it = streams_.begin();
    const Stream& st = *it->second;
    if (st.used[k] >= st.max[k]) continue;
    bool match = false;
    switch (kind) {
      case WorkKind::kOrchestration:
        match = st.filter.MatchesOrchestration(name, version);
        break;
      case WorkKind::kActivity:
        match = st.filter.MatchesActivity(name, version);
        break;
      case WorkKind::kEntity:
        match = st.filter.MatchesEntity(name);
        break;
    }
    if (match) {
      s = it->second.get();
      cursor_ = it->first;
      break;
    }
  }
  if (s == nullptr) return std::nullopt;
  std::string token = NewToken(kind);
  ++s->used[k];
  ++total_used_[k];
  s->tokens.insert(token);
  owner.token = token;
  deliveries_[token] = Delivery{std::move(owner), s->id, clock_->Now()};
  if (options_.metrics != nullptr) options_.metrics->dispatched[k].fetch_add(1);
  WorkItem item;
  build(&item);
  item.set_completiontoken(token);
  s->sink->Send(item);
  return token;
}

void Dispatcher::Release(const std::string& token, WorkOutcome outcome) {
  absl::MutexLock l(&mu_);
  auto d = deliveries_.find(token);
  if (d == deliveries_.end()) return;
  if (EngineMetrics* m = options_.metrics) {
    const WorkKind kind = d->second.owner.kind;
    m->Released(kind, outcome);
    if (outcome == WorkOutcome::kCompleted) {
      m->work_seconds[static_cast<int>(kind)].Observe(
          absl::ToDoubleSeconds(clock_->Now() - d->second.sent));
    }
  }
  auto s = streams_.find(d->second.stream);
  if (s != streams_.end()) {
    --s->second->used[static_cast<int>(d->second.owner.kind)];
    s->second->tokens.erase(token);
  }
  --total_used_[static_cast<int>(d->second.owner.kind)];
  deliveries_.erase(d);
}

std::optional<TokenOwner> Dispatcher::Owner(const std::string& token) const {
  absl::MutexLock l(&mu_);
  auto d = deliveries_.find(token);
  if (d == deliveries_.end()) return std::nullopt;
  return d->second.owner;
}

bool Dispatcher::SentTo(const std::string& token, const std::string& peer) const {
  if (peer.empty()) return false;
  absl::MutexLock l(&mu_);
  auto d = deliveries_.find(token);
  if (d == deliveries_.end()) return false;
  auto s = streams_.find(d->second.stream);
  return s != streams_.end() && s->second->peer == peer;
}

void Dispatcher::Shutdown() {
  absl::MutexLock l(&mu_);
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& [id, s] : streams_) {
    timers_->Cancel(s->ping_timer);
    s->sink->Close();
  }
}

void Dispatcher::ForgetAll() {
  absl::MutexLock l(&mu_);
  deliveries_.clear();
  for (int& u : total_used_) u = 0;
  for (auto& [id, s] : streams_) {
    for (int& u : s->used) u = 0;
    s->tokens.clear();
  }
}

size_t Dispatcher::streams() const {
  absl::MutexLock l(&mu_);
  return streams_.size();
}

size_t Dispatcher::connections() const {
  absl::MutexLock l(&mu_);
  std::set<std::string> peers;
  for (const auto& [id, s] : streams_) peers.insert(s->peer);
  return peers.size();
}

size_t Dispatcher::in_flight(WorkKind kind) const {
  absl::MutexLock l(&mu_);
  size_t n = 0;
  for (const auto& [id, s] : streams_) n += s->used[static_cast<int>(kind)];
  return n;
}

}  // namespace taskhub::engine
