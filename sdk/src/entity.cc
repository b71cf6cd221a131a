// Entity ids, EntityContext actions and the entity batch executor.
#include "taskhub/entity.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "sdk/src/sdk_util.h"
#include "taskhub/registry.h"

namespace taskhub {

EntityInstanceId::EntityInstanceId(std::string_view name, std::string_view key)
    : name_(internal::Lower(std::string(name))), key_(key) {
  if (name_.empty()) throw std::invalid_argument("an entity name must not be empty");
  if (name_.find('@') != std::string::npos) {
    throw std::invalid_argument("an entity name must not contain '@': " + name_);
  }
  if (key_.empty()) throw std::invalid_argument("an entity key must not be empty");
}

absl::StatusOr<EntityInstanceId> EntityInstanceId::Parse(std::string_view id) {
  if (id.empty() || id[0] != '@') {
    return absl::InvalidArgumentError(
        absl::StrCat("an entity id starts with '@': '", std::string(id), "'"));
  }
  const size_t second = id.find('@', 1);
  if (second == std::string_view::npos || second == 1 || second + 1 == id.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("an entity id is '@name@key': '", std::string(id), "'"));
  }
  return EntityInstanceId(id.substr(1, second - 1), id.substr(second + 1));
}

namespace internal {
std::string LowerName(std::string s) { return Lower(std::move(s)); }

[[noreturn]] void ThrowUnknownOperation(const EntityContext& ctx) {
  throw std::invalid_argument("entity '" + ctx.Id().name() + "' has no operation '" +
                              ctx.OperationName() + "'");
}
}  // namespace internal

void EntityContext::SignalEntityRaw(const EntityInstanceId& entity, const std::string& operation,
                                    std::optional<std::string> input,
                                    std::optional<absl::Time> at) {
  OperationAction a;
  a.set_id(static_cast<int32_t>(batch_->actions.size()));
  auto* s = a.mutable_sendsignal();
  s->set_instanceid(entity.ToString());
  s->set_name(operation);
  if (input) s->mutable_input()->set_value(*input);
  if (at) *s->mutable_scheduledtime() = internal::ToTimestamp(*at);
  *s->mutable_requesttime() = internal::ToTimestamp(absl::Now());
  batch_->actions.push_back(std::move(a));
}

std::string EntityContext::StartNewOrchestrationRaw(const std::string& name,
                                                    std::optional<std::string> input,
                                                    std::string instance_id) {
  if (instance_id.empty()) {
    // Derived from the request id: a batch that is retried (after a crash or a lost
    // reply) starts the same instance, which the server then does not start twice.
    instance_id = internal::DeterministicUuid(
        absl::StrCat(id_.ToString(), "|", batch_->request_id, "|", ++batch_->ids_in_operation));
    instance_id.erase(std::remove(instance_id.begin(), instance_id.end(), '-'), instance_id.end());
  }
  OperationAction a;
  a.set_id(static_cast<int32_t>(batch_->actions.size()));
  auto* s = a.mutable_startneworchestration();
  s->set_instanceid(instance_id);
  s->set_name(name);
  if (input) s->mutable_input()->set_value(*input);
  *s->mutable_requesttime() = internal::ToTimestamp(absl::Now());
  batch_->actions.push_back(std::move(a));
  return instance_id;
}

namespace {

struct Operation {
  std::string name, request_id;
  std::optional<std::string> input;
};

TaskFailure NotRegistered(const std::string& id, const std::string& detail) {
  return TaskFailure{"EntityNotRegisteredError", detail + " ('" + id + "')", {}, {}, true};
}

EntityBatchResult Run(const Registry& registry, const std::string& instance_id,
                      const google::protobuf::StringValue* state, const std::vector<Operation>& ops,
                      const std::string& token) {
  EntityBatchResult out;
  out.set_completiontoken(token);
  internal::EntityBatchState batch;
  if (state != nullptr && !state->value().empty()) batch.state = state->value();

  absl::StatusOr<EntityInstanceId> id = EntityInstanceId::Parse(instance_id);
  const EntityFn* fn = nullptr;
  std::optional<TaskFailure> batch_failure;
  if (!id.ok()) {
    batch_failure = NotRegistered(instance_id, std::string(id.status().message()));
  } else if ((fn = registry.FindEntity(id->name())) == nullptr) {
    batch_failure = NotRegistered(
        instance_id, "no entity named '" + id->name() + "' is registered on this worker");
  }
  for (const Operation& op : ops) {
    const absl::Time start = absl::Now();
    OperationResult* r = out.add_results();
    auto fail = [&](const TaskFailure& f) {
      auto* failure = r->mutable_failure();
      internal::FailureToProto(f, failure->mutable_failuredetails());
      *failure->mutable_starttimeutc() = internal::ToTimestamp(start);
      *failure->mutable_endtimeutc() = internal::ToTimestamp(absl::Now());
    };
    if (batch_failure) {
      fail(*batch_failure);
      continue;
    }
    const std::optional<std::string> saved_state = batch.state;
    const size_t saved_actions = batch.actions.size();
    batch.request_id = op.request_id;
    batch.ids_in_operation = 0;
    EntityContext ctx(*id, op.name, op.input, &batch);
    try {
      std::optional<std::string> result = (*fn)(ctx);
      auto* success = r->mutable_success();
      if (result) success->mutable_result()->set_value(*result);
      *success->mutable_starttimeutc() = internal::ToTimestamp(start);
      *success->mutable_endtimeutc() = internal::ToTimestamp(absl::Now());
    } catch (...) {
      fail(internal::CurrentExceptionFailure());
      batch.state = saved_state;  // the failed operation leaves no trace
      batch.actions.resize(saved_actions);
    }
  }
  for (size_t i = 0; i < batch.actions.size(); ++i) {
    batch.actions[i].set_id(static_cast<int32_t>(i));
    *out.add_actions() = std::move(batch.actions[i]);
  }
  if (batch.state) out.mutable_entitystate()->set_value(*batch.state);
  return out;
}

}  // namespace

EntityBatchResult ExecuteEntityBatch(const Registry& registry, const EntityBatchRequest& request,
                                     const std::string& completion_token) {
  std::vector<Operation> ops;
  for (const auto& o : request.operations()) {
    Operation op{o.operation(), o.requestid(), std::nullopt};
    if (o.has_input()) op.input = o.input().value();
    ops.push_back(std::move(op));
  }
  return Run(registry, request.instanceid(),
             request.has_entitystate() ? &request.entitystate() : nullptr, ops, completion_token);
}

EntityBatchResult ExecuteEntityRequest(const Registry& registry, const EntityRequest& request,
                                       const std::string& completion_token) {
  std::vector<Operation> ops;
  std::vector<OperationInfo> infos;
  for (const HistoryEvent& e : request.operationrequests()) {
    OperationInfo info;
    if (e.has_entityoperationcalled()) {
      const auto& c = e.entityoperationcalled();
      ops.push_back({c.operation(), c.requestid(),
                     c.has_input() ? std::optional<std::string>(c.input().value()) : std::nullopt});
      info.set_requestid(c.requestid());
      auto* dest = info.mutable_responsedestination();
      dest->set_instanceid(c.parentinstanceid().value());
      if (c.has_parentexecutionid()) *dest->mutable_executionid() = c.parentexecutionid();
    } else if (e.has_entityoperationsignaled()) {
      const auto& s = e.entityoperationsignaled();
      ops.push_back({s.operation(), s.requestid(),
                     s.has_input() ? std::optional<std::string>(s.input().value()) : std::nullopt});
      info.set_requestid(s.requestid());
    } else {
      continue;  // not an operation (the server sends none other)
    }
    infos.push_back(std::move(info));
  }
  EntityBatchResult out =
      Run(registry, request.instanceid(),
          request.has_entitystate() ? &request.entitystate() : nullptr, ops, completion_token);
  for (auto& info : infos) *out.add_operationinfos() = std::move(info);
  return out;
}

}  // namespace taskhub
