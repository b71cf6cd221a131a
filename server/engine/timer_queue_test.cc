// TimerQueue driven by an injected clock: threaded mode over a FakeClock (timers fire
// when the test advances the clock, not in real time) and manual mode (RunDue).
#include "server/engine/timer_queue.h"

#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace taskhub::engine {
namespace {

// Records callback ids in run order. Thread-safe.
class Log {
 public:
  absl::AnyInvocable<void()> Add(int v) {
    return [this, v] {
      absl::MutexLock l(&mu_);
      ran_.push_back(v);
    };
  }
  std::vector<int> ran() {
    absl::MutexLock l(&mu_);
    return ran_;
  }
  // Waits (real time, as a bound on a hang only) until `n` callbacks ran.
  bool AwaitCount(size_t n) {
    absl::MutexLock l(&mu_);
    auto cond = [this, n]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return ran_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&cond), absl::Seconds(30));
  }

 private:
  absl::Mutex mu_;
  std::vector<int> ran_ ABSL_GUARDED_BY(mu_);
};

// The clock starts far after real time: a queue comparing deadlines with real time
// never fires these.
TEST(TimerQueueThreaded, FiresWhenTheFakeClockIsAdvanced) {
  FakeClock clock(absl::FromUnixSeconds(4'102'444'800));  // 2100-01-01
  TimerQueue q(&clock);
  Log log;
  const absl::Time t0 = clock.Now();
  // Far in real time: only the fake clock can make these due.
  q.Schedule(t0 + absl::Hours(2), log.Add(2));
  q.Schedule(t0 + absl::Hours(1), log.Add(1));
  q.Schedule(t0 + absl::Hours(3), log.Add(3));
  EXPECT_EQ(q.NextDeadline(), t0 + absl::Hours(1));

  clock.Advance(absl::Minutes(90));
  ASSERT_TRUE(log.AwaitCount(1));
  EXPECT_EQ(log.ran(), std::vector<int>({1}));
  EXPECT_EQ(q.NextDeadline(), t0 + absl::Hours(2));

  clock.Advance(absl::Hours(2));
  ASSERT_TRUE(log.AwaitCount(3));
  EXPECT_EQ(log.ran(), std::vector<int>({1, 2, 3}));
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.NextDeadline(), std::nullopt);
}

TEST(TimerQueueThreaded, DueTimerFiresWithoutAdvance) {
  FakeClock clock;
  TimerQueue q(&clock);
  Log log;
  // Due (past and now): they run without the clock moving, earliest first.
  q.Schedule(clock.Now() - absl::Seconds(1), log.Add(0));
  q.Schedule(clock.Now(), log.Add(1));
  ASSERT_TRUE(log.AwaitCount(2));
  EXPECT_EQ(log.ran(), std::vector<int>({0, 1}));
}

TEST(TimerQueueThreaded, CancelledTimerDoesNotFire) {
  FakeClock clock;
  TimerQueue q(&clock);
  Log log;
  const uint64_t a = q.Schedule(clock.Now() + absl::Seconds(1), log.Add(1));
  q.Schedule(clock.Now() + absl::Seconds(2), log.Add(2));
  q.Cancel(a);
  q.Cancel(0);  // no effect
  clock.Advance(absl::Seconds(5));
  ASSERT_TRUE(log.AwaitCount(1));
  q.Stop();  // joins: nothing else can run after this
  EXPECT_EQ(log.ran(), std::vector<int>({2}));
}

TEST(TimerQueueThreaded, RealClockStillFires) {
  TimerQueue q(Clock::Real());
  absl::Notification fired;
  q.Schedule(Clock::Real()->Now() + absl::Milliseconds(5), [&] { fired.Notify(); });
  EXPECT_TRUE(fired.WaitForNotificationWithTimeout(absl::Seconds(30)));
}

TEST(TimerQueueThreaded, StopDropsPendingAndUnsubscribes) {
  FakeClock clock;
  Log log;
  {
    TimerQueue q(&clock);
    q.Schedule(clock.Now() + absl::Seconds(1), log.Add(1));
    q.Stop();
    q.Schedule(clock.Now(), log.Add(2));  // after Stop: never runs
    EXPECT_EQ(q.size(), 0u);
  }
  clock.Advance(absl::Seconds(5));  // the destroyed queue is no longer a listener
  EXPECT_TRUE(log.ran().empty());
}

TEST(TimerQueueManual, RunDueRunsOnlyDueTimersInTimeThenIdOrder) {
  FakeClock clock;
  TimerQueue q(&clock, /*manual=*/true);
  Log log;
  const absl::Time t0 = clock.Now();
  q.Schedule(t0 + absl::Seconds(2), log.Add(3));
  q.Schedule(t0 + absl::Seconds(1), log.Add(1));
  q.Schedule(t0 + absl::Seconds(1), log.Add(2));  // same time: scheduling order
  q.Schedule(t0 + absl::Seconds(10), log.Add(9));
  EXPECT_EQ(q.RunDue(), 0u);  // nothing due yet, and no thread runs anything
  EXPECT_TRUE(log.ran().empty());

  clock.Advance(absl::Seconds(2));
  EXPECT_EQ(q.RunDue(), 3u);
  EXPECT_EQ(log.ran(), std::vector<int>({1, 2, 3}));
  EXPECT_EQ(q.NextDeadline(), t0 + absl::Seconds(10));
  EXPECT_EQ(q.RunDue(), 0u);
}

TEST(TimerQueueManual, CallbacksScheduledWhileRunningThatAreDueAlsoRun) {
  FakeClock clock;
  TimerQueue q(&clock, /*manual=*/true);
  Log log;
  const absl::Time now = clock.Now();
  q.Schedule(now, [&] {
    log.Add(1)();
    q.Schedule(now, log.Add(2));                      // due: runs in this call
    q.Schedule(now + absl::Seconds(1), log.Add(3));   // not due: waits
  });
  EXPECT_EQ(q.RunDue(), 2u);
  EXPECT_EQ(log.ran(), std::vector<int>({1, 2}));
  EXPECT_EQ(q.NextDeadline(), now + absl::Seconds(1));
}

TEST(TimerQueueManual, CancelAndStop) {
  FakeClock clock;
  TimerQueue q(&clock, /*manual=*/true);
  Log log;
  const uint64_t a = q.Schedule(clock.Now(), log.Add(1));
  q.Schedule(clock.Now(), log.Add(2));
  q.Cancel(a);
  EXPECT_EQ(q.RunDue(), 1u);
  EXPECT_EQ(log.ran(), std::vector<int>({2}));
  q.Schedule(clock.Now(), log.Add(3));
  q.Stop();
  EXPECT_EQ(q.RunDue(), 0u);
  EXPECT_EQ(q.NextDeadline(), std::nullopt);
  EXPECT_EQ(log.ran(), std::vector<int>({2}));
}

}  // namespace
}  // namespace taskhub::engine
