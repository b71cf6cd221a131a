#include "server/core/rewind.h"

#include <unordered_set>

namespace taskhub::core {
namespace {

const ExecutionRewoundEvent* FindRewound(const std::vector<HistoryEvent>& events) {
  for (const auto& e : events) {
    if (e.has_executionrewound()) return &e.executionrewound();
  }
  return nullptr;
}

}  // namespace

bool IsRewindEpisode(const std::vector<HistoryEvent>& history,
                     const std::vector<HistoryEvent>& new_events) {
  if (FindRewound(new_events) == nullptr) return false;
  for (const auto& e : history) {
    if (e.has_executioncompleted()) return true;
  }
  return false;
}

std::vector<HistoryEvent> RewoundHistory(const std::vector<HistoryEvent>& history,
                                         const std::vector<HistoryEvent>& new_events,
                                         const std::string& new_execution_id) {
  const ExecutionRewoundEvent* rewound = FindRewound(new_events);
  std::unordered_set<int32_t> failed_tasks;
  for (const auto* events : {&history, &new_events}) {
    for (const auto& e : *events) {
      if (e.has_taskfailed()) failed_tasks.insert(e.taskfailed().taskscheduledid());
    }
  }
  std::vector<HistoryEvent> out;
  out.reserve(history.size() + new_events.size());
  for (const auto* events : {&history, &new_events}) {
    for (const auto& e : *events) {
      if (e.has_taskfailed() || e.has_suborchestrationinstancefailed() ||
          e.has_executioncompleted()) {
        continue;
      }
      if (e.has_taskscheduled() && failed_tasks.contains(e.eventid())) continue;
      out.push_back(e);
      if (!e.has_executionstarted()) continue;
      auto* started = out.back().mutable_executionstarted();
      started->mutable_orchestrationinstance()->mutable_executionid()->set_value(new_execution_id);
      if (rewound != nullptr && rewound->has_parentexecutionid() &&
          !rewound->parentexecutionid().value().empty() && started->has_parentinstance()) {
        *started->mutable_parentinstance()->mutable_orchestrationinstance()->mutable_executionid() =
            rewound->parentexecutionid();
      }
    }
  }
  return out;
}

}  // namespace taskhub::core
