// Time source, injected everywhere the server needs "now" (the pure core takes
// time as an argument instead). Thread-safe.
#ifndef TASKHUB_SERVER_COMMON_CLOCK_H_
#define TASKHUB_SERVER_COMMON_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace taskhub {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  // The process-wide real clock.
  static Clock* Real();
};

// A manually advanced clock for tests.
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock l(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock l(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_;
};

}  // namespace taskhub

#endif  // TASKHUB_SERVER_COMMON_CLOCK_H_
