#include "server/engine/work_item_filter.h"

namespace taskhub::engine {

WorkItemFilter::WorkItemFilter(const GetWorkItemsRequest& req) {
  if (!req.has_workitemfilters()) return;
  present_ = true;
  const auto& f = req.workitemfilters();
  for (const auto& o : f.orchestrations()) {
    auto& v = orchestrations_[o.name()];
    v.insert(o.versions().begin(), o.versions().end());
  }
  for (const auto& a : f.activities()) {
    auto& v = activities_[a.name()];
    v.insert(a.versions().begin(), a.versions().end());
  }
  for (const auto& a : f.exclude_activities()) {
    auto& v = excluded_activities_[a.name()];
    v.insert(a.versions().begin(), a.versions().end());
  }
}

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

}  // namespace taskhub::engine
