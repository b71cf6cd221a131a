// Fixture for the entity tests (engine_entity_test.cc, engine_entity_lock_test.cc):
// PartitionTest (manual scheduling, 4 partitions, a scripted worker) plus entity
// requests and entity work items. Test-only; single-threaded.
#ifndef TASKHUB_TESTS_ENGINE_ENGINE_ENTITY_SUPPORT_H_
#define TASKHUB_TESTS_ENGINE_ENGINE_ENTITY_SUPPORT_H_

#include <optional>
#include <string>
#include <vector>

#include "server/core/history.h"
#include "tests/engine/engine_partition_support.h"

namespace taskhub::engine::testing {

// One operation's outcome in a batch result.
struct OpResult {
  bool ok = true;
  std::string value;  // the result (ok) or the error message
};

inline OpResult Ok(const std::string& v = "") { return {true, v}; }
inline OpResult Fail(const std::string& msg) { return {false, msg}; }

// sendEntityMessage actions of an orchestration.
inline OrchestratorAction CallEntity(int id, const std::string& caller, const std::string& entity,
                                     const std::string& op, const std::string& request_id,
                                     const std::string& input = "") {
  OrchestratorAction a;
  a.set_id(id);
  auto* c = a.mutable_sendentitymessage()->mutable_entityoperationcalled();
  c->set_requestid(request_id);
  c->set_operation(op);
  if (!input.empty()) c->mutable_input()->set_value(input);
  c->mutable_parentinstanceid()->set_value(caller);
  c->mutable_targetinstanceid()->set_value(entity);
  return a;
}

inline OrchestratorAction SignalEntityAction(int id, const std::string& entity,
                                             const std::string& op, const std::string& request_id,
                                             const std::string& input = "") {
  OrchestratorAction a;
  a.set_id(id);
  auto* s = a.mutable_sendentitymessage()->mutable_entityoperationsignaled();
  s->set_requestid(request_id);
  s->set_operation(op);
  if (!input.empty()) s->mutable_input()->set_value(input);
  s->mutable_targetinstanceid()->set_value(entity);
  return a;
}

inline OrchestratorAction LockAction(int id, const std::string& owner, const std::string& section,
                                     std::vector<std::string> lock_set) {
  OrchestratorAction a;
  a.set_id(id);
  auto* l = a.mutable_sendentitymessage()->mutable_entitylockrequested();
  l->set_criticalsectionid(section);
  for (auto& e : lock_set) l->add_lockset(e);
  l->set_position(0);
  l->mutable_parentinstanceid()->set_value(owner);
  return a;
}

inline OrchestratorAction UnlockAction(int id, const std::string& owner, const std::string& section,
                                       const std::string& entity) {
  OrchestratorAction a;
  a.set_id(id);
  auto* u = a.mutable_sendentitymessage()->mutable_entityunlocksent();
  u->set_criticalsectionid(section);
  u->mutable_parentinstanceid()->set_value(owner);
  u->mutable_targetinstanceid()->set_value(entity);
  return a;
}

class EntityTest : public PartitionTest {
 protected:
  absl::Status Signal(const std::string& entity, const std::string& op,
                      const std::string& input = "", const std::string& request_id = "",
                      std::optional<absl::Time> at = std::nullopt) {
    SignalEntityRequest req;
    req.set_instanceid(entity);
    req.set_name(op);
    if (!input.empty()) req.mutable_input()->set_value(input);
    req.set_requestid(request_id);
    if (at) *req.mutable_scheduledtime() = core::ToProto(*at);
    return DriveStatus(*engine_, [&](Done d) { wire::SignalEntity(*engine_, req, std::move(d)); });
  }
  // GetEntity with state; nullopt when it does not exist.
  std::optional<EntityMetadata> GetEntity(const std::string& entity) {
    GetEntityRequest req;
    req.set_instanceid(entity);
    req.set_includestate(true);
    auto r = DriveOr<GetEntityResponse>(
        *engine_, [&](auto d) { wire::GetEntity(*engine_, req, std::move(d)); });
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || !r->exists()) return std::nullopt;
    return r->entity();
  }
  // The lock owner of `entity`: "<unlocked>" when it has no lock, "<none>" when it does
  // not exist (an entity left without state, queue or lock is deleted).
  std::string LockOwner(const std::string& entity) {
    auto md = GetEntity(entity);
    if (!md) return "<none>";
    return md->has_lockedby() ? md->lockedby().value() : "<unlocked>";
  }
  std::string StateOf(const std::string& entity) {
    auto md = GetEntity(entity);
    return md && md->has_serializedstate() ? md->serializedstate().value() : "<none>";
  }
  // The next entity work item sent for `entity` (others are kept for later).
  std::optional<WorkItem> TakeEntity(const std::string& entity) {
    while (auto wi = sink_.Next(absl::ZeroDuration())) held_.push_back(*wi);
    for (auto it = held_.begin(); it != held_.end(); ++it) {
      const bool v2 = it->has_entityrequestv2() && it->entityrequestv2().instanceid() == entity;
      const bool v1 = it->has_entityrequest() && it->entityrequest().instanceid() == entity;
      if (v2 || v1) {
        WorkItem wi = *it;
        held_.erase(it);
        return wi;
      }
    }
    return std::nullopt;
  }
  // Operation names of a V2 work item, in order.
  static std::vector<std::string> Ops(const WorkItem& wi) {
    std::vector<std::string> out;
    for (const auto& e : wi.entityrequestv2().operationrequests()) {
      out.push_back(e.has_entityoperationcalled() ? e.entityoperationcalled().operation()
                                                  : e.entityoperationsignaled().operation());
    }
    return out;
  }
  static std::vector<std::string> Inputs(const WorkItem& wi) {
    std::vector<std::string> out;
    for (const auto& e : wi.entityrequestv2().operationrequests()) {
      out.push_back(e.has_entityoperationcalled() ? e.entityoperationcalled().input().value()
                                                  : e.entityoperationsignaled().input().value());
    }
    return out;
  }
  static EntityBatchResult Result(const WorkItem& wi, const std::vector<OpResult>& results,
                                  std::optional<std::string> state) {
    EntityBatchResult r;
    r.set_completiontoken(wi.completiontoken());
    for (const auto& o : results) {
      auto* res = r.add_results();
      if (o.ok) {
        res->mutable_success()->mutable_result()->set_value(o.value);
      } else {
        res->mutable_failure()->mutable_failuredetails()->set_errortype("Error");
        res->mutable_failure()->mutable_failuredetails()->set_errormessage(o.value);
      }
    }
    if (state) r.mutable_entitystate()->set_value(*state);
    return r;
  }
  absl::Status CompleteBatch(const EntityBatchResult& r) {
    return DriveStatus(*engine_, [&](Done d) { wire::CompleteEntity(*engine_, r, std::move(d)); });
  }
  absl::Status CompleteBatch(const WorkItem& wi, const std::vector<OpResult>& results,
                             std::optional<std::string> state) {
    return CompleteBatch(Result(wi, results, std::move(state)));
  }
  // Runs a counter entity's batch: every op adds its input (an integer) to the state.
  absl::Status RunCounter(const WorkItem& wi) {
    long long v = 0;
    if (wi.entityrequestv2().has_entitystate())
      v = std::stoll(wi.entityrequestv2().entitystate().value());
    std::vector<OpResult> results;
    for (const auto& in : Inputs(wi)) {
      v += in.empty() ? 0 : std::stoll(in);
      results.push_back(Ok(std::to_string(v)));
    }
    return CompleteBatch(wi, results, std::to_string(v));
  }
  // The new events of the next episode of `id` (orchestratorStarted left out), or
  // empty when none was sent.
  std::vector<HistoryEvent> NextEvents(const std::string& id, WorkItem* out = nullptr) {
    auto wi = Take(id);
    if (!wi) return {};
    if (out != nullptr) *out = *wi;
    std::vector<HistoryEvent> events;
    for (const auto& e : wi->orchestratorrequest().newevents()) {
      if (!e.has_orchestratorstarted()) events.push_back(e);
    }
    return events;
  }
};

}  // namespace taskhub::engine::testing

#endif  // TASKHUB_TESTS_ENGINE_ENGINE_ENTITY_SUPPORT_H_
