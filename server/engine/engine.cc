// Engine facade: creation and recovery, shutdown, routing of client and worker
// requests to partitions, streams.
#include "server/engine/engine.h"

#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/engine/partition.h"

namespace taskhub::engine {

Engine::Engine(storage::Backend* backend, Clock* clock, IdGenerator* ids, EngineOptions options)
    : backend_(backend),
      clock_(clock),
      ids_(ids),
      options_(std::move(options)),
      timers_(clock, options_.manual_scheduling),
      reader_(options_.manual_scheduling),
      purger_(options_.manual_scheduling),
      commits_(backend, options_.on_store_failure, options_.manual_scheduling, &metrics_),
      dispatcher_(&timers_, clock,
                  DispatcherOptions{options_.default_max_concurrent, options_.health_ping_interval,
                                    options_.token_seed, &metrics_,
                                    {options_.max_concurrent_orchestrations,
                                     options_.max_concurrent_activities,
                                     options_.max_concurrent_entities}}),
      waiters_(&timers_, clock, options_.max_wait) {
  EngineContext ctx;
  ctx.backend = backend_;
  ctx.clock = clock_;
  ctx.ids = ids_;
  ctx.options = &options_;
  ctx.commits = &commits_;
  ctx.timers = &timers_;
  ctx.reader = &reader_;
  ctx.dispatcher = &dispatcher_;
  ctx.waiters = &waiters_;
  ctx.metrics = &metrics_;
  ctx.seq = &seq_;
  ctx.route = [this](const std::string& id) { return &PartitionOf(id); };
  const int n = std::clamp(options_.partitions, 1, kMaxPartitions);
  for (int i = 0; i < n; ++i) partitions_.push_back(std::make_unique<Partition>(i, ctx));
}

Engine::~Engine() { Stop(); }

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(storage::Backend* backend, Clock* clock,
                                                       IdGenerator* ids, EngineOptions options) {
  std::unique_ptr<Engine> e(new Engine(backend, clock, ids, std::move(options)));
  RETURN_IF_ERROR(e->Recover());
  if (!e->options_.retention.empty()) e->ScheduleRetention(absl::ZeroDuration());
  return e;
}

absl::Status Engine::Recover() {
  ASSIGN_OR_RETURN(storage::RecoveryState st, backend_->LoadRecoveryState());
  // The instance gauges start from the store's counts (then follow every commit).
  ASSIGN_OR_RETURN(storage::InstanceCounts counts, backend_->CountInstances());
  metrics_.SeedInstances(counts);
  uint64_t seq = st.max_seq;
  for (const auto& i : st.inbox) seq = std::max(seq, i.seq);
  for (const auto& a : st.activities) seq = std::max(seq, a.seq);
  for (const auto& t : st.timers) seq = std::max(seq, t.seq);
  for (const auto& m : st.messages) seq = std::max(seq, m.seq);
  for (const auto& n : st.notifications) seq = std::max(seq, n.seq);
  seq_ = seq;
  const size_t live = st.live_instances.size(), inbox = st.inbox.size(), timers = st.timers.size();
  // Split by partition first: each partition takes (moves) its own items.
  std::vector<storage::RecoveryState> parts(partitions_.size());
  for (auto& rec : st.live_instances) {
    const std::string id = rec.instance_id();
    parts[PartitionIndex(id)].live_instances.push_back(std::move(rec));
  }
  for (auto& i : st.inbox) parts[PartitionIndex(i.instance_id)].inbox.push_back(std::move(i));
  for (auto& a : st.activities) {
    const std::string id = a.task.instance_id();
    parts[PartitionIndex(id)].activities.push_back(std::move(a));
  }
  for (auto& t : st.timers) {
    const std::string id = t.timer.instance_id();
    parts[PartitionIndex(id)].timers.push_back(std::move(t));
  }
  for (size_t i = 0; i < partitions_.size(); ++i) partitions_[i]->Recover(parts[i]);
  RecoverNotifications(st);
  // Messages between partitions that were never taken, in the order they were sent.
  const size_t undelivered = st.messages.size();
  for (auto& m : st.messages) {
    PartitionOf(m.message.target()).Deliver({RemoteMessage{m.seq, std::move(m.message)}});
  }
  Logger("engine")->info(
      "recovered {} live instances, {} inbox events, {} undelivered messages, {} activity "
      "tasks, {} timers; {} partitions",
      live, inbox, undelivered, Stats().activities, timers, partitions_.size());
  return absl::OkStatus();
}

void Engine::BeginShutdown() {
  if (shutting_down_.exchange(true)) return;
  for (auto& p : partitions_) p->BeginShutdown();
  dispatcher_.Shutdown();
  waiters_.FailAll(absl::UnavailableError("the server is shutting down"));
}

void Engine::Stop() {
  BeginShutdown();
  timers_.Stop();
  commits_.Stop();
  reader_.Stop();
  purger_.Stop();
}

bool Engine::RunCommit() { return commits_.RunOnce(); }
bool Engine::RunRead() { return reader_.RunOne() || purger_.RunOne(); }
size_t Engine::RunDueTimers() { return timers_.RunDue(); }
std::optional<absl::Time> Engine::NextTimer() { return timers_.NextDeadline(); }

void Engine::CrashForTesting() {
  // Reads first: commit callbacks that post reads (AfterDurable) then post nothing.
  reader_.Abandon();
  purger_.Abandon();
  timers_.Stop();
  commits_.Abandon();
  BeginShutdown();
}

size_t Engine::PartitionIndex(const std::string& instance_id) const {
  if (partitions_.size() == 1) return 0;
  // FNV-1a: stable across builds and platforms (a replica will own partitions).
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : instance_id) h = (h ^ c) * 1099511628211ull;
  return h % partitions_.size();
}

Partition& Engine::PartitionOf(const std::string& instance_id) {
  return *partitions_[PartitionIndex(instance_id)];
}

void Engine::PumpAll() {
  for (auto& p : partitions_) p->Pump();
}

void Engine::AfterDurable(absl::AnyInvocable<void(absl::Status)> fn) {
  PostAfterDurable(&commits_, &reader_, std::move(fn));
}

EngineStats Engine::Stats() {
  EngineStats s;
  for (auto& p : partitions_) {
    Partition::Counts c = p->Stats();
    s.live_instances += c.live;
    s.ready_orchestrations += c.ready;
    s.ready_entities += c.ready_entities;
    s.activities += c.activities;
    s.cached_history_events += c.cached_history_events;
  }
  s.streams = dispatcher_.streams();
  s.connections = dispatcher_.connections();
  for (int k = 0; k < kWorkKinds; ++k) s.in_flight[k] = dispatcher_.in_flight(WorkKind(k));
  s.waiters = waiters_.size();
  s.timers = timers_.size();
  s.commits = commits_.commits();
  s.submissions = commits_.submissions();
  s.purged_instances = purged_.load();
  s.retention_purged_instances = retention_purged_.load();
  return s;
}

// --- clients ----------------------------------------------------------------------

namespace {
absl::Status Closed() { return absl::UnavailableError("the server is shutting down"); }
}  // namespace

void Engine::StartInstance(core::StartCommand cmd, DoneWith<std::string> done) {
  if (shutting_down()) return done(Closed());
  core::ResolveStartId(&cmd, [this] { return ids_->NewId(); });  // to route it
  Partition& p = PartitionOf(cmd.instance_id);
  p.Start(std::move(cmd), std::move(done));
}

void Engine::RaiseEvent(const core::RaiseEventCommand& cmd, Done done) {
  PartitionOf(cmd.instance_id).RaiseEvent(cmd, std::move(done));
}

void Engine::Terminate(const core::TerminateCommand& cmd, Done done) {
  PartitionOf(cmd.instance_id).Terminate(cmd, std::move(done));
}

void Engine::Suspend(const core::SuspendCommand& cmd, Done done) {
  PartitionOf(cmd.instance_id).Suspend(cmd, std::move(done));
}

void Engine::Resume(const core::ResumeCommand& cmd, Done done) {
  PartitionOf(cmd.instance_id).Resume(cmd, std::move(done));
}

void Engine::Rewind(const core::RewindCommand& cmd, Done done) {
  PartitionOf(cmd.instance_id).Rewind(cmd, std::move(done));
}

void Engine::Restart(const core::RestartCommand& cmd, DoneWith<std::string> done) {
  absl::StatusOr<core::StartCommand> start = PartitionOf(cmd.instance_id).RestartCommand(cmd);
  if (!start.ok()) return done(start.status());
  StartInstance(std::move(*start), std::move(done));
}

void Engine::DeleteTaskHub(Done done) {
  if (shutting_down()) return done(Closed());
  dispatcher_.ForgetAll();
  // Every partition forgets its state; the first one writes the deletion.
  for (size_t i = 1; i < partitions_.size(); ++i) partitions_[i]->DeleteEverything(nullptr);
  partitions_[0]->DeleteEverything(std::move(done));
  Logger("engine")->warn("task hub deleted");
}

// --- workers ----------------------------------------------------------------------

uint64_t Engine::AddStream(WorkItemSink* sink, const core::ConnectCommand& cmd,
                           const std::string& peer) {
  const uint64_t id = dispatcher_.AddStream(sink, cmd, peer);
  if (id != 0) PumpAll();
  return id;
}

void Engine::RemoveStream(uint64_t stream_id) {
  std::vector<TokenOwner> held = dispatcher_.RemoveStream(stream_id);
  for (size_t i = 0; i < partitions_.size(); ++i) {
    std::vector<TokenOwner> mine;
    for (const auto& o : held) {
      if (o.partition == static_cast<int>(i)) mine.push_back(o);
    }
    if (!mine.empty()) partitions_[i]->Redeliver(mine);
  }
}

void Engine::CompleteOrchestration(const core::EpisodeResultCommand& cmd, const std::string& peer,
                                   Done done) {
  if (shutting_down()) return done(Closed());
  std::optional<TokenOwner> owner;
  if (!cmd.completion_token.empty()) owner = dispatcher_.Owner(cmd.completion_token);
  Partition& p = owner ? *partitions_[owner->partition] : PartitionOf(cmd.instance_id);
  p.CompleteOrchestration(cmd, peer, owner, std::move(done));
  if (partitions_.size() > 1) PumpAll();  // the freed slot may serve another partition
}

void Engine::CompleteActivity(const core::ActivityResultCommand& cmd, const std::string& peer,
                              Done done) {
  if (shutting_down()) return done(Closed());
  std::optional<TokenOwner> owner;
  if (!cmd.completion_token.empty()) owner = dispatcher_.Owner(cmd.completion_token);
  Partition& p = owner ? *partitions_[owner->partition] : PartitionOf(cmd.instance_id);
  p.CompleteActivity(cmd, peer, owner, std::move(done));
  if (partitions_.size() > 1) PumpAll();
}

void Engine::Abandon(const core::AbandonCommand& cmd, Done done) {
  WorkKind kind = WorkKind::kOrchestration;
  switch (cmd.kind) {
    case core::AbandonCommand::Kind::kOrchestration:
      break;
    case core::AbandonCommand::Kind::kActivity:
      kind = WorkKind::kActivity;
      break;
    case core::AbandonCommand::Kind::kEntity:
      kind = WorkKind::kEntity;
      break;
  }
  std::optional<TokenOwner> owner = dispatcher_.Owner(cmd.completion_token);
  if (owner && owner->kind == kind) {
    partitions_[owner->partition]->Abandon(cmd.completion_token, *owner);
  }
  done(absl::OkStatus());
}

}  // namespace taskhub::engine
