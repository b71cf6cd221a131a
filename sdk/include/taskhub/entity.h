// Durable entities in the taskhub C++ SDK: entity ids, the context an entity
// operation runs with, and class entities (an object whose members are the
// operations and whose JSON form is the state).
//
// An entity is addressed by "@<name>@<key>"; the name is case-insensitive (stored
// lower-cased, as every SDK of the protocol does). Operations of one entity run one
// at a time, in arrival order, in batches; each operation's state change and
// actions (signals, new orchestrations) are kept only when it returns, and rolled
// back when it throws (the caller then gets the failure).
//
// A function entity:
//   registry.AddEntity("counter", [](taskhub::EntityContext& ctx, const std::string& op,
//                                    int amount) -> nlohmann::json {
//     int value = ctx.GetState<int>(0);
//     if (op == "add") ctx.SetState(value += amount);
//     else if (op == "reset") ctx.DeleteState();
//     return value;
//   });
//
// A class entity (the object is loaded from the state, or default-constructed
// when there is none, and saved back after each successful operation):
//   struct Account {
//     int64_t balance = 0;
//     void Deposit(int64_t n) { balance += n; }
//     int64_t Balance() const { return balance; }
//   };
//   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Account, balance)
//   registry.AddEntity("account", taskhub::EntityClass<Account>()
//                                     .Op("deposit", &Account::Deposit)
//                                     .Op("balance", &Account::Balance));
//
// Not thread-safe: an EntityContext is used by one operation on one thread.
#ifndef TASKHUB_SDK_ENTITY_H_
#define TASKHUB_SDK_ENTITY_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "orchestrator_service.pb.h"
#include "taskhub/task.h"

namespace taskhub {

// "@name@key". The name must be non-empty and contain no '@'; it is lower-cased.
// The key must be non-empty. Comparison and ordering are those of ToString()
// (the order in which critical sections take their locks).
class EntityInstanceId {
 public:
  EntityInstanceId() = default;
  // Throws std::invalid_argument on an invalid name or key.
  EntityInstanceId(std::string_view name, std::string_view key);
  // Parses "@name@key" (the key is everything after the second '@').
  static absl::StatusOr<EntityInstanceId> Parse(std::string_view id);

  const std::string& name() const { return name_; }
  const std::string& key() const { return key_; }
  std::string ToString() const { return "@" + name_ + "@" + key_; }

  friend bool operator==(const EntityInstanceId& a, const EntityInstanceId& b) {
    return a.name_ == b.name_ && a.key_ == b.key_;
  }
  friend bool operator<(const EntityInstanceId& a, const EntityInstanceId& b) {
    return a.ToString() < b.ToString();
  }

 private:
  std::string name_, key_;
};

// Thrown into an orchestrator when an entity operation it called failed (the
// operation threw, or no worker serves that entity name). Catch TaskFailedError to
// handle activities, sub-orchestrations and entity calls alike.
class EntityOperationFailedError : public TaskFailedError {
 public:
  EntityOperationFailedError(EntityInstanceId entity, std::string operation, TaskFailure failure)
      : TaskFailedError("entity " + entity.ToString() + " operation '" + operation + "'",
                        std::move(failure)),
        entity_(std::move(entity)),
        operation_(std::move(operation)) {}
  const EntityInstanceId& entity() const { return entity_; }
  const std::string& operation() const { return operation_; }

 private:
  EntityInstanceId entity_;
  std::string operation_;
};

namespace internal {
// The state and actions of one entity batch, shared by its operations' contexts.
struct EntityBatchState {
  std::optional<std::string> state;  // JSON text; nullopt = the entity has no state
  std::vector<OperationAction> actions;
  std::string request_id;  // of the running operation (seeds new orchestration ids)
  int ids_in_operation = 0;
};
}  // namespace internal

class EntityContext {
 public:
  EntityContext(EntityInstanceId id, std::string operation, std::optional<std::string> input,
                internal::EntityBatchState* batch)
      : id_(std::move(id)),
        operation_(std::move(operation)),
        input_(std::move(input)),
        batch_(batch) {}

  const EntityInstanceId& Id() const { return id_; }
  const std::string& OperationName() const { return operation_; }

  bool HasInput() const { return input_.has_value() && !input_->empty(); }
  // The operation input converted from JSON; T() when there is none (or it is null).
  template <typename T = nlohmann::json>
  T GetInput() const {
    if (!HasInput()) return T();
    nlohmann::json j = nlohmann::json::parse(*input_);
    if (j.is_null()) return T();
    return internal::FromJson<T>(j);
  }
  const std::optional<std::string>& RawInput() const { return input_; }

  bool HasState() const { return batch_->state.has_value(); }
  // The state converted from JSON; `default_value` when the entity has no state.
  template <typename T = nlohmann::json>
  T GetState(T default_value = T()) const {
    if (!HasState()) return default_value;
    return internal::FromJson<T>(nlohmann::json::parse(*batch_->state));
  }
  template <typename T>
  void SetState(const T& value) {
    SetStateRaw(nlohmann::json(value).dump());
  }
  // The entity has no state after this operation (it is deleted once it has no
  // queued operations and no lock either).
  void DeleteState() { SetStateRaw(std::nullopt); }
  void SetStateRaw(std::optional<std::string> json) {
    batch_->state = std::move(json);
    state_written_ = true;
  }
  const std::optional<std::string>& RawState() const { return batch_->state; }
  // Whether SetState/DeleteState was called during this operation.
  bool state_written() const { return state_written_; }

  // Sends a one-way operation to another (or this) entity once this operation
  // succeeds; delivered at `at` when given (a durable delay).
  template <typename In = std::nullptr_t>
  void SignalEntity(const EntityInstanceId& entity, std::string_view operation,
                    const In& input = nullptr, std::optional<absl::Time> at = std::nullopt) {
    SignalEntityRaw(entity, std::string(operation), Encode(input), at);
  }
  void SignalEntityRaw(const EntityInstanceId& entity, const std::string& operation,
                       std::optional<std::string> input, std::optional<absl::Time> at);

  // Starts an orchestration once this operation succeeds; returns its instance id
  // (`instance_id`, or one derived from this operation's request id, so a retried
  // batch starts the same instance).
  template <typename In = std::nullptr_t>
  std::string StartNewOrchestration(std::string_view name, const In& input = nullptr,
                                    std::string_view instance_id = "") {
    return StartNewOrchestrationRaw(std::string(name), Encode(input), std::string(instance_id));
  }
  std::string StartNewOrchestrationRaw(const std::string& name, std::optional<std::string> input,
                                       std::string instance_id);

 private:
  template <typename T>
  static std::optional<std::string> Encode(const T& value) {
    nlohmann::json j = value;
    if (j.is_null()) return std::nullopt;
    return j.dump();
  }
  EntityInstanceId id_;
  std::string operation_;
  std::optional<std::string> input_;
  internal::EntityBatchState* batch_;
  bool state_written_ = false;
};

// Runs one operation: returns its result as JSON text (nullopt = no result) and
// throws to fail it.
using EntityFn = std::function<std::optional<std::string>(EntityContext&)>;

namespace internal {
template <typename R, typename Call>
std::optional<std::string> EntityResult(Call&& call) {
  if constexpr (std::is_void_v<R>) {
    call();
    return std::nullopt;
  } else {
    nlohmann::json j = call();
    if (j.is_null()) return std::nullopt;
    return j.dump();
  }
}
std::string LowerName(std::string s);
[[noreturn]] void ThrowUnknownOperation(const EntityContext& ctx);
}  // namespace internal

// A class entity: T is default-constructible and converts to/from JSON
// (nlohmann to_json/from_json). Each Op binds a (case-insensitive) operation name
// to a member function taking nothing, the input, or (EntityContext&, input).
// The built-in operation "delete" (unless bound) deletes the state. An operation
// that calls ctx.DeleteState() leaves the entity without state; otherwise the
// object is saved after every successful operation.
template <typename T>
class EntityClass {
 public:
  template <typename M>
  EntityClass& Op(std::string_view name, M member) & {
    ops_[internal::LowerName(std::string(name))] = Wrap(member);
    return *this;
  }
  template <typename M>
  EntityClass&& Op(std::string_view name, M member) && {
    ops_[internal::LowerName(std::string(name))] = Wrap(member);
    return std::move(*this);
  }

  // The EntityFn the registry stores.
  EntityFn Build() const {
    auto ops = std::make_shared<const Ops>(ops_);
    return [ops](EntityContext& ctx) -> std::optional<std::string> {
      auto it = ops->find(internal::LowerName(ctx.OperationName()));
      if (it == ops->end()) {
        if (internal::LowerName(ctx.OperationName()) == "delete") {
          ctx.DeleteState();
          return std::nullopt;
        }
        internal::ThrowUnknownOperation(ctx);
      }
      T object = ctx.GetState<T>(T());
      std::optional<std::string> result = it->second(object, ctx);
      if (!ctx.state_written() || ctx.HasState()) ctx.SetState(object);
      return result;
    };
  }

 private:
  using Invoke = std::function<std::optional<std::string>(T&, EntityContext&)>;
  using Ops = std::map<std::string, Invoke>;

  template <typename R, typename C, typename... A>
  static Invoke WrapMember(R (C::*member)(A...)) {
    return [member](T& obj, EntityContext& ctx) -> std::optional<std::string> {
      return Call<R, A...>([&](auto&&... args) { return (obj.*member)(args...); }, ctx);
    };
  }
  template <typename R, typename C, typename... A>
  static Invoke WrapMember(R (C::*member)(A...) const) {
    return [member](T& obj, EntityContext& ctx) -> std::optional<std::string> {
      return Call<R, A...>([&](auto&&... args) { return (obj.*member)(args...); }, ctx);
    };
  }
  template <typename M>
  static Invoke Wrap(M member) {
    return WrapMember(member);
  }
  template <typename R, typename... A, typename F>
  static std::optional<std::string> Call(F&& f, EntityContext& ctx) {
    if constexpr (sizeof...(A) == 0) {
      return internal::EntityResult<R>([&] { return f(); });
    } else if constexpr (sizeof...(A) == 1) {
      using In = std::decay_t<std::tuple_element_t<0, std::tuple<A...>>>;
      if constexpr (std::is_same_v<In, EntityContext>) {
        return internal::EntityResult<R>([&] { return f(ctx); });
      } else {
        In value = ctx.GetInput<In>();
        return internal::EntityResult<R>([&] { return f(std::move(value)); });
      }
    } else {
      static_assert(sizeof...(A) == 2, "entity operations take (), (input) or (ctx, input)");
      using In = std::decay_t<std::tuple_element_t<1, std::tuple<A...>>>;
      In value = ctx.GetInput<In>();
      return internal::EntityResult<R>([&] { return f(ctx, std::move(value)); });
    }
  }

  Ops ops_;
};

// Runs an entity batch work item (either format) against the registered entity
// functions and returns the result to send with CompleteEntityTask. Pure apart
// from the operations themselves: per operation a success or a failure result (a
// failed operation's state change and actions are rolled back), the batch's
// actions, the final state, and for V2 one OperationInfo per operation (the
// caller of a call, none for a signal). An entity name no worker function serves,
// or an id that is not "@name@key", fails each operation (non-retriable).
class Registry;
EntityBatchResult ExecuteEntityBatch(const Registry& registry, const EntityBatchRequest& request,
                                     const std::string& completion_token = "");
EntityBatchResult ExecuteEntityRequest(const Registry& registry, const EntityRequest& request,
                                       const std::string& completion_token = "");

}  // namespace taskhub

#endif  // TASKHUB_SDK_ENTITY_H_
