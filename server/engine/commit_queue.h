// Group commit: callers submit WriteSets in order; the committer takes everything
// queued, commits it as one durable backend write, then runs each submission's
// `after` callback in submission order. A failed commit is sticky: that and every
// later submission's callback receives the error.
//
// Threaded mode (the default): one committer thread. Manual mode: no thread; the
// owner calls RunOnce() to commit one group on its own thread.
//
// Thread-safe. `after` callbacks run on the committer thread (or the thread calling
// RunOnce()/Stop()/Abandon()) without the queue's lock and must not block.
#ifndef TASKHUB_SERVER_ENGINE_COMMIT_QUEUE_H_
#define TASKHUB_SERVER_ENGINE_COMMIT_QUEUE_H_

#include <deque>
#include <functional>
#include <thread>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "server/engine/engine_metrics.h"
#include "server/engine/executor.h"
#include "server/storage/backend.h"

namespace taskhub::engine {

class CommitQueue {
 public:
  using After = absl::AnyInvocable<void(absl::Status)>;
  // `on_failure` (may be empty) runs once, on the committer thread, with the first
  // failed commit's error. `manual`: start no thread (see RunOnce()).
  // `metrics` (may be null): group sizes, commit times, instance gauges.
  explicit CommitQueue(storage::Backend* backend,
                       std::function<void(const absl::Status&)> on_failure = nullptr,
                       bool manual = false, EngineMetrics* metrics = nullptr);
  ~CommitQueue();  // Stop()s

  // Queues `ws` (may be empty: then `after` runs once everything before it is durable).
  // After Stop() or Abandon(), `after` runs at once with UNAVAILABLE.
  // `read_barrier` false: ReadBarrier() does not wait for this write (a purge: nobody
  // has been told of it before `after` runs, so a read may see the store before it).
  void Submit(storage::WriteSet ws, After after, bool read_barrier = true);
  // Runs `after` once every write submitted before with read_barrier = true is durable:
  // at once (on the calling thread, with the sticky status) when none is queued or
  // being committed, else as an empty submission behind them.
  void ReadBarrier(After after);
  // Commits what is queued (in manual mode: on the calling thread, group after group
  // until nothing is queued), then stops the thread. Later submissions fail.
  void Stop();
  // Crash simulation: drops everything queued and not yet being committed (their
  // callbacks run on the calling thread with UNAVAILABLE; nothing of it reaches the
  // backend), then stops like Stop(). A group already being committed by the thread
  // completes first.
  void Abandon();

  // Manual mode only (returns false in threaded mode): commits everything queued as
  // one group and runs its callbacks, exactly as the committer thread does. Returns
  // false when nothing was queued. Submissions made by the callbacks wait for the
  // next call.
  bool RunOnce();

  // Counters for metrics and benchmarks.
  uint64_t commits() const;
  uint64_t submissions() const;

 private:
  struct Item {
    storage::WriteSet ws;
    After after;
    bool counted = false;  // a non-empty write with read_barrier (in barrier_writes_)
  };
  void Run();
  // Commits `items` as one group (unless a commit failed before) and runs their
  // callbacks. Called without mu_.
  void CommitGroup(std::deque<Item>& items) ABSL_LOCKS_EXCLUDED(mu_);

  storage::Backend* backend_;
  std::function<void(const absl::Status&)> on_failure_;
  const bool manual_;
  EngineMetrics* const metrics_;
  mutable absl::Mutex mu_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status sticky_ ABSL_GUARDED_BY(mu_);
  uint64_t commits_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t submissions_ ABSL_GUARDED_BY(mu_) = 0;
  // Queued or being committed: the non-empty writes ReadBarrier() waits for.
  uint64_t barrier_writes_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

// Runs `fn` on `reader` once everything submitted to `commits` before this call is
// durable (CommitQueue::ReadBarrier; purge writes excepted): the way to read the store
// and see every acknowledged write. `fn` gets the commit queue's status (an error once
// a commit has failed).
void PostAfterDurable(CommitQueue* commits, Executor* reader,
                      absl::AnyInvocable<void(absl::Status)> fn);

}  // namespace taskhub::engine

#endif  // TASKHUB_SERVER_ENGINE_COMMIT_QUEUE_H_
