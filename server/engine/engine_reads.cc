// Engine: reads (instance, wait, query, ids, history). Each runs on the reader thread
// after everything queued before it is durable, so it sees every acknowledged write.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/core/history.h"
#include "server/core/validation.h"
#include "server/engine/engine.h"
#include "server/engine/status_filter.h"

namespace taskhub::engine {

using core::FromProto;

namespace {
// One query page is one read on the reader thread: bounded, whatever the client asks
// (a larger request gets this many and a continuation token).
constexpr int32_t kMaxPageSize = 1000;
}  // namespace

void Engine::GetInstance(const std::string& id, bool payloads,
                         DoneWith<GetInstanceResponse> done) {
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
                                 DoneWith<GetInstanceResponse> done) {
  const uint64_t handle = waiters_.Add(id, completion, payloads, std::move(done));
  if (shutting_down()) {
    waiters_.End(handle, absl::UnavailableError("the server is shutting down"));
    return handle;
  }
  AfterDurable([this, id, handle](absl::Status st) {
    if (st.ok()) st = core::ValidateInstanceId("instanceId", id);
    if (!st.ok()) return waiters_.End(handle, st);
    waiters_.Check(handle, backend_->GetInstance(id));
  });
  return handle;
}

void Engine::CancelWait(uint64_t handle) {
  waiters_.End(handle, absl::CancelledError("the wait was cancelled"));
}

void Engine::Query(const InstanceQuery& q, DoneWith<QueryInstancesResponse> done) {
  storage::InstanceFilter f;
  for (int s : q.runtimestatus()) f.statuses.push_back(static_cast<OrchestrationStatus>(s));
  if (q.has_createdtimefrom()) f.created_from = FromProto(q.createdtimefrom());
  if (q.has_createdtimeto()) f.created_to = FromProto(q.createdtimeto());
  if (q.has_instanceidprefix()) f.id_prefix = q.instanceidprefix().value();
  f.page_size = q.maxinstancecount() > 0 ? std::min(q.maxinstancecount(), kMaxPageSize) : 100;
  if (q.has_continuationtoken()) f.continuation = q.continuationtoken().value();
  const bool payloads = q.fetchinputsandoutputs();
  AfterDurable([this, f, payloads, done = std::move(done)](absl::Status st) mutable {
    if (!st.ok()) return done(st);
    absl::StatusOr<storage::InstancePage> page = backend_->QueryInstances(f);
    if (!page.ok()) return done(page.status());
    QueryInstancesResponse resp;
    for (const auto& rec : page->records) {
      *resp.add_orchestrationstate() = core::ToOrchestrationState(rec, payloads);
    }
    if (!page->continuation.empty()) resp.mutable_continuationtoken()->set_value(page->continuation);
    done(resp);
  });
}

void Engine::ListInstanceIds(const ListInstanceIdsRequest& req,
                             DoneWith<ListInstanceIdsResponse> done) {
  storage::InstanceFilter f;
  std::optional<std::vector<OrchestrationStatus>> statuses = TerminalOnly(req.runtimestatus());
  if (!statuses) return done(ListInstanceIdsResponse());  // ids of finished instances only
  f.statuses = *statuses;
  if (req.has_completedtimefrom()) f.completed_from = FromProto(req.completedtimefrom());
  if (req.has_completedtimeto()) f.completed_to = FromProto(req.completedtimeto());
  f.page_size = req.pagesize() > 0 ? std::min(req.pagesize(), kMaxPageSize) : 100;
  if (req.has_lastinstancekey()) f.continuation = req.lastinstancekey().value();
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
      return done(absl::NotFoundError(absl::StrCat("no orchestration instance with id '", id, "'")));
    }
    done(backend_->GetHistory(id));
  });
}

}  // namespace taskhub::engine
