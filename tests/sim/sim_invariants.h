// Invariants of the engine simulation, checked against what is committed in the
// in-memory backend (read directly, not through the engine).
//
//  - history well-formed: one ExecutionStarted after the first OrchestratorStarted,
//    unique confirmation eventIds, every result names a confirmed action and arrives
//    at most once (no completion applied twice, every timer fires at most once),
//    nothing after ExecutionCompleted but OrchestratorCompleted, the record's
//    history_size and status agree with the history;
//  - a terminal instance stays terminal (and unchanged) unless the workload reset it
//    (restart, purge, start, or its parent's new execution re-creating it);
//  - no acknowledged event lost: while the execution it was raised to is the current,
//    non-terminal one, the event is in the instance's inbox or history (also for an
//    event acknowledged without a write because the instance looked finished).
//
// Thread-compatible (the simulation is single-threaded).
#ifndef TASKHUB_TESTS_SIM_SIM_INVARIANTS_H_
#define TASKHUB_TESTS_SIM_SIM_INVARIANTS_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/storage/memory/memory_backend.h"

namespace taskhub::sim {

// Everything committed, per instance.
struct Snapshot {
  std::map<std::string, store::InstanceRecord> records;
  std::map<std::string, std::vector<HistoryEvent>> histories;
  std::map<std::string, std::vector<HistoryEvent>> inboxes;
  size_t activities = 0, timers = 0;
};
absl::StatusOr<Snapshot> TakeSnapshot(storage::MemoryBackend& backend);

// Well-formedness of one committed instance. `rewind_pending`: its inbox holds an
// ExecutionRewound (the record is RUNNING again, the failed history is replaced by the
// rewind episode).
absl::Status CheckHistory(const store::InstanceRecord& rec,
                          const std::vector<HistoryEvent>& history, bool rewind_pending);

// An event whose RaiseEvent was acknowledged (OK), identified by its unique data.
struct AckedEvent {
  std::string instance_id;
  std::string execution_id;  // the committed execution when it was raised
  std::string name, data;
};

class InvariantChecker {
 public:
  // The workload is about to reset `id` (restart, purge): its terminal record may
  // change or disappear until the Check after ResetDone(id) (the call's answer).
  void AllowReset(const std::string& id) { ++allow_reset_[id]; }
  void ResetDone(const std::string& id) { reset_done_.push_back(id); }
  void AddAckedEvent(AckedEvent ev) { acked_.push_back(std::move(ev)); }
  // An event answered OK inside the RaiseEvent call, without a write: the engine
  // took the instance for finished. If a crash then shows the execution it was
  // raised to still running, that end was not durable when the OK was given and the
  // event is lost. CheckAfterCrash (after each recovery) checks and forgets them.
  void AddImmediateAck(AckedEvent ev) { immediate_.push_back(std::move(ev)); }
  absl::Status CheckAfterCrash(const Snapshot& snap);

  // Checks every invariant on `snap` and remembers it for the next call.
  absl::Status Check(const Snapshot& snap);

 private:
  absl::Status CheckStaysTerminal(const Snapshot& snap);
  absl::Status CheckAckedEvents(const Snapshot& snap);
  bool ResetAllowed(const std::string& id, const store::InstanceRecord& old,
                    const Snapshot& snap) const;

  std::map<std::string, store::InstanceRecord> last_;
  std::map<std::string, int> allow_reset_;
  std::vector<std::string> reset_done_;
  std::vector<AckedEvent> acked_;
  std::vector<AckedEvent> immediate_;
};

}  // namespace taskhub::sim

#endif  // TASKHUB_TESTS_SIM_SIM_INVARIANTS_H_
