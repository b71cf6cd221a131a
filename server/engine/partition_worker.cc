// Partition: worker results. A completion is matched to its delivery (by token, or
// for older SDKs by instance id on the same connection), the pure lifecycle computes
// the transition (server/core/lifecycle.h) and it is applied in one write.
#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/core/history.h"
#include "server/core/record.h"
#include "server/engine/partition.h"
#include "server/engine/partition_internal.h"

namespace taskhub::engine {

namespace {
absl::Status UnknownInstance(const std::string& id) {
  return absl::InvalidArgumentError(
      absl::StrCat("instanceId '", id, "' does not name an orchestration instance on this server"));
}
absl::Status ForeignCompletion(absl::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat("completionToken is empty and ", what,
                   " was not sent on this connection; send the completionToken of the work item "
                   "(a completion without one is accepted only on the worker's own connection)"));
}
bool RewindsHistory(const std::vector<HistoryEvent>& new_events) {
  for (const auto& e : new_events) {
    if (e.has_executionrewound()) return true;
  }
  return false;
}
}  // namespace

void Partition::CompleteOrchestration(const core::EpisodeResultCommand& cmd,
                                      const std::string& peer,
                                      const std::optional<TokenOwner>& owner, Done done) {
  absl::Status reply;
  {
    absl::MutexLock l(&mu_);
    reply = CheckOpen();
    if (reply.ok()) reply = CompleteOrchestrationLocked(cmd, peer, owner, done);
  }
  if (done) done(reply);
}

absl::Status Partition::CompleteOrchestrationLocked(const core::EpisodeResultCommand& cmd,
                                                    const std::string& peer,
                                                    const std::optional<TokenOwner>& owner,
                                                    Done& done) {
  const std::string& token = cmd.completion_token;
  // The live instance whose episode this completes; null when stale. Called again
  // after the lock was released for reads.
  auto resolve = [&](std::string* token_out) -> absl::StatusOr<Live*> {
    if (!token.empty()) {
      if (!owner || owner->kind != WorkKind::kOrchestration) return nullptr;
      Live* live = FindLive(owner->instance_id);
      if (live == nullptr || live->token != token) return nullptr;
      *token_out = token;
      return live;
    }
    Live* live = FindLive(cmd.instance_id);
    if (live == nullptr || !live->in_flight()) return nullptr;
    if (!ctx_.dispatcher->SentTo(live->token, peer)) {
      return ForeignCompletion(absl::StrCat("the work item of instance '", cmd.instance_id, "'"));
    }
    *token_out = live->token;
    return live;
  };
  std::string held;
  ASSIGN_OR_RETURN(Live * live, resolve(&held));
  if (live == nullptr) {
    if (!cmd.instance_id.empty()) {
      Found f = Lookup(cmd.instance_id);
      if (f.error.ok() && f.live == nullptr && !f.rec) return UnknownInstance(cmd.instance_id);
    }
    Logger("engine")->info("ignoring a stale orchestration completion for '{}'", cmd.instance_id);
    return absl::OkStatus();
  }
  const std::string id = live->rec.instance_id();
  if (!cmd.instance_id.empty() && cmd.instance_id != id) {
    return absl::InvalidArgumentError(absl::StrCat(
        "instanceId '", cmd.instance_id, "' does not match the work item's instance '", id, "'"));
  }
  // Look up (outside the lock) the local instances this episode may create or rewind.
  std::vector<std::string> children;
  for (auto& c : core::ChildIdsOf(id, cmd.response)) {
    if (IsLocal(c)) children.push_back(std::move(c));
  }
  if (RewindsHistory(live->new_events)) {
    for (auto& c : core::AllChildren(live->history)) {
      if (IsLocal(c)) children.push_back(std::move(c));
    }
  }
  Prefetched prefetched;
  if (!children.empty()) {
    prefetched = Prefetch(children);
    std::string again;
    ASSIGN_OR_RETURN(live, resolve(&again));
    if (live == nullptr || again != held) return absl::OkStatus();  // redelivered meanwhile
  }
  // A response that cannot be applied fails the orchestration; the worker gets the
  // error too. Either way the transition is applied.
  core::Transition t = core::CompleteEpisode(
      StateOf(*live), live->new_events, live->dispatched, cmd, ctx_.clock->Now(),
      [this] { return ctx_.ids->NewId(); }, Limits());
  const absl::Status reply = t.reply;
  if (!reply.ok()) {
    Logger("engine")->warn("orchestration '{}'{}: invalid response: {}", id,
                           core::TraceNote(live->rec.trace_parent()), reply.ToString());
  }
  ReleaseOrchestration(*live, absl::ZeroDuration(), WorkOutcome::kCompleted);
  live->abandons = 0;
  Batch b;
  Apply(b, t, nullptr, prefetched);
  SubmitAndReply(std::move(b), std::move(done), reply);
  done = nullptr;
  return absl::OkStatus();
}

void Partition::CompleteActivity(const core::ActivityResultCommand& cmd, const std::string& peer,
                                 const std::optional<TokenOwner>& owner, Done done) {
  absl::Status reply;
  {
    absl::MutexLock l(&mu_);
    reply = CheckOpen();
    if (reply.ok()) reply = CompleteActivityLocked(cmd, peer, owner, done);
  }
  if (done) done(reply);
}

absl::Status Partition::CompleteActivityLocked(const core::ActivityResultCommand& cmd,
                                               const std::string& peer,
                                               const std::optional<TokenOwner>& owner, Done& done) {
  Activity* act = nullptr;
  if (!cmd.completion_token.empty()) {
    if (owner && owner->kind == WorkKind::kActivity) {
      auto a = activities_.find(owner->seq);
      if (a != activities_.end() && a->second->token == cmd.completion_token) {
        act = a->second.get();
      }
    }
  } else if (auto of = activities_of_.find(cmd.instance_id); of != activities_of_.end()) {
    // Only the instance's own tasks are searched, and only deliveries made on the
    // caller's connection may be completed without a token.
    bool foreign = false;
    for (uint64_t seq : of->second) {
      auto a = activities_.find(seq);
      if (a == activities_.end() || !a->second->in_flight() ||
          a->second->task.request().taskid() != cmd.task_id) {
        continue;
      }
      if (ctx_.dispatcher->SentTo(a->second->token, peer)) {
        act = a->second.get();
        break;
      }
      foreign = true;
    }
    if (act == nullptr && foreign) {
      return ForeignCompletion(
          absl::StrCat("activity task ", cmd.task_id, " of instance '", cmd.instance_id, "'"));
    }
  }
  if (act == nullptr) {
    if (!cmd.instance_id.empty()) {
      Found f = Lookup(cmd.instance_id);
      if (f.error.ok() && f.live == nullptr && !f.rec) return UnknownInstance(cmd.instance_id);
    }
    Logger("engine")->info("ignoring a stale activity completion for '{}' task {}", cmd.instance_id,
                           cmd.task_id);
    return absl::OkStatus();
  }
  const uint64_t seq = act->seq;
  const store::ActivityTask task = act->task;
  ReleaseActivity(*act, absl::ZeroDuration(), WorkOutcome::kCompleted);
  activities_.erase(seq);
  if (auto of = activities_of_.find(task.instance_id()); of != activities_of_.end()) {
    of->second.erase(seq);
    if (of->second.empty()) activities_of_.erase(of);
  }
  Batch b;
  b.ws.ops.push_back(storage::DeleteActivity{seq});
  core::ActivityResultCommand result = cmd;
  result.instance_id = task.instance_id();
  result.task_id = task.request().taskid();
  Live* live = FindLive(task.instance_id());
  core::Transition t =
      core::CompleteActivity(live ? StateOf(*live) : core::InstanceState{}, task.execution_id(),
                             result, ctx_.clock->Now(), Limits());
  const absl::Status reply = t.reply;
  if (!t.empty()) Apply(b, t, nullptr, {});
  SubmitAndReply(std::move(b), std::move(done), reply);
  done = nullptr;
  return absl::OkStatus();
}

}  // namespace taskhub::engine
