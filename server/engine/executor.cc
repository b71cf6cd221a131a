#include "server/engine/executor.h"

namespace taskhub::engine {

Executor::Executor(bool manual) : manual_(manual) {
  if (!manual_) thread_ = std::thread([this] { Run(); });
}
Executor::~Executor() { Stop(); }

void Executor::Post(absl::AnyInvocable<void()> fn) {
  {
    absl::MutexLock l(&mu_);
    if (abandoned_) return;  // `fn` is destroyed outside the lock
    if (!stopping_) {
      queue_.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

void Executor::Stop() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  if (manual_) {
    while (RunOne()) {
    }
  }
}

void Executor::Abandon() {
  std::deque<absl::AnyInvocable<void()>> dropped;  // destroyed outside the lock
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
    abandoned_ = true;
    dropped.swap(queue_);
  }
  if (thread_.joinable()) thread_.join();
}

bool Executor::RunOne() {
  if (!manual_) return false;
  absl::AnyInvocable<void()> fn;
  {
    absl::MutexLock l(&mu_);
    if (queue_.empty()) return false;
    fn = std::move(queue_.front());
    queue_.pop_front();
  }
  fn();
  return true;
}

void Executor::Run() {
  while (true) {
    absl::AnyInvocable<void()> fn;
    {
      absl::MutexLock l(&mu_);
      mu_.Await(absl::Condition(
          +[](Executor* e) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return e->stopping_ || !e->queue_.empty();
          },
          this));
      if (queue_.empty()) return;
      fn = std::move(queue_.front());
      queue_.pop_front();
    }
    fn();
  }
}

}  // namespace taskhub::engine
