// Builders of the fuzz seeds' inputs (client calls, worker steps, orchestrator and
// entity actions), used by make_seeds.cc. Test-only; header-only; thread-compatible.
#ifndef TASKHUB_TESTS_FUZZ_SEED_BUILDERS_H_
#define TASKHUB_TESTS_FUZZ_SEED_BUILDERS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "fuzz_input.pb.h"
#include "proto/timestamp_util.h"

namespace taskhub::fuzz {

// --- client calls ------------------------------------------------------------------
inline ClientCall Start(const std::string& id, const std::string& name = "orch") {
  ClientCall c;
  c.mutable_start()->set_instanceid(id);
  c.mutable_start()->set_name(name);
  c.mutable_start()->mutable_input()->set_value("\"in\"");
  return c;
}
inline ClientCall Get(const std::string& id) {
  ClientCall c;
  c.mutable_get()->set_instanceid(id);
  c.mutable_get()->set_getinputsandoutputs(true);
  return c;
}
inline ClientCall Raise(const std::string& id, const std::string& name) {
  ClientCall c;
  c.mutable_raise()->set_instanceid(id);
  c.mutable_raise()->set_name(name);
  c.mutable_raise()->mutable_input()->set_value("true");
  return c;
}
inline ClientCall Terminate(const std::string& id, bool recursive = false) {
  ClientCall c;
  c.mutable_terminate()->set_instanceid(id);
  c.mutable_terminate()->mutable_output()->set_value("\"bye\"");
  c.mutable_terminate()->set_recursive(recursive);
  return c;
}
inline ClientCall Purge(const std::string& id, bool recursive = false) {
  ClientCall c;
  c.mutable_purge()->set_instanceid(id);
  c.mutable_purge()->set_recursive(recursive);
  return c;
}
inline ClientCall Query(const std::string& prefix, int page, const std::string& token) {
  ClientCall c;
  InstanceQuery* q = c.mutable_query()->mutable_query();
  if (!prefix.empty()) q->mutable_instanceidprefix()->set_value(prefix);
  q->set_maxinstancecount(page);
  if (!token.empty()) q->mutable_continuationtoken()->set_value(token);
  q->set_fetchinputsandoutputs(true);
  return c;
}

// --- worker flows ---------------------------------------------------------------------
inline WorkerStep Orch(std::vector<OrchestratorAction> actions) {
  WorkerStep s;
  for (auto& a : actions) *s.mutable_orchestrator()->add_actions() = a;
  return s;
}
inline WorkerStep Act(const std::string& result, bool fail = false) {
  WorkerStep s;
  if (fail) {
    s.mutable_activity()->mutable_failuredetails()->set_errortype("E");
    s.mutable_activity()->mutable_failuredetails()->set_errormessage("boom");
  } else {
    s.mutable_activity()->mutable_result()->set_value(result);
  }
  return s;
}
inline WorkerStep Client(const ClientCall& c) {
  WorkerStep s;
  *s.mutable_client() = c;
  return s;
}
inline OrchestratorAction Schedule(int id, const std::string& name) {
  OrchestratorAction a;
  a.set_id(id);
  a.mutable_scheduletask()->set_name(name);
  a.mutable_scheduletask()->mutable_input()->set_value("1");
  return a;
}
inline OrchestratorAction Complete(int id, OrchestrationStatus st, const std::string& result) {
  OrchestratorAction a;
  a.set_id(id);
  a.mutable_completeorchestration()->set_orchestrationstatus(st);
  a.mutable_completeorchestration()->mutable_result()->set_value(result);
  if (st == ORCHESTRATION_STATUS_FAILED) {
    a.mutable_completeorchestration()->mutable_failuredetails()->set_errortype("E");
  }
  return a;
}
inline OrchestratorAction Timer(int id, absl::Time at) {
  OrchestratorAction a;
  a.set_id(id);
  *a.mutable_createtimer()->mutable_fireat() = ToTimestamp(at);
  return a;
}
inline OrchestratorAction Sub(int id, const std::string& child) {
  OrchestratorAction a;
  a.set_id(id);
  a.mutable_createsuborchestration()->set_name("child");
  a.mutable_createsuborchestration()->set_instanceid(child);
  return a;
}
inline OrchestratorAction Send(int id, const std::string& to, const std::string& name) {
  OrchestratorAction a;
  a.set_id(id);
  a.mutable_sendevent()->mutable_instance()->set_instanceid(to);
  a.mutable_sendevent()->set_name(name);
  a.mutable_sendevent()->mutable_data()->set_value("1");
  return a;
}

// sendEntityMessage actions: call, signal (scheduled), lock, unlock.
inline OrchestratorAction EntityCall(int id, const std::string& entity,
                                     const std::string& request) {
  OrchestratorAction a;
  a.set_id(id);
  auto* c = a.mutable_sendentitymessage()->mutable_entityoperationcalled();
  c->set_requestid(request);
  c->set_operation("add");
  c->mutable_input()->set_value("1");
  c->mutable_parentinstanceid()->set_value("w1");
  c->mutable_targetinstanceid()->set_value(entity);
  return a;
}
inline OrchestratorAction EntitySignal(int id, const std::string& entity, absl::Time at) {
  OrchestratorAction a;
  a.set_id(id);
  auto* c = a.mutable_sendentitymessage()->mutable_entityoperationsignaled();
  c->set_requestid("sig-" + std::to_string(id));
  c->set_operation("add");
  *c->mutable_scheduledtime() = ToTimestamp(at);
  c->mutable_targetinstanceid()->set_value(entity);
  return a;
}
inline OrchestratorAction EntityLock(int id, std::vector<std::string> set, const std::string& cs) {
  OrchestratorAction a;
  a.set_id(id);
  auto* l = a.mutable_sendentitymessage()->mutable_entitylockrequested();
  l->set_criticalsectionid(cs);
  for (auto& e : set) l->add_lockset(e);
  l->mutable_parentinstanceid()->set_value("w1");
  return a;
}
inline OrchestratorAction EntityUnlock(int id, const std::string& entity, const std::string& cs) {
  OrchestratorAction a;
  a.set_id(id);
  auto* u = a.mutable_sendentitymessage()->mutable_entityunlocksent();
  u->set_criticalsectionid(cs);
  u->mutable_parentinstanceid()->set_value("w1");
  u->mutable_targetinstanceid()->set_value(entity);
  return a;
}
// An entity batch answer: `results` successes (state "7"), or a batch-level failure.
inline WorkerStep EntityResult(int results, bool batch_failure = false) {
  WorkerStep s;
  EntityBatchResult* r = s.mutable_entity();
  if (batch_failure) {
    r->mutable_failuredetails()->set_errortype("E");
  } else {
    for (int i = 0; i < results; ++i) {
      r->add_results()->mutable_success()->mutable_result()->set_value(std::to_string(i));
    }
    r->mutable_entitystate()->set_value("7");
    OperationAction* sig = r->add_actions();
    sig->mutable_sendsignal()->set_instanceid("@counter@other");
    sig->mutable_sendsignal()->set_name("add");
    OperationAction* start = r->add_actions();
    start->mutable_startneworchestration()->set_name("orch");
  }
  return s;
}

inline WorkerInput Flow(std::vector<WorkerStep> steps, const std::string& id = "w1") {
  WorkerInput in;
  in.mutable_start()->set_instanceid(id);
  in.mutable_start()->set_name("orch");
  in.mutable_start()->mutable_input()->set_value("\"in\"");
  for (auto& s : steps) *in.add_steps() = s;
  return in;
}

}  // namespace taskhub::fuzz

#endif  // TASKHUB_TESTS_FUZZ_SEED_BUILDERS_H_
