// Coroutine types of the taskhub C++ SDK.
//
//   Task<T>         a lazy coroutine (orchestrator functions and helpers return it);
//                   it starts when awaited and resumes its awaiter by symmetric transfer.
//   DurableTask<T>  a handle to a durable result that the replay engine completes
//                   (an activity, timer, sub-orchestration, external event, or a
//                   combination of them). Await it inside an orchestrator.
//
// Orchestrator code runs on one thread, driven by the replay engine; none of these
// types is thread-safe, by design.
#ifndef TASKHUB_SDK_TASK_H_
#define TASKHUB_SDK_TASK_H_

#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"

namespace taskhub {

// What a failed activity, sub-orchestration or orchestration reported.
struct TaskFailure {
  std::string error_type;
  std::string message;
  std::optional<std::string> stack_trace;
  std::shared_ptr<TaskFailure> inner;
  bool non_retriable = false;
};

// Thrown into an orchestrator when an awaited activity or sub-orchestration failed.
class TaskFailedError : public std::runtime_error {
 public:
  TaskFailedError(std::string task_name, TaskFailure failure)
      : std::runtime_error("task '" + task_name + "' failed: " + failure.error_type + ": " +
                           failure.message),
        task_name_(std::move(task_name)),
        failure_(std::move(failure)) {}
  const std::string& task_name() const { return task_name_; }
  const TaskFailure& failure() const { return failure_; }

 private:
  std::string task_name_;
  TaskFailure failure_;
};

// Thrown by WaitForExternalEvent when its timeout fires first.
class TimeoutError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The orchestrator's code no longer matches its history (replay would diverge).
class NonDeterminismError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace internal {

// The shared state behind a DurableTask: completed once, by the replay engine or a
// combinator, with a JSON value or an error.
class CompletionState {
 public:
  bool done() const { return done_; }
  void Complete(nlohmann::json value) {
    if (done_) return;
    done_ = true;
    value_ = std::move(value);
    Notify();
  }
  void Fail(std::exception_ptr error) {
    if (done_) return;
    done_ = true;
    error_ = std::move(error);
    Notify();
  }
  const nlohmann::json& value() const {
    if (error_) std::rethrow_exception(error_);
    return value_;
  }
  std::exception_ptr error() const { return error_; }
  void SetContinuation(std::coroutine_handle<> h) { continuation_ = h; }
  // Runs `fn` once this state completes (immediately if it already has).
  void OnDone(std::function<void()> fn) {
    if (done_) {
      fn();
    } else {
      callbacks_.push_back(std::move(fn));
    }
  }

 private:
  void Notify() {
    auto callbacks = std::move(callbacks_);
    for (auto& cb : callbacks) cb();
    if (continuation_) std::exchange(continuation_, nullptr).resume();
  }
  bool done_ = false;
  nlohmann::json value_;
  std::exception_ptr error_;
  std::coroutine_handle<> continuation_;
  std::vector<std::function<void()>> callbacks_;
};

template <typename T>
T FromJson(const nlohmann::json& j) {
  if constexpr (std::is_same_v<T, nlohmann::json>) {
    return j;
  } else {
    return j.get<T>();
  }
}

}  // namespace internal

template <typename T = nlohmann::json>
class DurableTask {
 public:
  explicit DurableTask(std::shared_ptr<internal::CompletionState> state) : state_(std::move(state)) {}
  bool IsComplete() const { return state_->done(); }
  bool IsFailed() const { return state_->done() && state_->error() != nullptr; }
  const std::shared_ptr<internal::CompletionState>& state() const { return state_; }

  bool await_ready() const noexcept { return state_->done(); }
  void await_suspend(std::coroutine_handle<> h) { state_->SetContinuation(h); }
  T await_resume() const {
    if constexpr (std::is_void_v<T>) {
      state_->value();
    } else {
      return internal::FromJson<T>(state_->value());
    }
  }

 private:
  std::shared_ptr<internal::CompletionState> state_;
};

template <typename T = void>
class Task;

namespace internal {

struct FinalAwaiter {
  bool await_ready() const noexcept { return false; }
  template <typename Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept {
    if (auto c = h.promise().continuation) return c;
    return std::noop_coroutine();
  }
  void await_resume() const noexcept {}
};

struct PromiseBase {
  std::coroutine_handle<> continuation;
  std::exception_ptr error;
  std::suspend_always initial_suspend() const noexcept { return {}; }
  FinalAwaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() { error = std::current_exception(); }
};

template <typename T>
struct Promise : PromiseBase {
  std::optional<T> value;
  Task<T> get_return_object();
  template <typename U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
};

template <>
struct Promise<void> : PromiseBase {
  Task<void> get_return_object();
  void return_void() {}
};

}  // namespace internal

// A lazy coroutine. Move-only; destroys its frame when destroyed.
template <typename T>
class [[nodiscard]] Task {
 public:
  using promise_type = internal::Promise<T>;
  using Handle = std::coroutine_handle<promise_type>;

  Task() = default;
  explicit Task(Handle h) : h_(h) {}
  Task(Task&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Task& operator=(Task&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (h_) h_.destroy();
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) {
    h_.promise().continuation = awaiting;
    return h_;
  }
  T await_resume() { return Result(); }

  // For the replay engine: start or inspect a top-level task.
  void Start() { h_.resume(); }
  bool done() const { return h_ && h_.done(); }
  T Result() {
    if (h_.promise().error) std::rethrow_exception(h_.promise().error);
    if constexpr (!std::is_void_v<T>) return std::move(*h_.promise().value);
  }

 private:
  Handle h_ = nullptr;
};

namespace internal {
template <typename T>
Task<T> Promise<T>::get_return_object() {
  return Task<T>(std::coroutine_handle<Promise<T>>::from_promise(*this));
}
inline Task<void> Promise<void>::get_return_object() {
  return Task<void>(std::coroutine_handle<Promise<void>>::from_promise(*this));
}
}  // namespace internal

}  // namespace taskhub

#endif  // TASKHUB_SDK_TASK_H_
