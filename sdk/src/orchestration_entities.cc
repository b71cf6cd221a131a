// OrchestrationContext: entity calls, signals and critical sections. The actions
// have the shapes the Python SDK (durabletask 1.12) sends, so a server sees the
// same messages from both: call/signal with a deterministic request id and the
// target id; one lock request (sorted, de-duplicated lock set, position 0) to the
// first entity; one unlock per locked entity when the critical section ends.
#include <algorithm>
#include <stdexcept>

#include "sdk/src/replay_state.h"
#include "sdk/src/sdk_util.h"
#include "taskhub/orchestration_context.h"

namespace taskhub {

using internal::CompletionState;

void EntityLock::Release() {
  if (ctx_ == nullptr) return;
  OrchestrationContext* ctx = std::exchange(ctx_, nullptr);
  ctx->ReleaseLocks(section_);
}

bool OrchestrationContext::IsInCriticalSection() const {
  return state_->critical_section.has_value();
}

std::shared_ptr<CompletionState> OrchestrationContext::CallEntityRaw(
    const EntityInstanceId& entity, const std::string& operation,
    std::optional<std::string> input) {
  internal::ReplayState& st = *state_;
  if (st.critical_section) {
    auto it = std::find(st.available.begin(), st.available.end(), entity);
    if (it == st.available.end()) {
      if (st.lock_pending) {
        throw std::logic_error(
            "await the lock request (LockEntities) before calling an entity in its critical "
            "section");
      }
      if (std::find(st.locks.begin(), st.locks.end(), entity) != st.locks.end()) {
        throw std::logic_error("a call to " + entity.ToString() +
                               " is still pending in this critical section");
      }
      throw std::logic_error("a critical section may only call the entities it locked; " +
                             entity.ToString() + " is not one of them");
    }
    st.available.erase(it);
  }
  OrchestratorAction a;
  a.set_id(st.NextId());
  const std::string request_id = NewGuid();
  auto* c = a.mutable_sendentitymessage()->mutable_entityoperationcalled();
  c->set_requestid(request_id);
  c->set_operation(operation);
  if (input) c->mutable_input()->set_value(*input);
  c->mutable_parentinstanceid()->set_value(st.instance_id);
  c->mutable_targetinstanceid()->set_value(entity.ToString());
  const int id = a.id();
  st.entity_calls[request_id] = internal::ReplayState::EntityCall{id, entity, operation};
  return st.Schedule(std::move(a), "entity call", operation);
}

void OrchestrationContext::SignalEntityRaw(const EntityInstanceId& entity,
                                           const std::string& operation,
                                           std::optional<std::string> input,
                                           std::optional<absl::Time> at) {
  internal::ReplayState& st = *state_;
  if (st.critical_section &&
      std::find(st.locks.begin(), st.locks.end(), entity) != st.locks.end()) {
    throw std::logic_error("a critical section must not signal an entity it locked (" +
                           entity.ToString() + ")");
  }
  OrchestratorAction a;
  a.set_id(st.NextId());
  auto* s = a.mutable_sendentitymessage()->mutable_entityoperationsignaled();
  s->set_requestid(NewGuid());
  s->set_operation(operation);
  if (input) s->mutable_input()->set_value(*input);
  if (at) *s->mutable_scheduledtime() = internal::ToTimestamp(*at);
  s->mutable_targetinstanceid()->set_value(entity.ToString());
  const int id = a.id();
  st.pending[id] = internal::ReplayState::Pending{std::move(a), "entity signal", operation};
}

EntityLockTask OrchestrationContext::LockEntitiesRaw(std::vector<EntityInstanceId> entities) {
  internal::ReplayState& st = *state_;
  if (st.critical_section) {
    throw std::logic_error("a critical section must not lock entities again (release it first)");
  }
  if (entities.empty()) throw std::invalid_argument("LockEntities needs at least one entity");
  // A globally fixed order (and no duplicates): two critical sections never wait
  // for each other's locks in opposite orders.
  std::sort(entities.begin(), entities.end());
  entities.erase(std::unique(entities.begin(), entities.end()), entities.end());
  OrchestratorAction a;
  a.set_id(st.NextId());
  const std::string section = NewGuid();
  auto* l = a.mutable_sendentitymessage()->mutable_entitylockrequested();
  l->set_criticalsectionid(section);
  for (const auto& e : entities) l->add_lockset(e.ToString());
  l->set_position(0);
  l->mutable_parentinstanceid()->set_value(st.instance_id);
  st.critical_section = section;
  st.locks = std::move(entities);
  st.available.clear();
  st.lock_pending = true;
  st.lock_requests[section] = a.id();
  auto state = st.Schedule(std::move(a), "entity lock", "");
  return EntityLockTask(std::move(state), this);
}

void OrchestrationContext::ReleaseLocks(const std::string& section) {
  internal::ReplayState& st = *state_;
  if (st.tearing_down || st.critical_section != section) return;
  for (const auto& e : st.locks) {
    OrchestratorAction a;
    a.set_id(st.NextId());
    auto* u = a.mutable_sendentitymessage()->mutable_entityunlocksent();
    u->set_criticalsectionid(section);
    u->mutable_targetinstanceid()->set_value(e.ToString());
    u->mutable_parentinstanceid()->set_value(st.instance_id);
    const int id = a.id();
    st.pending[id] = internal::ReplayState::Pending{std::move(a), "entity unlock", ""};
  }
  st.critical_section.reset();
  st.locks.clear();
  st.available.clear();
  st.lock_pending = false;
}

}  // namespace taskhub
