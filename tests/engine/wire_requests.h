// Wire requests for engine tests, simulations and fuzzers that speak protos: each
// function does what the gRPC service does (server/api/sidecar_service.cc) — translate
// the request with api::Translate (server/api/translate.h) using the engine's payload
// limit, then call the engine's command method. A request the translation refuses
// answers `done` with the translation's status (what a client would get), so a test
// of a hostile request still proves that it is refused, and with which status.
// Test-only (links taskhub_translate); thread-safety as the Engine's methods.
#ifndef TASKHUB_TESTS_ENGINE_WIRE_REQUESTS_H_
#define TASKHUB_TESTS_ENGINE_WIRE_REQUESTS_H_

#include <string>
#include <utility>

#include "server/api/translate.h"
#include "server/engine/engine.h"

namespace taskhub::engine::testing::wire {

inline api::TranslateOptions OptionsOf(const Engine& e) {
  api::TranslateOptions opt;
  opt.max_payload_bytes = e.options().max_payload_bytes;
  return opt;
}

// Translates `req`; calls `call(command)`, or `done(error)` when it is refused.
template <typename Req, typename D, typename Fn>
void Translated(const Engine& e, const Req& req, D& done, Fn call) {
  auto cmd = api::Translate(req, OptionsOf(e));
  if (!cmd.ok()) return done(cmd.status());
  call(std::move(*cmd));
}

#define TASKHUB_TEST_WIRE(Method, Req, DoneT)                                               \
  inline void Method(Engine& e, const Req& req, DoneT done) {                               \
    Translated(e, req, done, [&](auto cmd) { e.Method(std::move(cmd), std::move(done)); }); \
  }
TASKHUB_TEST_WIRE(StartInstance, CreateInstanceRequest, DoneWith<std::string>)
TASKHUB_TEST_WIRE(RaiseEvent, RaiseEventRequest, Done)
TASKHUB_TEST_WIRE(Terminate, TerminateRequest, Done)
TASKHUB_TEST_WIRE(Suspend, SuspendRequest, Done)
TASKHUB_TEST_WIRE(Resume, ResumeRequest, Done)
TASKHUB_TEST_WIRE(Rewind, RewindInstanceRequest, Done)
TASKHUB_TEST_WIRE(Restart, RestartInstanceRequest, DoneWith<std::string>)
TASKHUB_TEST_WIRE(Purge, PurgeInstancesRequest, DoneWith<PurgeInstancesResponse>)
TASKHUB_TEST_WIRE(Query, InstanceQuery, DoneWith<QueryInstancesResponse>)
TASKHUB_TEST_WIRE(ListInstanceIds, ListInstanceIdsRequest, DoneWith<ListInstanceIdsResponse>)
#undef TASKHUB_TEST_WIRE

inline uint64_t AddStream(Engine& e, WorkItemSink* sink, const GetWorkItemsRequest& req,
                          const std::string& peer = "") {
  return e.AddStream(sink, api::Translate(req), peer);
}

// `peer`: the worker's connection, as the service passes ctx->peer().
inline void CompleteOrchestration(Engine& e, const OrchestratorResponse& resp,
                                  const std::string& peer, Done done) {
  Translated(e, resp, done, [&](core::EpisodeResultCommand cmd) {
    e.CompleteOrchestration(cmd, peer, std::move(done));
  });
}
inline void CompleteOrchestration(Engine& e, const OrchestratorResponse& resp, Done done) {
  CompleteOrchestration(e, resp, "", std::move(done));
}
inline void CompleteActivity(Engine& e, const ActivityResponse& resp, const std::string& peer,
                             Done done) {
  Translated(e, resp, done, [&](core::ActivityResultCommand cmd) {
    e.CompleteActivity(cmd, peer, std::move(done));
  });
}
inline void CompleteActivity(Engine& e, const ActivityResponse& resp, Done done) {
  CompleteActivity(e, resp, "", std::move(done));
}
inline void AbandonOrchestration(Engine& e, const std::string& token, Done done) {
  AbandonOrchestrationTaskRequest req;
  req.set_completiontoken(token);
  e.Abandon(api::Translate(req), std::move(done));
}
inline void AbandonActivity(Engine& e, const std::string& token, Done done) {
  AbandonActivityTaskRequest req;
  req.set_completiontoken(token);
  e.Abandon(api::Translate(req), std::move(done));
}

// --- durable entities ---------------------------------------------------------------
inline void SignalEntity(Engine& e, const SignalEntityRequest& req, Done done) {
  Translated(e, req, done, [&](core::SignalEntityCommand cmd) {
    e.SignalEntity(std::move(cmd), std::move(done));
  });
}
inline void GetEntity(Engine& e, const GetEntityRequest& req, DoneWith<GetEntityResponse> done) {
  absl::StatusOr<std::string> id = api::TranslateEntityId("instanceId", req.instanceid());
  if (!id.ok()) return done(id.status());
  e.GetEntity(*id, req.includestate(),
              [done = std::move(done)](absl::StatusOr<std::optional<EntityMetadata>> g) mutable {
                if (!g.ok()) return done(g.status());
                GetEntityResponse resp;
                if (g->has_value()) {
                  resp.set_exists(true);
                  *resp.mutable_entity() = std::move(**g);
                }
                done(std::move(resp));
              });
}
inline void QueryEntities(Engine& e, const EntityQuery& q, DoneWith<QueryEntitiesResponse> done) {
  Translated(e, q, done,
             [&](core::EntityQueryCommand cmd) { e.QueryEntities(cmd, std::move(done)); });
}
inline void CleanEntityStorage(Engine& e, const CleanEntityStorageRequest& req,
                               DoneWith<CleanEntityStorageResponse> done) {
  Translated(e, req, done,
             [&](core::CleanEntitiesCommand cmd) { e.CleanEntityStorage(cmd, std::move(done)); });
}
inline void CompleteEntity(Engine& e, const EntityBatchResult& res, Done done) {
  Translated(e, res, done,
             [&](core::EntityResultCommand cmd) { e.CompleteEntity(cmd, "", std::move(done)); });
}
inline void AbandonEntity(Engine& e, const std::string& token, Done done) {
  AbandonEntityTaskRequest req;
  req.set_completiontoken(token);
  e.Abandon(api::Translate(req), std::move(done));
}

}  // namespace taskhub::engine::testing::wire

#endif  // TASKHUB_TESTS_ENGINE_WIRE_REQUESTS_H_
