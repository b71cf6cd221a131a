// Partition: client commands (start, raise, terminate, suspend, resume, rewind,
// restart) and the deletions of purges. Each looks the instance up (store reads
// without mu_), asks the pure lifecycle (server/core/lifecycle.h) for the transition,
// applies it in one write; `done` runs after the lock is released.
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/core/entity.h"
#include "server/engine/partition.h"
#include "server/engine/partition_internal.h"

namespace taskhub::engine {

void Partition::Start(core::StartCommand cmd, DoneWith<std::string> done) {
  const std::string id = cmd.instance_id;
  Command(
      id,
      [&](const core::InstanceState& s) {
        return core::Start(s, std::move(cmd), ctx_.clock->Now(),
                           [this] { return ctx_.ids->NewId(); });
      },
      [done = std::move(done), id](absl::Status st) mutable {
        if (st.ok()) {
          done(id);
        } else {
          done(st);
        }
      });
}

void Partition::RaiseEvent(const core::RaiseEventCommand& cmd, Done done) {
  Command(
      cmd.instance_id,
      [&](const core::InstanceState& s) { return core::RaiseEvent(s, cmd, ctx_.clock->Now()); },
      std::move(done));
}

void Partition::Terminate(const core::TerminateCommand& cmd, Done done) {
  Command(
      cmd.instance_id,
      [&](const core::InstanceState& s) {
        return core::RequestTerminate(s, cmd, ctx_.clock->Now());
      },
      std::move(done));
}

void Partition::Suspend(const core::SuspendCommand& cmd, Done done) {
  Command(
      cmd.instance_id,
      [&](const core::InstanceState& s) { return core::Suspend(s, cmd, ctx_.clock->Now()); },
      std::move(done));
}

void Partition::Resume(const core::ResumeCommand& cmd, Done done) {
  Command(
      cmd.instance_id,
      [&](const core::InstanceState& s) { return core::Resume(s, cmd, ctx_.clock->Now()); },
      std::move(done));
}

void Partition::Rewind(const core::RewindCommand& cmd, Done done) {
  Command(
      cmd.instance_id,
      [&](const core::InstanceState& s) { return core::Rewind(s, cmd, ctx_.clock->Now()); },
      std::move(done));
}

absl::StatusOr<core::StartCommand> Partition::RestartCommand(const core::RestartCommand& cmd) {
  absl::MutexLock l(&mu_);
  RETURN_IF_ERROR(CheckOpen());
  Found f = Lookup(cmd.instance_id);
  RETURN_IF_ERROR(f.error);
  return core::Restart(StateOf(f), cmd, [this] { return ctx_.ids->NewId(); });
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
      for (const Found& f : found) reply.Update(f.error);  // all or nothing
      for (size_t i = 0; i < ids.size() && reply.ok(); ++i) {
        if (core::IsEntityId(ids[i].first)) {
          // An entity: deleted with its state when nothing is queued, locked or running.
          Live* live = found[i].live;
          if (live == nullptr || !core::IsEntity(live->rec) || live->in_flight()) continue;
          core::Transition t = core::PurgeEntity(StateOf(*live));
          if (t.empty()) continue;
          store::InstanceRecord rec = live->rec;
          Apply(b, t, nullptr, {});
          deleted.push_back(std::move(rec));
          continue;
        }
        // Only finished instances are purged; a running one counts as zero deleted
        // (what the SDKs document for purge by id).
        core::Transition t = core::Purge(StateOf(found[i]), ids[i].first, ids[i].second);
        if (t.empty()) continue;
        store::InstanceRecord rec = *found[i].rec;
        Apply(b, t, &rec, {});
        deleted.push_back(std::move(rec));
      }
      if (reply.ok()) {
        b.purge_only = true;
        b.done.push_back(
            [done = std::move(done), deleted = std::move(deleted)](absl::Status st) mutable {
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
