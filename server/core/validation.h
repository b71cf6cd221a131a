// Input validation for client and worker requests. Pure; thread-compatible.
// Every error is INVALID_ARGUMENT (or RESOURCE_EXHAUSTED for oversized payloads)
// with a message that names the offending field.
#ifndef TASKHUB_SERVER_CORE_VALIDATION_H_
#define TASKHUB_SERVER_CORE_VALIDATION_H_

#include <cstddef>
#include <string>
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
// The instance-id rules without the '@' rule (used for entity ids: see
// server/core/entity.h NormalizeEntityId).
absl::Status ValidateIdText(absl::string_view field, absl::string_view id);
// Orchestration, activity and event names: non-empty, <= 1024 bytes, no control chars.
absl::Status ValidateName(absl::string_view field, absl::string_view name);
// RESOURCE_EXHAUSTED when `value` is larger than `max_bytes` (0 = no limit).
absl::Status ValidatePayload(absl::string_view field,
                             const google::protobuf::StringValue& value,
                             size_t max_bytes);
// Versions, execution ids and other short strings: at most `max_len` bytes
// (INVALID_ARGUMENT), no control characters. Empty is allowed.
inline constexpr size_t kMaxShortFieldLength = 1024;
absl::Status ValidateShortField(absl::string_view field, absl::string_view value,
                                size_t max_len = kMaxShortFieldLength);
// Tags: keys and values together count as one payload (RESOURCE_EXHAUSTED over
// `max_payload`, 0 = no limit); keys are at most kMaxShortFieldLength bytes.
absl::Status ValidateTags(absl::string_view field,
                          const google::protobuf::Map<std::string, std::string>& tags,
                          size_t max_payload);
// Everything in a message counts against the caps: RESOURCE_EXHAUSTED when `msg`
// is larger than `max_payload` plus kMetadataAllowance (for ids, names, tags and
// trace context). `max_payload` 0 = no limit.
inline constexpr size_t kMetadataAllowance = 64 << 10;
absl::Status ValidateMessageSize(absl::string_view field, const google::protobuf::Message& msg,
                                 size_t max_payload);
// A history event supplied by a worker (rewind history, carried-over events): every
// instance id in it passes ValidateInstanceId, names ValidateName, versions and
// execution ids ValidateShortField, and its size counts against the caps.
absl::Status ValidateWorkerEvent(absl::string_view field, const HistoryEvent& event,
                                 size_t max_payload);
// A client's StartInstance request (without the instance id, which may be empty).
absl::Status ValidateCreateInstance(const CreateInstanceRequest& req, size_t max_payload);
// A sendEntityMessage action: entity ids well-formed (NormalizeEntityId), request and
// critical-section ids non-empty, a lock set of 1..kMaxLockSetSize entities, payloads
// capped. `where` names the action in messages.
absl::Status ValidateEntityMessage(const std::string& where, const SendEntityMessageAction& m,
                                   size_t max_payload);
// Validates the names, ids and payload sizes inside one orchestrator action.
absl::Status ValidateAction(const OrchestratorAction& action, size_t max_payload);
absl::Status ValidateFailureDetails(absl::string_view field, const TaskFailureDetails& f,
                                    size_t max_payload);

}  // namespace taskhub::core

#endif  // TASKHUB_SERVER_CORE_VALIDATION_H_
