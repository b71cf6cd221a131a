#include "server/engine/executor.h"

namespace taskhub::engine {

Executor::Executor() : thread_([this] { Run(); }) {}
Executor::~Executor() { Stop(); }

void Executor::Post(absl::AnyInvocable<void()> fn) {
  {
    absl::MutexLock l(&mu_);
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
