// Client operations shared by several commands.
#ifndef TASKHUB_TOOLS_TASKHUB_INSTANCE_OPS_H_
#define TASKHUB_TOOLS_TASKHUB_INSTANCE_OPS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "taskhub/client.h"

namespace taskhub::cli {

// NOT_FOUND status for an unknown instance id.
absl::Status InstanceNotFound(const std::string& id);

// The instance's state; NOT_FOUND when it does not exist.
absl::StatusOr<OrchestrationMetadata> GetExisting(Client& client, const std::string& id,
                                                  bool fetch_payloads);

// Blocks until the instance reaches a terminal state (or continues as new and the
// server reports it so) and returns its state with payloads. `timeout` absent:
// no limit (the server's own per-call wait limit is retried transparently).
// DEADLINE_EXCEEDED naming the current status when `timeout` passes first;
// NOT_FOUND when the instance does not exist.
absl::StatusOr<OrchestrationMetadata> WaitUntilDone(Client& client, const std::string& id,
                                                    std::optional<absl::Duration> timeout);

// `seconds` as a timeout: nullopt for 0 (no limit); InvalidArgumentError when negative.
absl::StatusOr<std::optional<absl::Duration>> TimeoutFromSeconds(double seconds);

}  // namespace taskhub::cli

#endif  // TASKHUB_TOOLS_TASKHUB_INSTANCE_OPS_H_
