// The model worker of the engine simulation: a few orchestration kinds replayed
// deterministically from pastEvents + newEvents, an activity that is a pure function
// of its input, and the output each kind must end with.
//
// Kinds (the orchestration name; the input is a decimal parameter p):
//   seq    p activities one after the other (input i), completes with the sum of results
//   fan    p activities at once, completes with the sum of results
//   timer  a durable timer at ExecutionStarted time + p seconds, completes with "timer"
//   event  waits for event "go", completes with its data
//   fragile  like seq, but fails (errorType "ActivityFailed") when an activity fails
//   child  a sub-orchestration "fragile" with input p, completes with "child:" + its
//          output; fails (FAILED, errorType "ChildFailed") when the child fails
//   can    continue-as-new p times (input "k,acc"), one activity per execution
// Elsewhere a failed activity is retried (a new task id, same input), so the output
// of every kind is a function of its input alone; "fragile" and "child" may instead
// fail when an activity failed, and complete as expected after a rewind. While
// suspended the model decides nothing.
//
// Pure functions; thread-compatible.
#ifndef TASKHUB_TESTS_SIM_SIM_MODEL_H_
#define TASKHUB_TESTS_SIM_SIM_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator_service.pb.h"

namespace taskhub::sim {

inline const std::vector<std::string>& Kinds() {
  static const std::vector<std::string> kinds = {"seq",   "fan",   "timer",  "event",
                                                 "child", "can",   "fragile"};
  return kinds;
}

// The activity every kind schedules ("add"): f(x) = x*x + 1, as a decimal string.
int64_t ActivityValue(int64_t x);
ActivityResponse RunActivity(const ActivityRequest& req, bool fail);

// The worker's answer to an episode (instanceId set; no completion token).
OrchestratorResponse Decide(const OrchestratorRequest& req);

// The output a COMPLETED instance of `kind` started with `input` must have
// (nullopt for "event": it depends on the events raised).
std::optional<std::string> ExpectedOutput(const std::string& kind, const std::string& input);

// The input the workload starts an instance of `kind` with, from a small parameter.
std::string InputFor(const std::string& kind, int param);

}  // namespace taskhub::sim

#endif  // TASKHUB_TESTS_SIM_SIM_MODEL_H_
