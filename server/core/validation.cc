#include "server/core/validation.h"

#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/core/entity.h"

namespace taskhub::core {
namespace {

// Strict UTF-8: no overlong forms (e.g. C0 80 for NUL), no surrogates, <= U+10FFFF.
bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
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
  RETURN_IF_ERROR(ValidateIdText(field, id));
  if (id[0] == '@') {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " '", id, "' starts with '@', which is reserved for entity ids"));
  }
  return absl::OkStatus();
}

absl::Status ValidateIdText(absl::string_view field, absl::string_view id) {
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
  // The error type, inner failures and properties count too.
  return ValidateMessageSize(field, f, max_payload);
}

absl::Status ValidateShortField(absl::string_view field, absl::string_view value,
                                size_t max_len) {
  if (value.size() > max_len) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is ", value.size(),
                                                   " bytes long; the maximum is ", max_len));
  }
  if (HasControlChar(value)) {
    return absl::InvalidArgumentError(absl::StrCat(field, " contains a control character"));
  }
  return absl::OkStatus();
}

absl::Status ValidateTags(absl::string_view field,
                          const google::protobuf::Map<std::string, std::string>& tags,
                          size_t max_payload) {
  size_t total = 0;
  for (const auto& [k, v] : tags) {
    if (k.size() > kMaxShortFieldLength) {
      return absl::InvalidArgumentError(absl::StrCat(field, " has a key of ", k.size(),
                                                     " bytes; the maximum is ",
                                                     kMaxShortFieldLength));
    }
    total += k.size() + v.size();
  }
  if (max_payload != 0 && total > max_payload) {
    return absl::ResourceExhaustedError(absl::StrCat(
        field, " (keys and values) are ", total, " bytes; this server accepts at most ",
        max_payload, " bytes per payload (--max-payload-bytes)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateMessageSize(absl::string_view field, const google::protobuf::Message& msg,
                                 size_t max_payload) {
  if (max_payload == 0) return absl::OkStatus();
  const size_t size = msg.ByteSizeLong();
  if (size > max_payload + kMetadataAllowance) {
    return absl::ResourceExhaustedError(absl::StrCat(
        field, " is ", size, " bytes in all; this server accepts at most ",
        max_payload + kMetadataAllowance,
        " (--max-payload-bytes plus 64 KiB for ids, names, tags and trace context)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateWorkerEvent(absl::string_view field, const HistoryEvent& e,
                                 size_t max_payload) {
  RETURN_IF_ERROR(ValidateMessageSize(field, e, max_payload));
  if (e.has_executionstarted()) {
    const auto& s = e.executionstarted();
    const std::string where = absl::StrCat(field, ".executionStarted");
    if (!s.orchestrationinstance().instanceid().empty()) {
      RETURN_IF_ERROR(ValidateInstanceId(where + ".orchestrationInstance.instanceId",
                                         s.orchestrationinstance().instanceid()));
    }
    RETURN_IF_ERROR(ValidateShortField(where + ".orchestrationInstance.executionId",
                                       s.orchestrationinstance().executionid().value(),
                                       kMaxInstanceIdLength));
    RETURN_IF_ERROR(ValidateShortField(where + ".version", s.version().value()));
    if (s.has_parentinstance()) {
      const auto& p = s.parentinstance().orchestrationinstance();
      RETURN_IF_ERROR(
          ValidateInstanceId(where + ".parentInstance.orchestrationInstance.instanceId",
                             p.instanceid()));
      RETURN_IF_ERROR(
          ValidateShortField(where + ".parentInstance.orchestrationInstance.executionId",
                             p.executionid().value(), kMaxInstanceIdLength));
    }
    return ValidateTags(where + ".tags", s.tags(), max_payload);
  }
  if (e.has_suborchestrationinstancecreated()) {
    const auto& c = e.suborchestrationinstancecreated();
    const std::string where = absl::StrCat(field, ".subOrchestrationInstanceCreated");
    RETURN_IF_ERROR(ValidateInstanceId(where + ".instanceId", c.instanceid()));
    RETURN_IF_ERROR(ValidateName(where + ".name", c.name()));
    RETURN_IF_ERROR(ValidateShortField(where + ".version", c.version().value()));
    RETURN_IF_ERROR(ValidatePayload(where + ".input", c.input(), max_payload));
    return ValidateTags(where + ".tags", c.tags(), max_payload);
  }
  if (e.has_eventsent()) {
    return ValidateInstanceId(absl::StrCat(field, ".eventSent.instanceId"),
                              e.eventsent().instanceid());
  }
  return absl::OkStatus();
}

absl::Status ValidateCreateInstance(const CreateInstanceRequest& req, size_t max_payload) {
  RETURN_IF_ERROR(ValidateName("name", req.name()));
  RETURN_IF_ERROR(ValidateShortField("version", req.version().value()));
  RETURN_IF_ERROR(
      ValidateShortField("executionId", req.executionid().value(), kMaxInstanceIdLength));
  RETURN_IF_ERROR(ValidatePayload("input", req.input(), max_payload));
  RETURN_IF_ERROR(ValidateTags("tags", req.tags(), max_payload));
  return ValidateMessageSize("CreateInstanceRequest", req, max_payload);
}

namespace {

// An entity id in an action: "@name@key" (see NormalizeEntityId).
absl::Status ValidateEntityTarget(const std::string& field, const std::string& id) {
  if (absl::StatusOr<std::string> n = NormalizeEntityId(id); !n.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", n.status().message()));
  }
  return absl::OkStatus();
}

absl::Status ValidateRequestId(const std::string& field, const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError(field + " must not be empty");
  return ValidateShortField(field, id, kMaxInstanceIdLength);
}

}  // namespace

absl::Status ValidateEntityMessage(const std::string& where, const SendEntityMessageAction& m,
                                   size_t max_payload) {
  switch (m.EntityMessageType_case()) {
    case SendEntityMessageAction::kEntityOperationSignaled: {
      const auto& s = m.entityoperationsignaled();
      const std::string f = where + ".entityOperationSignaled";
      RETURN_IF_ERROR(ValidateEntityTarget(f + ".targetInstanceId", s.targetinstanceid().value()));
      RETURN_IF_ERROR(ValidateRequestId(f + ".requestId", s.requestid()));
      RETURN_IF_ERROR(ValidateName(f + ".operation", s.operation()));
      return ValidatePayload(f + ".input", s.input(), max_payload);
    }
    case SendEntityMessageAction::kEntityOperationCalled: {
      const auto& c = m.entityoperationcalled();
      const std::string f = where + ".entityOperationCalled";
      RETURN_IF_ERROR(ValidateEntityTarget(f + ".targetInstanceId", c.targetinstanceid().value()));
      RETURN_IF_ERROR(ValidateRequestId(f + ".requestId", c.requestid()));
      RETURN_IF_ERROR(ValidateName(f + ".operation", c.operation()));
      return ValidatePayload(f + ".input", c.input(), max_payload);
    }
    case SendEntityMessageAction::kEntityLockRequested: {
      const auto& l = m.entitylockrequested();
      const std::string f = where + ".entityLockRequested";
      RETURN_IF_ERROR(ValidateRequestId(f + ".criticalSectionId", l.criticalsectionid()));
      if (l.lockset_size() == 0) return absl::InvalidArgumentError(f + ".lockSet is empty");
      if (static_cast<size_t>(l.lockset_size()) > kMaxLockSetSize) {
        return absl::InvalidArgumentError(absl::StrCat(f, ".lockSet names ", l.lockset_size(),
                                                       " entities; the maximum is ",
                                                       kMaxLockSetSize));
      }
      for (int i = 0; i < l.lockset_size(); ++i) {
        RETURN_IF_ERROR(ValidateEntityTarget(absl::StrCat(f, ".lockSet[", i, "]"), l.lockset(i)));
      }
      return absl::OkStatus();
    }
    case SendEntityMessageAction::kEntityUnlockSent: {
      const auto& u = m.entityunlocksent();
      const std::string f = where + ".entityUnlockSent";
      RETURN_IF_ERROR(ValidateRequestId(f + ".criticalSectionId", u.criticalsectionid()));
      return ValidateEntityTarget(f + ".targetInstanceId", u.targetinstanceid().value());
    }
    case SendEntityMessageAction::ENTITYMESSAGETYPE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(where + " has no entity message type set");
}

absl::Status ValidateAction(const OrchestratorAction& a, size_t max_payload) {
  const std::string where = absl::StrCat("actions[id=", a.id(), "]");
  switch (a.orchestratorActionType_case()) {
    case OrchestratorAction::kScheduleTask: {
      const auto& t = a.scheduletask();
      RETURN_IF_ERROR(ValidateName(where + ".scheduleTask.name", t.name()));
      RETURN_IF_ERROR(ValidateShortField(where + ".scheduleTask.version", t.version().value()));
      RETURN_IF_ERROR(ValidatePayload(where + ".scheduleTask.input", t.input(), max_payload));
      RETURN_IF_ERROR(ValidateTags(where + ".scheduleTask.tags", t.tags(), max_payload));
      return ValidateMessageSize(where, a, max_payload);
    }
    case OrchestratorAction::kCreateSubOrchestration: {
      const auto& c = a.createsuborchestration();
      RETURN_IF_ERROR(ValidateName(where + ".createSubOrchestration.name", c.name()));
      if (!c.instanceid().empty()) {
        RETURN_IF_ERROR(
            ValidateInstanceId(where + ".createSubOrchestration.instanceId", c.instanceid()));
      }
      RETURN_IF_ERROR(
          ValidateShortField(where + ".createSubOrchestration.version", c.version().value()));
      RETURN_IF_ERROR(
          ValidatePayload(where + ".createSubOrchestration.input", c.input(), max_payload));
      RETURN_IF_ERROR(ValidateTags(where + ".createSubOrchestration.tags", c.tags(), max_payload));
      return ValidateMessageSize(where, a, max_payload);
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
      RETURN_IF_ERROR(
          ValidatePayload(where + ".sendEvent.data", a.sendevent().data(), max_payload));
      return ValidateMessageSize(where, a, max_payload);
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
      RETURN_IF_ERROR(
          ValidatePayload(where + ".completeOrchestration.details", c.details(), max_payload));
      RETURN_IF_ERROR(
          ValidateShortField(where + ".completeOrchestration.newVersion", c.newversion().value()));
      RETURN_IF_ERROR(ValidateTags(where + ".completeOrchestration.tags", c.tags(), max_payload));
      for (int i = 0; i < c.carryoverevents_size(); ++i) {
        RETURN_IF_ERROR(ValidateWorkerEvent(
            absl::StrCat(where, ".completeOrchestration.carryoverEvents[", i, "]"),
            c.carryoverevents(i), max_payload));
      }
      RETURN_IF_ERROR(ValidateFailureDetails(where + ".completeOrchestration.failureDetails",
                                             c.failuredetails(), max_payload));
      // Carried-over events each count on their own (they become separate inbox entries).
      if (c.carryoverevents_size() > 0) return absl::OkStatus();
      return ValidateMessageSize(where, a, max_payload);
    }
    case OrchestratorAction::kTerminateOrchestration:
      RETURN_IF_ERROR(ValidateInstanceId(where + ".terminateOrchestration.instanceId",
                                         a.terminateorchestration().instanceid()));
      return ValidatePayload(where + ".terminateOrchestration.reason",
                             a.terminateorchestration().reason(), max_payload);
    case OrchestratorAction::kSendEntityMessage:
      RETURN_IF_ERROR(ValidateEntityMessage(where + ".sendEntityMessage", a.sendentitymessage(),
                                            max_payload));
      return ValidateMessageSize(where, a, max_payload);
    case OrchestratorAction::kRewindOrchestration: {
      const auto& h = a.rewindorchestration().newhistory();
      for (int i = 0; i < h.size(); ++i) {
        RETURN_IF_ERROR(ValidateWorkerEvent(
            absl::StrCat(where, ".rewindOrchestration.newHistory[", i, "]"), h[i], max_payload));
      }
      return absl::OkStatus();
    }
    case OrchestratorAction::ORCHESTRATORACTIONTYPE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(where + " has no action type set");
}

}  // namespace taskhub::core
