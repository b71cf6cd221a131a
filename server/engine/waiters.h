// Clients waiting for an instance to start or finish (WaitForInstanceStart /
// WaitForInstanceCompletion). Event-driven: a waiter is fired by the post-commit step
// of the write that made it true, never by polling. Each waiter has a server-side cap
// (a timer) and can be cancelled.
//
// Thread-safety: thread-safe. Lock order: Waiters::mu_ is taken after a partition's
// and the dispatcher's locks, and before the TimerQueue's. Done callbacks run with no
// lock of this class held.
#ifndef TASKHUB_SERVER_ENGINE_WAITERS_H_
#define TASKHUB_SERVER_ENGINE_WAITERS_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "orchestrator_service.pb.h"
#include "server/common/clock.h"
#include "server/engine/timer_queue.h"
#include "taskhub_store.pb.h"

namespace taskhub::engine {

// The GetInstanceResponse of a record, as every read returns it.
GetInstanceResponse StateResponse(const store::InstanceRecord& rec, bool payloads);

class Waiters {
 public:
  using Done = absl::AnyInvocable<void(absl::StatusOr<GetInstanceResponse>)>;
  Waiters(TimerQueue* timers, Clock* clock, absl::Duration max_wait)
      : timers_(timers), clock_(clock), max_wait_(max_wait) {}

  // Registers a waiter for `id` (started, or terminal when `completion`). Returns its
  // handle. The caller must then call Check() with the instance's durable state.
  // It ends with DEADLINE_EXCEEDED after min(`wait`, the server-side cap).
  uint64_t Add(const std::string& id, bool completion, bool payloads, Done done,
               absl::Duration wait = absl::InfiniteDuration());
  // Fires waiter `handle` at once if `rec` already satisfies it (or is an error or
  // an unknown instance: exists=false). Otherwise it stays registered.
  void Check(uint64_t handle, const absl::StatusOr<std::optional<store::InstanceRecord>>& rec);
  // Ends a waiter with `status` (cancel, cap); no effect if it has already fired.
  void End(uint64_t handle, absl::Status status);
  // Fires every waiter of rec.instance_id() that `rec` satisfies.
  void Notify(const store::InstanceRecord& rec);
  // Fires every waiter with `status` (shutdown).
  void FailAll(const absl::Status& status);
  // Waiters registered now.
  size_t size();

 private:
  struct Waiter {
    std::string id;
    bool completion = false;
    bool payloads = false;
    uint64_t handle = 0;
    uint64_t cap_timer = 0;
    Done done;
    bool Satisfied(const store::InstanceRecord& rec) const;
  };
  // Removes waiter `handle` from the maps; null when not registered.
  std::unique_ptr<Waiter> Take(uint64_t handle) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Fire(std::unique_ptr<Waiter> w, absl::StatusOr<GetInstanceResponse> r);

  TimerQueue* const timers_;
  Clock* const clock_;
  const absl::Duration max_wait_;
  absl::Mutex mu_;
  std::multimap<std::string, uint64_t> by_id_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, std::unique_ptr<Waiter>> by_handle_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace taskhub::engine

#endif  // TASKHUB_SERVER_ENGINE_WAITERS_H_
