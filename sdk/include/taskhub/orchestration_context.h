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

#include <concepts>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
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
  std::function<bool(const TaskFailure&)> handle = {};
};

struct ActivityOptions {
  std::optional<RetryPolicy> retry = {};
  std::string version = {};
  std::map<std::string, std::string> tags = {};
};

struct SubOrchestratorOptions {
  std::string instance_id = {};  // empty: "<parent id>:<4 hex digits of the action id>"
  std::optional<RetryPolicy> retry = {};
  std::string version = {};
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

template <typename...>
inline constexpr bool kAlwaysFalse = false;
// Whether an argument of type In&& may appear in a co_await expression: GCC 12
// destroys temporaries with destructors that live across a co_await wrongly when a
// suspended orchestrator is torn down (invalid free at run time, or a compile error
// at the function's closing brace). Lvalues and trivially destructible values are fine.
template <typename In>
inline constexpr bool kSafeAcrossAwait =
    std::is_lvalue_reference_v<In> || std::is_trivially_destructible_v<std::remove_cvref_t<In>>;

template <typename T>
struct IsDurableTask : std::false_type {};
template <typename T>
struct IsDurableTask<DurableTask<T>> : std::true_type {};
template <typename T>
struct IsTaskVector : std::false_type {};
template <typename T>
struct IsTaskVector<std::vector<DurableTask<T>>> : std::true_type {};

// Checks of arguments, as default template arguments so that they fire while the
// call is resolved (GCC 12 stops at its own error at the coroutine's closing brace,
// before instantiating function bodies, for temporaries built from braces).
template <typename In>
struct CheckAwaitArg {
  static_assert(
      kSafeAcrossAwait<In>,
      "taskhub: this input is a temporary with a destructor inside a co_await expression; "
      "GCC 12 destroys it wrongly when a suspended orchestrator is torn down (a crash). "
      "Store it in a named variable first: const auto input = ...; "
      "co_await ctx.CallActivity(name, input)");
  using type = int;
};
template <typename V>
struct CheckTaskVector {
  static_assert(
      !IsTaskVector<std::remove_cvref_t<V>>::value || std::is_lvalue_reference_v<V>,
      "taskhub: a temporary vector of tasks inside a co_await expression crashes with GCC 12 "
      "when a suspended orchestrator is torn down; store the vector in a named variable, "
      "or pass the tasks themselves: co_await ctx.WhenAny(timer, event)");
  using type = int;
};
// Called by the rvalue-options overloads of CallActivity/CallSubOrchestrator: they
// exist only to refuse option temporaries with this message.
template <typename In>
constexpr void RejectTemporaryOptions() {
  static_assert(kAlwaysFalse<In>,
                "taskhub: ActivityOptions/SubOrchestratorOptions as a temporary inside a co_await "
                "expression crash with GCC 12 when a suspended orchestrator is torn down. "
                "Declare the options as a named variable first: const taskhub::ActivityOptions "
                "opts{.retry = policy}; co_await ctx.CallActivity(name, input, opts)");
}
// Called by WhenAll/WhenAny over tasks of mixed types.
template <typename... Tasks>
constexpr void RequireNamedTasks() {
  static_assert((std::is_lvalue_reference_v<Tasks> && ...),
                "taskhub: WhenAll/WhenAny take named tasks: a task created inside the co_await "
                "expression is a temporary that GCC 12 destroys wrongly when a suspended "
                "orchestrator is torn down. Name it first: auto timer = ctx.CreateTimer(...); "
                "co_await ctx.WhenAny(timer, event)");
}
}  // namespace internal

// A task's awaitable handle that WhenAll/WhenAny combine: any DurableTask<T>.
template <typename T>
concept Awaitable = internal::IsDurableTask<std::remove_cvref_t<T>>::value;

// The name of an activity, sub-orchestration or event: a literal, a string_view or
// a std::string variable. A std::string temporary does not compile (see
// internal::kSafeAcrossAwait): name it first.
class TaskName {
 public:
  TaskName(const char* name) : name_(name) {}         // NOLINT: implicit on purpose
  TaskName(std::string_view name) : name_(name) {}    // NOLINT
  TaskName(const std::string& name) : name_(name) {}  // NOLINT
  template <typename S>
  requires std::same_as<S, std::string> TaskName(S&&) {  // NOLINT
    static_assert(internal::kAlwaysFalse<S>,
                  "taskhub: a std::string temporary as a task or event name does not survive "
                  "a co_await with GCC 12; store the name in a variable first "
                  "(const std::string name = ...; co_await ctx.CallActivity(name, ...))");
  }
  std::string_view view() const { return name_; }
  std::string str() const { return std::string(name_); }

 private:
  std::string_view name_;
};

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

// What ContinueAsNew returns: awaiting it suspends the orchestrator for good (the
// replay engine ends the execution and destroys it).
class ContinueAsNewTask {
 public:
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  [[noreturn]] void await_resume() const { std::terminate(); }  // never resumed
};

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

  // Arguments of the calls that are awaited (CallActivity, CallSubOrchestrator,
  // CallEntity, WaitForExternalEvent, WhenAll, WhenAny) must not be temporaries with
  // destructors: GCC 12 mis-destroys such temporaries, which live until the end of
  // the co_await expression, when a suspended orchestrator is torn down. Those
  // overloads do not compile, with a static_assert saying what to do: pass named
  // variables (literals, numbers and other trivially destructible values are fine).
  template <typename T = nlohmann::json, typename In = std::nullptr_t,
            typename internal::CheckAwaitArg<In>::type = 0>
  DurableTask<T> CallActivity(TaskName name, In&& input = nullptr) {
    return DurableTask<T>(ScheduleActivity(name.str(), internal::Encode(input), nullptr));
  }
  template <typename T = nlohmann::json, typename In,
            typename internal::CheckAwaitArg<In>::type = 0>
  DurableTask<T> CallActivity(TaskName name, In&& input, const ActivityOptions& options) {
    return DurableTask<T>(ScheduleActivity(name.str(), internal::Encode(input), &options));
  }
  template <typename T = nlohmann::json, typename In,
            typename internal::CheckAwaitArg<In>::type = 0>
  DurableTask<T> CallActivity(TaskName name, In&& input, ActivityOptions&& options) {
    internal::RejectTemporaryOptions<In>();
    return CallActivity<T>(name, std::forward<In>(input), options);
  }

  template <typename T = nlohmann::json, typename In = std::nullptr_t,
            typename internal::CheckAwaitArg<In>::type = 0>
  DurableTask<T> CallSubOrchestrator(TaskName name, In&& input = nullptr) {
    return DurableTask<T>(ScheduleSubOrchestrator(name.str(), internal::Encode(input), nullptr));
  }
  template <typename T = nlohmann::json, typename In,
            typename internal::CheckAwaitArg<In>::type = 0>
  DurableTask<T> CallSubOrchestrator(TaskName name, In&& input,
                                     const SubOrchestratorOptions& options) {
    return DurableTask<T>(ScheduleSubOrchestrator(name.str(), internal::Encode(input), &options));
  }
  template <typename T = nlohmann::json, typename In,
            typename internal::CheckAwaitArg<In>::type = 0>
  DurableTask<T> CallSubOrchestrator(TaskName name, In&& input, SubOrchestratorOptions&& options) {
    internal::RejectTemporaryOptions<In>();
    return CallSubOrchestrator<T>(name, std::forward<In>(input), options);
  }

  DurableTask<void> CreateTimer(absl::Duration delay);
  DurableTask<void> CreateTimer(absl::Time fire_at);

  // Completes with the data of the next event named `name` (case-insensitive), in
  // arrival order; events raised before the wait are buffered.
  template <typename T = nlohmann::json>
  DurableTask<T> WaitForExternalEvent(TaskName name) {
    return DurableTask<T>(WaitForEvent(name.str(), std::nullopt));
  }
  // As above; fails with TimeoutError when `timeout` (a durable timer) passes first.
  template <typename T = nlohmann::json>
  DurableTask<T> WaitForExternalEvent(TaskName name, absl::Duration timeout) {
    return DurableTask<T>(WaitForEvent(name.str(), timeout));
  }

  template <typename In = std::nullptr_t>
  void SendEvent(const std::string& instance_id, const std::string& name,
                 const In& data = nullptr) {
    SendEventRaw(instance_id, name, internal::Encode(data));
  }

  // Ends this execution and starts a new one with `input` (and, when
  // `keep_unprocessed_events`, the events not consumed yet):
  //   co_await ctx.ContinueAsNew(next_state);  // never resumes: no co_return needed
  // (Calling it as a statement and returning right after also works.)
  template <typename In, typename internal::CheckAwaitArg<In>::type = 0>
  ContinueAsNewTask ContinueAsNew(In&& input, bool keep_unprocessed_events = true) {
    ContinueAsNewRaw(internal::Encode(input), keep_unprocessed_events);
    return {};
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
  template <typename T = nlohmann::json, typename In = std::nullptr_t,
            typename internal::CheckAwaitArg<In>::type = 0>
  DurableTask<T> CallEntity(const EntityInstanceId& entity, TaskName operation,
                            In&& input = nullptr) {
    return DurableTask<T>(CallEntityRaw(entity, operation.str(), internal::Encode(input)));
  }
  template <typename T = nlohmann::json, typename In = std::nullptr_t>
  DurableTask<T> CallEntity(EntityInstanceId&& entity, TaskName operation, In&& input = nullptr) {
    static_assert(
        internal::kAlwaysFalse<In>,
        "taskhub: an EntityInstanceId temporary inside a co_await expression crashes with "
        "GCC 12 when a suspended orchestrator is torn down; declare the id as a named "
        "variable first: const taskhub::EntityInstanceId id(\"counter\", key)");
    return CallEntity<T>(entity, operation, std::forward<In>(input));
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
  requires(std::same_as<std::remove_cvref_t<Ids>, EntityInstanceId>&&...) EntityLockTask
      LockEntities(Ids&&... ids) {
    static_assert(sizeof...(Ids) > 0, "taskhub: LockEntities needs at least one entity");
    static_assert(
        (std::is_lvalue_reference_v<Ids> && ...),
        "taskhub: an EntityInstanceId temporary inside a co_await expression crashes with "
        "GCC 12 when a suspended orchestrator is torn down; declare the id as a named "
        "variable first: const taskhub::EntityInstanceId id(\"counter\", key)");
    return LockEntitiesRaw(std::vector<EntityInstanceId>{ids...});
  }
  EntityLockTask LockEntitiesRaw(std::vector<EntityInstanceId> entities);
  bool IsInCriticalSection() const;

  // A deterministic UUID (the same on every replay).
  std::string NewGuid();
  const ReplaySafeLogger& Log() const { return log_; }

  // Completes with every result, in order, once all have completed; fails with the
  // first failure (in order) once all have completed.
  template <typename V, typename internal::CheckTaskVector<V>::type = 0>
  requires internal::IsTaskVector<std::remove_cvref_t<V>>::value auto WhenAll(V&& tasks) {
    using T = std::remove_cvref_t<decltype(std::declval<V&>().front().await_resume())>;
    return DurableTask<std::vector<T>>(WhenAllStates(States(tasks)));
  }
  // Completes with the index of the first task to complete.
  template <typename V, typename internal::CheckTaskVector<V>::type = 0>
  requires internal::IsTaskVector<std::remove_cvref_t<V>>::value DurableTask<size_t> WhenAny(
      V&& tasks) {
    return DurableTask<size_t>(WhenAnyStates(States(tasks)));
  }
  // Tasks of different types (an activity, a timer, an event...), as named variables:
  //   auto approval = ctx.WaitForExternalEvent<bool>("approval");
  //   auto timeout = ctx.CreateTimer(absl::Hours(24));
  //   if (co_await ctx.WhenAny(approval, timeout) == 0) { bool ok = co_await approval; }
  // WhenAll completes once all have completed (failing with the first failure, in
  // order); read each result by awaiting its task (it returns at once).
  template <Awaitable... Tasks>
  DurableTask<void> WhenAll(Tasks&&... tasks) {
    internal::RequireNamedTasks<Tasks...>();
    return DurableTask<void>(WhenAllStates({tasks.state()...}));
  }
  template <Awaitable... Tasks>
  DurableTask<size_t> WhenAny(Tasks&&... tasks) {
    internal::RequireNamedTasks<Tasks...>();
    return DurableTask<size_t>(WhenAnyStates({tasks.state()...}));
  }

  // --- untyped primitives (JSON text payloads) ---
  // `options` may be null.
  std::shared_ptr<internal::CompletionState> ScheduleActivity(const std::string& name,
                                                              std::optional<std::string> input,
                                                              const ActivityOptions* options);
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
  template <typename T>
  static std::vector<std::shared_ptr<internal::CompletionState>> States(
      const std::vector<DurableTask<T>>& tasks) {
    std::vector<std::shared_ptr<internal::CompletionState>> states;
    for (const auto& t : tasks) states.push_back(t.state());
    return states;
  }
  const std::optional<std::string>& RawInput() const;
  internal::ReplayState* state_;
  ReplaySafeLogger log_;
};

}  // namespace taskhub

#endif  // TASKHUB_SDK_ORCHESTRATION_CONTEXT_H_
