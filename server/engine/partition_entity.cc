// Partition: durable entities (server/core/entity.h decides, this file applies).
//
// An entity is a live instance of this partition for as long as it exists (its
// record is RUNNING; recovery loads it). Its inbox is its request queue. Dispatch:
// NextEntityStep says what the entity does next; server steps (locks, unlocks,
// dropped requests) are applied at once, a batch of operations becomes a kEntity
// work item. The batch in flight is kept in the Live like an episode (token, lease
// timer, abandon and redelivery), with the inbox positions and operations it was
// built from: a completion is applied against those, never against what the worker
// echoes back (operationInfos).
#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/core/entity.h"
#include "server/core/validation.h"
#include "server/engine/partition.h"
#include "server/engine/partition_internal.h"

namespace taskhub::engine {

namespace {
// Server steps applied for one entity in one pump before it yields to the others
// (each step consumes or forwards a queued request, so a queue of lock and unlock
// requests cannot keep the pump busy forever).
constexpr int kMaxServerSteps = 64;
}  // namespace

void Partition::PumpEntities(absl::Time now) {
  bool room = ctx_.dispatcher->HasRoom(WorkKind::kEntity);
  for (size_t n = ready_ent_.size(); n > 0; --n) {
    std::string id = std::move(ready_ent_.front());
    ready_ent_.pop_front();
    Live* live = FindLive(id);
    if (live == nullptr) continue;
    live->queued = false;
    if (live->in_flight()) continue;
    if (live->not_before > now) {
      WakeAt(*live, live->not_before);
      continue;
    }
    std::vector<size_t> batch;
    if (!EntityServerSteps(id, now, &batch)) continue;
    live = FindLive(id);
    if (live == nullptr) continue;
    if (!room || !TryDispatchEntity(*live, batch)) {
      live->queued = true;
      ready_ent_.push_back(std::move(id));
      room = ctx_.dispatcher->HasRoom(WorkKind::kEntity);
      if (!room) break;  // the rest keeps its place
    }
  }
}

bool Partition::EntityServerSteps(const std::string& id, absl::Time now,
                                  std::vector<size_t>* batch) {
  const size_t max_batch = std::max<size_t>(1, ctx_.options->entity_max_batch);
  for (int i = 0; i < kMaxServerSteps; ++i) {
    Live* live = FindLive(id);
    if (live == nullptr || live->in_flight()) return false;
    core::EntityStep step = core::NextEntityStep(StateOf(*live), now, max_batch);
    switch (step.kind) {
      case core::EntityStep::Kind::kIdle:
        return false;
      case core::EntityStep::Kind::kBatch:
        if (step.batch.empty()) return false;
        *batch = std::move(step.batch);
        return true;
      case core::EntityStep::Kind::kServer: {
        if (step.server.empty()) return false;  // a step that changes nothing: idle
        Batch b;
        Apply(b, step.server, nullptr, {});
        Submit(std::move(b));
        break;
      }
    }
  }
  MarkReady(id);  // more server steps: after the other ready entities
  return false;
}

bool Partition::TryDispatchEntity(Live& live, const std::vector<size_t>& batch) {
  std::vector<HistoryEvent> ops;
  ops.reserve(batch.size());
  for (size_t pos : batch) {
    if (pos >= live.inbox.size()) {
      Logger("engine")->error("entity '{}': batch position {} outside its queue of {}",
                              live.rec.instance_id(), pos, live.inbox.size());
      return true;  // not dispatched, not requeued: the next change marks it ready
    }
    ops.push_back(live.inbox[pos].second);
  }
  const std::string id = live.rec.instance_id();
  TokenOwner owner{WorkKind::kEntity, index_, id, 0, ""};
  std::optional<std::string> token = ctx_.dispatcher->Dispatch(
      WorkKind::kEntity, core::EntityNameOf(id), "", owner,
      [&](WorkItem* wi) { core::BuildEntityWorkItem(live.rec, ops, ctx_.options->entity_v1, wi); });
  if (!token) return false;
  live.token = *token;
  live.batch_positions = batch;
  live.batch_ops = std::move(ops);
  ScheduleLease(live, ctx_.clock->Now() + ctx_.options->orchestration_lease, "entity batch");
  return true;
}

// --- client and worker requests ----------------------------------------------------

void Partition::SignalEntity(const core::SignalEntityCommand& cmd, Done done) {
  Command(
      cmd.instance_id,
      [&](const core::InstanceState& s) {
        return core::SignalEntity(s, cmd, ctx_.clock->Now(), [this] { return ctx_.ids->NewId(); });
      },
      std::move(done));
}

void Partition::CompleteEntity(const core::EntityResultCommand& cmd,
                               const std::optional<TokenOwner>& owner, Done done) {
  absl::Status reply;
  {
    absl::MutexLock l(&mu_);
    reply = CheckOpen();
    if (reply.ok()) reply = CompleteEntityLocked(cmd, owner, done);
  }
  if (done) done(reply);
}

absl::Status Partition::CompleteEntityLocked(const core::EntityResultCommand& cmd,
                                             const std::optional<TokenOwner>& owner, Done& done) {
  const std::string& token = cmd.completion_token;
  auto resolve = [&]() -> Live* {
    if (!owner || owner->kind != WorkKind::kEntity) return nullptr;
    Live* live = FindLive(owner->instance_id);
    return live != nullptr && live->token == token ? live : nullptr;
  };
  Live* live = resolve();
  if (live == nullptr) {
    Logger("engine")->info("ignoring a stale entity batch completion");
    return absl::OkStatus();
  }
  // Orchestrations the batch starts: ids generated here (not in the core) so that the
  // local ones can be looked up (outside the lock) before the transition is computed.
  core::EntityResultCommand c = cmd;
  std::vector<std::string> local;
  for (auto& a : *c.result.mutable_actions()) {
    if (!a.has_startneworchestration()) continue;
    auto* start = a.mutable_startneworchestration();
    if (start->instanceid().empty()) start->set_instanceid(ctx_.ids->NewId());
    if (core::ValidateInstanceId("instanceId", start->instanceid()).ok() &&
        IsLocal(start->instanceid())) {
      local.push_back(start->instanceid());
    }
  }
  Prefetched prefetched;
  if (!local.empty()) {
    prefetched = Prefetch(local);
    live = resolve();
    if (live == nullptr) return absl::OkStatus();  // redelivered meanwhile
  }
  core::Transition t = core::CompleteEntityBatch(
      StateOf(*live), live->batch_positions, live->batch_ops, c, ctx_.clock->Now(),
      [this] { return ctx_.ids->NewId(); }, Limits());
  const absl::Status reply = t.reply;
  if (!reply.ok()) {
    Logger("engine")->warn("entity '{}': invalid batch result: {}", live->rec.instance_id(),
                           reply.ToString());
  }
  ReleaseOrchestration(*live, absl::ZeroDuration(), WorkOutcome::kCompleted);
  live->abandons = 0;
  Batch b;
  if (!t.empty()) Apply(b, t, nullptr, prefetched);
  SubmitAndReply(std::move(b), std::move(done), reply);
  done = nullptr;
  return absl::OkStatus();
}

// --- reads and admin ----------------------------------------------------------------

void Partition::GetEntity(const std::string& id, bool include_state,
                          DoneWith<std::optional<EntityMetadata>> done) {
  std::optional<EntityMetadata> found;
  absl::Status st;
  {
    absl::MutexLock l(&mu_);
    st = CheckOpen();
    Live* live = st.ok() ? FindLive(id) : nullptr;
    if (live != nullptr && core::IsEntity(live->rec)) {
      found = core::ToEntityMetadata(live->rec, live->inbox.size(), include_state);
    }
  }
  if (!st.ok()) return done(st);
  // What memory holds may not be durable yet: answer once it is.
  AfterDurable([found = std::move(found), done = std::move(done)](absl::Status st) mutable {
    if (!st.ok()) return done(st);
    done(std::move(found));
  });
}

size_t Partition::EntityBacklog(const std::string& id) {
  absl::MutexLock l(&mu_);
  Live* live = FindLive(id);
  return live != nullptr ? live->inbox.size() : 0;
}

bool Partition::IsLive(const std::string& id) {
  absl::MutexLock l(&mu_);
  return FindLive(id) != nullptr;
}

std::optional<std::pair<std::string, std::string>> Partition::EntityLock(const std::string& id) {
  absl::MutexLock l(&mu_);
  Live* live = FindLive(id);
  if (live == nullptr || !core::IsEntity(live->rec) || live->rec.entity().locked_by().empty()) {
    return std::nullopt;
  }
  return std::make_pair(live->rec.entity().locked_by(), live->rec.entity().lock_critical_section());
}

Partition::CleanResult Partition::CleanEntity(
    const std::string& id, bool remove_empty,
    const std::optional<std::pair<std::string, std::string>>& release) {
  CleanResult out;
  absl::MutexLock l(&mu_);
  if (!CheckOpen().ok()) return out;
  Batch b;
  // Applies `step` to the entity (when it exists and has no batch in flight); true when it
  // changed something.
  auto apply = [&](absl::FunctionRef<core::Transition(const core::InstanceState&)> step) {
    Live* live = FindLive(id);
    if (live == nullptr || !core::IsEntity(live->rec) || live->in_flight()) return false;
    core::Transition t = step(StateOf(*live));
    if (t.empty()) return false;
    Apply(b, t, nullptr, {});
    return true;
  };
  if (release) {
    out.released = apply([&](const core::InstanceState& s) {
      return core::ReleaseEntityLock(s, release->first, release->second, ctx_.clock->Now());
    });
  }
  if (remove_empty) out.removed = apply(core::RemoveEmptyEntity);
  if (!b.ws.empty()) {
    Submit(std::move(b));
    PumpLocked();
  }
  return out;
}

// --- delayed messages ----------------------------------------------------------------

void Partition::DeliverDelayed(Batch& b, const store::OutboxMessage& stored) {
  core::Message m = FromStore(stored);
  if (absl::Status st = core::ValidateIdText("message target", m.target); !st.ok()) {
    Logger("engine")->error("dropping a delayed message: {}", st.ToString());
    return;
  }
  // Only signals are delayed; a kind that needs the target's stored record (a child
  // start) is received as if its target's state were unknown (see Send).
  Send(b, m, {});
}

}  // namespace taskhub::engine
