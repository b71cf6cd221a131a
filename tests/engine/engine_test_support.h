// Helpers for engine tests without gRPC: a recording WorkItemSink, blocking
// wrappers around the engine's callback API, and drivers for an engine in manual
// scheduling mode (EngineOptions::manual_scheduling). Test-only.
#ifndef TASKHUB_TESTS_ENGINE_ENGINE_TEST_SUPPORT_H_
#define TASKHUB_TESTS_ENGINE_ENGINE_TEST_SUPPORT_H_

#include <functional>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "server/engine/engine.h"
#include "tests/engine/wire_requests.h"

namespace taskhub::engine::testing {

// Records work items (health pings dropped); tests wait for them. Thread-safe.
class RecordingSink : public WorkItemSink {
 public:
  // `wait`: how long Next() waits by default.
  explicit RecordingSink(absl::Duration wait = absl::Seconds(10)) : wait_(wait) {}
  void Send(const WorkItem& item) override {
    absl::MutexLock l(&mu_);
    if (item.has_healthping()) {
      ++pings_;
      return;
    }
    items_.push_back(item);
  }
  int pings() {
    absl::MutexLock l(&mu_);
    return pings_;
  }
  void Close() override {}
  // Waits up to `timeout` (default: the constructor's `wait`) for the next work item.
  std::optional<WorkItem> Next(std::optional<absl::Duration> timeout = std::nullopt) {
    absl::MutexLock l(&mu_);
    auto ready = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return items_.size() > taken_; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&ready), timeout.value_or(wait_))) {
      return std::nullopt;
    }
    return items_[taken_++];
  }

 private:
  const absl::Duration wait_;
  absl::Mutex mu_;
  std::vector<WorkItem> items_ ABSL_GUARDED_BY(mu_);
  size_t taken_ ABSL_GUARDED_BY(mu_) = 0;
  int pings_ ABSL_GUARDED_BY(mu_) = 0;
};

template <typename T>
absl::StatusOr<T> AwaitOr(std::function<void(DoneWith<T>)> call) {
  std::promise<absl::StatusOr<T>> p;
  call([&](absl::StatusOr<T> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

inline absl::Status AwaitStatus(std::function<void(Done)> call) {
  std::promise<absl::Status> p;
  call([&](absl::Status s) { p.set_value(s); });
  return p.get_future().get();
}

inline OrchestratorAction ScheduleTask(int id, const std::string& name = "act") {
  OrchestratorAction a;
  a.set_id(id);
  a.mutable_scheduletask()->set_name(name);
  return a;
}

inline OrchestratorAction CompleteAction(
    int id, OrchestrationStatus status = ORCHESTRATION_STATUS_COMPLETED) {
  OrchestratorAction a;
  a.set_id(id);
  a.mutable_completeorchestration()->set_orchestrationstatus(status);
  return a;
}

// completeOrchestration(COMPLETED) with `result`.
inline OrchestratorAction CompleteAction(int id, const std::string& result) {
  OrchestratorAction a = CompleteAction(id);
  a.mutable_completeorchestration()->mutable_result()->set_value(result);
  return a;
}

// The response completing episode `wi` with `actions` (and its completion token).
inline OrchestratorResponse EpisodeResponse(const WorkItem& wi,
                                            std::vector<OrchestratorAction> actions) {
  OrchestratorResponse resp;
  resp.set_instanceid(wi.orchestratorrequest().instanceid());
  resp.set_completiontoken(wi.completiontoken());
  for (auto& a : actions) *resp.add_actions() = std::move(a);
  return resp;
}

// Completes the episode `wi` with `actions` (threaded engine: waits for the reply).
inline absl::Status CompleteEpisode(Engine& engine, const WorkItem& wi,
                                    std::vector<OrchestratorAction> actions) {
  const OrchestratorResponse resp = EpisodeResponse(wi, std::move(actions));
  return AwaitStatus([&](Done d) { wire::CompleteOrchestration(engine, resp, std::move(d)); });
}

// --- Manual scheduling: everything runs on the test's thread, from these calls. ---

// Runs queued commits, queued reads and due timers until none is left; returns how
// many steps ran.
inline size_t Drain(Engine& engine) {
  size_t steps = 0;
  while (engine.RunCommit() || engine.RunRead() || engine.RunDueTimers() > 0) ++steps;
  return steps;
}

// Makes the call, then Drain()s; what the callback got, or INTERNAL if it never ran.
template <typename T>
absl::StatusOr<T> DriveOr(Engine& engine, std::function<void(DoneWith<T>)> call) {
  std::optional<absl::StatusOr<T>> got;
  call([&](absl::StatusOr<T> r) { got = std::move(r); });
  Drain(engine);
  if (!got) return absl::InternalError("the callback did not run");
  return std::move(*got);
}

inline absl::Status DriveStatus(Engine& engine, std::function<void(Done)> call) {
  std::optional<absl::Status> got;
  call([&](absl::Status s) { got = s; });
  Drain(engine);
  if (!got) return absl::InternalError("the callback did not run");
  return *got;
}

// Completes the episode `wi` with `actions` (manual scheduling: drives the engine).
inline absl::Status DriveEpisode(Engine& engine, const WorkItem& wi,
                                 std::vector<OrchestratorAction> actions) {
  const OrchestratorResponse resp = EpisodeResponse(wi, std::move(actions));
  return DriveStatus(engine,
                     [&](Done d) { wire::CompleteOrchestration(engine, resp, std::move(d)); });
}

}  // namespace taskhub::engine::testing

#endif  // TASKHUB_TESTS_ENGINE_ENGINE_TEST_SUPPORT_H_
