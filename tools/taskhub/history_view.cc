#include "tools/taskhub/history_view.h"

#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "proto/timestamp_util.h"
#include "taskhub/client.h"
#include "tools/taskhub/instance_view.h"
#include "tools/taskhub/payload.h"
#include "tools/taskhub/statuses.h"
#include "tools/taskhub/time_parse.h"

namespace taskhub::cli {
namespace {

using google::protobuf::StringValue;


// "executionStarted" -> "ExecutionStarted", from the oneof field's name.
std::string TypeName(const HistoryEvent& ev) {
  const auto* field = HistoryEvent::descriptor()->FindFieldByNumber(ev.eventType_case());
  if (field == nullptr) return "Unknown";
  std::string name = field->name();
  if (!name.empty()) name[0] = absl::ascii_toupper(name[0]);
  return name;
}

// Records payload `field` (null when absent); the first payload becomes the detail.
void Payload(TimelineEntry& e, const char* field, bool has, const StringValue& v) {
  if (!has || v.value().empty()) {
    e.fields[field] = nullptr;
    return;
  }
  e.fields[field] = PayloadToJson(v.value());
  if (e.detail.empty()) e.detail = absl::StrCat(field, ": ", v.value());
}

// A plain-text reason (suspend, resume, rewind).
void Reason(TimelineEntry& e, bool has, const StringValue& v) {
  e.fields["reason"] = has ? nlohmann::json(v.value()) : nlohmann::json(nullptr);
  if (has && !v.value().empty()) e.detail = absl::StrCat("reason: ", v.value());
}

void Failure(TimelineEntry& e, bool has, const TaskFailureDetails& f) {
  if (!has) {
    e.fields["failure"] = nullptr;
    return;
  }
  const FailureDetails d = FailureDetails::FromProto(f);
  e.fields["failure"] = FailureToJson(d);
  e.detail = FailureSummary(d);
  e.failed = true;
}

void Tags(TimelineEntry& e, const google::protobuf::Map<std::string, std::string>& tags) {
  std::map<std::string, std::string> sorted(tags.begin(), tags.end());
  e.fields["tags"] = sorted;
}

bool DescribeExecution(const HistoryEvent& ev, TimelineEntry& e) {
  switch (ev.eventType_case()) {
    case HistoryEvent::kExecutionStarted: {
      const auto& s = ev.executionstarted();
      e.name = s.name();
      e.fields["version"] = s.version().value();
      e.fields["instance_id"] = s.orchestrationinstance().instanceid();
      e.fields["execution_id"] = s.orchestrationinstance().executionid().value();
      e.fields["parent_instance_id"] = s.parentinstance().orchestrationinstance().instanceid();
      e.fields["scheduled_start_at"] =
          s.has_scheduledstarttimestamp()
              ? nlohmann::json(IsoTime(FromTimestamp(s.scheduledstarttimestamp())))
              : nlohmann::json(nullptr);
      Tags(e, s.tags());
      Payload(e, "input", s.has_input(), s.input());
      return true;
    }
    case HistoryEvent::kExecutionCompleted: {
      const auto& c = ev.executioncompleted();
      e.fields["runtime_status"] = StatusName(c.orchestrationstatus());
      Payload(e, "result", c.has_result(), c.result());
      Failure(e, c.has_failuredetails(), c.failuredetails());
      e.detail =
          absl::StrCat(StatusName(c.orchestrationstatus()), e.detail.empty() ? "" : " ", e.detail);
      return true;
    }
    case HistoryEvent::kExecutionTerminated:
      e.fields["recursive"] = ev.executionterminated().recurse();
      Payload(e, "reason", ev.executionterminated().has_input(), ev.executionterminated().input());
      return true;
    case HistoryEvent::kExecutionSuspended:
      Reason(e, ev.executionsuspended().has_input(), ev.executionsuspended().input());
      return true;
    case HistoryEvent::kExecutionResumed:
      Reason(e, ev.executionresumed().has_input(), ev.executionresumed().input());
      return true;
    case HistoryEvent::kExecutionRewound:
      Reason(e, ev.executionrewound().has_reason(), ev.executionrewound().reason());
      return true;
    case HistoryEvent::kContinueAsNew:
      Payload(e, "input", ev.continueasnew().has_input(), ev.continueasnew().input());
      return true;
    case HistoryEvent::kOrchestratorStarted:
    case HistoryEvent::kOrchestratorCompleted:
      e.internal = true;
      return true;
    default:
      return false;
  }
}

bool DescribeTask(const HistoryEvent& ev, TimelineEntry& e) {
  switch (ev.eventType_case()) {
    case HistoryEvent::kTaskScheduled: {
      const auto& s = ev.taskscheduled();
      e.name = s.name();
      e.task_id = ev.eventid();
      e.fields["version"] = s.version().value();
      Tags(e, s.tags());
      Payload(e, "input", s.has_input(), s.input());
      return true;
    }
    case HistoryEvent::kTaskCompleted:
      e.task_id = ev.taskcompleted().taskscheduledid();
      Payload(e, "result", ev.taskcompleted().has_result(), ev.taskcompleted().result());
      return true;
    case HistoryEvent::kTaskFailed:
      e.task_id = ev.taskfailed().taskscheduledid();
      Failure(e, ev.taskfailed().has_failuredetails(), ev.taskfailed().failuredetails());
      return true;
    case HistoryEvent::kSubOrchestrationInstanceCreated: {
      const auto& s = ev.suborchestrationinstancecreated();
      e.name = s.name();
      e.task_id = ev.eventid();
      e.fields["instance_id"] = s.instanceid();
      e.fields["version"] = s.version().value();
      Payload(e, "input", s.has_input(), s.input());
      return true;
    }
    case HistoryEvent::kSubOrchestrationInstanceCompleted: {
      const auto& c = ev.suborchestrationinstancecompleted();
      e.task_id = c.taskscheduledid();
      Payload(e, "result", c.has_result(), c.result());
      return true;
    }
    case HistoryEvent::kSubOrchestrationInstanceFailed: {
      const auto& f = ev.suborchestrationinstancefailed();
      e.task_id = f.taskscheduledid();
      Failure(e, f.has_failuredetails(), f.failuredetails());
      return true;
    }
    default:
      return false;
  }
}

bool DescribeTimersAndEvents(const HistoryEvent& ev, TimelineEntry& e) {
  switch (ev.eventType_case()) {
    case HistoryEvent::kTimerCreated: {
      const std::string at = IsoTime(FromTimestamp(ev.timercreated().fireat()));
      e.task_id = ev.eventid();
      e.fields["fire_at"] = at;
      e.detail = absl::StrCat("fires at ", at);
      return true;
    }
    case HistoryEvent::kTimerFired: {
      const std::string at = IsoTime(FromTimestamp(ev.timerfired().fireat()));
      e.task_id = ev.timerfired().timerid();
      e.fields["fire_at"] = at;
      return true;
    }
    case HistoryEvent::kEventSent: {
      const auto& s = ev.eventsent();
      e.name = s.name();
      e.task_id = ev.eventid();
      e.fields["instance_id"] = s.instanceid();
      Payload(e, "input", s.has_input(), s.input());
      e.detail = absl::StrCat("to ", s.instanceid(), e.detail.empty() ? "" : " ", e.detail);
      return true;
    }
    case HistoryEvent::kEventRaised:
      e.name = ev.eventraised().name();
      Payload(e, "input", ev.eventraised().has_input(), ev.eventraised().input());
      return true;
    case HistoryEvent::kGenericEvent:
      Payload(e, "data", ev.genericevent().has_data(), ev.genericevent().data());
      return true;
    case HistoryEvent::kHistoryState:
      return true;
    default:
      return false;
  }
}

bool DescribeEntity(const HistoryEvent& ev, TimelineEntry& e) {
  switch (ev.eventType_case()) {
    case HistoryEvent::kEntityOperationSignaled: {
      const auto& s = ev.entityoperationsignaled();
      e.name = s.operation();
      e.fields["request_id"] = s.requestid();
      e.fields["target_instance_id"] = s.targetinstanceid().value();
      Payload(e, "input", s.has_input(), s.input());
      return true;
    }
    case HistoryEvent::kEntityOperationCalled: {
      const auto& c = ev.entityoperationcalled();
      e.name = c.operation();
      e.fields["request_id"] = c.requestid();
      e.fields["target_instance_id"] = c.targetinstanceid().value();
      Payload(e, "input", c.has_input(), c.input());
      return true;
    }
    case HistoryEvent::kEntityOperationCompleted:
      e.fields["request_id"] = ev.entityoperationcompleted().requestid();
      Payload(e, "result", ev.entityoperationcompleted().has_output(),
              ev.entityoperationcompleted().output());
      return true;
    case HistoryEvent::kEntityOperationFailed:
      e.fields["request_id"] = ev.entityoperationfailed().requestid();
      Failure(e, ev.entityoperationfailed().has_failuredetails(),
              ev.entityoperationfailed().failuredetails());
      return true;
    case HistoryEvent::kEntityLockRequested:
      e.fields["critical_section_id"] = ev.entitylockrequested().criticalsectionid();
      return true;
    case HistoryEvent::kEntityLockGranted:
      e.fields["critical_section_id"] = ev.entitylockgranted().criticalsectionid();
      return true;
    case HistoryEvent::kEntityUnlockSent:
      e.fields["critical_section_id"] = ev.entityunlocksent().criticalsectionid();
      return true;
    default:
      return false;
  }
}

// Gives completion events the name of what they complete.
void ResolveNames(std::vector<TimelineEntry>& entries) {
  std::map<std::pair<std::string, int>, std::string> names;  // (kind, task id) -> name
  auto kind = [](const std::string& type) -> std::string {
    if (type.rfind("Task", 0) == 0) return "task";
    if (type.rfind("SubOrchestration", 0) == 0) return "sub";
    if (type.rfind("Timer", 0) == 0) return "timer";
    return "";
  };
  for (auto& e : entries) {
    if (!e.task_id || kind(e.type).empty()) continue;
    const auto key = std::make_pair(kind(e.type), *e.task_id);
    if (!e.name.empty()) {
      names[key] = e.name;
    } else if (auto it = names.find(key); it != names.end()) {
      e.name = it->second;
    }
  }
}

}  // namespace

std::vector<TimelineEntry> BuildTimeline(const std::vector<HistoryEvent>& events) {
  std::vector<TimelineEntry> entries;
  entries.reserve(events.size());
  for (const HistoryEvent& ev : events) {
    TimelineEntry e;
    e.event_id = ev.eventid();
    e.timestamp = FromTimestamp(ev.timestamp());
    e.type = TypeName(ev);
    if (!DescribeExecution(ev, e) && !DescribeTask(ev, e) && !DescribeTimersAndEvents(ev, e)) {
      DescribeEntity(ev, e);
    }
    entries.push_back(std::move(e));
  }
  ResolveNames(entries);
  return entries;
}

nlohmann::json TimelineToJson(const std::string& instance_id,
                              const std::vector<TimelineEntry>& entries) {
  nlohmann::json events = nlohmann::json::array();
  for (const TimelineEntry& e : entries) {
    nlohmann::json j = {
        {"event_id", e.event_id},
        {"timestamp", IsoTime(e.timestamp)},
        {"type", e.type},
        {"name", e.name.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.name)},
        {"task_id", e.task_id ? nlohmann::json(*e.task_id) : nlohmann::json(nullptr)},
    };
    for (const auto& [k, v] : e.fields.items()) j[k] = v;
    events.push_back(std::move(j));
  }
  return {{"instance_id", instance_id}, {"events", std::move(events)}};
}

void PrintTimeline(Output& out, const std::vector<TimelineEntry>& entries, bool all) {
  Table table({"TIME", "EVENT", "NAME", "TASK ID", "DETAILS"});
  for (const TimelineEntry& e : entries) {
    if (e.internal && !all) continue;
    table.AddRow({IsoTime(e.timestamp), e.type, e.name, e.task_id ? std::to_string(*e.task_id) : "",
                  Cell(Abbreviate(e.detail, 80), e.failed ? Style::kRed : Style::kPlain)});
  }
  table.Print(out);
}

}  // namespace taskhub::cli
