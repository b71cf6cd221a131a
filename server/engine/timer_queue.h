// A single thread that runs callbacks at given times. No polling: the thread sleeps
// until the earliest deadline or until a new earlier one is scheduled.
// Thread-safe. Callbacks run on the timer thread without the queue's lock held.
#ifndef TASKHUB_SERVER_ENGINE_TIMER_QUEUE_H_
#define TASKHUB_SERVER_ENGINE_TIMER_QUEUE_H_

#include <map>
#include <thread>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace taskhub::engine {

class TimerQueue {
 public:
  TimerQueue();
  ~TimerQueue();  // Stop()s

  // Runs `fn` at (or soon after) `when`. Returns an id for Cancel(); never 0.
  uint64_t Schedule(absl::Time when, absl::AnyInvocable<void()> fn);
  // Cancels a scheduled callback; no effect if it already ran or `id` is 0.
  void Cancel(uint64_t id);
  // Drops every pending callback and joins the thread.
  void Stop();
  size_t size() const;

 private:
  void Run();

  mutable absl::Mutex mu_;
  std::map<std::pair<absl::Time, uint64_t>, absl::AnyInvocable<void()>> timers_
      ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, absl::Time> by_id_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace taskhub::engine

#endif  // TASKHUB_SERVER_ENGINE_TIMER_QUEUE_H_
