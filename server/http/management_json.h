// The JSON shapes of the Durable Functions HTTP API (management_api.h) and the parsing
// of its query parameters. Pure functions; thread-safe.
//
// Shapes (names as Durable Functions' HttpApiHandler and DurableOrchestrationStatus):
// - status object: name, instanceId, runtimeStatus ("Running", "Completed", ...), input,
//   customStatus, output, createdTime, lastUpdatedTime ("yyyy-MM-ddTHH:mm:ssZ"), and
//   historyEvents when asked; taskhub adds failureDetails (failed instances) and
//   parentInstanceId (sub-orchestrations).
// - payloads (input, output, customStatus, event data) are JSON values when the stored
//   text is JSON, else JSON strings.
// - history events: {"EventType", "Timestamp", ...} as DF shows them: TaskScheduled and
//   SubOrchestrationInstanceCreated merge into their completion or failure (which get
//   FunctionName and ScheduledTime); OrchestratorStarted/Completed are left out. A task
//   still running keeps its scheduled event (DF drops it; the dashboard shows it).
#ifndef TASKHUB_SERVER_HTTP_MANAGEMENT_JSON_H_
#define TASKHUB_SERVER_HTTP_MANAGEMENT_JSON_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "orchestrator_service.pb.h"

namespace taskhub::http {

// "Running", "Completed", "ContinuedAsNew", "Failed", "Canceled", "Terminated",
// "Pending", "Suspended".
std::string RuntimeStatusName(OrchestrationStatus s);
// The inverse, case-insensitive (DF names; also RUNNING style names).
std::optional<OrchestrationStatus> ParseRuntimeStatus(absl::string_view name);

// "2026-11-30T21:10:59Z" (whole seconds, as DF's status objects).
std::string FormatTimeSeconds(absl::Time t);
// "2026-11-30T21:10:59.123456Z" (history events and entities).
std::string FormatTimeMicros(absl::Time t);

// A stored payload as a JSON value: parsed when it is JSON, else a string; null
// when absent.
nlohmann::json PayloadJson(const google::protobuf::StringValue* value);

struct StatusOptions {
  bool show_input = true;
  bool show_history = false;
  bool show_history_output = false;
};

// The DF status object of `state` (`history` used when opt.show_history).
nlohmann::json StatusJson(const OrchestrationState& state, const StatusOptions& opt,
                          const std::vector<HistoryEvent>* history = nullptr);
nlohmann::json HistoryJson(const std::vector<HistoryEvent>& history, bool show_output);
nlohmann::json FailureJson(const TaskFailureDetails& f);

// One entity of GET /entities/{name}: {"entityId": {"name", "key"}, "lastOperationTime",
// "state"?, "backlogQueueSize", "lockedBy"?}.
nlohmann::json EntityJson(const EntityMetadata& e, bool with_state);

// --- query parameters: each error names the parameter --------------------------------
// "true"/"false", any case.
absl::StatusOr<bool> ParseBool(absl::string_view param, absl::string_view value);
// RFC 3339 ("2026-11-30T21:10:59Z", "...+01:00", fractions allowed), a date and time
// without an offset (UTC), or a date ("2026-11-30", midnight UTC).
absl::StatusOr<absl::Time> ParseTime(absl::string_view param, absl::string_view value);
// "Running,Completed" (DF names, case-insensitive).
absl::StatusOr<std::vector<OrchestrationStatus>> ParseStatuses(absl::string_view param,
                                                               absl::string_view value);
// A non-negative number of seconds (fractions allowed).
absl::StatusOr<absl::Duration> ParseSeconds(absl::string_view param, absl::string_view value);
absl::StatusOr<int> ParsePositiveInt(absl::string_view param, absl::string_view value);

}  // namespace taskhub::http

#endif  // TASKHUB_SERVER_HTTP_MANAGEMENT_JSON_H_
