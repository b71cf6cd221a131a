// Helpers for engine tests without gRPC: a recording WorkItemSink and blocking
// wrappers around the engine's callback API. Test-only.
#ifndef TASKHUB_TESTS_ENGINE_ENGINE_TEST_SUPPORT_H_
#define TASKHUB_TESTS_ENGINE_ENGINE_TEST_SUPPORT_H_

#include <functional>
#include <future>
#include <optional>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "server/engine/engine.h"

namespace taskhub::engine::testing {

// Records work items (health pings dropped); tests wait for them. Thread-safe.
class RecordingSink : public WorkItemSink {
 public:
  void Send(const WorkItem& item) override {
    if (item.has_healthping()) return;
    absl::MutexLock l(&mu_);
    items_.push_back(item);
  }
  void Close() override {}
  // Waits up to `timeout` for the next work item.
  std::optional<WorkItem> Next(absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock l(&mu_);
    auto ready = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return items_.size() > taken_; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&ready), timeout)) return std::nullopt;
    return items_[taken_++];
  }

 private:
  absl::Mutex mu_;
  std::vector<WorkItem> items_ ABSL_GUARDED_BY(mu_);
  size_t taken_ ABSL_GUARDED_BY(mu_) = 0;
};

template <typename T>
absl::StatusOr<T> AwaitOr(std::function<void(DoneWith<T>)> call) {
  std::promise<absl::StatusOr<T>> p;
  call([&](absl::StatusOr<T> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

inline absl::Status AwaitStatus(std::function<void(Done)> call) {
  std::promise<absl::Status> p;
  call([&](absl::Status s) { p.set_value(s); });
  return p.get_future().get();
}

}  // namespace taskhub::engine::testing

#endif  // TASKHUB_TESTS_ENGINE_ENGINE_TEST_SUPPORT_H_
