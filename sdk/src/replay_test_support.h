// Test support for the SDK's replay tests (replay_test.cc, entity_test.cc): histories
// built the way a server records them, and one replay of an episode. Test-only.
#ifndef TASKHUB_SDK_SRC_REPLAY_TEST_SUPPORT_H_
#define TASKHUB_SDK_SRC_REPLAY_TEST_SUPPORT_H_

#include <string>
#include <vector>

#include "sdk/src/sdk_util.h"
#include "taskhub/replay.h"

namespace taskhub::testing_support {

inline const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

// Builds histories the way a server records them (an action's confirmation, e.g.
// Confirm(), carries eventId = action id).
class History {
 public:
  History& Started(absl::Time t = kT0) {
    return Add(-1, t, [](HistoryEvent& e) { e.mutable_orchestratorstarted(); });
  }
  History& Execution(const std::string& name, const std::string& input = "null") {
    return Add(-1, kT0, [&](HistoryEvent& e) {
      e.mutable_executionstarted()->set_name(name);
      e.mutable_executionstarted()->mutable_input()->set_value(input);
      e.mutable_executionstarted()->mutable_orchestrationinstance()->set_instanceid("inst");
    });
  }
  History& Scheduled(int id, const std::string& name) {
    return Add(id, kT0, [&](HistoryEvent& e) { e.mutable_taskscheduled()->set_name(name); });
  }
  History& Completed(int id, const std::string& result) {
    return Add(-1, kT0, [&](HistoryEvent& e) {
      e.mutable_taskcompleted()->set_taskscheduledid(id);
      e.mutable_taskcompleted()->mutable_result()->set_value(result);
    });
  }
  History& Failed(int id, const std::string& type, const std::string& message) {
    return Add(-1, kT0, [&](HistoryEvent& e) {
      e.mutable_taskfailed()->set_taskscheduledid(id);
      e.mutable_taskfailed()->mutable_failuredetails()->set_errortype(type);
      e.mutable_taskfailed()->mutable_failuredetails()->set_errormessage(message);
    });
  }
  History& TimerCreated(int id, absl::Time at) {
    return Add(id, kT0, [&](HistoryEvent& e) {
      *e.mutable_timercreated()->mutable_fireat() = internal::ToTimestamp(at);
    });
  }
  History& TimerFired(int id, absl::Time at) {
    return Add(-1, at, [&](HistoryEvent& e) {
      e.mutable_timerfired()->set_timerid(id);
      *e.mutable_timerfired()->mutable_fireat() = internal::ToTimestamp(at);
    });
  }
  History& Raised(const std::string& name, const std::string& data) {
    return Add(-1, kT0, [&](HistoryEvent& e) {
      e.mutable_eventraised()->set_name(name);
      e.mutable_eventraised()->mutable_input()->set_value(data);
    });
  }
  History& Suspended() {
    return Add(-1, kT0, [](HistoryEvent& e) { e.mutable_executionsuspended(); });
  }
  History& Resumed() {
    return Add(-1, kT0, [](HistoryEvent& e) { e.mutable_executionresumed(); });
  }
  History& Done() {
    return Add(-1, kT0, [](HistoryEvent& e) { e.mutable_orchestratorcompleted(); });
  }
  // Confirms every action of `resp` except the completion.
  History& Confirm(const OrchestratorResponse& resp) {
    for (const auto& a : resp.actions()) {
      if (!a.has_sendentitymessage()) continue;
      const auto& m = a.sendentitymessage();
      Add(a.id(), kT0, [&](HistoryEvent& e) {
        if (m.has_entityoperationcalled())
          *e.mutable_entityoperationcalled() = m.entityoperationcalled();
        if (m.has_entityoperationsignaled())
          *e.mutable_entityoperationsignaled() = m.entityoperationsignaled();
        if (m.has_entitylockrequested()) *e.mutable_entitylockrequested() = m.entitylockrequested();
        if (m.has_entityunlocksent()) *e.mutable_entityunlocksent() = m.entityunlocksent();
      });
    }
    return *this;
  }
  History& CallCompleted(const std::string& request_id, const std::string& output) {
    return Add(-1, kT0, [&](HistoryEvent& e) {
      e.mutable_entityoperationcompleted()->set_requestid(request_id);
      e.mutable_entityoperationcompleted()->mutable_output()->set_value(output);
    });
  }
  History& CallFailed(const std::string& request_id, const std::string& type,
                      const std::string& message) {
    return Add(-1, kT0, [&](HistoryEvent& e) {
      auto* f = e.mutable_entityoperationfailed();
      f->set_requestid(request_id);
      f->mutable_failuredetails()->set_errortype(type);
      f->mutable_failuredetails()->set_errormessage(message);
    });
  }
  History& Granted(const std::string& section) {
    return Add(-1, kT0, [&](HistoryEvent& e) {
      e.mutable_entitylockgranted()->set_criticalsectionid(section);
    });
  }
  History& Then(const History& more) {
    events.insert(events.end(), more.events.begin(), more.events.end());
    return *this;
  }
  std::vector<HistoryEvent> events;

 private:
  template <typename F>
  History& Add(int id, absl::Time t, F fill) {
    HistoryEvent e;
    e.set_eventid(id);
    *e.mutable_timestamp() = internal::ToTimestamp(t);
    fill(e);
    events.push_back(std::move(e));
    return *this;
  }
};

inline OrchestratorResponse Replay(const Registry& r, const History& past, const History& fresh) {
  OrchestratorRequest req;
  req.set_instanceid("inst");
  for (const auto& e : past.events) *req.add_pastevents() = e;
  for (const auto& e : fresh.events) *req.add_newevents() = e;
  return ExecuteOrchestrator(r, req, "tok");
}

}  // namespace taskhub::testing_support

#endif  // TASKHUB_SDK_SRC_REPLAY_TEST_SUPPORT_H_
