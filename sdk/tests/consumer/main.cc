// A consumer of the taskhub SDK: registers an orchestrator and an activity, runs the
// orchestrator with the replay engine over a made-up history (no server), builds a
// client and a worker (not started). Prints "consumer ok: <output>" and exits 0.
#include <cstdio>
#include <string>

#include "taskhub/taskhub.h"

namespace {

taskhub::Task<std::string> Greet(taskhub::OrchestrationContext& ctx) {
  const std::string name = ctx.GetInput<std::string>();
  co_return "Hello " + name;
}

}  // namespace

int main() {
  taskhub::Registry registry;
  registry.AddOrchestrator("greet", Greet);
  registry.AddActivity("upper", [](taskhub::ActivityContext&, std::string s) { return s; });

  OrchestratorRequest request;
  request.set_instanceid("consumer-1");
  HistoryEvent* started = request.add_newevents();
  started->set_eventid(-1);
  started->mutable_orchestratorstarted();
  HistoryEvent* exec = request.add_newevents();
  exec->set_eventid(-1);
  exec->mutable_executionstarted()->set_name("greet");
  exec->mutable_executionstarted()->mutable_input()->set_value("\"consumer\"");
  exec->mutable_executionstarted()->mutable_orchestrationinstance()->set_instanceid("consumer-1");
  const OrchestratorResponse response = taskhub::ExecuteOrchestrator(registry, request);

  std::string output;
  for (const OrchestratorAction& a : response.actions()) {
    if (a.has_completeorchestration()) output = a.completeorchestration().result().value();
  }
  auto client = taskhub::Client::Connect({.address = "localhost:1"});
  taskhub::Worker worker(taskhub::Registry{}, {.address = "localhost:1"});
  if (output != "\"Hello consumer\"" || !client.ok()) {
    std::printf("consumer failed: output %s\n", output.c_str());
    return 1;
  }
  std::printf("consumer ok: %s\n", output.c_str());
  return 0;
}
