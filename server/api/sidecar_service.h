// TaskHubSidecarService (the Durable Task sidecar protocol) on the gRPC callback
// API. Each method validates and translates its request, calls the engine and
// finishes the call from the engine's callback; no gRPC thread ever blocks.
// Thread-safe.
#ifndef TASKHUB_SERVER_API_SIDECAR_SERVICE_H_
#define TASKHUB_SERVER_API_SIDECAR_SERVICE_H_

#include <functional>

#include "orchestrator_service.grpc.pb.h"
#include "server/engine/engine.h"

namespace taskhub::api {

class SidecarService : public TaskHubSidecarService::CallbackService {
 public:
  explicit SidecarService(engine::Engine* engine) : engine_(engine) {}

  using Unary = grpc::ServerUnaryReactor;
  using Ctx = grpc::CallbackServerContext;
  using Empty = google::protobuf::Empty;

  Unary* Hello(Ctx* ctx, const Empty* req, Empty* resp) override;
  Unary* StartInstance(Ctx* ctx, const CreateInstanceRequest* req,
                       CreateInstanceResponse* resp) override;
  Unary* GetInstance(Ctx* ctx, const GetInstanceRequest* req, GetInstanceResponse* resp) override;
  Unary* WaitForInstanceStart(Ctx* ctx, const GetInstanceRequest* req,
                              GetInstanceResponse* resp) override;
  Unary* WaitForInstanceCompletion(Ctx* ctx, const GetInstanceRequest* req,
                                   GetInstanceResponse* resp) override;
  Unary* RaiseEvent(Ctx* ctx, const RaiseEventRequest* req, RaiseEventResponse* resp) override;
  Unary* TerminateInstance(Ctx* ctx, const TerminateRequest* req, TerminateResponse* resp) override;
  Unary* SuspendInstance(Ctx* ctx, const SuspendRequest* req, SuspendResponse* resp) override;
  Unary* ResumeInstance(Ctx* ctx, const ResumeRequest* req, ResumeResponse* resp) override;
  Unary* RewindInstance(Ctx* ctx, const RewindInstanceRequest* req,
                        RewindInstanceResponse* resp) override;
  Unary* RestartInstance(Ctx* ctx, const RestartInstanceRequest* req,
                         RestartInstanceResponse* resp) override;
  Unary* QueryInstances(Ctx* ctx, const QueryInstancesRequest* req,
                        QueryInstancesResponse* resp) override;
  Unary* ListInstanceIds(Ctx* ctx, const ListInstanceIdsRequest* req,
                         ListInstanceIdsResponse* resp) override;
  Unary* PurgeInstances(Ctx* ctx, const PurgeInstancesRequest* req,
                        PurgeInstancesResponse* resp) override;
  grpc::ServerWriteReactor<HistoryChunk>* StreamInstanceHistory(
      Ctx* ctx, const StreamInstanceHistoryRequest* req) override;
  Unary* CreateTaskHub(Ctx* ctx, const CreateTaskHubRequest* req,
                       CreateTaskHubResponse* resp) override;
  Unary* DeleteTaskHub(Ctx* ctx, const DeleteTaskHubRequest* req,
                       DeleteTaskHubResponse* resp) override;

  grpc::ServerWriteReactor<WorkItem>* GetWorkItems(Ctx* ctx,
                                                   const GetWorkItemsRequest* req) override;
  Unary* CompleteActivityTask(Ctx* ctx, const ActivityResponse* req,
                              CompleteTaskResponse* resp) override;
  Unary* CompleteOrchestratorTask(Ctx* ctx, const OrchestratorResponse* req,
                                  CompleteTaskResponse* resp) override;
  Unary* AbandonTaskActivityWorkItem(Ctx* ctx, const AbandonActivityTaskRequest* req,
                                     AbandonActivityTaskResponse* resp) override;
  Unary* AbandonTaskOrchestratorWorkItem(Ctx* ctx, const AbandonOrchestrationTaskRequest* req,
                                         AbandonOrchestrationTaskResponse* resp) override;

  // Durable entities are not implemented yet: these return UNIMPLEMENTED.
  Unary* CompleteEntityTask(Ctx* ctx, const EntityBatchResult* req,
                            CompleteTaskResponse* resp) override;
  Unary* AbandonTaskEntityWorkItem(Ctx* ctx, const AbandonEntityTaskRequest* req,
                                   AbandonEntityTaskResponse* resp) override;
  Unary* SignalEntity(Ctx* ctx, const SignalEntityRequest* req,
                      SignalEntityResponse* resp) override;
  Unary* GetEntity(Ctx* ctx, const GetEntityRequest* req, GetEntityResponse* resp) override;
  Unary* QueryEntities(Ctx* ctx, const QueryEntitiesRequest* req,
                       QueryEntitiesResponse* resp) override;
  Unary* CleanEntityStorage(Ctx* ctx, const CleanEntityStorageRequest* req,
                            CleanEntityStorageResponse* resp) override;
  Unary* SkipGracefulOrchestrationTerminations(
      Ctx* ctx, const SkipGracefulOrchestrationTerminationsRequest* req,
      SkipGracefulOrchestrationTerminationsResponse* resp) override;

 protected:
  // Re-checked before every item (work item or health ping) a GetWorkItems stream is
  // about to send; an error ends the stream with that status and its in-flight work
  // items are dispatched again (used to cut streams whose token was revoked). Called
  // with the stream's lock held, possibly under the engine's lock: must not block.
  using StreamCheck = std::function<absl::Status()>;
  virtual StreamCheck WorkItemStreamCheck(Ctx*) { return nullptr; }

 private:
  engine::Engine* engine_;
};

}  // namespace taskhub::api

#endif  // TASKHUB_SERVER_API_SIDECAR_SERVICE_H_
