// The replay engine: runs an orchestrator over its history and returns the actions
// of this episode. Pure: no I/O, no clock (time is the OrchestratorStarted event's),
// no threads, no gRPC. Tested from recorded histories.
#ifndef TASKHUB_SDK_REPLAY_H_
#define TASKHUB_SDK_REPLAY_H_

#include <memory>
#include <string>

#include "orchestrator_service.pb.h"
#include "taskhub/registry.h"

namespace taskhub {

// Replays `request.pastEvents`, then processes `request.newEvents`, and returns
// the response to send back: new actions (scheduled this episode, in order), the
// completion (COMPLETED / FAILED / CONTINUED_AS_NEW) once the orchestrator has
// finished, and the custom status. An unknown orchestrator name, an exception
// escaping the orchestrator, or a non-determinism error fails the orchestration.
// The completion token is copied from `completion_token`.
OrchestratorResponse ExecuteOrchestrator(const Registry& registry,
                                         const OrchestratorRequest& request,
                                         const std::string& completion_token = "");

// An orchestration kept in memory between its episodes (an "extended session"):
// when the next request's history extends the one already processed (same
// execution, same event at the seam), only the new events are processed instead of
// replaying everything; otherwise it replays from scratch. The result is the same
// as ExecuteOrchestrator's. Not thread-safe: one episode at a time.
class OrchestrationSession {
 public:
  explicit OrchestrationSession(const Registry& registry);
  ~OrchestrationSession();
  OrchestratorResponse Execute(const OrchestratorRequest& request,
                               const std::string& completion_token = "");
  // False once the orchestration finished (or failed): drop the session then.
  bool reusable() const;

 private:
  struct State;
  const Registry& registry_;
  std::unique_ptr<State> state_;
};

}  // namespace taskhub

#endif  // TASKHUB_SDK_REPLAY_H_
