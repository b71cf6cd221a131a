// Time source, injected everywhere the server needs "now" (the pure core takes
// time as an argument instead). Thread-safe.
//
// Waiting for a time: a clock that follows real time (Clock::Real(), the default)
// has no listeners, and waiters sleep until the deadline. A clock moved by hand
// (FakeClock) accepts listeners and calls them after every change of Now(), so a
// waiter waits for that call instead of sleeping in real time (no polling).
#ifndef TASKHUB_SERVER_COMMON_CLOCK_H_
#define TASKHUB_SERVER_COMMON_CLOCK_H_

#include <cstdint>
#include <functional>
#include <map>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace taskhub {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  // Registers `on_advance`, called (on the advancing thread) after every change of
  // Now(); returns an id for RemoveListener(). Returns 0 and registers nothing when
  // the clock follows real time: then wait with a real-time deadline instead.
  // A listener must not call AddListener/RemoveListener.
  virtual uint64_t AddListener(std::function<void()> /*on_advance*/) { return 0; }
  // After it returns, listener `id` is not running and is never called again.
  // No effect for id 0 or an unknown id.
  virtual void RemoveListener(uint64_t /*id*/) {}
  // The process-wide real clock.
  static Clock* Real();
};

// A manually advanced clock for tests. Lock order: listeners_mu_ is held while
// listeners run (they may take their own locks); mu_ is a leaf.
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'700'000'000)) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock l(&mu_);
    return now_;
  }
  // Moves the clock forward by `d` (>= 0), then calls every listener.
  void Advance(absl::Duration d) {
    {
      absl::MutexLock l(&mu_);
      now_ += d;
    }
    absl::MutexLock l(&listeners_mu_);
    for (auto& [id, fn] : listeners_) fn();
  }
  uint64_t AddListener(std::function<void()> on_advance) override {
    absl::MutexLock l(&listeners_mu_);
    listeners_[++next_listener_] = std::move(on_advance);
    return next_listener_;
  }
  void RemoveListener(uint64_t id) override {
    absl::MutexLock l(&listeners_mu_);
    listeners_.erase(id);
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  absl::Mutex listeners_mu_;
  std::map<uint64_t, std::function<void()>> listeners_ ABSL_GUARDED_BY(listeners_mu_);
  uint64_t next_listener_ ABSL_GUARDED_BY(listeners_mu_) = 0;
};

}  // namespace taskhub

#endif  // TASKHUB_SERVER_COMMON_CLOCK_H_
