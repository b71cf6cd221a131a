// Input validation for client and worker requests. Pure; thread-compatible.
// Every error is INVALID_ARGUMENT (or RESOURCE_EXHAUSTED for oversized payloads)
// with a message that names the offending field.
#ifndef TASKHUB_SERVER_CORE_VALIDATION_H_
#define TASKHUB_SERVER_CORE_VALIDATION_H_

#include <cstddef>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "google/protobuf/wrappers.pb.h"
#include "orchestrator_service.pb.h"

namespace taskhub::core {

inline constexpr size_t kMaxInstanceIdLength = 256;
inline constexpr size_t kMaxNameLength = 1024;

// Instance ids: 1..256 bytes of valid UTF-8, no control characters, and not
// starting with '@' (reserved for entity ids "@name@key").
absl::Status ValidateInstanceId(absl::string_view field, absl::string_view id);
// Orchestration, activity and event names: non-empty, <= 1024 bytes, no control chars.
absl::Status ValidateName(absl::string_view field, absl::string_view name);
// RESOURCE_EXHAUSTED when `value` is larger than `max_bytes` (0 = no limit).
absl::Status ValidatePayload(absl::string_view field,
                             const google::protobuf::StringValue& value,
                             size_t max_bytes);
// Validates the names, ids and payload sizes inside one orchestrator action.
absl::Status ValidateAction(const OrchestratorAction& action, size_t max_payload);
absl::Status ValidateFailureDetails(absl::string_view field, const TaskFailureDetails& f,
                                    size_t max_payload);

}  // namespace taskhub::core

#endif  // TASKHUB_SERVER_CORE_VALIDATION_H_
