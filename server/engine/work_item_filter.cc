#include "server/engine/work_item_filter.h"

namespace taskhub::engine {

WorkItemFilter::WorkItemFilter(const core::ConnectCommand& cmd)
    : present_(cmd.filtered),
      orchestrations_(cmd.orchestrations),
      activities_(cmd.activities),
      excluded_activities_(cmd.excluded_activities),
      entities_(cmd.entities) {}

bool WorkItemFilter::Match(const Names& names, const std::string& name,
                           const std::string& version) {
  auto it = names.find(name);
  if (it == names.end()) return false;
  return it->second.empty() || it->second.count(version) > 0;
}

bool WorkItemFilter::MatchesOrchestration(const std::string& name,
                                          const std::string& version) const {
  return !present_ || Match(orchestrations_, name, version);
}

bool WorkItemFilter::MatchesActivity(const std::string& name, const std::string& version) const {
  if (!present_) return true;
  if (Match(excluded_activities_, name, version)) return false;
  return Match(activities_, name, version);
}

bool WorkItemFilter::MatchesEntity(const std::string& name) const {
  return !present_ || entities_.count(name) > 0;
}

}  // namespace taskhub::engine
