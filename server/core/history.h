// Helpers over wire types: time conversion, status predicates, event construction.
// Pure functions; thread-compatible.
#ifndef TASKHUB_SERVER_CORE_HISTORY_H_
#define TASKHUB_SERVER_CORE_HISTORY_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "orchestrator_service.pb.h"
#include "proto/timestamp_util.h"
#include "taskhub_store.pb.h"

namespace taskhub::core {

inline google::protobuf::Timestamp ToProto(absl::Time t) { return ToTimestamp(t); }
inline absl::Time FromProto(const google::protobuf::Timestamp& ts) { return FromTimestamp(ts); }
int64_t ToMicros(absl::Time t);

// COMPLETED, FAILED, TERMINATED or CANCELED.
bool IsTerminal(OrchestrationStatus s);
// Every terminal status (what "finished instances" means in filters).
const std::vector<OrchestrationStatus>& TerminalStatuses();
// "RUNNING", "COMPLETED", ... (without the ORCHESTRATION_STATUS_ prefix).
std::string StatusName(OrchestrationStatus s);

// A history event with eventId -1 and the given timestamp (the caller sets the oneof).
HistoryEvent NewEvent(absl::Time now, int32_t event_id = -1);

// The executionStarted event that begins an execution of `rec`.
HistoryEvent ExecutionStartedFor(const store::InstanceRecord& rec, absl::Time now);

// Instance ids of sub-orchestrations created in `history` that have no completion
// or failure event in it yet (used by recursive terminate and purge).
std::vector<std::string> OpenChildren(const std::vector<HistoryEvent>& history);
// All sub-orchestration instance ids created in `history`.
std::vector<std::string> AllChildren(const std::vector<HistoryEvent>& history);

// The wire view of an instance record.
OrchestrationState ToOrchestrationState(const store::InstanceRecord& rec, bool include_payloads);

}  // namespace taskhub::core

#endif  // TASKHUB_SERVER_CORE_HISTORY_H_
