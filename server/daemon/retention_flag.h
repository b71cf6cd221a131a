// The value of --retention: "STATUS=AGE[,STATUS=AGE...]", e.g.
// "completed=7d,failed=30d,terminated=7d". STATUS is completed, failed, terminated or
// canceled (case-insensitive); AGE is a positive number with a unit s, m, h or d
// ("90m", "1.5d"). A status may appear once. An empty value means no retention.
// Thread-compatible (pure functions).
#ifndef TASKHUB_SERVER_DAEMON_RETENTION_FLAG_H_
#define TASKHUB_SERVER_DAEMON_RETENTION_FLAG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/engine/engine_options.h"

namespace taskhub::daemon {

// INVALID_ARGUMENT naming the part that is wrong.
absl::StatusOr<std::vector<engine::EngineOptions::RetentionRule>> ParseRetention(
    const std::string& value);

}  // namespace taskhub::daemon

#endif  // TASKHUB_SERVER_DAEMON_RETENTION_FLAG_H_
