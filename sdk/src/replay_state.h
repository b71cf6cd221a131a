// Internal state of one orchestrator execution (replay engine). Not public API.
#ifndef TASKHUB_SDK_SRC_REPLAY_STATE_H_
#define TASKHUB_SDK_SRC_REPLAY_STATE_H_

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator_service.pb.h"
#include "taskhub/orchestration_context.h"
#include "taskhub/task.h"

namespace taskhub::internal {

class ReplayState {
 public:
  struct Pending {
    OrchestratorAction action;
    std::string kind;  // "activity", "timer", "sub-orchestration", "event"
    std::string name;
  };
  struct Open {
    std::shared_ptr<CompletionState> state;
    std::string name;
  };

  std::string instance_id, execution_id, name;
  std::optional<std::string> input;
  absl::Time now = absl::UnixEpoch();
  bool replaying = true;
  int seq = 0;
  int guid_counter = 0;
  std::map<int, Pending> pending;  // scheduled, not yet confirmed by history
  std::map<int, Open> open;        // awaiting a result
  std::map<std::string, std::deque<std::shared_ptr<CompletionState>>> waiters;
  std::vector<HistoryEvent> buffered_events;  // eventRaised not consumed yet
  bool suspended = false;
  std::vector<HistoryEvent> suspended_events;
  std::optional<std::optional<std::string>> custom_status;
  bool continue_as_new = false;
  std::optional<std::string> continue_as_new_input;
  bool keep_events = true;
  bool terminated = false;
  std::optional<std::string> terminate_output;
  std::exception_ptr fatal;  // non-determinism or a missing orchestrator
  std::vector<Task<void>> detached;  // retry loops
  bool tearing_down = false;          // the executor is being destroyed

  // Entities: calls awaiting a result by request id (the task id and what was
  // called), lock requests awaiting the grant by critical section id.
  struct EntityCall {
    int id;
    EntityInstanceId entity;
    std::string operation;
  };
  std::map<std::string, EntityCall> entity_calls;
  std::map<std::string, int> lock_requests;
  // The critical section this orchestration is in (Python SDK semantics):
  // `locks` the sorted lock set, `available` the locked entities with no call in
  // flight, `lock_pending` until the grant arrives.
  std::optional<std::string> critical_section;
  std::vector<EntityInstanceId> locks, available;
  bool lock_pending = false;

  int NextId() { return ++seq; }
  std::shared_ptr<CompletionState> Schedule(OrchestratorAction action, std::string kind,
                                            std::string name);
};

}  // namespace taskhub::internal

#endif  // TASKHUB_SDK_SRC_REPLAY_STATE_H_
