// Runs callbacks at given times of an injected Clock.
//
// Threaded mode (the default): one thread runs the callbacks. No polling: with a
// clock that follows real time the thread sleeps until the earliest deadline or
// until an earlier one is scheduled; with a clock moved by hand (FakeClock) it
// sleeps until the clock is advanced (Clock::AddListener) or an earlier timer is
// scheduled, so timers fire when a test advances the clock.
// Manual mode: no thread; the owner calls RunDue() to run what is due.
//
// Thread-safe. Callbacks run without the queue's lock held (on the timer thread, or
// on the thread calling RunDue()) and may Schedule() and Cancel().
#ifndef TASKHUB_SERVER_ENGINE_TIMER_QUEUE_H_
#define TASKHUB_SERVER_ENGINE_TIMER_QUEUE_H_

#include <map>
#include <optional>
#include <thread>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"

namespace taskhub::engine {

class TimerQueue {
 public:
  // `clock` must outlive the queue. `manual`: start no thread (see RunDue()).
  explicit TimerQueue(Clock* clock, bool manual = false);
  ~TimerQueue();  // Stop()s

  // Runs `fn` at (or soon after) `when` on the clock. Returns an id for Cancel();
  // never 0. Timers due at the same time run in the order they were scheduled.
  uint64_t Schedule(absl::Time when, absl::AnyInvocable<void()> fn);
  // Cancels a scheduled callback; no effect if it already ran or `id` is 0.
  void Cancel(uint64_t id);
  // Drops every pending callback (without running it) and joins the thread.
  // Later Schedule() calls are accepted but never run. Idempotent.
  void Stop();
  size_t size() const;

  // Manual mode only (returns 0 in threaded mode): runs every callback due at
  // clock->Now() (read once, at the call) in (time, id) order, on the calling thread;
  // a callback scheduled meanwhile that is already due runs in the same call.
  // Returns how many ran.
  size_t RunDue();
  // The earliest scheduled time, if any timer is scheduled.
  std::optional<absl::Time> NextDeadline() const;

 private:
  void Run();

  Clock* const clock_;
  const bool manual_;
  uint64_t listener_ = 0;  // the clock's listener id; 0: the clock follows real time
  mutable absl::Mutex mu_;
  std::map<std::pair<absl::Time, uint64_t>, absl::AnyInvocable<void()>> timers_
      ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, absl::Time> by_id_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t advances_ ABSL_GUARDED_BY(mu_) = 0;  // clock advances seen (hand-moved clock)
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace taskhub::engine

#endif  // TASKHUB_SERVER_ENGINE_TIMER_QUEUE_H_
