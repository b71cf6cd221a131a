// One background thread running posted closures in order (used for reads and
// other work that must not run on gRPC or committer threads). Thread-safe.
#ifndef TASKHUB_SERVER_ENGINE_EXECUTOR_H_
#define TASKHUB_SERVER_ENGINE_EXECUTOR_H_

#include <deque>
#include <thread>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace taskhub::engine {

class Executor {
 public:
  Executor();
  ~Executor();  // Stop()s
  void Post(absl::AnyInvocable<void()> fn);
  // Runs what is queued, then joins the thread; later posts run inline.
  void Stop();

 private:
  void Run();
  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace taskhub::engine

#endif  // TASKHUB_SERVER_ENGINE_EXECUTOR_H_
