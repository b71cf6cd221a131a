// Status filters of purges and ListInstanceIds, which only ever match finished instances.
#ifndef TASKHUB_SERVER_ENGINE_STATUS_FILTER_H_
#define TASKHUB_SERVER_ENGINE_STATUS_FILTER_H_

#include <optional>
#include <vector>

#include "google/protobuf/repeated_field.h"
#include "server/core/history.h"

namespace taskhub::engine {

// The terminal statuses among `given` (all terminal statuses when `given` is empty);
// nullopt when `given` names only non-terminal statuses, i.e. nothing can match.
inline std::optional<std::vector<OrchestrationStatus>> TerminalOnly(
    const google::protobuf::RepeatedField<int>& given) {
  std::vector<OrchestrationStatus> out;
  for (int s : given) {
    if (core::IsTerminal(static_cast<OrchestrationStatus>(s))) {
      out.push_back(static_cast<OrchestrationStatus>(s));
    }
  }
  if (given.empty()) {
    out = {ORCHESTRATION_STATUS_COMPLETED, ORCHESTRATION_STATUS_FAILED,
           ORCHESTRATION_STATUS_TERMINATED, ORCHESTRATION_STATUS_CANCELED};
  }
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace taskhub::engine

#endif  // TASKHUB_SERVER_ENGINE_STATUS_FILTER_H_
