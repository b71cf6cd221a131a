#include "server/api/sidecar_service.h"

#include <deque>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "proto/grpc_status.h"
#include "server/api/translate.h"
#include "server/common/logging.h"

namespace taskhub::api {
namespace {

using engine::Engine;

// Finishes `r` with `st`.
void Finish(grpc::ServerUnaryReactor* r, const absl::Status& st) { r->Finish(ToGrpc(st)); }

// A done-callback that finishes the call.
auto Finisher(grpc::ServerUnaryReactor* r) {
  return [r](absl::Status st) { Finish(r, st); };
}

// Translates `req` into its core command (server/api/translate.h) with the engine's
// payload limit and passes it to `call`; a refused request finishes `r` instead.
template <typename Req, typename Fn>
grpc::ServerUnaryReactor* Translated(Engine* engine, grpc::ServerUnaryReactor* r, const Req& req,
                                     Fn call) {
  TranslateOptions opt;
  opt.max_payload_bytes = engine->options().max_payload_bytes;
  auto cmd = Translate(req, opt);
  if (!cmd.ok()) {
    Finish(r, cmd.status());
  } else {
    call(std::move(*cmd));
  }
  return r;
}

// The worker's work-item stream: the engine pushes items through Send(); writes go
// out one at a time in order. Lifetime: deleted in OnDone(), after the engine has
// forgotten it (RemoveStream).
class WorkItemStream final : public grpc::ServerWriteReactor<WorkItem>,
                             public engine::WorkItemSink {
 public:
  WorkItemStream(Engine* engine, const GetWorkItemsRequest& req, const std::string& peer,
                 std::function<absl::Status()> check)
      : engine_(engine), check_(std::move(check)) {
    id_ = engine_->AddStream(this, Translate(req), peer);
  }

  void Send(const WorkItem& item) override {
    absl::MutexLock l(&mu_);
    if (finished_ || closing_) return;
    if (check_) {
      if (absl::Status st = check_(); !st.ok()) {
        // Not sent: the engine dispatches it again once OnDone() removes the stream.
        closing_ = true;
        close_status_ = ToGrpc(st);
        if (!writing_) FinishLocked(close_status_);
        return;
      }
    }
    queue_.push_back(item);
    if (!writing_) {
      writing_ = true;
      StartWrite(&queue_.front());
    }
  }

  void Close() override {
    absl::MutexLock l(&mu_);
    closing_ = true;
    if (!writing_) FinishLocked(grpc::Status::OK);
  }

  void OnWriteDone(bool ok) override {
    bool broken = false;
    {
      absl::MutexLock l(&mu_);
      queue_.pop_front();
      if (!ok) {
        broken = true;
        writing_ = false;
        FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
      } else if (closing_ || finished_) {
        writing_ = false;
        FinishLocked(close_status_);
      } else if (!queue_.empty()) {
        StartWrite(&queue_.front());
      } else {
        writing_ = false;
      }
    }
    if (broken) engine_->RemoveStream(id_);
  }

  void OnCancel() override {
    engine_->RemoveStream(id_);
    absl::MutexLock l(&mu_);
    closing_ = true;
    if (!writing_) FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    engine_->RemoveStream(id_);
    delete this;
  }

 private:
  void FinishLocked(const grpc::Status& st) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(st);
  }

  Engine* engine_;
  const std::function<absl::Status()> check_;  // null: nothing to re-check
  uint64_t id_ = 0;
  absl::Mutex mu_;
  grpc::Status close_status_ ABSL_GUARDED_BY(mu_);  // how a closing stream finishes
  std::deque<WorkItem> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

// A WaitFor* call: completes from the engine's waiter, or is cancelled by the client.
class WaitReactor final : public grpc::ServerUnaryReactor {
 public:
  WaitReactor(Engine* engine, const GetInstanceRequest& req, bool completion,
              GetInstanceResponse* resp)
      : engine_(engine) {
    handle_ = engine_->WaitForInstance(
        req.instanceid(), completion, req.getinputsandoutputs(),
        [this, resp](absl::StatusOr<GetInstanceResponse> r) {
          if (r.ok()) *resp = std::move(*r);
          Finish(ToGrpc(r.status()));
        });
  }
  void OnCancel() override { engine_->CancelWait(handle_); }
  void OnDone() override { delete this; }

 private:
  Engine* engine_;
  uint64_t handle_ = 0;
};

// Streams a history in chunks of at most 100 events / ~256 KiB.
class HistoryStream final : public grpc::ServerWriteReactor<HistoryChunk> {
 public:
  HistoryStream(Engine* engine, const std::string& id) {
    engine->GetHistory(id, [this](absl::StatusOr<std::vector<HistoryEvent>> h) {
      if (!h.ok()) return Finish(ToGrpc(h.status()));
      HistoryChunk chunk;
      size_t bytes = 0;
      for (auto& e : *h) {
        bytes += e.ByteSizeLong();
        *chunk.add_events() = std::move(e);
        if (chunk.events_size() >= 100 || bytes >= (256 << 10)) {
          chunks_.push_back(std::move(chunk));
          chunk.Clear();
          bytes = 0;
        }
      }
      if (chunk.events_size() > 0 || chunks_.empty()) chunks_.push_back(std::move(chunk));
      Next();
    });
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    if (next_ == chunks_.size()) return Finish(grpc::Status::OK);
    StartWrite(&chunks_[next_++]);
  }
  std::vector<HistoryChunk> chunks_;
  size_t next_ = 0;
};

}  // namespace

SidecarService::Unary* SidecarService::Hello(Ctx* ctx, const Empty*, Empty*) {
  auto* r = ctx->DefaultReactor();
  r->Finish(grpc::Status::OK);
  return r;
}

SidecarService::Unary* SidecarService::StartInstance(Ctx* ctx, const CreateInstanceRequest* req,
                                                     CreateInstanceResponse* resp) {
  auto* r = ctx->DefaultReactor();
  return Translated(engine_, r, *req, [&](core::StartCommand cmd) {
    engine_->StartInstance(std::move(cmd), [r, resp](absl::StatusOr<std::string> id) {
      if (id.ok()) resp->set_instanceid(*id);
      Finish(r, id.status());
    });
  });
}

SidecarService::Unary* SidecarService::GetInstance(Ctx* ctx, const GetInstanceRequest* req,
                                                   GetInstanceResponse* resp) {
  auto* r = ctx->DefaultReactor();
  engine_->GetInstance(req->instanceid(), req->getinputsandoutputs(),
                       [r, resp](absl::StatusOr<GetInstanceResponse> g) {
                         if (g.ok()) *resp = std::move(*g);
                         Finish(r, g.status());
                       });
  return r;
}

SidecarService::Unary* SidecarService::WaitForInstanceStart(Ctx*, const GetInstanceRequest* req,
                                                            GetInstanceResponse* resp) {
  return new WaitReactor(engine_, *req, /*completion=*/false, resp);
}

SidecarService::Unary* SidecarService::WaitForInstanceCompletion(Ctx*,
                                                                 const GetInstanceRequest* req,
                                                                 GetInstanceResponse* resp) {
  return new WaitReactor(engine_, *req, /*completion=*/true, resp);
}

SidecarService::Unary* SidecarService::RaiseEvent(Ctx* ctx, const RaiseEventRequest* req,
                                                  RaiseEventResponse*) {
  auto* r = ctx->DefaultReactor();
  return Translated(engine_, r, *req, [&](auto cmd) { engine_->RaiseEvent(cmd, Finisher(r)); });
}

SidecarService::Unary* SidecarService::TerminateInstance(Ctx* ctx, const TerminateRequest* req,
                                                         TerminateResponse*) {
  auto* r = ctx->DefaultReactor();
  return Translated(engine_, r, *req, [&](auto cmd) { engine_->Terminate(cmd, Finisher(r)); });
}

SidecarService::Unary* SidecarService::SuspendInstance(Ctx* ctx, const SuspendRequest* req,
                                                       SuspendResponse*) {
  auto* r = ctx->DefaultReactor();
  return Translated(engine_, r, *req, [&](auto cmd) { engine_->Suspend(cmd, Finisher(r)); });
}

SidecarService::Unary* SidecarService::ResumeInstance(Ctx* ctx, const ResumeRequest* req,
                                                      ResumeResponse*) {
  auto* r = ctx->DefaultReactor();
  return Translated(engine_, r, *req, [&](auto cmd) { engine_->Resume(cmd, Finisher(r)); });
}

SidecarService::Unary* SidecarService::RewindInstance(Ctx* ctx, const RewindInstanceRequest* req,
                                                      RewindInstanceResponse*) {
  auto* r = ctx->DefaultReactor();
  return Translated(engine_, r, *req, [&](auto cmd) { engine_->Rewind(cmd, Finisher(r)); });
}

SidecarService::Unary* SidecarService::RestartInstance(Ctx* ctx,
                                                       const RestartInstanceRequest* req,
                                                       RestartInstanceResponse* resp) {
  auto* r = ctx->DefaultReactor();
  return Translated(engine_, r, *req, [&](core::RestartCommand cmd) {
    engine_->Restart(cmd, [r, resp](absl::StatusOr<std::string> id) {
      if (id.ok()) resp->set_instanceid(*id);
      Finish(r, id.status());
    });
  });
}

SidecarService::Unary* SidecarService::QueryInstances(Ctx* ctx, const QueryInstancesRequest* req,
                                                      QueryInstancesResponse* resp) {
  auto* r = ctx->DefaultReactor();
  return Translated(engine_, r, req->query(), [&](core::QueryCommand cmd) {
    engine_->Query(cmd, [r, resp](absl::StatusOr<QueryInstancesResponse> q) {
      if (q.ok()) *resp = std::move(*q);
      Finish(r, q.status());
    });
  });
}

SidecarService::Unary* SidecarService::ListInstanceIds(Ctx* ctx,
                                                       const ListInstanceIdsRequest* req,
                                                       ListInstanceIdsResponse* resp) {
  auto* r = ctx->DefaultReactor();
  return Translated(engine_, r, *req, [&](core::ListIdsCommand cmd) {
    engine_->ListInstanceIds(cmd, [r, resp](absl::StatusOr<ListInstanceIdsResponse> q) {
      if (q.ok()) *resp = std::move(*q);
      Finish(r, q.status());
    });
  });
}

SidecarService::Unary* SidecarService::PurgeInstances(Ctx* ctx, const PurgeInstancesRequest* req,
                                                      PurgeInstancesResponse* resp) {
  auto* r = ctx->DefaultReactor();
  return Translated(engine_, r, *req, [&](core::PurgeCommand cmd) {
    engine_->Purge(cmd, [r, resp](absl::StatusOr<PurgeInstancesResponse> p) {
      if (p.ok()) *resp = std::move(*p);
      Finish(r, p.status());
    });
  });
}

grpc::ServerWriteReactor<HistoryChunk>* SidecarService::StreamInstanceHistory(
    Ctx*, const StreamInstanceHistoryRequest* req) {
  return new HistoryStream(engine_, req->instanceid());
}

SidecarService::Unary* SidecarService::CreateTaskHub(Ctx* ctx, const CreateTaskHubRequest* req,
                                                     CreateTaskHubResponse*) {
  auto* r = ctx->DefaultReactor();
  if (req->recreateifexists()) {
    engine_->DeleteTaskHub(Finisher(r));
  } else {
    r->Finish(grpc::Status::OK);  // the task hub always exists
  }
  return r;
}

SidecarService::Unary* SidecarService::DeleteTaskHub(Ctx* ctx, const DeleteTaskHubRequest*,
                                                     DeleteTaskHubResponse*) {
  auto* r = ctx->DefaultReactor();
  engine_->DeleteTaskHub(Finisher(r));
  return r;
}

grpc::ServerWriteReactor<WorkItem>* SidecarService::GetWorkItems(Ctx* ctx,
                                                                 const GetWorkItemsRequest* req) {
  return new WorkItemStream(engine_, *req, ctx->peer(), WorkItemStreamCheck(ctx));
}

SidecarService::Unary* SidecarService::CompleteActivityTask(Ctx* ctx, const ActivityResponse* req,
                                                            CompleteTaskResponse*) {
  auto* r = ctx->DefaultReactor();
  return Translated(engine_, r, *req, [&](core::ActivityResultCommand cmd) {
    engine_->CompleteActivity(cmd, ctx->peer(), Finisher(r));
  });
}

SidecarService::Unary* SidecarService::CompleteOrchestratorTask(Ctx* ctx,
                                                                const OrchestratorResponse* req,
                                                                CompleteTaskResponse*) {
  auto* r = ctx->DefaultReactor();
  // A chunked response (isPartial) is refused by Translate with UNIMPLEMENTED.
  return Translated(engine_, r, *req, [&](core::EpisodeResultCommand cmd) {
    engine_->CompleteOrchestration(cmd, ctx->peer(), Finisher(r));
  });
}

SidecarService::Unary* SidecarService::AbandonTaskActivityWorkItem(
    Ctx* ctx, const AbandonActivityTaskRequest* req, AbandonActivityTaskResponse*) {
  auto* r = ctx->DefaultReactor();
  engine_->Abandon(Translate(*req), Finisher(r));
  return r;
}

SidecarService::Unary* SidecarService::AbandonTaskOrchestratorWorkItem(
    Ctx* ctx, const AbandonOrchestrationTaskRequest* req, AbandonOrchestrationTaskResponse*) {
  auto* r = ctx->DefaultReactor();
  engine_->Abandon(Translate(*req), Finisher(r));
  return r;
}

SidecarService::Unary* SidecarService::CompleteEntityTask(Ctx* ctx, const EntityBatchResult* req,
                                                          CompleteTaskResponse*) {
  auto* r = ctx->DefaultReactor();
  return Translated(engine_, r, *req, [&](core::EntityResultCommand cmd) {
    engine_->CompleteEntity(cmd, ctx->peer(), Finisher(r));
  });
}

SidecarService::Unary* SidecarService::AbandonTaskEntityWorkItem(
    Ctx* ctx, const AbandonEntityTaskRequest* req, AbandonEntityTaskResponse*) {
  auto* r = ctx->DefaultReactor();
  engine_->Abandon(Translate(*req), Finisher(r));
  return r;
}

SidecarService::Unary* SidecarService::SignalEntity(Ctx* ctx, const SignalEntityRequest* req,
                                                    SignalEntityResponse*) {
  auto* r = ctx->DefaultReactor();
  return Translated(engine_, r, *req, [&](core::SignalEntityCommand cmd) {
    engine_->SignalEntity(std::move(cmd), Finisher(r));
  });
}

SidecarService::Unary* SidecarService::GetEntity(Ctx* ctx, const GetEntityRequest* req,
                                                 GetEntityResponse* resp) {
  auto* r = ctx->DefaultReactor();
  absl::StatusOr<std::string> id = TranslateEntityId("instanceId", req->instanceid());
  if (!id.ok()) {
    Finish(r, id.status());
    return r;
  }
  engine_->GetEntity(*id, req->includestate(),
                     [r, resp](absl::StatusOr<std::optional<EntityMetadata>> g) {
                       if (g.ok() && g->has_value()) {
                         resp->set_exists(true);
                         *resp->mutable_entity() = std::move(**g);
                       }
                       Finish(r, g.status());
                     });
  return r;
}

SidecarService::Unary* SidecarService::QueryEntities(Ctx* ctx, const QueryEntitiesRequest* req,
                                                     QueryEntitiesResponse* resp) {
  auto* r = ctx->DefaultReactor();
  return Translated(engine_, r, req->query(), [&](core::EntityQueryCommand cmd) {
    engine_->QueryEntities(cmd, [r, resp](absl::StatusOr<QueryEntitiesResponse> q) {
      if (q.ok()) *resp = std::move(*q);
      Finish(r, q.status());
    });
  });
}

SidecarService::Unary* SidecarService::CleanEntityStorage(Ctx* ctx,
                                                          const CleanEntityStorageRequest* req,
                                                          CleanEntityStorageResponse* resp) {
  auto* r = ctx->DefaultReactor();
  return Translated(engine_, r, *req, [&](core::CleanEntitiesCommand cmd) {
    engine_->CleanEntityStorage(cmd, [r, resp](absl::StatusOr<CleanEntityStorageResponse> c) {
      if (c.ok()) *resp = std::move(*c);
      Finish(r, c.status());
    });
  });
}

SidecarService::Unary* SidecarService::SkipGracefulOrchestrationTerminations(
    Ctx* ctx, const SkipGracefulOrchestrationTerminationsRequest*,
    SkipGracefulOrchestrationTerminationsResponse*) {
  auto* r = ctx->DefaultReactor();
  r->Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                         "SkipGracefulOrchestrationTerminations is not supported: taskhubd "
                         "always terminates on the server"));
  return r;
}

}  // namespace taskhub::api
