// A Backend decorator for tests that injects storage faults: failed commits (before or
// after they were applied), commits held until released (slow storage), and counts of
// commits and history loads. A crash is modelled by the test: destroy the engine and
// create a new one over the same inner backend, which holds exactly what was committed.
//
// Thread-safe. The inner backend must outlive this one.
#ifndef TASKHUB_SERVER_STORAGE_TESTING_FAULT_BACKEND_H_
#define TASKHUB_SERVER_STORAGE_TESTING_FAULT_BACKEND_H_

#include <atomic>
#include <cstdint>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/storage/backend.h"

namespace taskhub::storage {

class FaultInjectingBackend : public Backend {
 public:
  explicit FaultInjectingBackend(Backend* inner) : inner_(inner) {}

  absl::Status Commit(const WriteSet& ws) override;
  absl::StatusOr<std::optional<store::InstanceRecord>> GetInstance(
      const std::string& instance_id) override;
  absl::StatusOr<std::vector<HistoryEvent>> GetHistory(const std::string& instance_id) override;
  absl::StatusOr<RecoveryState> LoadRecoveryState() override;
  absl::StatusOr<InstancePage> QueryInstances(const InstanceFilter& filter) override;

  // The next `n` commits fail with UNAVAILABLE and change nothing.
  void FailNextCommits(int n);
  // The next `n` commits are applied, then reported failed with UNAVAILABLE (the
  // write reached the disk but its sync reported an error).
  void FailNextCommitsAfterApply(int n);
  // The next commit blocks (after it is counted) until Release().
  void BlockNextCommit();
  // Waits until a commit is blocked (true) or `timeout` passed (false).
  bool AwaitBlocked(absl::Duration timeout = absl::Seconds(5));
  void Release();

  uint64_t commits();  // Commit() calls, failed ones included
  uint64_t history_loads() const { return history_loads_.load(); }

 private:
  Backend* const inner_;
  absl::Mutex mu_;
  int fail_next_ ABSL_GUARDED_BY(mu_) = 0;
  int fail_after_apply_ ABSL_GUARDED_BY(mu_) = 0;
  bool armed_ ABSL_GUARDED_BY(mu_) = false;
  bool blocked_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t commits_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> history_loads_{0};
};

}  // namespace taskhub::storage

#endif  // TASKHUB_SERVER_STORAGE_TESTING_FAULT_BACKEND_H_
