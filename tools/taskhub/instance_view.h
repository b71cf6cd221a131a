// How one orchestration instance (OrchestrationMetadata) is shown: a JSON object
// with stable field names, a key/value block for people, a row of `list`.
//
// JSON fields: instance_id, name, version, runtime_status, created_at,
// last_updated_at, completed_at, scheduled_start_at (ISO 8601 UTC or null),
// execution_id, parent_instance_id, tags (object), custom_status (JSON value or
// null), failure (null or {error_type, message, stack_trace, inner}), and, when
// requested, input / output (the payload's JSON value or null).
#ifndef TASKHUB_TOOLS_TASKHUB_INSTANCE_VIEW_H_
#define TASKHUB_TOOLS_TASKHUB_INSTANCE_VIEW_H_

#include "nlohmann/json.hpp"
#include "taskhub/client.h"
#include "tools/taskhub/output.h"

namespace taskhub::cli {

struct PayloadChoice {
  bool input = false;
  bool output = false;
};

nlohmann::json FailureToJson(const FailureDetails& failure);
nlohmann::json InstanceToJson(const OrchestrationMetadata& m, PayloadChoice payloads);

// Prints the key/value block for `m` (payloads as chosen).
void PrintInstance(Output& out, const OrchestrationMetadata& m, PayloadChoice payloads);

// "ErrorType: message" (with inner failures after " <- ").
std::string FailureSummary(const FailureDetails& failure);

}  // namespace taskhub::cli

#endif  // TASKHUB_TOOLS_TASKHUB_INSTANCE_VIEW_H_
