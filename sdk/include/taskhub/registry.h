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

#include <functional>
#include <map>
#include <optional>
#include <string>
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
using ActivityFn = std::function<std::optional<std::string>(ActivityContext&,
                                                            const std::optional<std::string>&)>;

namespace internal {
template <typename F>
struct CallableArgs : CallableArgs<decltype(&F::operator())> {};
template <typename C, typename R, typename... A>
struct CallableArgs<R (C::*)(A...) const> {
  using Result = R;
  using Args = std::tuple<A...>;
};
template <typename C, typename R, typename... A>
struct CallableArgs<R (C::*)(A...)> : CallableArgs<R (C::*)(A...) const> {};
template <typename R, typename... A>
struct CallableArgs<R (*)(A...)> {
  using Result = R;
  using Args = std::tuple<A...>;
};
template <typename R, typename... A>
struct CallableArgs<R(A...)> : CallableArgs<R (*)(A...)> {};

template <typename T>
struct TaskValue;
template <typename T>
struct TaskValue<Task<T>> {
  using type = T;
};
}  // namespace internal

class Registry {
 public:
  template <typename F>
  void AddOrchestrator(const std::string& name, F fn) {
    using TaskT = std::invoke_result_t<F&, OrchestrationContext&>;
    using T = typename internal::TaskValue<TaskT>::type;
    auto holder = std::make_shared<F>(std::move(fn));
    orchestrators_[name] = [holder](OrchestrationContext& ctx) -> Task<nlohmann::json> {
      return Adapt<T>(holder, ctx);
    };
  }

  template <typename F>
  void AddActivity(const std::string& name, F fn) {
    using Traits = internal::CallableArgs<std::remove_pointer_t<std::decay_t<F>>>;
    using Args = typename Traits::Args;
    using R = typename Traits::Result;
    activities_[name] = [fn = std::move(fn)](ActivityContext& ctx,
                                             const std::optional<std::string>& input)
        -> std::optional<std::string> {
      if constexpr (std::tuple_size_v<Args> == 1) {
        return Result<R>([&] { return fn(ctx); });
      } else {
        using In = std::decay_t<std::tuple_element_t<1, Args>>;
        const nlohmann::json j =
            input && !input->empty() ? nlohmann::json::parse(*input) : nlohmann::json();
        In value = internal::FromJson<In>(j);
        return Result<R>([&] { return fn(ctx, std::move(value)); });
      }
    };
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
  template <typename R, typename Call>
  static std::optional<std::string> Result(Call&& call) {
    if constexpr (std::is_void_v<R>) {
      call();
      return std::nullopt;
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
