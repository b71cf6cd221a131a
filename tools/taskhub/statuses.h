// Orchestration runtime statuses as the CLI shows and accepts them.
#ifndef TASKHUB_TOOLS_TASKHUB_STATUSES_H_
#define TASKHUB_TOOLS_TASKHUB_STATUSES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "orchestrator_service.pb.h"

namespace taskhub::cli {

// The name shown in tables and JSON: RUNNING, COMPLETED, CONTINUED_AS_NEW, FAILED,
// CANCELED, TERMINATED, PENDING, SUSPENDED (UNKNOWN for values outside the enum).
std::string StatusName(OrchestrationStatus status);

// Parses one status name, case-insensitively; '-' may replace '_', the
// ORCHESTRATION_STATUS_ prefix and the spelling "cancelled" are accepted.
absl::StatusOr<OrchestrationStatus> ParseStatus(absl::string_view text);

// Parses each element of `texts` (each may itself be a comma-separated list).
absl::StatusOr<std::vector<OrchestrationStatus>> ParseStatuses(
    const std::vector<std::string>& texts);

// COMPLETED, FAILED, TERMINATED and CANCELED.
bool IsTerminal(OrchestrationStatus status);

}  // namespace taskhub::cli

#endif  // TASKHUB_TOOLS_TASKHUB_STATUSES_H_
