// Registry: the orchestrators, activities and entities a worker serves, by name.
//
//   taskhub::Registry r;
//   r.AddActivity("say_hello", [](taskhub::ActivityContext&, std::string city) {
//     return "Hello " + city + "!";
//   });
//   r.AddOrchestrator("hello_cities", HelloCities);  // Task<T>(OrchestrationContext&)
//
// An activity that throws fails its task: the exception's type name and what()
// become the failure details the orchestrator sees as TaskFailedError.
// Not thread-safe while being filled; read-only (and so thread-safe) afterwards.
#ifndef TASKHUB_SDK_REGISTRY_H_
#define TASKHUB_SDK_REGISTRY_H_

#include <concepts>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "nlohmann/json.hpp"
#include "taskhub/entity.h"
#include "taskhub/orchestration_context.h"
#include "taskhub/task.h"

namespace taskhub {

// What an activity knows about its invocation.
struct ActivityContext {
  std::string orchestration_id;
  std::string name;
  int task_id = 0;
};

using OrchestratorFn = std::function<Task<nlohmann::json>(OrchestrationContext&)>;
// Returns the result as JSON text (nullopt = no result); throws on failure.
using ActivityFn =
    std::function<std::optional<std::string>(ActivityContext&, const std::optional<std::string>&)>;

namespace internal {
// The parameter types of a callable with one signature (a function, a function
// pointer, a pointer to member function, a lambda or functor with one non-template
// operator(); any of them noexcept). Undefined for generic lambdas.
template <typename F, typename = void>
struct CallableArgs {};
template <typename R, typename... A>
struct CallableArgs<R (*)(A...)> {
  using Result = R;
  using Args = std::tuple<A...>;
};
template <typename R, typename... A>
struct CallableArgs<R (*)(A...) noexcept> : CallableArgs<R (*)(A...)> {};
template <typename R, typename... A>
struct CallableArgs<R(A...)> : CallableArgs<R (*)(A...)> {};
template <typename R, typename... A>
struct CallableArgs<R(A...) noexcept> : CallableArgs<R (*)(A...)> {};
template <typename C, typename R, typename... A>
struct CallableArgs<R (C::*)(A...)> : CallableArgs<R (*)(A...)> {};
template <typename C, typename R, typename... A>
struct CallableArgs<R (C::*)(A...) const> : CallableArgs<R (*)(A...)> {};
template <typename C, typename R, typename... A>
struct CallableArgs<R (C::*)(A...) noexcept> : CallableArgs<R (*)(A...)> {};
template <typename C, typename R, typename... A>
struct CallableArgs<R (C::*)(A...) const noexcept> : CallableArgs<R (*)(A...)> {};
template <typename F>
struct CallableArgs<F, std::void_t<decltype(&F::operator())>>
    : CallableArgs<decltype(&F::operator())> {};

template <typename T>
struct TaskValue;
template <typename T>
struct TaskValue<Task<T>> {
  using type = T;
};
template <typename T>
inline constexpr bool kIsTask = false;
template <typename T>
inline constexpr bool kIsTask<Task<T>> = true;

// The input type of an activity `F`: void when it takes only the context; the
// decayed type of its second parameter; nlohmann::json for a generic lambda.
template <typename F>
struct ActivityInput {
  using type = nlohmann::json;
};
template <typename F>
requires std::is_invocable_v<F&, ActivityContext&>
struct ActivityInput<F> {
  using type = void;
};
template <typename F>
requires(!std::is_invocable_v<F&, ActivityContext&>) && requires { typename CallableArgs<F>::Args; }
struct ActivityInput<F> {
  using Args = typename CallableArgs<F>::Args;
  static_assert(std::tuple_size_v<Args> == 2,
                "taskhub: an activity takes (taskhub::ActivityContext&) or "
                "(taskhub::ActivityContext&, Input input)");
  using type = std::decay_t<std::tuple_element_t<1, Args>>;
};
}  // namespace internal

// What AddActivity accepts: anything callable as (ActivityContext&) or
// (ActivityContext&, Input), Input read from JSON (generic lambdas get the
// nlohmann::json), returning void, a JSON-convertible T, or Task<T> (run to
// completion on the worker thread).
template <typename F>
concept ActivityCallable = std::is_invocable_v<F&, ActivityContext&> ||
    std::is_invocable_v<F&, ActivityContext&, typename internal::ActivityInput<F>::type>;

// What AddOrchestrator accepts: anything callable as (OrchestrationContext&)
// returning Task<T> (a coroutine).
template <typename F>
concept OrchestratorCallable = std::is_invocable_v<F&, OrchestrationContext&> &&
    internal::kIsTask<std::invoke_result_t<F&, OrchestrationContext&>>;

class Registry {
 public:
  template <typename F>
  void AddOrchestrator(const std::string& name, F fn) {
    static_assert(OrchestratorCallable<F>,
                  "taskhub: an orchestrator is a coroutine taskhub::Task<T>(taskhub::"
                  "OrchestrationContext&) (a function, or a lambda with an explicit "
                  "-> taskhub::Task<T> return type)");
    if constexpr (OrchestratorCallable<F>) {
      using T = typename internal::TaskValue<std::invoke_result_t<F&, OrchestrationContext&>>::type;
      auto holder = std::make_shared<F>(std::move(fn));
      orchestrators_[name] = [holder](OrchestrationContext& ctx) -> Task<nlohmann::json> {
        return Adapt<T>(holder, ctx);
      };
    }
  }

  // An activity: see ActivityCallable. An exception thrown fails the task.
  template <typename F>
  void AddActivity(const std::string& name, F fn) {
    static_assert(ActivityCallable<F>,
                  "taskhub: an activity is callable as (taskhub::ActivityContext&) or "
                  "(taskhub::ActivityContext&, Input) with Input convertible from JSON, and "
                  "returns void, a JSON-convertible value, or taskhub::Task<T>");
    if constexpr (ActivityCallable<F>) {
      using In = typename internal::ActivityInput<F>::type;
      activities_[name] =
          [fn = std::move(fn)](
              ActivityContext& ctx,
              const std::optional<std::string>& input) mutable -> std::optional<std::string> {
        if constexpr (std::is_void_v<In>) {
          return Result([&]() -> decltype(auto) { return std::invoke(fn, ctx); });
        } else {
          const nlohmann::json j =
              input && !input->empty() ? nlohmann::json::parse(*input) : nlohmann::json();
          In value = internal::FromJson<In>(j);
          return Result([&]() -> decltype(auto) { return std::invoke(fn, ctx, std::move(value)); });
        }
      };
    }
  }
  // A member function of `object` (which must outlive the worker) as an activity:
  //   registry.AddActivity("charge", &Billing::Charge, &billing);
  template <typename C, typename M>
  requires std::is_member_function_pointer_v<M>
  void AddActivity(const std::string& name, M method, C* object) {
    using Args = typename internal::CallableArgs<M>::Args;
    if constexpr (std::tuple_size_v<Args> == 1) {
      AddActivity(name, [method, object](ActivityContext& ctx) {
        return std::invoke(method, object, ctx);
      });
    } else {
      using In = std::decay_t<std::tuple_element_t<1, Args>>;
      AddActivity(name, [method, object](ActivityContext& ctx, In input) {
        return std::invoke(method, object, ctx, std::move(input));
      });
    }
  }

  // An entity (entity.h). `name` is case-insensitive (stored lower-cased). `fn` is
  //   R(EntityContext&, const std::string& operation, In input)  or
  //   R(EntityContext&, In input)  or  R(EntityContext&),
  // In converted from the operation's JSON input, R (or void) to JSON; or an
  // EntityClass<T> (operations dispatched by name), or an EntityFn.
  template <typename F>
  void AddEntity(const std::string& name, F fn) {
    const std::string key = internal::LowerName(name);
    if constexpr (std::is_same_v<std::decay_t<F>, EntityFn>) {
      entities_[key] = EntityFn(std::move(fn));
    } else {
      using Traits = internal::CallableArgs<std::remove_pointer_t<std::decay_t<F>>>;
      using Args = typename Traits::Args;
      using R = typename Traits::Result;
      entities_[key] = [fn = std::move(fn)](EntityContext& ctx) -> std::optional<std::string> {
        if constexpr (std::tuple_size_v<Args> == 1) {
          return internal::EntityResult<R>([&] { return fn(ctx); });
        } else if constexpr (std::tuple_size_v<Args> == 2) {
          using In = std::decay_t<std::tuple_element_t<1, Args>>;
          In value = ctx.GetInput<In>();
          return internal::EntityResult<R>([&] { return fn(ctx, std::move(value)); });
        } else {
          using In = std::decay_t<std::tuple_element_t<2, Args>>;
          In value = ctx.GetInput<In>();
          return internal::EntityResult<R>(
              [&] { return fn(ctx, ctx.OperationName(), std::move(value)); });
        }
      };
    }
  }
  template <typename T>
  void AddEntity(const std::string& name, const EntityClass<T>& cls) {
    entities_[internal::LowerName(name)] = cls.Build();
  }

  const EntityFn* FindEntity(const std::string& name) const {
    auto it = entities_.find(internal::LowerName(name));
    return it == entities_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> EntityNames() const { return Keys(entities_); }

  const OrchestratorFn* FindOrchestrator(const std::string& name) const {
    auto it = orchestrators_.find(name);
    return it == orchestrators_.end() ? nullptr : &it->second;
  }
  const ActivityFn* FindActivity(const std::string& name) const {
    auto it = activities_.find(name);
    return it == activities_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> OrchestratorNames() const { return Keys(orchestrators_); }
  std::vector<std::string> ActivityNames() const { return Keys(activities_); }

 private:
  template <typename T, typename F>
  static Task<nlohmann::json> Adapt(std::shared_ptr<F> fn, OrchestrationContext& ctx) {
    if constexpr (std::is_void_v<T>) {
      co_await (*fn)(ctx);
      co_return nlohmann::json();
    } else {
      T value = co_await (*fn)(ctx);
      co_return nlohmann::json(std::move(value));
    }
  }
  template <typename Call>
  static std::optional<std::string> Result(Call&& call) {
    using R = std::invoke_result_t<Call&>;
    if constexpr (std::is_void_v<R>) {
      call();
      return std::nullopt;
    } else if constexpr (internal::kIsTask<std::remove_cvref_t<R>>) {
      // An async activity: a Task that runs to completion on this thread.
      std::remove_cvref_t<R> task = call();
      task.Start();
      if (!task.done()) {
        throw std::logic_error(
            "taskhub: an activity's Task suspended (an activity may only "
            "await other Tasks that complete on the same thread)");
      }
      using T = typename internal::TaskValue<std::remove_cvref_t<R>>::type;
      if constexpr (std::is_void_v<T>) {
        task.Result();
        return std::nullopt;
      } else {
        return internal::Encode(task.Result());
      }
    } else {
      return internal::Encode(call());
    }
  }
  template <typename M>
  static std::vector<std::string> Keys(const M& m) {
    std::vector<std::string> out;
    for (const auto& [k, v] : m) out.push_back(k);
    return out;
  }
  std::map<std::string, OrchestratorFn> orchestrators_;
  std::map<std::string, ActivityFn> activities_;
  std::map<std::string, EntityFn> entities_;
};

}  // namespace taskhub

#endif  // TASKHUB_SDK_REGISTRY_H_
