// Work-item filters of a GetWorkItems stream: which orchestrations, activities and
// entities the worker registered. No filters = everything. With filters, a category
// with an empty list matches nothing; a non-empty `versions` list must contain the
// item's version. Thread-compatible.
#ifndef TASKHUB_SERVER_ENGINE_WORK_ITEM_FILTER_H_
#define TASKHUB_SERVER_ENGINE_WORK_ITEM_FILTER_H_

#include <map>
#include <set>
#include <string>

#include "server/core/commands.h"

namespace taskhub::engine {

class WorkItemFilter {
 public:
  WorkItemFilter() = default;
  explicit WorkItemFilter(const core::ConnectCommand& cmd);
  bool MatchesOrchestration(const std::string& name, const std::string& version) const;
  bool MatchesActivity(const std::string& name, const std::string& version) const;
  // `name`: an entity name, lower-cased (as ConnectCommand::entities holds them).
  bool MatchesEntity(const std::string& name) const;

 private:
  using Names = std::map<std::string, std::set<std::string>>;  // name -> versions (none: any)
  static bool Match(const Names& names, const std::string& name, const std::string& version);
  bool present_ = false;
  Names orchestrations_, activities_;
  Names excluded_activities_;
  std::set<std::string> entities_;
};

}  // namespace taskhub::engine

#endif  // TASKHUB_SERVER_ENGINE_WORK_ITEM_FILTER_H_
