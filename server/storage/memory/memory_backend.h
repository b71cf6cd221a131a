// The in-memory backend: the reference model of Backend, written for obviousness
// rather than speed (queries scan and sort). Nothing survives the process.
// Thread-safe. (Fault injection: storage/testing/fault_backend.h.)
#ifndef TASKHUB_SERVER_STORAGE_MEMORY_MEMORY_BACKEND_H_
#define TASKHUB_SERVER_STORAGE_MEMORY_MEMORY_BACKEND_H_

#include <map>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "server/storage/backend.h"

namespace taskhub::storage {

class MemoryBackend : public Backend {
 public:
  MemoryBackend() = default;

  absl::Status Commit(const WriteSet& ws) override;
  absl::StatusOr<std::optional<store::InstanceRecord>> GetInstance(
      const std::string& instance_id) override;
  absl::StatusOr<std::vector<HistoryEvent>> GetHistory(const std::string& instance_id) override;
  absl::StatusOr<RecoveryState> LoadRecoveryState() override;
  absl::StatusOr<InstancePage> QueryInstances(const InstanceFilter& filter) override;

 private:
  void Apply(const WriteOp& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::map<std::string, store::InstanceRecord> instances_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::map<uint64_t, HistoryEvent>> history_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::map<uint64_t, HistoryEvent>> inbox_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, store::ActivityTask> activities_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<int64_t, uint64_t>, store::TimerRecord> timers_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, store::OutboxMessage> messages_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, store::Notification> notifications_ ABSL_GUARDED_BY(mu_);
  uint64_t max_seq_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace taskhub::storage

#endif  // TASKHUB_SERVER_STORAGE_MEMORY_MEMORY_BACKEND_H_
