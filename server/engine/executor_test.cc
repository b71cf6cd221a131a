// Executor in manual mode: closures run only from RunOne(), one per call, in order.
#include "server/engine/executor.h"

#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace taskhub::engine {
namespace {

TEST(ExecutorManual, RunOneRunsTheOldestClosureOnTheCallingThread) {
  Executor ex(/*manual=*/true);
  std::vector<int> ran;
  EXPECT_FALSE(ex.RunOne());
  ex.Post([&] { ran.push_back(1); });
  ex.Post([&] {
    ran.push_back(2);
    ex.Post([&] { ran.push_back(3); });  // queued behind, not run now
  });
  EXPECT_TRUE(ran.empty());
  EXPECT_TRUE(ex.RunOne());
  EXPECT_EQ(ran, std::vector<int>({1}));
  EXPECT_TRUE(ex.RunOne());
  EXPECT_EQ(ran, std::vector<int>({1, 2}));
  EXPECT_TRUE(ex.RunOne());
  EXPECT_EQ(ran, std::vector<int>({1, 2, 3}));
  EXPECT_FALSE(ex.RunOne());
}

TEST(ExecutorManual, StopRunsWhatIsQueuedThenPostsRunInline) {
  Executor ex(/*manual=*/true);
  std::vector<int> ran;
  ex.Post([&] { ran.push_back(1); });
  ex.Stop();
  EXPECT_EQ(ran, std::vector<int>({1}));
  ex.Post([&] { ran.push_back(2); });
  EXPECT_EQ(ran, std::vector<int>({1, 2}));
}

TEST(ExecutorManual, AbandonDropsQueuedAndLaterClosures) {
  Executor ex(/*manual=*/true);
  std::vector<int> ran;
  ex.Post([&] { ran.push_back(1); });
  ex.Abandon();
  ex.Post([&] { ran.push_back(2); });
  EXPECT_FALSE(ex.RunOne());
  ex.Stop();
  EXPECT_TRUE(ran.empty());
}

TEST(ExecutorThreaded, RunsPostedClosuresAndRunOneIsManualOnly) {
  Executor ex;
  EXPECT_FALSE(ex.RunOne());
  absl::Notification done;
  ex.Post([&] { done.Notify(); });
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
}

}  // namespace
}  // namespace taskhub::engine
