// The replay engine: drives an orchestrator coroutine through its history.
#include "taskhub/replay.h"

#include <algorithm>
#include <set>

#include "sdk/src/replay_state.h"
#include "sdk/src/sdk_util.h"

namespace taskhub {
namespace {

using internal::ReplayState;

class Executor {
 public:
  Executor(const Registry& registry, const OrchestratorRequest& req)
      : registry_(registry), req_(&req), ctx_(&st_) {
    st_.instance_id = req.instanceid();
    st_.execution_id = req.executionid().value();
  }
  // A suspended orchestrator's frame is destroyed with the executor: its locals'
  // destructors (an EntityLock) must not emit actions then.
  ~Executor() { st_.tearing_down = true; }

  // Whether `req` extends the history this executor has processed (so only the
  // rest needs processing): same execution, longer past, same event at the seam.
  bool Extends(const OrchestratorRequest& req) const {
    return reusable_ && processed_ > 0 && req.executionid().value() == st_.execution_id &&
           static_cast<size_t>(req.pastevents_size()) >= processed_ &&
           req.pastevents(static_cast<int>(processed_) - 1).SerializeAsString() == last_event_;
  }
  bool reusable() const { return reusable_; }
  size_t processed() const { return processed_; }

  // Processes `req` (skipping the first `skip` past events, already processed).
  OrchestratorResponse Run(const OrchestratorRequest& req, const std::string& token,
                           size_t skip = 0) {
    req_ = &req;
    OrchestratorResponse resp;
    resp.set_instanceid(req.instanceid());
    resp.set_completiontoken(token);
    if (IsRewind()) {
      reusable_ = false;
      BuildRewind(&resp);
      return resp;
    }
    try {
      st_.replaying = true;
      for (int i = static_cast<int>(skip); i < req.pastevents_size(); ++i) {
        Process(req.pastevents(i));
      }
      st_.replaying = false;
      for (const auto& e : req.newevents()) Process(e);
    } catch (const NonDeterminismError&) {
      st_.fatal = std::current_exception();
    }
    processed_ = req.pastevents_size() + req.newevents_size();
    if (processed_ > 0) {
      last_event_ = (req.newevents_size() > 0 ? req.newevents(req.newevents_size() - 1)
                                              : req.pastevents(req.pastevents_size() - 1))
                        .SerializeAsString();
    }
    Finish(&resp);
    // Only an orchestration still waiting can continue in this executor.
    reusable_ = !st_.fatal && !missing_ && !st_.terminated && !st_.continue_as_new && started_ &&
                !orchestrator_.done();
    req_ = nullptr;
    return resp;
  }

 private:
  bool IsRewind() const {
    if (req_->newevents_size() != 2 || !req_->newevents(1).has_executionrewound()) return false;
    for (const auto& e : req_->pastevents()) {
      if (e.has_executionrewound() &&
          e.timestamp().SerializeAsString() == req_->newevents(1).timestamp().SerializeAsString()) {
        return false;
      }
    }
    return true;
  }

  // The history without failed results, so the replay re-runs what failed.
  void BuildRewind(OrchestratorResponse* resp) {
    std::set<int> failed;
    auto all = [&](auto fn) {
      for (const auto& e : req_->pastevents()) fn(e);
      for (const auto& e : req_->newevents()) fn(e);
    };
    all([&](const HistoryEvent& e) {
      if (e.has_taskfailed()) failed.insert(e.taskfailed().taskscheduledid());
    });
    const auto& rewound = req_->newevents(1).executionrewound();
    const std::string new_execution = internal::DeterministicUuid(
        st_.instance_id + "|rewind|" + req_->newevents(1).timestamp().SerializeAsString());
    auto* action = resp->add_actions();
    action->set_id(-1);
    auto* history = action->mutable_rewindorchestration()->mutable_newhistory();
    all([&](const HistoryEvent& e) {
      if (e.has_taskfailed() || e.has_suborchestrationinstancefailed() ||
          e.has_executioncompleted() || (e.has_taskscheduled() && failed.count(e.eventid()) > 0)) {
        return;
      }
      HistoryEvent copy = e;
      if (copy.has_executionstarted()) {
        auto* es = copy.mutable_executionstarted();
        es->mutable_orchestrationinstance()->mutable_executionid()->set_value(new_execution);
        if (rewound.has_parentexecutionid() && !rewound.parentexecutionid().value().empty() &&
            es->has_parentinstance()) {
          *es->mutable_parentinstance()->mutable_orchestrationinstance()->mutable_executionid() =
              rewound.parentexecutionid();
        }
      }
      *history->Add() = std::move(copy);
    });
  }

  static bool Suspendable(const HistoryEvent& e) {
    return e.has_taskcompleted() || e.has_taskfailed() || e.has_timerfired() ||
           e.has_suborchestrationinstancecompleted() || e.has_suborchestrationinstancefailed() ||
           e.has_eventraised() || e.has_entityoperationcompleted() ||
           e.has_entityoperationfailed() || e.has_entitylockgranted();
  }

  void Process(const HistoryEvent& e) {
    if (st_.terminated) return;
    if (st_.suspended && Suspendable(e)) {
      st_.suspended_events.push_back(e);
      return;
    }
    switch (e.eventType_case()) {
      case HistoryEvent::kOrchestratorStarted:
        st_.now = internal::FromTimestamp(e.timestamp());
        break;
      case HistoryEvent::kExecutionStarted:
        Start(e.executionstarted());
        break;
      case HistoryEvent::kTaskScheduled:
        Confirm(e.eventid(), "activity", e.taskscheduled().name());
        break;
      case HistoryEvent::kTimerCreated:
        Confirm(e.eventid(), "timer", "");
        break;
      case HistoryEvent::kSubOrchestrationInstanceCreated:
        Confirm(e.eventid(), "sub-orchestration", e.suborchestrationinstancecreated().name());
        break;
      case HistoryEvent::kEventSent:
        Confirm(e.eventid(), "event", e.eventsent().name());
        break;
      case HistoryEvent::kTaskCompleted:
        Resolve(e.taskcompleted().taskscheduledid(), e.taskcompleted().result());
        break;
      case HistoryEvent::kTaskFailed:
        Reject(e.taskfailed().taskscheduledid(), e.taskfailed().failuredetails());
        break;
      case HistoryEvent::kTimerFired:
        Resolve(e.timerfired().timerid(), google::protobuf::StringValue());
        break;
      case HistoryEvent::kSubOrchestrationInstanceCompleted:
        Resolve(e.suborchestrationinstancecompleted().taskscheduledid(),
                e.suborchestrationinstancecompleted().result());
        break;
      case HistoryEvent::kSubOrchestrationInstanceFailed:
        Reject(e.suborchestrationinstancefailed().taskscheduledid(),
               e.suborchestrationinstancefailed().failuredetails());
        break;
      case HistoryEvent::kEventRaised:
        Deliver(e);
        break;
      case HistoryEvent::kEntityOperationCalled:
        ConfirmEntityCall(e);
        break;
      case HistoryEvent::kEntityOperationSignaled:
        Confirm(e.eventid(), "entity signal", e.entityoperationsignaled().operation());
        break;
      case HistoryEvent::kEntityLockRequested:
        ConfirmLock(e);
        break;
      case HistoryEvent::kEntityUnlockSent:
        ConfirmUnlocks(e.entityunlocksent().criticalsectionid());
        break;
      case HistoryEvent::kEntityLockGranted:
        LockGranted(e.entitylockgranted().criticalsectionid());
        break;
      case HistoryEvent::kEntityOperationCompleted:
        EntityResult(e.entityoperationcompleted().requestid(),
                     &e.entityoperationcompleted().output(), nullptr);
        break;
      case HistoryEvent::kEntityOperationFailed:
        EntityResult(e.entityoperationfailed().requestid(), nullptr,
                     &e.entityoperationfailed().failuredetails());
        break;
      case HistoryEvent::kExecutionSuspended:
        st_.suspended = true;
        break;
      case HistoryEvent::kExecutionResumed: {
        st_.suspended = false;
        auto buffered = std::move(st_.suspended_events);
        st_.suspended_events.clear();
        for (const auto& b : buffered) Process(b);
        break;
      }
      case HistoryEvent::kExecutionTerminated:
        st_.terminated = true;
        if (e.executionterminated().has_input()) {
          st_.terminate_output = e.executionterminated().input().value();
        }
        break;
      default:
        break;  // orchestratorCompleted, executionCompleted, genericEvent, ...
    }
  }

  void Start(const ExecutionStartedEvent& es) {
    // Only the first executionStarted of a history starts the orchestrator. A repeated
    // one (no server sends it) is ignored: starting again would destroy the running
    // coroutine while its pending tasks still point at its frame (found by
    // fuzz_sdk_replay: a later timerFired resumed the freed frame).
    if (started_ || missing_) return;
    st_.name = es.name();
    if (es.has_input()) st_.input = es.input().value();
    if (es.orchestrationinstance().has_executionid()) {
      st_.execution_id = es.orchestrationinstance().executionid().value();
    }
    const OrchestratorFn* fn = registry_.FindOrchestrator(es.name());
    if (fn == nullptr) {
      missing_ = true;
      return;
    }
    orchestrator_ = (*fn)(ctx_);
    started_ = true;
    orchestrator_.Start();
  }

  void Confirm(int id, const std::string& kind, const std::string& name) {
    auto it = st_.pending.find(id);
    const std::string seen = kind + (name.empty() ? "" : " '" + name + "'");
    if (it == st_.pending.end()) {
      throw NonDeterminismError("the history has " + seen + " with id " + std::to_string(id) +
                                ", but the orchestrator code scheduled nothing with that id: " +
                                "the code changed since this orchestration started");
    }
    if (it->second.kind != kind || it->second.name != name) {
      throw NonDeterminismError("the history has " + seen + " with id " + std::to_string(id) +
                                ", but the orchestrator code now schedules " + it->second.kind +
                                (it->second.name.empty() ? "" : " '" + it->second.name + "'") +
                                " there: the code changed since this orchestration started");
    }
    st_.pending.erase(it);
  }

  // The history confirms a call; its request id (the one the entity answers with)
  // maps to the awaiting task.
  void ConfirmEntityCall(const HistoryEvent& e) {
    const auto& called = e.entityoperationcalled();
    auto it = st_.pending.find(e.eventid());
    std::string scheduled_request;
    if (it != st_.pending.end() && it->second.action.has_sendentitymessage()) {
      scheduled_request = it->second.action.sendentitymessage().entityoperationcalled().requestid();
    }
    Confirm(e.eventid(), "entity call", called.operation());
    if (!called.requestid().empty() && called.requestid() != scheduled_request) {
      auto call = st_.entity_calls.find(scheduled_request);
      if (call != st_.entity_calls.end()) {
        auto moved = call->second;
        st_.entity_calls.erase(call);
        st_.entity_calls[called.requestid()] = std::move(moved);
      }
    }
  }

  // The history confirms a lock request. Its critical section id is the one the
  // grant will carry (the same as scheduled, unless the history says otherwise).
  void ConfirmLock(const HistoryEvent& e) {
    const std::string& recorded = e.entitylockrequested().criticalsectionid();
    auto it = st_.pending.find(e.eventid());
    std::string scheduled;
    if (it != st_.pending.end() && it->second.action.has_sendentitymessage()) {
      scheduled = it->second.action.sendentitymessage().entitylockrequested().criticalsectionid();
    }
    Confirm(e.eventid(), "entity lock", "");
    if (scheduled != recorded) {
      st_.lock_requests.erase(scheduled);
      if (st_.critical_section == scheduled) st_.critical_section = recorded;
    }
    st_.lock_requests[recorded] = e.eventid();
  }

  // An unlock in the history: every unlock of that critical section was sent.
  void ConfirmUnlocks(const std::string& section) {
    for (auto it = st_.pending.begin(); it != st_.pending.end();) {
      const auto& a = it->second.action;
      if (a.has_sendentitymessage() && a.sendentitymessage().has_entityunlocksent() &&
          a.sendentitymessage().entityunlocksent().criticalsectionid() == section) {
        it = st_.pending.erase(it);
      } else {
        ++it;
      }
    }
  }

  void LockGranted(const std::string& section) {
    auto req = st_.lock_requests.find(section);
    if (req == st_.lock_requests.end()) return;  // not ours (or granted twice)
    const int id = req->second;
    st_.lock_requests.erase(req);
    if (st_.critical_section == section) {
      st_.available = st_.locks;
      st_.lock_pending = false;
    }
    google::protobuf::StringValue granted;  // the lock task completes with the section id
    granted.set_value(nlohmann::json(section).dump());
    Resolve(id, granted);
  }

  void EntityResult(const std::string& request_id, const google::protobuf::StringValue* output,
                    const TaskFailureDetails* failure) {
    auto it = st_.entity_calls.find(request_id);
    if (it == st_.entity_calls.end()) return;  // nobody waits for it
    const internal::ReplayState::EntityCall call = it->second;
    st_.entity_calls.erase(it);
    // The entity may be called again in the critical section once it answered.
    if (st_.critical_section &&
        std::find(st_.locks.begin(), st_.locks.end(), call.entity) != st_.locks.end()) {
      st_.available.push_back(call.entity);
    }
    if (output != nullptr) {
      Resolve(call.id, *output);
      return;
    }
    auto open = st_.open.find(call.id);
    if (open == st_.open.end()) return;
    auto state = open->second.state;
    st_.open.erase(open);
    state->Fail(std::make_exception_ptr(EntityOperationFailedError(
        call.entity, call.operation, internal::FailureFromProto(*failure))));
  }

  void Resolve(int id, const google::protobuf::StringValue& result) {
    auto it = st_.open.find(id);
    if (it == st_.open.end()) return;  // nobody waits (e.g. a timer that lost a race)
    auto state = it->second.state;
    const std::string name = it->second.name;
    st_.open.erase(it);
    nlohmann::json value;
    try {
      value = internal::ParseJson(result);
    } catch (const std::exception& e) {
      state->Fail(std::make_exception_ptr(
          TaskFailedError(name, TaskFailure{"InvalidJson", e.what(), {}, {}, true})));
      return;
    }
    state->Complete(std::move(value));
  }

  void Reject(int id, const TaskFailureDetails& details) {
    auto it = st_.open.find(id);
    if (it == st_.open.end()) return;
    auto state = it->second.state;
    const std::string name = it->second.name;
    st_.open.erase(it);
    state->Fail(
        std::make_exception_ptr(TaskFailedError(name, internal::FailureFromProto(details))));
  }

  void Deliver(const HistoryEvent& e) {
    const std::string key = internal::Lower(e.eventraised().name());
    auto it = st_.waiters.find(key);
    if (it != st_.waiters.end() && !it->second.empty()) {
      auto waiter = it->second.front();
      it->second.pop_front();
      nlohmann::json value;
      try {
        value = internal::ParseJson(e.eventraised().input());
      } catch (const std::exception& ex) {
        waiter->Fail(std::make_exception_ptr(std::runtime_error(
            "event '" + e.eventraised().name() + "' carries invalid JSON: " + ex.what())));
        return;
      }
      waiter->Complete(std::move(value));
      return;
    }
    st_.buffered_events.push_back(e);
  }

  void Finish(OrchestratorResponse* resp) {
    if (st_.custom_status && *st_.custom_status) {
      resp->mutable_customstatus()->set_value(**st_.custom_status);
    }
    auto complete = [&](OrchestrationStatus status) {
      auto* a = resp->add_actions();
      a->set_id(st_.NextId());
      auto* c = a->mutable_completeorchestration();
      c->set_orchestrationstatus(status);
      return c;
    };
    // `keep_entity_messages`: the orchestrator failed by throwing; the entity
    // messages it sent (signals, unlocks) still go out, as the Python SDK does.
    auto fail = [&](const TaskFailure& f, bool keep_entity_messages = false) {
      resp->clear_actions();
      if (keep_entity_messages) {
        for (auto& [id, p] : st_.pending) {
          if (p.action.has_sendentitymessage() &&
              !p.action.sendentitymessage().has_entityoperationcalled() &&
              !p.action.sendentitymessage().has_entitylockrequested()) {
            *resp->add_actions() = p.action;
          }
        }
      }
      internal::FailureToProto(f, complete(ORCHESTRATION_STATUS_FAILED)->mutable_failuredetails());
    };
    if (st_.fatal) {
      try {
        std::rethrow_exception(st_.fatal);
      } catch (const NonDeterminismError& e) {
        fail(TaskFailure{"NonDeterminismError", e.what(), {}, {}, true});
      }
      return;
    }
    if (missing_) {
      fail(TaskFailure{"OrchestratorNotFound",
                       "no orchestrator named '" + st_.name + "' is registered on this worker",
                       {},
                       {},
                       true});
      return;
    }
    if (st_.terminated) {
      resp->clear_actions();
      auto* c = complete(ORCHESTRATION_STATUS_TERMINATED);
      if (st_.terminate_output) c->mutable_result()->set_value(*st_.terminate_output);
      return;
    }
    if (started_ && orchestrator_.done() && st_.critical_section) {
      // Finished while still holding locks (the lock outlived the orchestrator's
      // scopes): release them with the completion.
      ctx_.ReleaseLocks(*st_.critical_section);
    }
    for (auto& [id, p] : st_.pending) *resp->add_actions() = p.action;
    // `co_await ctx.ContinueAsNew(...)` leaves the orchestrator suspended for good.
    if (!started_ || (!orchestrator_.done() && !st_.continue_as_new)) return;
    nlohmann::json result;
    try {
      if (orchestrator_.done()) result = orchestrator_.Result();
    } catch (...) {
      fail(internal::CurrentExceptionFailure(), /*keep_entity_messages=*/true);
      return;
    }
    if (st_.continue_as_new) {
      auto* c = complete(ORCHESTRATION_STATUS_CONTINUED_AS_NEW);
      if (st_.continue_as_new_input) c->mutable_result()->set_value(*st_.continue_as_new_input);
      if (st_.keep_events) {
        for (const auto& e : st_.buffered_events) *c->add_carryoverevents() = e;
      }
      return;
    }
    auto* c = complete(ORCHESTRATION_STATUS_COMPLETED);
    if (!result.is_null()) c->mutable_result()->set_value(result.dump());
  }

  const Registry& registry_;
  const OrchestratorRequest* req_;
  size_t processed_ = 0;    // events processed so far (past + new)
  std::string last_event_;  // the last of them, serialized
  bool reusable_ = true;
  ReplayState st_;
  OrchestrationContext ctx_;
  Task<nlohmann::json> orchestrator_;
  bool started_ = false;
  bool missing_ = false;
};

}  // namespace

OrchestratorResponse ExecuteOrchestrator(const Registry& registry,
                                         const OrchestratorRequest& request,
                                         const std::string& completion_token) {
  Executor executor(registry, request);
  return executor.Run(request, completion_token);
}

struct OrchestrationSession::State {
  std::unique_ptr<Executor> executor;
};

OrchestrationSession::OrchestrationSession(const Registry& registry)
    : registry_(registry), state_(std::make_unique<State>()) {}
OrchestrationSession::~OrchestrationSession() = default;

OrchestratorResponse OrchestrationSession::Execute(const OrchestratorRequest& request,
                                                   const std::string& completion_token) {
  size_t skip = 0;
  if (state_->executor && state_->executor->Extends(request)) {
    skip = state_->executor->processed();
  } else {
    state_->executor = std::make_unique<Executor>(registry_, request);
  }
  return state_->executor->Run(request, completion_token, skip);
}

bool OrchestrationSession::reusable() const {
  return state_->executor && state_->executor->reusable();
}

}  // namespace taskhub
