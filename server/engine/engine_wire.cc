// Engine: the wire-request entry points, translated into commands with the api
// layer's translation (server/api/translate.h), for tests and tools that speak protos.
#include "server/api/translate.h"
#include "server/engine/engine.h"

namespace taskhub::engine {

namespace {
template <typename Cmd, typename D, typename Fn>
void Translated(absl::StatusOr<Cmd> cmd, D& done, Fn fn) {
  if (!cmd.ok()) return done(cmd.status());
  fn(std::move(*cmd));
}
}  // namespace

#define TASKHUB_WIRE(Method, Req, DoneT)                                       \
  void Engine::Method(const Req& req, DoneT done) {                            \
    api::TranslateOptions opt;                                                 \
    opt.max_payload_bytes = options_.max_payload_bytes;                        \
    Translated(api::Translate(req, opt), done,                                 \
               [&](auto cmd) { Method(std::move(cmd), std::move(done)); });    \
  }

TASKHUB_WIRE(StartInstance, CreateInstanceRequest, DoneWith<std::string>)
TASKHUB_WIRE(RaiseEvent, RaiseEventRequest, Done)
TASKHUB_WIRE(Terminate, TerminateRequest, Done)
TASKHUB_WIRE(Suspend, SuspendRequest, Done)
TASKHUB_WIRE(Resume, ResumeRequest, Done)
TASKHUB_WIRE(Rewind, RewindInstanceRequest, Done)
TASKHUB_WIRE(Restart, RestartInstanceRequest, DoneWith<std::string>)
TASKHUB_WIRE(Purge, PurgeInstancesRequest, DoneWith<PurgeInstancesResponse>)
TASKHUB_WIRE(Query, InstanceQuery, DoneWith<QueryInstancesResponse>)
TASKHUB_WIRE(ListInstanceIds, ListInstanceIdsRequest, DoneWith<ListInstanceIdsResponse>)
#undef TASKHUB_WIRE

void Engine::CompleteOrchestration(const OrchestratorResponse& resp, const std::string& peer,
                                   Done done) {
  api::TranslateOptions opt;
  opt.max_payload_bytes = options_.max_payload_bytes;
  Translated(api::Translate(resp, opt), done, [&](core::EpisodeResultCommand cmd) {
    CompleteOrchestration(cmd, peer, std::move(done));
  });
}

void Engine::CompleteActivity(const ActivityResponse& resp, const std::string& peer, Done done) {
  api::TranslateOptions opt;
  opt.max_payload_bytes = options_.max_payload_bytes;
  Translated(api::Translate(resp, opt), done, [&](core::ActivityResultCommand cmd) {
    CompleteActivity(cmd, peer, std::move(done));
  });
}

void Engine::AbandonOrchestration(const std::string& token, Done done) {
  AbandonOrchestrationTaskRequest req;
  req.set_completiontoken(token);
  Abandon(api::Translate(req), std::move(done));
}

void Engine::AbandonActivity(const std::string& token, Done done) {
  AbandonActivityTaskRequest req;
  req.set_completiontoken(token);
  Abandon(api::Translate(req), std::move(done));
}

}  // namespace taskhub::engine
