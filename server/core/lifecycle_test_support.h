// Builders shared by the lifecycle tests.
#ifndef TASKHUB_SERVER_CORE_LIFECYCLE_TEST_SUPPORT_H_
#define TASKHUB_SERVER_CORE_LIFECYCLE_TEST_SUPPORT_H_

#include <deque>
#include <string>
#include <vector>

#include "server/common/ids.h"
#include "server/core/history.h"
#include "server/core/lifecycle.h"

namespace taskhub::core::testing {

inline const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

// A status for "no such instance" in tables.
inline constexpr int kNone = -1;

inline store::InstanceRecord Rec(const std::string& id, OrchestrationStatus status,
                                 const std::string& exec = "e1") {
  store::InstanceRecord r;
  r.set_instance_id(id);
  r.set_name("orch");
  r.set_status(status);
  r.set_execution_id(exec);
  *r.mutable_created_time() = ToProto(kNow - absl::Hours(1));
  *r.mutable_last_updated_time() = r.created_time();
  if (IsTerminal(status)) *r.mutable_completed_time() = r.created_time();
  if (status == ORCHESTRATION_STATUS_FAILED) {
    r.mutable_failure_details()->set_errormessage("boom");
  }
  return r;
}

inline HistoryEvent Ev(HistoryEvent::EventTypeCase kind, int32_t id = -1) {
  HistoryEvent e = NewEvent(kNow - absl::Minutes(1), id);
  const auto* field = HistoryEvent::descriptor()->FindFieldByNumber(kind);
  e.GetReflection()->MutableMessage(&e, field);
  return e;
}

inline std::vector<HistoryEvent::EventTypeCase> Kinds(const std::vector<HistoryEvent>& events) {
  std::vector<HistoryEvent::EventTypeCase> out;
  for (const auto& e : events) out.push_back(e.eventType_case());
  return out;
}

// Owns the record, history and inbox an InstanceState points at.
struct Fixture {
  std::optional<store::InstanceRecord> record;
  std::vector<HistoryEvent> history;
  std::deque<HistoryEvent> inbox;
  SequentialIdGenerator gen{"gen"};

  std::string NewId() { return gen.NewId(); }
  InstanceState State() const {
    InstanceState s;
    s.record = record ? &*record : nullptr;
    s.history = &history;
    for (const auto& e : inbox) s.inbox.push_back(&e);
    return s;
  }
};

}  // namespace taskhub::core::testing

#endif  // TASKHUB_SERVER_CORE_LIFECYCLE_TEST_SUPPORT_H_
