// Group commit: callers submit WriteSets in order; one committer thread takes
// everything queued, commits it as one durable backend write, then runs each
// submission's `after` callback in submission order. A failed commit is sticky:
// that and every later submission's callback receives the error.
// Thread-safe. `after` callbacks run on the committer thread and must not block.
#ifndef TASKHUB_SERVER_ENGINE_COMMIT_QUEUE_H_
#define TASKHUB_SERVER_ENGINE_COMMIT_QUEUE_H_

#include <deque>
#include <functional>
#include <thread>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "server/storage/backend.h"

namespace taskhub::engine {

class CommitQueue {
 public:
  using After = absl::AnyInvocable<void(absl::Status)>;
  // `on_failure` (may be empty) runs once, on the committer thread, with the first
  // failed commit's error.
  explicit CommitQueue(storage::Backend* backend,
                       std::function<void(const absl::Status&)> on_failure = nullptr);
  ~CommitQueue();  // Stop()s

  // Queues `ws` (may be empty: then `after` runs once everything before it is durable).
  void Submit(storage::WriteSet ws, After after);
  // Commits what is queued, then stops the thread. Later submissions fail.
  void Stop();

  // Counters for metrics and benchmarks.
  uint64_t commits() const;
  uint64_t submissions() const;

 private:
  struct Item {
    storage::WriteSet ws;
    After after;
  };
  void Run();

  storage::Backend* backend_;
  std::function<void(const absl::Status&)> on_failure_;
  mutable absl::Mutex mu_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status sticky_ ABSL_GUARDED_BY(mu_);
  uint64_t commits_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t submissions_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace taskhub::engine

#endif  // TASKHUB_SERVER_ENGINE_COMMIT_QUEUE_H_
