// Runs posted closures in order (used for reads and other work that must not run on
// gRPC or committer threads).
//
// Threaded mode (the default): one background thread. Manual mode: no thread; the
// owner calls RunOne() to run the oldest queued closure on its own thread.
// Thread-safe.
#ifndef TASKHUB_SERVER_ENGINE_EXECUTOR_H_
#define TASKHUB_SERVER_ENGINE_EXECUTOR_H_

#include <deque>
#include <thread>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace taskhub::engine {

class Executor {
 public:
  // `manual`: start no thread (see RunOne()).
  explicit Executor(bool manual = false);
  ~Executor();  // Stop()s
  void Post(absl::AnyInvocable<void()> fn);
  // Runs what is queued (in manual mode: on the calling thread), then joins the
  // thread; later posts run inline.
  void Stop();
  // Crash simulation: drops every queued closure without running it, joins the
  // thread (a closure already running completes first); later posts are dropped too.
  void Abandon();

  // Manual mode only (returns false in threaded mode): runs the oldest queued
  // closure on the calling thread. Returns false when none was queued.
  bool RunOne();

 private:
  void Run();
  const bool manual_;
  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool abandoned_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace taskhub::engine

#endif  // TASKHUB_SERVER_ENGINE_EXECUTOR_H_
