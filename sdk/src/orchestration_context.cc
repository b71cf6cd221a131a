// OrchestrationContext: scheduling primitives on top of ReplayState.
#include "taskhub/orchestration_context.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "sdk/src/replay_state.h"
#include "sdk/src/sdk_util.h"

namespace taskhub {
namespace internal {

std::shared_ptr<CompletionState> ReplayState::Schedule(OrchestratorAction action, std::string kind,
                                                       std::string name) {
  auto state = std::make_shared<CompletionState>();
  const int id = action.id();
  open[id] = Open{state, name};
  pending[id] = Pending{std::move(action), std::move(kind), std::move(name)};
  return state;
}

namespace {

// Retries `attempt` according to `policy`, waiting on durable timers in between,
// and completes `out` with the final result or failure.
Task<void> RetryLoop(OrchestrationContext& ctx, std::shared_ptr<CompletionState> out,
                     std::function<std::shared_ptr<CompletionState>()> attempt,
                     RetryPolicy policy) {
  const absl::Time start = ctx.CurrentUtcDateTime();
  absl::Duration delay = policy.first_retry_interval;
  for (int n = 1;; ++n) {
    std::exception_ptr failure;
    std::optional<TaskFailure> details;
    std::optional<nlohmann::json> value;
    try {
      value = co_await DurableTask<nlohmann::json>(attempt());
    } catch (const TaskFailedError& e) {
      failure = std::current_exception();
      details = e.failure();
    } catch (...) {
      failure = std::current_exception();
    }
    if (value) {
      out->Complete(std::move(*value));
      co_return;
    }
    const bool retry = details && !details->non_retriable && n < policy.max_attempts &&
                       (!policy.handle || policy.handle(*details)) &&
                       ctx.CurrentUtcDateTime() + delay - start <= policy.retry_timeout;
    if (!retry) {
      out->Fail(failure);
      co_return;
    }
    co_await ctx.CreateTimer(delay);
    delay = std::min(delay * policy.backoff_coefficient, policy.max_retry_interval);
  }
}

}  // namespace
}  // namespace internal

using internal::CompletionState;

void ReplaySafeLogger::Info(const std::string& message) const {
  if (!state_->replaying)
    internal::SdkLog(internal::LogLevel::kInfo,
                     absl::StrCat("[", state_->instance_id, "] ", message));
}
void ReplaySafeLogger::Warn(const std::string& message) const {
  if (!state_->replaying)
    internal::SdkLog(internal::LogLevel::kWarn,
                     absl::StrCat("[", state_->instance_id, "] ", message));
}

const std::string& OrchestrationContext::InstanceId() const { return state_->instance_id; }
const std::string& OrchestrationContext::Name() const { return state_->name; }
absl::Time OrchestrationContext::CurrentUtcDateTime() const { return state_->now; }
bool OrchestrationContext::IsReplaying() const { return state_->replaying; }
const std::optional<std::string>& OrchestrationContext::RawInput() const { return state_->input; }

std::shared_ptr<CompletionState> OrchestrationContext::ScheduleActivity(
    const std::string& name, std::optional<std::string> input, const ActivityOptions* opts) {
  const ActivityOptions options = opts ? *opts : ActivityOptions();
  auto attempt = [this, name, input, options]() {
    OrchestratorAction a;
    a.set_id(state_->NextId());
    auto* st = a.mutable_scheduletask();
    st->set_name(name);
    if (input) st->mutable_input()->set_value(*input);
    if (!options.version.empty()) st->mutable_version()->set_value(options.version);
    for (const auto& [k, v] : options.tags) (*st->mutable_tags())[k] = v;
    return state_->Schedule(std::move(a), "activity", name);
  };
  if (!options.retry) return attempt();
  auto out = std::make_shared<CompletionState>();
  state_->detached.push_back(internal::RetryLoop(*this, out, attempt, *options.retry));
  state_->detached.back().Start();
  return out;
}

std::shared_ptr<CompletionState> OrchestrationContext::ScheduleSubOrchestrator(
    const std::string& name, std::optional<std::string> input, const SubOrchestratorOptions* opts) {
  const SubOrchestratorOptions options = opts ? *opts : SubOrchestratorOptions();
  auto attempt = [this, name, input, options]() {
    OrchestratorAction a;
    a.set_id(state_->NextId());
    auto* c = a.mutable_createsuborchestration();
    std::string id = options.instance_id;
    if (id.empty()) {
      char buf[16];
      std::snprintf(buf, sizeof(buf), "%04x", static_cast<unsigned>(a.id()) & 0xFFFFu);
      id = state_->instance_id + ":" + buf;
    }
    c->set_instanceid(id);
    c->set_name(name);
    if (input) c->mutable_input()->set_value(*input);
    if (!options.version.empty()) c->mutable_version()->set_value(options.version);
    return state_->Schedule(std::move(a), "sub-orchestration", name);
  };
  if (!options.retry) return attempt();
  auto out = std::make_shared<CompletionState>();
  state_->detached.push_back(internal::RetryLoop(*this, out, attempt, *options.retry));
  state_->detached.back().Start();
  return out;
}

DurableTask<void> OrchestrationContext::CreateTimer(absl::Duration delay) {
  return CreateTimer(state_->now + delay);
}

DurableTask<void> OrchestrationContext::CreateTimer(absl::Time fire_at) {
  OrchestratorAction a;
  a.set_id(state_->NextId());
  *a.mutable_createtimer()->mutable_fireat() = internal::ToTimestamp(fire_at);
  return DurableTask<void>(state_->Schedule(std::move(a), "timer", ""));
}

std::shared_ptr<CompletionState> OrchestrationContext::WaitForEvent(
    const std::string& name, std::optional<absl::Duration> timeout) {
  const std::string key = internal::Lower(name);
  auto& buffered = state_->buffered_events;
  for (auto it = buffered.begin(); it != buffered.end(); ++it) {
    if (internal::Lower(it->eventraised().name()) == key) {
      auto done = std::make_shared<CompletionState>();
      done->Complete(internal::ParseJson(it->eventraised().input()));
      buffered.erase(it);
      return done;
    }
  }
  auto waiter = std::make_shared<CompletionState>();
  state_->waiters[key].push_back(waiter);
  if (!timeout) return waiter;
  auto out = std::make_shared<CompletionState>();
  auto timer = CreateTimer(*timeout).state();
  CompletionState* raw_waiter = waiter.get();
  waiter->OnDone([out, raw_waiter] {
    if (raw_waiter->error()) {
      out->Fail(raw_waiter->error());
    } else {
      out->Complete(raw_waiter->value());
    }
  });
  internal::ReplayState* st = state_;
  timer->OnDone([out, waiter, st, key, name] {
    if (out->done()) return;
    auto& q = st->waiters[key];
    for (auto it = q.begin(); it != q.end(); ++it) {
      if (*it == waiter) {
        q.erase(it);
        break;
      }
    }
    out->Fail(std::make_exception_ptr(
        TimeoutError("timed out waiting for external event '" + name + "'")));
  });
  return out;
}

void OrchestrationContext::SendEventRaw(const std::string& instance_id, const std::string& name,
                                        std::optional<std::string> data) {
  OrchestratorAction a;
  a.set_id(state_->NextId());
  auto* s = a.mutable_sendevent();
  s->mutable_instance()->set_instanceid(instance_id);
  s->set_name(name);
  if (data) s->mutable_data()->set_value(*data);
  const int id = a.id();
  state_->pending[id] = internal::ReplayState::Pending{std::move(a), "event", name};
}

void OrchestrationContext::ContinueAsNewRaw(std::optional<std::string> input, bool keep) {
  state_->continue_as_new = true;
  state_->continue_as_new_input = std::move(input);
  state_->keep_events = keep;
}

void OrchestrationContext::SetCustomStatusRaw(std::optional<std::string> value) {
  state_->custom_status = std::move(value);
}

std::string OrchestrationContext::NewGuid() {
  const std::string seed = state_->instance_id + "|" +
                           std::to_string(absl::ToUnixMicros(state_->now)) + "|" +
                           std::to_string(++state_->guid_counter);
  return internal::DeterministicUuid(seed);
}

std::shared_ptr<CompletionState> OrchestrationContext::WhenAllStates(
    const std::vector<std::shared_ptr<CompletionState>>& states) {
  auto out = std::make_shared<CompletionState>();
  if (states.empty()) {
    out->Complete(nlohmann::json::array());
    return out;
  }
  // Callbacks capture only `out` and `acc` (never a state), so no reference cycles.
  struct Accumulator {
    std::vector<nlohmann::json> values;
    std::vector<std::exception_ptr> errors;
    size_t remaining;
  };
  auto acc = std::make_shared<Accumulator>();
  acc->values.resize(states.size());
  acc->errors.resize(states.size());
  acc->remaining = states.size();
  for (size_t i = 0; i < states.size(); ++i) {
    CompletionState* s = states[i].get();
    s->OnDone([out, acc, i, s] {
      if (s->error()) {
        acc->errors[i] = s->error();
      } else {
        acc->values[i] = s->value();
      }
      if (--acc->remaining > 0) return;
      for (const auto& e : acc->errors) {
        if (e) return out->Fail(e);
      }
      out->Complete(nlohmann::json(std::move(acc->values)));
    });
  }
  return out;
}

std::shared_ptr<CompletionState> OrchestrationContext::WhenAnyStates(
    const std::vector<std::shared_ptr<CompletionState>>& states) {
  auto out = std::make_shared<CompletionState>();
  for (size_t i = 0; i < states.size(); ++i) {
    states[i]->OnDone([out, i] { out->Complete(i); });
  }
  return out;
}

}  // namespace taskhub
