#include "server/engine/timer_queue.h"

#include "absl/time/clock.h"

namespace taskhub::engine {

TimerQueue::TimerQueue() : thread_([this] { Run(); }) {}
TimerQueue::~TimerQueue() { Stop(); }

uint64_t TimerQueue::Schedule(absl::Time when, absl::AnyInvocable<void()> fn) {
  absl::MutexLock l(&mu_);
  const uint64_t id = next_id_++;
  timers_.emplace(std::make_pair(when, id), std::move(fn));
  by_id_[id] = when;
  return id;
}

void TimerQueue::Cancel(uint64_t id) {
  absl::AnyInvocable<void()> dropped;  // destroyed outside the lock
  absl::MutexLock l(&mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  auto t = timers_.find({it->second, id});
  if (t != timers_.end()) {
    dropped = std::move(t->second);
    timers_.erase(t);
  }
  by_id_.erase(it);
}

void TimerQueue::Stop() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  absl::MutexLock l(&mu_);
  timers_.clear();
  by_id_.clear();
}

size_t TimerQueue::size() const {
  absl::MutexLock l(&mu_);
  return timers_.size();
}

void TimerQueue::Run() {
  absl::MutexLock l(&mu_);
  while (!stopping_) {
    if (timers_.empty()) {
      mu_.Await(absl::Condition(
          +[](TimerQueue* q) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return q->stopping_ || !q->timers_.empty();
          },
          this));
      continue;
    }
    const absl::Time first = timers_.begin()->first.first;
    const absl::Time now = absl::Now();
    if (first > now) {
      // Wake at the deadline, or earlier if an earlier timer is scheduled.
      auto cond = [this, first]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return stopping_ || (!timers_.empty() && timers_.begin()->first.first < first);
      };
      mu_.AwaitWithDeadline(absl::Condition(&cond), first);
      continue;
    }
    auto node = timers_.extract(timers_.begin());
    by_id_.erase(node.key().second);
    mu_.Unlock();
    node.mapped()();
    node.mapped() = nullptr;
    mu_.Lock();
  }
}

}  // namespace taskhub::engine
