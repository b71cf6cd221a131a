// OrchestrationContext: what an orchestrator function may do. Everything that is
// not deterministic (time, ids, I/O) goes through it, so replays reproduce the
// same decisions. Orchestrators are C++20 coroutines returning Task<T>:
//
//   taskhub::Task<std::vector<std::string>> HelloCities(taskhub::OrchestrationContext& ctx) {
//     std::vector<std::string> out;
//     for (auto city : {"Tokyo", "Seattle", "London"}) {
//       out.push_back(co_await ctx.CallActivity<std::string>("say_hello", city));
//     }
//     co_return out;
//   }
//
// Payloads are JSON (nlohmann::json `to_json`/`from_json` for user types).
// Not thread-safe: used only on the thread that runs the orchestrator.
#ifndef TASKHUB_SDK_ORCHESTRATION_CONTEXT_H_
#define TASKHUB_SDK_ORCHESTRATION_CONTEXT_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "taskhub/entity.h"
#include "taskhub/task.h"

namespace taskhub {

// Retries of an activity or sub-orchestration, timed with durable timers.
struct RetryPolicy {
  int max_attempts = 3;
  absl::Duration first_retry_interval = absl::Seconds(1);
  double backoff_coefficient = 1.0;
  absl::Duration max_retry_interval = absl::Hours(1);
  absl::Duration retry_timeout = absl::InfiniteDuration();  // overall, from the first attempt
  // Retry only failures this returns true for (all when empty).
  std::function<bool(const TaskFailure&)> handle;
};

struct ActivityOptions {
  std::optional<RetryPolicy> retry;
  std::string version;
  std::map<std::string, std::string> tags;
};

struct SubOrchestratorOptions {
  std::string instance_id;  // empty: "<parent id>:<4 hex digits of the action id>"
  std::optional<RetryPolicy> retry;
  std::string version;
};

namespace internal {
class ReplayState;
// Encodes a payload as JSON text; a null json means "no payload".
template <typename T>
std::optional<std::string> Encode(const T& value) {
  nlohmann::json j = value;
  if (j.is_null()) return std::nullopt;
  return j.dump();
}
}  // namespace internal

// Logs only when the orchestrator is not replaying (so each line appears once).
class ReplaySafeLogger {
 public:
  explicit ReplaySafeLogger(const internal::ReplayState* state) : state_(state) {}
  void Info(const std::string& message) const;
  void Warn(const std::string& message) const;

 private:
  const internal::ReplayState* state_;
};

class OrchestrationContext;

// The locks of a critical section (OrchestrationContext::LockEntities). While held,
// only this orchestration's calls run on the locked entities. Release() (or the
// destructor, or the orchestration's end) sends one unlock per entity; a lock
// taken in one scope should be released in it. Move-only.
class EntityLock {
 public:
  EntityLock() = default;
  EntityLock(EntityLock&& o) noexcept
      : ctx_(std::exchange(o.ctx_, nullptr)), section_(std::move(o.section_)) {}
  EntityLock& operator=(EntityLock&& o) noexcept {
    if (this != &o) {
      Release();
      ctx_ = std::exchange(o.ctx_, nullptr);
      section_ = std::move(o.section_);
    }
    return *this;
  }
  EntityLock(const EntityLock&) = delete;
  EntityLock& operator=(const EntityLock&) = delete;
  ~EntityLock() { Release(); }
  // Ends the critical section (idempotent).
  void Release();
  bool held() const { return ctx_ != nullptr; }
  const std::string& critical_section_id() const { return section_; }

 private:
  friend class EntityLockTask;
  EntityLock(OrchestrationContext* ctx, std::string section)
      : ctx_(ctx), section_(std::move(section)) {}
  OrchestrationContext* ctx_ = nullptr;
  std::string section_;
};

// Awaitable result of LockEntities: completes with the EntityLock once every
// entity of the set is locked.
class EntityLockTask {
 public:
  EntityLockTask(std::shared_ptr<internal::CompletionState> state, OrchestrationContext* ctx)
      : state_(std::move(state)), ctx_(ctx) {}
  bool IsComplete() const { return state_->done(); }
  bool await_ready() const noexcept { return state_->done(); }
  void await_suspend(std::coroutine_handle<> h) { state_->SetContinuation(h); }
  // Completes with the granted critical section's id (rethrows a failure).
  EntityLock await_resume() const {
    const nlohmann::json& section = state_->value();
    return EntityLock(ctx_, section.is_string() ? section.get<std::string>() : std::string());
  }

 private:
  std::shared_ptr<internal::CompletionState> state_;
  OrchestrationContext* ctx_;
};

class OrchestrationContext {
 public:
  explicit OrchestrationContext(internal::ReplayState* state) : state_(state), log_(state) {}

  const std::string& InstanceId() const;
  const std::string& Name() const;
  // The orchestration's clock: the time of the current episode, replayed exactly.
  absl::Time CurrentUtcDateTime() const;
  bool IsReplaying() const;
  // The orchestration input, converted from JSON (T() / null when absent).
  template <typename T = nlohmann::json>
  T GetInput() const {
    const std::optional<std::string>& raw = RawInput();
    if (!raw || raw->empty()) return internal::FromJson<T>(nlohmann::json());
    return internal::FromJson<T>(nlohmann::json::parse(*raw));
  }

  // Note: parameters are views and references on purpose. GCC 12 mis-destroys
  // temporaries with destructors that live across a co_await when a suspended
  // orchestrator is torn down, so pass options as named variables.
  template <typename T = nlohmann::json, typename In = std::nullptr_t>
  DurableTask<T> CallActivity(std::string_view name, const In& input = nullptr) {
    return DurableTask<T>(ScheduleActivity(std::string(name), internal::Encode(input), nullptr));
  }
  template <typename T = nlohmann::json, typename In>
  DurableTask<T> CallActivity(std::string_view name, const In& input,
                              const ActivityOptions& options) {
    return DurableTask<T>(ScheduleActivity(std::string(name), internal::Encode(input), &options));
  }

  template <typename T = nlohmann::json, typename In = std::nullptr_t>
  DurableTask<T> CallSubOrchestrator(std::string_view name, const In& input = nullptr) {
    return DurableTask<T>(
        ScheduleSubOrchestrator(std::string(name), internal::Encode(input), nullptr));
  }
  template <typename T = nlohmann::json, typename In>
  DurableTask<T> CallSubOrchestrator(std::string_view name, const In& input,
                                     const SubOrchestratorOptions& options) {
    return DurableTask<T>(
        ScheduleSubOrchestrator(std::string(name), internal::Encode(input), &options));
  }

  DurableTask<void> CreateTimer(absl::Duration delay);
  DurableTask<void> CreateTimer(absl::Time fire_at);

  // Completes with the data of the next event named `name` (case-insensitive), in
  // arrival order; events raised before the wait are buffered.
  template <typename T = nlohmann::json>
  DurableTask<T> WaitForExternalEvent(std::string_view name) {
    return DurableTask<T>(WaitForEvent(std::string(name), std::nullopt));
  }
  // As above; fails with TimeoutError when `timeout` (a durable timer) passes first.
  template <typename T = nlohmann::json>
  DurableTask<T> WaitForExternalEvent(std::string_view name, absl::Duration timeout) {
    return DurableTask<T>(WaitForEvent(std::string(name), timeout));
  }

  template <typename In = std::nullptr_t>
  void SendEvent(const std::string& instance_id, const std::string& name,
                 const In& data = nullptr) {
    SendEventRaw(instance_id, name, internal::Encode(data));
  }

  // Ends this execution and starts a new one with `input` (and, when
  // `keep_unprocessed_events`, the events not consumed yet). Return right after.
  template <typename In>
  void ContinueAsNew(const In& input, bool keep_unprocessed_events = true) {
    ContinueAsNewRaw(internal::Encode(input), keep_unprocessed_events);
  }

  template <typename In>
  void SetCustomStatus(const In& value) {
    SetCustomStatusRaw(internal::Encode(value));
  }

  // --- entities (entity.h) ---
  // Calls an operation and completes with its result; fails with
  // EntityOperationFailedError when the operation threw. Inside a critical
  // section only the locked entities may be called, one call at a time each.
  // Pass the id as a named variable (see the note above CallActivity).
  template <typename T = nlohmann::json, typename In = std::nullptr_t>
  DurableTask<T> CallEntity(const EntityInstanceId& entity, std::string_view operation,
                            const In& input = nullptr) {
    return DurableTask<T>(CallEntityRaw(entity, std::string(operation), internal::Encode(input)));
  }
  // One-way operation, delivered at `at` when given (a durable delay). Inside a
  // critical section a locked entity must not be signaled.
  template <typename In = std::nullptr_t>
  void SignalEntity(const EntityInstanceId& entity, std::string_view operation,
                    const In& input = nullptr, std::optional<absl::Time> at = std::nullopt) {
    SignalEntityRaw(entity, std::string(operation), internal::Encode(input), at);
  }
  // Enters a critical section: completes once every entity is locked for this
  // orchestration (locks are taken in id order, so critical sections never
  // deadlock). Not allowed inside another critical section.
  //   auto lock = co_await ctx.LockEntities(from, to);
  //   ... calls to `from` and `to` ...
  //   lock.Release();  // or let it go out of scope
  template <typename... Ids>
  EntityLockTask LockEntities(const EntityInstanceId& first, const Ids&... rest) {
    return LockEntitiesRaw(std::vector<EntityInstanceId>{first, rest...});
  }
  EntityLockTask LockEntitiesRaw(std::vector<EntityInstanceId> entities);
  bool IsInCriticalSection() const;

  // A deterministic UUID (the same on every replay).
  std::string NewGuid();
  const ReplaySafeLogger& Log() const { return log_; }

  // Completes with every result, in order, once all have completed; fails with the
  // first failure (in order) once all have completed.
  template <typename T>
  DurableTask<std::vector<T>> WhenAll(const std::vector<DurableTask<T>>& tasks) {
    std::vector<std::shared_ptr<internal::CompletionState>> states;
    for (const auto& t : tasks) states.push_back(t.state());
    return DurableTask<std::vector<T>>(WhenAllStates(states));
  }
  // Completes with the index of the first task to complete.
  template <typename T>
  DurableTask<size_t> WhenAny(const std::vector<DurableTask<T>>& tasks) {
    std::vector<std::shared_ptr<internal::CompletionState>> states;
    for (const auto& t : tasks) states.push_back(t.state());
    return DurableTask<size_t>(WhenAnyStates(states));
  }

  // --- untyped primitives (JSON text payloads) ---
  // `options` may be null.
  std::shared_ptr<internal::CompletionState> ScheduleActivity(
      const std::string& name, std::optional<std::string> input, const ActivityOptions* options);
  std::shared_ptr<internal::CompletionState> ScheduleSubOrchestrator(
      const std::string& name, std::optional<std::string> input,
      const SubOrchestratorOptions* options);
  std::shared_ptr<internal::CompletionState> WaitForEvent(const std::string& name,
                                                          std::optional<absl::Duration> timeout);
  void SendEventRaw(const std::string& instance_id, const std::string& name,
                    std::optional<std::string> data);
  void ContinueAsNewRaw(std::optional<std::string> input, bool keep_unprocessed_events);
  std::shared_ptr<internal::CompletionState> CallEntityRaw(const EntityInstanceId& entity,
                                                           const std::string& operation,
                                                           std::optional<std::string> input);
  void SignalEntityRaw(const EntityInstanceId& entity, const std::string& operation,
                       std::optional<std::string> input, std::optional<absl::Time> at);
  // Sends the unlocks of critical section `section` if it is the one held.
  void ReleaseLocks(const std::string& section);
  void SetCustomStatusRaw(std::optional<std::string> value);
  std::shared_ptr<internal::CompletionState> WhenAllStates(
      const std::vector<std::shared_ptr<internal::CompletionState>>& states);
  std::shared_ptr<internal::CompletionState> WhenAnyStates(
      const std::vector<std::shared_ptr<internal::CompletionState>>& states);

 private:
  const std::optional<std::string>& RawInput() const;
  internal::ReplayState* state_;
  ReplaySafeLogger log_;
};

}  // namespace taskhub

#endif  // TASKHUB_SDK_ORCHESTRATION_CONTEXT_H_
