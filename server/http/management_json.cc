#include "server/http/management_json.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "proto/timestamp_util.h"

namespace taskhub::http {
namespace {

using nlohmann::json;

struct StatusNameEntry {
  OrchestrationStatus status;
  const char* name;
};
constexpr StatusNameEntry kStatusNames[] = {
    {ORCHESTRATION_STATUS_RUNNING, "Running"},
    {ORCHESTRATION_STATUS_COMPLETED, "Completed"},
    {ORCHESTRATION_STATUS_CONTINUED_AS_NEW, "ContinuedAsNew"},
    {ORCHESTRATION_STATUS_FAILED, "Failed"},
    {ORCHESTRATION_STATUS_CANCELED, "Canceled"},
    {ORCHESTRATION_STATUS_TERMINATED, "Terminated"},
    {ORCHESTRATION_STATUS_PENDING, "Pending"},
    {ORCHESTRATION_STATUS_SUSPENDED, "Suspended"},
};

absl::Status Bad(absl::string_view param, absl::string_view value, absl::string_view want) {
  return absl::InvalidArgumentError(
      absl::StrCat("query parameter '", param, "': '", value, "' is not ", want));
}

std::string Time(const google::protobuf::Timestamp& ts) {
  return FormatTimeMicros(FromTimestamp(ts));
}

// Fields of one history event besides EventType and Timestamp.
void EventFields(const HistoryEvent& e, bool out, json* j) {
  auto payload = [&](const char* key, bool has, const google::protobuf::StringValue& v) {
    if (out && has) (*j)[key] = PayloadJson(&v);
  };
  switch (e.eventType_case()) {
    case HistoryEvent::kExecutionStarted: {
      const auto& s = e.executionstarted();
      (*j)["FunctionName"] = s.name();
      if (s.has_version()) (*j)["Version"] = s.version().value();
      payload("Input", s.has_input(), s.input());
      if (s.has_scheduledstarttimestamp()) {
        (*j)["ScheduledStartTime"] = Time(s.scheduledstarttimestamp());
      }
      if (s.has_parentinstance()) {
        (*j)["ParentInstanceId"] = s.parentinstance().orchestrationinstance().instanceid();
      }
      break;
    }
    case HistoryEvent::kExecutionCompleted: {
      const auto& c = e.executioncompleted();
      (*j)["OrchestrationStatus"] = RuntimeStatusName(c.orchestrationstatus());
      payload("Result", c.has_result(), c.result());
      if (c.has_failuredetails()) (*j)["FailureDetails"] = FailureJson(c.failuredetails());
      break;
    }
    case HistoryEvent::kExecutionTerminated:
      payload("Input", e.executionterminated().has_input(), e.executionterminated().input());
      break;
    case HistoryEvent::kTaskScheduled:
      (*j)["Name"] = e.taskscheduled().name();
      payload("Input", e.taskscheduled().has_input(), e.taskscheduled().input());
      break;
    case HistoryEvent::kTaskCompleted:
      (*j)["TaskScheduledId"] = e.taskcompleted().taskscheduledid();
      payload("Result", e.taskcompleted().has_result(), e.taskcompleted().result());
      break;
    case HistoryEvent::kTaskFailed:
      (*j)["TaskScheduledId"] = e.taskfailed().taskscheduledid();
      (*j)["FailureDetails"] = FailureJson(e.taskfailed().failuredetails());
      break;
    case HistoryEvent::kSubOrchestrationInstanceCreated: {
      const auto& c = e.suborchestrationinstancecreated();
      (*j)["Name"] = c.name();
      (*j)["InstanceId"] = c.instanceid();
      payload("Input", c.has_input(), c.input());
      break;
    }
    case HistoryEvent::kSubOrchestrationInstanceCompleted: {
      const auto& c = e.suborchestrationinstancecompleted();
      (*j)["TaskScheduledId"] = c.taskscheduledid();
      payload("Result", c.has_result(), c.result());
      break;
    }
    case HistoryEvent::kSubOrchestrationInstanceFailed:
      (*j)["TaskScheduledId"] = e.suborchestrationinstancefailed().taskscheduledid();
      (*j)["FailureDetails"] = FailureJson(e.suborchestrationinstancefailed().failuredetails());
      break;
    case HistoryEvent::kTimerCreated:
      (*j)["FireAt"] = Time(e.timercreated().fireat());
      break;
    case HistoryEvent::kTimerFired:
      (*j)["FireAt"] = Time(e.timerfired().fireat());
      (*j)["TimerId"] = e.timerfired().timerid();
      break;
    case HistoryEvent::kEventSent:
      (*j)["Name"] = e.eventsent().name();
      (*j)["InstanceId"] = e.eventsent().instanceid();
      payload("Input", e.eventsent().has_input(), e.eventsent().input());
      break;
    case HistoryEvent::kEventRaised:
      (*j)["Name"] = e.eventraised().name();
      payload("Input", e.eventraised().has_input(), e.eventraised().input());
      break;
    case HistoryEvent::kExecutionSuspended:
      payload("Reason", e.executionsuspended().has_input(), e.executionsuspended().input());
      break;
    case HistoryEvent::kExecutionResumed:
      payload("Reason", e.executionresumed().has_input(), e.executionresumed().input());
      break;
    case HistoryEvent::kExecutionRewound:
      if (e.executionrewound().has_reason()) {
        (*j)["Reason"] = e.executionrewound().reason().value();
      }
      break;
    case HistoryEvent::kEntityOperationSignaled:
      (*j)["Operation"] = e.entityoperationsignaled().operation();
      (*j)["TargetInstanceId"] = e.entityoperationsignaled().targetinstanceid().value();
      break;
    case HistoryEvent::kEntityOperationCalled:
      (*j)["Operation"] = e.entityoperationcalled().operation();
      (*j)["TargetInstanceId"] = e.entityoperationcalled().targetinstanceid().value();
      break;
    case HistoryEvent::kEntityOperationCompleted:
      payload("Result", e.entityoperationcompleted().has_output(),
              e.entityoperationcompleted().output());
      break;
    case HistoryEvent::kEntityOperationFailed:
      (*j)["FailureDetails"] = FailureJson(e.entityoperationfailed().failuredetails());
      break;
    default:
      break;
  }
}

// "TaskScheduled" from the oneof's field name "taskScheduled".
std::string EventTypeName(const HistoryEvent& e) {
  const auto* field = HistoryEvent::descriptor()->FindFieldByNumber(e.eventType_case());
  if (field == nullptr) return "Unknown";
  std::string name = field->json_name();
  if (!name.empty()) name[0] = absl::ascii_toupper(name[0]);
  return name;
}

}  // namespace

std::string RuntimeStatusName(OrchestrationStatus s) {
  for (const auto& e : kStatusNames) {
    if (e.status == s) return e.name;
  }
  return "Unknown";
}

std::optional<OrchestrationStatus> ParseRuntimeStatus(absl::string_view name) {
  std::string flat = absl::AsciiStrToLower(std::string(name));
  flat.erase(std::remove(flat.begin(), flat.end(), '_'), flat.end());
  for (const auto& e : kStatusNames) {
    if (absl::AsciiStrToLower(e.name) == flat) return e.status;
  }
  return std::nullopt;
}

std::string FormatTimeSeconds(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string FormatTimeMicros(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

json PayloadJson(const google::protobuf::StringValue* value) {
  if (value == nullptr) return nullptr;
  json parsed = json::parse(value->value(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return value->value();
  return parsed;
}

json FailureJson(const TaskFailureDetails& f) {
  json j = {{"errorType", f.errortype()}, {"errorMessage", f.errormessage()}};
  if (f.has_stacktrace()) j["stackTrace"] = f.stacktrace().value();
  if (f.has_innerfailure()) j["innerFailure"] = FailureJson(f.innerfailure());
  if (f.isnonretriable()) j["isNonRetriable"] = true;
  return j;
}

json StatusJson(const OrchestrationState& s, const StatusOptions& opt,
                const std::vector<HistoryEvent>* history) {
  json j;
  j["name"] = s.name();
  j["instanceId"] = s.instanceid();
  j["runtimeStatus"] = RuntimeStatusName(s.orchestrationstatus());
  j["input"] = opt.show_input && s.has_input() ? PayloadJson(&s.input()) : json(nullptr);
  j["customStatus"] = s.has_customstatus() ? PayloadJson(&s.customstatus()) : json(nullptr);
  j["output"] = s.has_output() ? PayloadJson(&s.output()) : json(nullptr);
  j["createdTime"] = FormatTimeSeconds(FromTimestamp(s.createdtimestamp()));
  j["lastUpdatedTime"] = FormatTimeSeconds(FromTimestamp(s.lastupdatedtimestamp()));
  if (s.has_failuredetails()) j["failureDetails"] = FailureJson(s.failuredetails());
  if (s.has_parentinstanceid()) j["parentInstanceId"] = s.parentinstanceid().value();
  if (opt.show_history && history != nullptr) {
    j["historyEvents"] = HistoryJson(*history, opt.show_history_output);
  }
  return j;
}

json HistoryJson(const std::vector<HistoryEvent>& history, bool show_output) {
  // Scheduled events by event id, merged into their completion.
  std::map<int32_t, const HistoryEvent*> tasks, children;
  for (const HistoryEvent& e : history) {
    if (e.has_taskscheduled()) tasks[e.eventid()] = &e;
    if (e.has_suborchestrationinstancecreated()) children[e.eventid()] = &e;
  }
  std::map<int32_t, bool> task_done, child_done;
  for (const HistoryEvent& e : history) {
    if (e.has_taskcompleted()) task_done[e.taskcompleted().taskscheduledid()] = true;
    if (e.has_taskfailed()) task_done[e.taskfailed().taskscheduledid()] = true;
    if (e.has_suborchestrationinstancecompleted()) {
      child_done[e.suborchestrationinstancecompleted().taskscheduledid()] = true;
    }
    if (e.has_suborchestrationinstancefailed()) {
      child_done[e.suborchestrationinstancefailed().taskscheduledid()] = true;
    }
  }
  json out = json::array();
  for (const HistoryEvent& e : history) {
    if (e.has_orchestratorstarted() || e.has_orchestratorcompleted() || e.has_historystate()) {
      continue;
    }
    if (e.has_taskscheduled() && task_done.contains(e.eventid())) continue;
    if (e.has_suborchestrationinstancecreated() && child_done.contains(e.eventid())) continue;
    json j;
    j["EventType"] = EventTypeName(e);
    j["EventId"] = e.eventid();
    j["Timestamp"] = Time(e.timestamp());
    EventFields(e, show_output, &j);
    // DF: a completion names its function and when it was scheduled.
    int32_t scheduled_id = -1;
    const std::map<int32_t, const HistoryEvent*>* origin = nullptr;
    if (e.has_taskcompleted()) scheduled_id = e.taskcompleted().taskscheduledid(), origin = &tasks;
    if (e.has_taskfailed()) scheduled_id = e.taskfailed().taskscheduledid(), origin = &tasks;
    if (e.has_suborchestrationinstancecompleted()) {
      scheduled_id = e.suborchestrationinstancecompleted().taskscheduledid(), origin = &children;
    }
    if (e.has_suborchestrationinstancefailed()) {
      scheduled_id = e.suborchestrationinstancefailed().taskscheduledid(), origin = &children;
    }
    if (origin != nullptr) {
      if (auto it = origin->find(scheduled_id); it != origin->end()) {
        const HistoryEvent& s = *it->second;
        j["ScheduledTime"] = Time(s.timestamp());
        if (s.has_taskscheduled()) {
          j["FunctionName"] = s.taskscheduled().name();
        } else {
          j["FunctionName"] = s.suborchestrationinstancecreated().name();
          j["InstanceId"] = s.suborchestrationinstancecreated().instanceid();
        }
      }
    }
    out.push_back(std::move(j));
  }
  return out;
}

json EntityJson(const EntityMetadata& e, bool with_state) {
  // "@name@key"
  std::string name, key;
  const std::string& id = e.instanceid();
  if (size_t at = id.find('@', 1); !id.empty() && id[0] == '@' && at != std::string::npos) {
    name = id.substr(1, at - 1);
    key = id.substr(at + 1);
  } else {
    key = id;
  }
  json j;
  j["entityId"] = {{"name", name}, {"key", key}};
  j["lastOperationTime"] = Time(e.lastmodifiedtime());
  if (with_state) {
    j["state"] = e.has_serializedstate() ? PayloadJson(&e.serializedstate()) : json(nullptr);
  }
  j["backlogQueueSize"] = e.backlogqueuesize();
  if (e.has_lockedby()) j["lockedBy"] = e.lockedby().value();
  return j;
}

absl::StatusOr<bool> ParseBool(absl::string_view param, absl::string_view value) {
  const std::string v = absl::AsciiStrToLower(std::string(value));
  if (v == "true") return true;
  if (v == "false") return false;
  return Bad(param, value, "true or false");
}

absl::StatusOr<absl::Time> ParseTime(absl::string_view param, absl::string_view value) {
  const std::string v(absl::StripAsciiWhitespace(value));
  absl::Time t;
  std::string err;
  for (const char* fmt : {"%Y-%m-%dT%H:%M:%E*S%Ez", "%Y-%m-%dT%H:%M:%E*SZ", "%Y-%m-%dT%H:%M:%E*S",
                          "%Y-%m-%dT%H:%M%Ez", "%Y-%m-%dT%H:%MZ", "%Y-%m-%d"}) {
    if (absl::ParseTime(fmt, v, absl::UTCTimeZone(), &t, &err)) return t;
  }
  return Bad(param, value,
             "a date and time (RFC 3339, e.g. 2026-11-30T21:10:59Z, or a date: 2026-11-30)");
}

absl::StatusOr<std::vector<OrchestrationStatus>> ParseStatuses(absl::string_view param,
                                                               absl::string_view value) {
  std::vector<OrchestrationStatus> out;
  for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
    auto s = ParseRuntimeStatus(absl::StripAsciiWhitespace(part));
    if (!s) {
      return Bad(param, part,
                 "a runtime status (Running, Completed, ContinuedAsNew, Failed, Canceled, "
                 "Terminated, Pending, Suspended)");
    }
    out.push_back(*s);
  }
  return out;
}

absl::StatusOr<absl::Duration> ParseSeconds(absl::string_view param, absl::string_view value) {
  double s = 0;
  if (!absl::SimpleAtod(value, &s) || !(s >= 0) || s > 1e9) {
    return Bad(param, value, "a number of seconds");
  }
  return absl::Seconds(s);
}

absl::StatusOr<int> ParsePositiveInt(absl::string_view param, absl::string_view value) {
  int n = 0;
  if (!absl::SimpleAtoi(value, &n) || n <= 0) return Bad(param, value, "a positive integer");
  return n;
}

}  // namespace taskhub::http
