#include "server/engine/timer_queue.h"

namespace taskhub::engine {

TimerQueue::TimerQueue(Clock* clock, bool manual) : clock_(clock), manual_(manual) {
  if (manual_) return;
  listener_ = clock_->AddListener([this] {
    absl::MutexLock l(&mu_);
    ++advances_;
  });
  thread_ = std::thread([this] { Run(); });
}

TimerQueue::~TimerQueue() { Stop(); }

uint64_t TimerQueue::Schedule(absl::Time when, absl::AnyInvocable<void()> fn) {
  absl::MutexLock l(&mu_);
  const uint64_t id = next_id_++;
  if (stopping_) return id;  // never runs
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
  clock_->RemoveListener(listener_);
  listener_ = 0;
  // Callbacks (and what they captured) are destroyed outside the lock.
  std::map<std::pair<absl::Time, uint64_t>, absl::AnyInvocable<void()>> dropped;
  absl::MutexLock l(&mu_);
  dropped.swap(timers_);
  by_id_.clear();
}

size_t TimerQueue::size() const {
  absl::MutexLock l(&mu_);
  return timers_.size();
}

std::optional<absl::Time> TimerQueue::NextDeadline() const {
  absl::MutexLock l(&mu_);
  if (timers_.empty()) return std::nullopt;
  return timers_.begin()->first.first;
}

size_t TimerQueue::RunDue() {
  if (!manual_) return 0;
  const absl::Time now = clock_->Now();
  size_t ran = 0;
  absl::MutexLock l(&mu_);
  while (!stopping_ && !timers_.empty() && timers_.begin()->first.first <= now) {
    auto node = timers_.extract(timers_.begin());
    by_id_.erase(node.key().second);
    mu_.Unlock();
    node.mapped()();
    node.mapped() = nullptr;
    ++ran;
    mu_.Lock();
  }
  return ran;
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
    if (first > clock_->Now()) {
      // Wake at the deadline (real time) or when the clock moves (a hand-moved
      // clock), or earlier if an earlier timer is scheduled.
      const uint64_t seen = advances_;
      auto cond = [this, first, seen]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return stopping_ || advances_ != seen ||
               (!timers_.empty() && timers_.begin()->first.first < first);
      };
      if (listener_ != 0) {
        mu_.Await(absl::Condition(&cond));
      } else {
        mu_.AwaitWithDeadline(absl::Condition(&cond), first);
      }
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
