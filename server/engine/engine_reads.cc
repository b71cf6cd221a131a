// Engine: reads (instance, wait, query, ids, history). Each runs on the reader thread
// after everything queued before it is durable, so it sees every acknowledged write.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/core/entity.h"
#include "server/core/history.h"
#include "server/core/validation.h"
#include "server/engine/engine.h"

namespace taskhub::engine {

namespace {
// One query page is one read on the reader thread: bounded, whatever the client asks
// (a larger request gets this many and a continuation token).
constexpr int32_t kMaxPageSize = 1000;
}  // namespace

void Engine::GetInstance(const std::string& id, bool payloads, DoneWith<GetInstanceResponse> done) {
  if (core::IsEntityId(id)) return done(GetInstanceResponse());  // entities are not instances
  if (absl::Status st = core::ValidateInstanceId("instanceId", id); !st.ok()) return done(st);
  AfterDurable([this, id, payloads, done = std::move(done)](absl::Status st) mutable {
    if (!st.ok()) return done(st);
    auto rec = backend_->GetInstance(id);
    if (!rec.ok()) return done(rec.status());
    if (!rec->has_value()) return done(GetInstanceResponse());
    done(StateResponse(**rec, payloads));
  });
}

uint64_t Engine::WaitForInstance(const std::string& id, bool completion, bool payloads,
                                 DoneWith<GetInstanceResponse> done, absl::Duration wait) {
  const uint64_t handle = waiters_.Add(id, completion, payloads, std::move(done), wait);
  if (shutting_down()) {
    waiters_.End(handle, absl::UnavailableError("the server is shutting down"));
    return handle;
  }
  AfterDurable([this, id, handle](absl::Status st) {
    if (st.ok() && core::IsEntityId(id)) {
      st = absl::NotFoundError(absl::StrCat("'", id, "' is an entity, not an orchestration"));
    }
    if (st.ok()) st = core::ValidateInstanceId("instanceId", id);
    if (!st.ok()) return waiters_.End(handle, st);
    waiters_.Check(handle, backend_->GetInstance(id));
  });
  return handle;
}

void Engine::CancelWait(uint64_t handle) {
  waiters_.End(handle, absl::CancelledError("the wait was cancelled"));
}

void Engine::Query(const core::QueryCommand& cmd, DoneWith<QueryInstancesResponse> done) {
  storage::InstanceFilter f;
  f.statuses = cmd.statuses;
  f.created_from = cmd.created_from;
  f.created_to = cmd.created_to;
  if (cmd.id_prefix) f.id_prefix = *cmd.id_prefix;
  f.page_size = std::clamp(cmd.page_size, 1, kMaxPageSize);
  if (cmd.continuation) f.continuation = *cmd.continuation;
  const bool payloads = cmd.fetch_payloads;
  AfterDurable([this, f, payloads, done = std::move(done)](absl::Status st) mutable {
    if (!st.ok()) return done(st);
    absl::StatusOr<storage::InstancePage> page = backend_->QueryInstances(f);
    if (!page.ok()) return done(page.status());
    QueryInstancesResponse resp;
    for (const auto& rec : page->records) {
      *resp.add_orchestrationstate() = core::ToOrchestrationState(rec, payloads);
    }
    if (!page->continuation.empty())
      resp.mutable_continuationtoken()->set_value(page->continuation);
    done(resp);
  });
}

void Engine::ListInstanceIds(const core::ListIdsCommand& cmd,
                             DoneWith<ListInstanceIdsResponse> done) {
  if (cmd.nothing_matches) return done(ListInstanceIdsResponse());  // finished ones only
  storage::InstanceFilter f;
  f.statuses = cmd.statuses;
  if (f.statuses.empty()) f.statuses = core::TerminalStatuses();
  f.completed_from = cmd.completed_from;
  f.completed_to = cmd.completed_to;
  f.page_size = std::clamp(cmd.page_size, 1, kMaxPageSize);
  if (cmd.continuation) f.continuation = *cmd.continuation;
  AfterDurable([this, f, done = std::move(done)](absl::Status st) mutable {
    if (!st.ok()) return done(st);
    absl::StatusOr<storage::InstancePage> page = backend_->QueryInstances(f);
    if (!page.ok()) return done(page.status());
    ListInstanceIdsResponse resp;
    for (const auto& rec : page->records) resp.add_instanceids(rec.instance_id());
    if (!page->continuation.empty()) resp.mutable_lastinstancekey()->set_value(page->continuation);
    done(resp);
  });
}

void Engine::GetHistory(const std::string& id, DoneWith<std::vector<HistoryEvent>> done) {
  AfterDurable([this, id, done = std::move(done)](absl::Status st) mutable {
    if (st.ok()) st = core::ValidateInstanceId("instanceId", id);
    if (!st.ok()) return done(st);
    auto rec = backend_->GetInstance(id);
    if (!rec.ok()) return done(rec.status());
    if (!rec->has_value()) {
      return done(
          absl::NotFoundError(absl::StrCat("no orchestration instance with id '", id, "'")));
    }
    done(backend_->GetHistory(id));
  });
}

}  // namespace taskhub::engine
