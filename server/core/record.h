// The one builder of new instance records: client start, restart, sub-orchestration
// start and the re-creation of a purged child on rewind all go through BuildInstance.
//
// Pure; thread-compatible.
#ifndef TASKHUB_SERVER_CORE_RECORD_H_
#define TASKHUB_SERVER_CORE_RECORD_H_

#include <map>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "orchestrator_service.pb.h"
#include "taskhub_store.pb.h"

namespace taskhub::core {

struct InstanceSpec {
  std::string instance_id;
  std::string name;
  std::optional<std::string> version;
  std::optional<std::string> input;  // also kept as original_input (for restart)
  std::string execution_id;          // may be empty (assigned later by the caller)
  std::optional<absl::Time> scheduled_start;  // kept only if later than `now`
  std::map<std::string, std::string> tags;
  std::optional<ParentInstanceInfo> parent;  // sub-orchestrations
  std::optional<TraceContext> parent_trace_context;  // goes on executionStarted only
};

// A new instance: its PENDING record (created = last updated = now, history_size 0)
// and the executionStarted event that begins its first execution (for its inbox).
struct NewInstance {
  store::InstanceRecord record;
  HistoryEvent start;
};

NewInstance BuildInstance(const InstanceSpec& spec, absl::Time now);

// Sets the execution id of a built instance (record and executionStarted event).
void SetExecutionId(NewInstance& instance, const std::string& execution_id);

// For log lines about an instance: " [trace <32-hex trace id>]" when `traceparent` is a
// W3C traceparent ("00-<trace id>-<span id>-<flags>"), else "".
std::string TraceNote(const std::string& traceparent);

}  // namespace taskhub::core

#endif  // TASKHUB_SERVER_CORE_RECORD_H_
