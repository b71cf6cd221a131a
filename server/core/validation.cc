#include "server/core/validation.h"

#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"

namespace taskhub::core {
namespace {

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

bool HasControlChar(absl::string_view s) {
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) return true;
  }
  return false;
}

}  // namespace

absl::Status ValidateInstanceId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " must not be empty"));
  if (id.size() > kMaxInstanceIdLength) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is ", id.size(),
                                                   " bytes long; the maximum is ",
                                                   kMaxInstanceIdLength));
  }
  if (!IsValidUtf8(id)) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is not valid UTF-8"));
  }
  if (HasControlChar(id)) {
    return absl::InvalidArgumentError(absl::StrCat(field, " contains a control character"));
  }
  if (id[0] == '@') {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " '", id, "' starts with '@', which is reserved for entity ids"));
  }
  return absl::OkStatus();
}

absl::Status ValidateName(absl::string_view field, absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " must not be empty"));
  if (name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is ", name.size(),
                                                   " bytes long; the maximum is ",
                                                   kMaxNameLength));
  }
  if (!IsValidUtf8(name) || HasControlChar(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be valid UTF-8 without control characters"));
  }
  return absl::OkStatus();
}

absl::Status ValidatePayload(absl::string_view field, const google::protobuf::StringValue& value,
                             size_t max_bytes) {
  if (max_bytes != 0 && value.value().size() > max_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        field, " is ", value.value().size(), " bytes; this server accepts at most ", max_bytes,
        " bytes per payload (--max-payload-bytes)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateFailureDetails(absl::string_view field, const TaskFailureDetails& f,
                                    size_t max_payload) {
  const size_t size = f.errormessage().size() + f.stacktrace().value().size();
  if (max_payload != 0 && size > max_payload) {
    return absl::ResourceExhaustedError(absl::StrCat(field, " is ", size,
                                                     " bytes; the maximum is ", max_payload));
  }
  return absl::OkStatus();
}

absl::Status ValidateAction(const OrchestratorAction& a, size_t max_payload) {
  const std::string where = absl::StrCat("actions[id=", a.id(), "]");
  switch (a.orchestratorActionType_case()) {
    case OrchestratorAction::kScheduleTask:
      RETURN_IF_ERROR(ValidateName(where + ".scheduleTask.name", a.scheduletask().name()));
      return ValidatePayload(where + ".scheduleTask.input", a.scheduletask().input(),
                             max_payload);
    case OrchestratorAction::kCreateSubOrchestration: {
      const auto& c = a.createsuborchestration();
      RETURN_IF_ERROR(ValidateName(where + ".createSubOrchestration.name", c.name()));
      if (!c.instanceid().empty()) {
        RETURN_IF_ERROR(
            ValidateInstanceId(where + ".createSubOrchestration.instanceId", c.instanceid()));
      }
      return ValidatePayload(where + ".createSubOrchestration.input", c.input(), max_payload);
    }
    case OrchestratorAction::kCreateTimer:
      if (!a.createtimer().has_fireat()) {
        return absl::InvalidArgumentError(where + ".createTimer.fireAt must be set");
      }
      return absl::OkStatus();
    case OrchestratorAction::kSendEvent:
      RETURN_IF_ERROR(ValidateInstanceId(where + ".sendEvent.instance.instanceId",
                                         a.sendevent().instance().instanceid()));
      RETURN_IF_ERROR(ValidateName(where + ".sendEvent.name", a.sendevent().name()));
      return ValidatePayload(where + ".sendEvent.data", a.sendevent().data(), max_payload);
    case OrchestratorAction::kCompleteOrchestration: {
      const auto& c = a.completeorchestration();
      switch (c.orchestrationstatus()) {
        case ORCHESTRATION_STATUS_COMPLETED:
        case ORCHESTRATION_STATUS_FAILED:
        case ORCHESTRATION_STATUS_TERMINATED:
        case ORCHESTRATION_STATUS_CONTINUED_AS_NEW:
          break;
        default:
          return absl::InvalidArgumentError(absl::StrCat(
              where, ".completeOrchestration.orchestrationStatus must be COMPLETED, FAILED, "
                     "TERMINATED or CONTINUED_AS_NEW, not ",
              OrchestrationStatus_Name(c.orchestrationstatus())));
      }
      RETURN_IF_ERROR(
          ValidatePayload(where + ".completeOrchestration.result", c.result(), max_payload));
      return ValidateFailureDetails(where + ".completeOrchestration.failureDetails",
                                    c.failuredetails(), max_payload);
    }
    case OrchestratorAction::kTerminateOrchestration:
      return ValidateInstanceId(where + ".terminateOrchestration.instanceId",
                                a.terminateorchestration().instanceid());
    case OrchestratorAction::kSendEntityMessage:
      return absl::UnimplementedError(
          where + ".sendEntityMessage: durable entities are not supported by this server yet");
    case OrchestratorAction::kRewindOrchestration:
      return absl::OkStatus();
    case OrchestratorAction::ORCHESTRATORACTIONTYPE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(where + " has no action type set");
}

}  // namespace taskhub::core
