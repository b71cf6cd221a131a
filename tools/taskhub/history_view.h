// The history of an instance as a readable timeline (`taskhub history`).
//
// JSON: {"instance_id": ..., "events": [event...]} where every event has
// event_id, timestamp (ISO 8601 UTC), type (e.g. "TaskScheduled"), name (or null),
// task_id (or null; the id that ties TaskScheduled to TaskCompleted/TaskFailed,
// TimerCreated to TimerFired, SubOrchestrationInstanceCreated to its result)
// plus the fields of its type: input, result, failure, reason, instance_id,
// runtime_status, fire_at, version, tags, ... Payloads are JSON values.
#ifndef TASKHUB_TOOLS_TASKHUB_HISTORY_VIEW_H_
#define TASKHUB_TOOLS_TASKHUB_HISTORY_VIEW_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "orchestrator_service.pb.h"
#include "tools/taskhub/output.h"

namespace taskhub::cli {

struct TimelineEntry {
  int event_id = -1;
  absl::Time timestamp;
  std::string type;
  std::string name;
  std::optional<int> task_id;
  nlohmann::json fields = nlohmann::json::object();  // type-specific JSON fields
  std::string detail;     // one-line summary: result, failure, input, ...
  bool failed = false;    // detail describes a failure
  bool internal = false;  // OrchestratorStarted/Completed: hidden in tables by default
};

// Converts `events` (oldest first); completion events get the name of the task,
// sub-orchestration or timer they complete.
std::vector<TimelineEntry> BuildTimeline(const std::vector<HistoryEvent>& events);

nlohmann::json TimelineToJson(const std::string& instance_id,
                              const std::vector<TimelineEntry>& entries);

// Prints TIME, EVENT, NAME, TASK ID and DETAILS columns; `all` includes the
// OrchestratorStarted/OrchestratorCompleted markers.
void PrintTimeline(Output& out, const std::vector<TimelineEntry>& entries, bool all);

}  // namespace taskhub::cli

#endif  // TASKHUB_TOOLS_TASKHUB_HISTORY_VIEW_H_
