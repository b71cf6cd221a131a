// Engine: durable entities — the client RPCs (signal, get, query, clean) and batch
// completions, routed to the partition of the entity (server/engine/partition_entity.cc).
// Queries and cleaning page through the stored entities (a prefix query with
// entities=true) on the reader thread, after everything queued before is durable.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/core/entity.h"
#include "server/core/history.h"
#include "server/engine/engine.h"
#include "server/engine/partition.h"

namespace taskhub::engine {

namespace {
constexpr int32_t kMaxEntityPage = 1000;  // entities read per query page
constexpr int kCleanPage = 200;           // entities examined per CleanEntityStorage call
absl::Status Closed() { return absl::UnavailableError("the server is shutting down"); }
}  // namespace

void Engine::SignalEntity(core::SignalEntityCommand cmd, Done done) {
  if (shutting_down()) return done(Closed());
  // A client that sends no request id gets one (the SDKs send theirs: a retried
  // signal is then deduplicated by the entity).
  if (cmd.request_id.empty()) cmd.request_id = ids_->NewId();
  PartitionOf(cmd.instance_id).SignalEntity(cmd, std::move(done));
}

void Engine::GetEntity(const std::string& id, bool include_state,
                       DoneWith<std::optional<EntityMetadata>> done) {
  if (shutting_down()) return done(Closed());
  PartitionOf(id).GetEntity(id, include_state, std::move(done));
}

void Engine::QueryEntities(const core::EntityQueryCommand& cmd,
                           DoneWith<QueryEntitiesResponse> done) {
  storage::InstanceFilter f;
  f.entities = true;
  f.id_prefix = cmd.id_prefix && !cmd.id_prefix->empty() ? *cmd.id_prefix : "@";
  f.page_size = std::clamp(cmd.page_size, 1, kMaxEntityPage);
  if (cmd.continuation) f.continuation = *cmd.continuation;
  AfterDurable([this, f, cmd, done = std::move(done)](absl::Status st) mutable {
    if (!st.ok()) return done(st);
    absl::StatusOr<storage::InstancePage> page = backend_->QueryInstances(f);
    if (!page.ok()) return done(page.status());
    QueryEntitiesResponse resp;
    for (const auto& rec : page->records) {
      if (!core::IsEntity(rec) || !core::MatchesEntityQuery(cmd, rec)) continue;
      const std::string& id = rec.instance_id();
      *resp.add_entities() =
          core::ToEntityMetadata(rec, PartitionOf(id).EntityBacklog(id), cmd.include_state);
    }
    if (!page->continuation.empty()) {
      resp.mutable_continuationtoken()->set_value(page->continuation);
    }
    done(std::move(resp));
  });
}

void Engine::CleanEntityStorage(const core::CleanEntitiesCommand& cmd,
                                DoneWith<CleanEntityStorageResponse> done) {
  if (shutting_down()) return done(Closed());
  storage::InstanceFilter f;
  f.entities = true;
  f.id_prefix = "@";
  f.page_size = kCleanPage;
  if (cmd.continuation) f.continuation = *cmd.continuation;
  AfterDurable([this, f, cmd, done = std::move(done)](absl::Status st) mutable {
    if (!st.ok()) return done(st);
    absl::StatusOr<storage::InstancePage> page = backend_->QueryInstances(f);
    if (!page.ok()) return done(page.status());
    CleanEntityStorageResponse resp;
    if (cmd.remove_empty || cmd.release_orphaned_locks) {
      for (const auto& rec : page->records) {
        const std::string& id = rec.instance_id();
        Partition& p = PartitionOf(id);
        // The lock as memory holds it; its owner may live in any partition (no two
        // partition locks are held at once: the entity re-checks the owner and section).
        std::optional<std::pair<std::string, std::string>> release;
        if (cmd.release_orphaned_locks) {
          release = p.EntityLock(id);
          if (release && PartitionOf(release->first).IsLive(release->first)) release.reset();
        }
        if (!release && !cmd.remove_empty) continue;
        Partition::CleanResult r = p.CleanEntity(id, cmd.remove_empty, release);
        if (r.released) resp.set_orphanedlocksreleased(resp.orphanedlocksreleased() + 1);
        if (r.removed) resp.set_emptyentitiesremoved(resp.emptyentitiesremoved() + 1);
      }
    }
    if (!page->continuation.empty()) {
      resp.mutable_continuationtoken()->set_value(page->continuation);
    }
    // Answer once the writes made above are durable.
    AfterDurable([resp = std::move(resp), done = std::move(done)](absl::Status st) mutable {
      if (!st.ok()) return done(st);
      done(std::move(resp));
    });
  });
}

void Engine::CompleteEntity(const core::EntityResultCommand& cmd, const std::string&, Done done) {
  if (shutting_down()) return done(Closed());
  std::optional<TokenOwner> owner = dispatcher_.Owner(cmd.completion_token);
  if (!owner || owner->kind != WorkKind::kEntity) return done(absl::OkStatus());  // stale
  partitions_[owner->partition]->CompleteEntity(cmd, owner, std::move(done));
  if (partitions_.size() > 1) PumpAll();  // the freed slot may serve another partition
}

}  // namespace taskhub::engine
