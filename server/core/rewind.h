// Rewind computed by the server, for SDKs that predate rewind.
//
// Rewind (RewindInstance) dispatches a FAILED instance with
// newEvents = [orchestratorStarted, executionRewound]. SDKs that know rewind (Python
// durabletask >= 1.8, durabletask-js 0.4.0) answer with one rewindOrchestration action
// carrying the cleaned history. Older SDKs (Java durabletask-client 1.5.0) ignore the
// executionRewound event, replay the failed history and fail again. For those the
// server computes the same cleaned history itself and ignores the rest of the answer.
//
// Pure functions; thread-compatible.
#ifndef TASKHUB_SERVER_CORE_REWIND_H_
#define TASKHUB_SERVER_CORE_REWIND_H_

#include <string>
#include <vector>

#include "orchestrator_service.pb.h"

namespace taskhub::core {

// True when the episode that dispatched `new_events` after `history` is a rewind that
// the worker has not answered itself: `new_events` holds an executionRewound event and
// `history` still ends the failed execution (holds executionCompleted).
bool IsRewindEpisode(const std::vector<HistoryEvent>& history,
                     const std::vector<HistoryEvent>& new_events);

// The history of the rewound execution, as the rewind-aware SDKs compute it: every
// event of `history` then `new_events` except taskFailed events and the taskScheduled
// events they answer (so the replay schedules those activities again),
// subOrchestrationInstanceFailed events (the server rewinds those children) and
// executionCompleted; executionStarted gets `new_execution_id` and, for a child whose
// executionRewound names its parent's new execution, that parent execution id.
std::vector<HistoryEvent> RewoundHistory(const std::vector<HistoryEvent>& history,
                                         const std::vector<HistoryEvent>& new_events,
                                         const std::string& new_execution_id);

}  // namespace taskhub::core

#endif  // TASKHUB_SERVER_CORE_REWIND_H_
