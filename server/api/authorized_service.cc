#include "server/api/authorized_service.h"

#include <optional>
#include <string>

#include "proto/grpc_status.h"

namespace taskhub::api {
namespace {

// A server-streaming call refused before it started.
template <typename T>
class RefusedWriter final : public grpc::ServerWriteReactor<T> {
 public:
  explicit RefusedWriter(const grpc::Status& st) { this->Finish(st); }
  void OnDone() override { delete this; }
};

class AuthorizedSidecarService final : public SidecarService {
 public:
  AuthorizedSidecarService(engine::Engine* engine, const auth::Authorizer* auth)
      : SidecarService(engine), auth_(auth) {}

// One override per RPC: check, then the plain handler. Every RPC of the proto must be
// listed (tests/security checks each one refuses a call without a token).
#define TASKHUB_AUTHORIZED_UNARY(Method, Req, Resp)                     \
  Unary* Method(Ctx* ctx, const Req* req, Resp* resp) override {         \
    if (absl::Status st = Check(ctx, #Method); !st.ok()) {               \
      auto* r = ctx->DefaultReactor();                                   \
      r->Finish(ToGrpc(st));                                             \
      return r;                                                          \
    }                                                                    \
    return SidecarService::Method(ctx, req, resp);                       \
  }
#define TASKHUB_AUTHORIZED_STREAM(Method, Req, Item)                          \
  grpc::ServerWriteReactor<Item>* Method(Ctx* ctx, const Req* req) override { \
    if (absl::Status st = Check(ctx, #Method); !st.ok()) {                    \
      return new RefusedWriter<Item>(ToGrpc(st));                             \
    }                                                                         \
    return SidecarService::Method(ctx, req);                                  \
  }

  TASKHUB_AUTHORIZED_UNARY(Hello, Empty, Empty)
  TASKHUB_AUTHORIZED_UNARY(StartInstance, CreateInstanceRequest, CreateInstanceResponse)
  TASKHUB_AUTHORIZED_UNARY(GetInstance, GetInstanceRequest, GetInstanceResponse)
  TASKHUB_AUTHORIZED_UNARY(WaitForInstanceStart, GetInstanceRequest, GetInstanceResponse)
  TASKHUB_AUTHORIZED_UNARY(WaitForInstanceCompletion, GetInstanceRequest, GetInstanceResponse)
  TASKHUB_AUTHORIZED_UNARY(RaiseEvent, RaiseEventRequest, RaiseEventResponse)
  TASKHUB_AUTHORIZED_UNARY(TerminateInstance, TerminateRequest, TerminateResponse)
  TASKHUB_AUTHORIZED_UNARY(SuspendInstance, SuspendRequest, SuspendResponse)
  TASKHUB_AUTHORIZED_UNARY(ResumeInstance, ResumeRequest, ResumeResponse)
  TASKHUB_AUTHORIZED_UNARY(RewindInstance, RewindInstanceRequest, RewindInstanceResponse)
  TASKHUB_AUTHORIZED_UNARY(RestartInstance, RestartInstanceRequest, RestartInstanceResponse)
  TASKHUB_AUTHORIZED_UNARY(QueryInstances, QueryInstancesRequest, QueryInstancesResponse)
  TASKHUB_AUTHORIZED_UNARY(ListInstanceIds, ListInstanceIdsRequest, ListInstanceIdsResponse)
  TASKHUB_AUTHORIZED_UNARY(PurgeInstances, PurgeInstancesRequest, PurgeInstancesResponse)
  TASKHUB_AUTHORIZED_STREAM(StreamInstanceHistory, StreamInstanceHistoryRequest, HistoryChunk)
  TASKHUB_AUTHORIZED_UNARY(CreateTaskHub, CreateTaskHubRequest, CreateTaskHubResponse)
  TASKHUB_AUTHORIZED_UNARY(DeleteTaskHub, DeleteTaskHubRequest, DeleteTaskHubResponse)
  TASKHUB_AUTHORIZED_STREAM(GetWorkItems, GetWorkItemsRequest, WorkItem)
  TASKHUB_AUTHORIZED_UNARY(CompleteActivityTask, ActivityResponse, CompleteTaskResponse)
  TASKHUB_AUTHORIZED_UNARY(CompleteOrchestratorTask, OrchestratorResponse, CompleteTaskResponse)
  TASKHUB_AUTHORIZED_UNARY(AbandonTaskActivityWorkItem, AbandonActivityTaskRequest,
                           AbandonActivityTaskResponse)
  TASKHUB_AUTHORIZED_UNARY(AbandonTaskOrchestratorWorkItem, AbandonOrchestrationTaskRequest,
                           AbandonOrchestrationTaskResponse)
  TASKHUB_AUTHORIZED_UNARY(CompleteEntityTask, EntityBatchResult, CompleteTaskResponse)
  TASKHUB_AUTHORIZED_UNARY(AbandonTaskEntityWorkItem, AbandonEntityTaskRequest,
                           AbandonEntityTaskResponse)
  TASKHUB_AUTHORIZED_UNARY(SignalEntity, SignalEntityRequest, SignalEntityResponse)
  TASKHUB_AUTHORIZED_UNARY(GetEntity, GetEntityRequest, GetEntityResponse)
  TASKHUB_AUTHORIZED_UNARY(QueryEntities, QueryEntitiesRequest, QueryEntitiesResponse)
  TASKHUB_AUTHORIZED_UNARY(CleanEntityStorage, CleanEntityStorageRequest,
                           CleanEntityStorageResponse)
  TASKHUB_AUTHORIZED_UNARY(SkipGracefulOrchestrationTerminations,
                           SkipGracefulOrchestrationTerminationsRequest,
                           SkipGracefulOrchestrationTerminationsResponse)

#undef TASKHUB_AUTHORIZED_UNARY
#undef TASKHUB_AUTHORIZED_STREAM

 protected:
  // A stream's token is checked again before its first item and after every reload of
  // the token file: a revoked worker gets UNAUTHENTICATED at its next work item or
  // health ping, and the work items it held are dispatched again.
  StreamCheck WorkItemStreamCheck(Ctx* ctx) override {
    const auto& md = ctx->client_metadata();
    auto it = md.find("authorization");
    std::optional<std::string> value;
    if (it != md.end()) value.emplace(it->second.data(), it->second.size());
    return [auth = auth_, value = std::move(value), peer = ctx->peer(),
            checked = ~uint64_t{0}]() mutable -> absl::Status {
      const uint64_t now = auth->generation();
      if (now == checked) return absl::OkStatus();
      absl::string_view v = value ? absl::string_view(*value) : absl::string_view();
      absl::Status st = auth->Check("GetWorkItems", value ? &v : nullptr, peer);
      if (st.ok()) checked = now;
      return st;
    };
  }

 private:
  absl::Status Check(Ctx* ctx, absl::string_view method) const {
    const auto& md = ctx->client_metadata();
    auto it = md.find("authorization");
    if (it == md.end()) return auth_->Check(method, nullptr, ctx->peer());
    const absl::string_view value(it->second.data(), it->second.size());
    return auth_->Check(method, &value, ctx->peer());
  }

  const auth::Authorizer* auth_;
};

}  // namespace

std::unique_ptr<SidecarService> NewAuthorizedSidecarService(engine::Engine* engine,
                                                            const auth::Authorizer* auth) {
  return std::make_unique<AuthorizedSidecarService>(engine, auth);
}

}  // namespace taskhub::api
