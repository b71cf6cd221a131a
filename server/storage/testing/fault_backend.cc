#include "server/storage/testing/fault_backend.h"

namespace taskhub::storage {

absl::Status FaultInjectingBackend::Commit(const WriteSet& ws) {
  bool fail_after = false;
  {
    absl::MutexLock l(&mu_);
    ++commits_;
    if (fail_next_ > 0) {
      --fail_next_;
      return absl::UnavailableError("injected commit failure");
    }
    if (fail_after_apply_ > 0) {
      --fail_after_apply_;
      fail_after = true;
    }
    if (armed_) {
      armed_ = false;
      blocked_ = true;
      mu_.Await(absl::Condition(+[](bool* b) { return !*b; }, &blocked_));
    }
  }
  absl::Status st = inner_->Commit(ws);
  if (st.ok() && fail_after) return absl::UnavailableError("injected failure after the commit");
  return st;
}

absl::StatusOr<std::optional<store::InstanceRecord>> FaultInjectingBackend::GetInstance(
    const std::string& instance_id) {
  return inner_->GetInstance(instance_id);
}

absl::StatusOr<std::vector<HistoryEvent>> FaultInjectingBackend::GetHistory(
    const std::string& instance_id) {
  history_loads_.fetch_add(1);
  return inner_->GetHistory(instance_id);
}

absl::StatusOr<RecoveryState> FaultInjectingBackend::LoadRecoveryState() {
  return inner_->LoadRecoveryState();
}

absl::StatusOr<InstancePage> FaultInjectingBackend::QueryInstances(const InstanceFilter& filter) {
  return inner_->QueryInstances(filter);
}

void FaultInjectingBackend::FailNextCommits(int n) {
  absl::MutexLock l(&mu_);
  fail_next_ = n;
}

void FaultInjectingBackend::FailNextCommitsAfterApply(int n) {
  absl::MutexLock l(&mu_);
  fail_after_apply_ = n;
}

void FaultInjectingBackend::BlockNextCommit() {
  absl::MutexLock l(&mu_);
  armed_ = true;
}

bool FaultInjectingBackend::AwaitBlocked(absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&blocked_), timeout);
}

void FaultInjectingBackend::Release() {
  absl::MutexLock l(&mu_);
  blocked_ = false;
}

uint64_t FaultInjectingBackend::commits() {
  absl::MutexLock l(&mu_);
  return commits_;
}

}  // namespace taskhub::storage
