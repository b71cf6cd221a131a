#include "server/core/history.h"

#include <algorithm>
#include <map>

namespace taskhub::core {

int64_t ToMicros(absl::Time t) { return absl::ToUnixMicros(t); }

const std::vector<OrchestrationStatus>& TerminalStatuses() {
  static const std::vector<OrchestrationStatus>* const kAll = new std::vector<OrchestrationStatus>{
      ORCHESTRATION_STATUS_COMPLETED, ORCHESTRATION_STATUS_FAILED, ORCHESTRATION_STATUS_TERMINATED,
      ORCHESTRATION_STATUS_CANCELED};
  return *kAll;
}

bool IsTerminal(OrchestrationStatus s) {
  const auto& all = TerminalStatuses();
  return std::find(all.begin(), all.end(), s) != all.end();
}

std::string StatusName(OrchestrationStatus s) {
  std::string name = OrchestrationStatus_Name(s);
  const std::string prefix = "ORCHESTRATION_STATUS_";
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  return name.empty() ? std::to_string(static_cast<int>(s)) : name;
}

HistoryEvent NewEvent(absl::Time now, int32_t event_id) {
  HistoryEvent e;
  e.set_eventid(event_id);
  *e.mutable_timestamp() = ToProto(now);
  return e;
}

HistoryEvent ExecutionStartedFor(const store::InstanceRecord& rec, absl::Time now) {
  HistoryEvent e = NewEvent(now);
  auto* es = e.mutable_executionstarted();
  es->set_name(rec.name());
  if (rec.has_version()) *es->mutable_version() = rec.version();
  if (rec.has_input()) *es->mutable_input() = rec.input();
  es->mutable_orchestrationinstance()->set_instanceid(rec.instance_id());
  es->mutable_orchestrationinstance()->mutable_executionid()->set_value(rec.execution_id());
  if (rec.has_parent()) *es->mutable_parentinstance() = rec.parent();
  if (rec.has_scheduled_start_time()) {
    *es->mutable_scheduledstarttimestamp() = rec.scheduled_start_time();
  }
  for (const auto& [k, v] : rec.tags()) (*es->mutable_tags())[k] = v;
  return e;
}

std::vector<std::string> AllChildren(const std::vector<HistoryEvent>& history) {
  std::vector<std::string> out;
  for (const auto& e : history) {
    if (e.has_suborchestrationinstancecreated()) {
      out.push_back(e.suborchestrationinstancecreated().instanceid());
    }
  }
  return out;
}

std::vector<std::string> OpenChildren(const std::vector<HistoryEvent>& history) {
  std::map<int32_t, std::string> open;
  for (const auto& e : history) {
    if (e.has_suborchestrationinstancecreated()) {
      open[e.eventid()] = e.suborchestrationinstancecreated().instanceid();
    } else if (e.has_suborchestrationinstancecompleted()) {
      open.erase(e.suborchestrationinstancecompleted().taskscheduledid());
    } else if (e.has_suborchestrationinstancefailed()) {
      open.erase(e.suborchestrationinstancefailed().taskscheduledid());
    }
  }
  std::vector<std::string> out;
  for (auto& [id, child] : open) out.push_back(child);
  return out;
}

OrchestrationState ToOrchestrationState(const store::InstanceRecord& rec, bool include_payloads) {
  OrchestrationState s;
  s.set_instanceid(rec.instance_id());
  s.set_name(rec.name());
  if (rec.has_version()) *s.mutable_version() = rec.version();
  s.set_orchestrationstatus(rec.status());
  if (rec.has_scheduled_start_time()) {
    *s.mutable_scheduledstarttimestamp() = rec.scheduled_start_time();
  }
  *s.mutable_createdtimestamp() = rec.created_time();
  *s.mutable_lastupdatedtimestamp() = rec.last_updated_time();
  if (rec.has_completed_time()) *s.mutable_completedtimestamp() = rec.completed_time();
  if (!rec.execution_id().empty()) s.mutable_executionid()->set_value(rec.execution_id());
  if (rec.has_parent()) {
    s.mutable_parentinstanceid()->set_value(rec.parent().orchestrationinstance().instanceid());
  }
  for (const auto& [k, v] : rec.tags()) (*s.mutable_tags())[k] = v;
  if (rec.has_custom_status()) *s.mutable_customstatus() = rec.custom_status();
  if (include_payloads) {
    if (rec.has_input()) *s.mutable_input() = rec.input();
    if (rec.has_output()) *s.mutable_output() = rec.output();
  }
  if (rec.has_failure_details() && rec.status() == ORCHESTRATION_STATUS_FAILED) {
    *s.mutable_failuredetails() = rec.failure_details();
  }
  return s;
}

}  // namespace taskhub::core
