// Fixture for the partition tests (engine_partition_test.cc,
// engine_partition_crash_test.cc): an engine with EngineOptions::partitions > 1 in
// manual scheduling mode over a MemoryBackend, the FNV-1a routing recomputed on the
// test side (to choose ids in the same or in different partitions), and a scripted
// worker. Test-only; single-threaded.
#ifndef TASKHUB_TESTS_ENGINE_ENGINE_PARTITION_SUPPORT_H_
#define TASKHUB_TESTS_ENGINE_ENGINE_PARTITION_SUPPORT_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/core/history.h"
#include "server/engine/engine.h"
#include "tests/engine/wire_requests.h"
#include "server/storage/memory/memory_backend.h"
#include "tests/engine/engine_test_support.h"

namespace taskhub::engine::testing {

// The engine's routing (Engine::PartitionOf), recomputed: FNV-1a of the id mod n.
inline int PartitionIndex(const std::string& id, int n) {
  if (n <= 1) return 0;
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : id) h = (h ^ c) * 1099511628211ull;
  return static_cast<int>(h % static_cast<uint64_t>(n));
}

// The first id "<prefix><k>" (k = 0, 1, ...) in partition `p` of `n`.
inline std::string IdIn(int p, const std::string& prefix, int n = 4) {
  for (int k = 0;; ++k) {
    std::string id = absl::StrCat(prefix, k);
    if (PartitionIndex(id, n) == p) return id;
  }
}

inline std::string EventType(const HistoryEvent& ev) {
  const auto* f = ev.GetDescriptor()->FindFieldByNumber(ev.eventType_case());
  return f == nullptr ? "none" : f->name();
}

inline std::vector<std::string> Types(const std::vector<HistoryEvent>& h) {
  std::vector<std::string> out;
  for (const auto& e : h) out.push_back(EventType(e));
  return out;
}

inline int Count(const std::vector<HistoryEvent>& h, const std::string& type) {
  const std::vector<std::string> types = Types(h);
  return static_cast<int>(std::count(types.begin(), types.end(), type));
}

inline OrchestratorAction SubOrchestration(int id, const std::string& child,
                                           const std::string& name = "child",
                                           const std::string& input = "") {
  OrchestratorAction a;
  a.set_id(id);
  auto* c = a.mutable_createsuborchestration();
  c->set_instanceid(child);
  c->set_name(name);
  if (!input.empty()) c->mutable_input()->set_value(input);
  return a;
}

inline OrchestratorAction SendEvent(int id, const std::string& target, const std::string& name,
                                    const std::string& data = "") {
  OrchestratorAction a;
  a.set_id(id);
  auto* s = a.mutable_sendevent();
  s->mutable_instance()->set_instanceid(target);
  s->set_name(name);
  if (!data.empty()) s->mutable_data()->set_value(data);
  return a;
}

inline OrchestratorAction TerminateAction(int id, const std::string& target, bool recurse) {
  OrchestratorAction a;
  a.set_id(id);
  a.mutable_terminateorchestration()->set_instanceid(target);
  a.mutable_terminateorchestration()->set_recurse(recurse);
  return a;
}

inline OrchestratorAction FailAction(int id, const std::string& message = "boom") {
  OrchestratorAction a = CompleteAction(id, ORCHESTRATION_STATUS_FAILED);
  a.mutable_completeorchestration()->mutable_failuredetails()->set_errortype("Boom");
  a.mutable_completeorchestration()->mutable_failuredetails()->set_errormessage(message);
  return a;
}

// Every event a work item shows (past then new).
inline std::vector<HistoryEvent> AllEvents(const WorkItem& wi) {
  std::vector<HistoryEvent> out(wi.orchestratorrequest().pastevents().begin(),
                                wi.orchestratorrequest().pastevents().end());
  out.insert(out.end(), wi.orchestratorrequest().newevents().begin(),
             wi.orchestratorrequest().newevents().end());
  return out;
}

inline std::vector<std::string> NewTypes(const WorkItem& wi) {
  return Types(
      {wi.orchestratorrequest().newevents().begin(), wi.orchestratorrequest().newevents().end()});
}

class PartitionTest : public ::testing::Test {
 protected:
  static constexpr int kN = 4;
  void TearDown() override { Close(); }

  void Open(int partitions = kN) {
    EngineOptions opts = options_;
    opts.manual_scheduling = true;
    opts.partitions = partitions;
    opts.health_ping_interval = absl::Hours(24 * 365);  // no pings in NextTimer()
    auto e = Engine::Create(&memory_, &clock_, IdGenerator::Random(), opts);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(*e);
    stream_ = wire::AddStream(*engine_, &sink_, GetWorkItemsRequest());
    Drain(*engine_);
  }
  void Close() {
    if (!engine_) return;
    engine_->RemoveStream(stream_);
    engine_->Stop();
    engine_.reset();
    held_.clear();
  }
  // Crash: drops everything not committed, then recovers from the store.
  void CrashAndRecover(int partitions = kN) {
    engine_->CrashForTesting();
    engine_.reset();
    held_.clear();
    while (sink_.Next(absl::ZeroDuration())) {
    }
    Open(partitions);
  }

  absl::StatusOr<std::string> Start(const std::string& id, const std::string& name = "orch") {
    CreateInstanceRequest req;
    req.set_instanceid(id);
    req.set_name(name);
    return DriveOr<std::string>(*engine_,
                                [&](auto d) { wire::StartInstance(*engine_, req, std::move(d)); });
  }
  // Completes the episode and drains.
  absl::Status Complete(const WorkItem& wi, std::vector<OrchestratorAction> actions) {
    return DriveStatus(*engine_, [&](Done d) {
      wire::CompleteOrchestration(*engine_, Response(wi, std::move(actions)), std::move(d));
    });
  }
  static OrchestratorResponse Response(const WorkItem& wi,
                                       std::vector<OrchestratorAction> actions) {
    OrchestratorResponse resp;
    resp.set_instanceid(wi.orchestratorrequest().instanceid());
    resp.set_completiontoken(wi.completiontoken());
    for (auto& a : actions) *resp.add_actions() = std::move(a);
    return resp;
  }
  // The next orchestration work item sent for `id` (others sent meanwhile are kept).
  std::optional<WorkItem> Take(const std::string& id) {
    while (auto wi = sink_.Next(absl::ZeroDuration())) held_.push_back(*wi);
    for (auto it = held_.begin(); it != held_.end(); ++it) {
      if (it->has_orchestratorrequest() && it->orchestratorrequest().instanceid() == id) {
        WorkItem wi = *it;
        held_.erase(it);
        return wi;
      }
    }
    return std::nullopt;
  }
  // Every work item sent and not taken yet.
  std::vector<WorkItem> TakeAll() {
    while (auto wi = sink_.Next(absl::ZeroDuration())) held_.push_back(*wi);
    std::vector<WorkItem> out = std::move(held_);
    held_.clear();
    return out;
  }
  OrchestrationState Get(const std::string& id) {
    auto r = DriveOr<GetInstanceResponse>(
        *engine_, [&](auto d) { engine_->GetInstance(id, true, std::move(d)); });
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->orchestrationstate() : OrchestrationState();
  }
  bool Exists(const std::string& id) {
    auto r = DriveOr<GetInstanceResponse>(
        *engine_, [&](auto d) { engine_->GetInstance(id, false, std::move(d)); });
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && r->exists();
  }
  OrchestrationStatus StatusOf(const std::string& id) { return Get(id).orchestrationstatus(); }
  std::vector<HistoryEvent> History(const std::string& id) {
    auto r = DriveOr<std::vector<HistoryEvent>>(
        *engine_, [&](auto d) { engine_->GetHistory(id, std::move(d)); });
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<HistoryEvent>();
  }
  // Starts `id` and answers its first episode with `actions`.
  void StartAndRun(const std::string& id, std::vector<OrchestratorAction> actions,
                   const std::string& name = "orch") {
    ASSERT_TRUE(Start(id, name).ok());
    auto wi = Take(id);
    ASSERT_TRUE(wi) << "no first episode for " << id;
    ASSERT_TRUE(Complete(*wi, std::move(actions)).ok());
  }

  EngineOptions options_;  // what Open() starts from (tests may change it first)
  FakeClock clock_;
  storage::MemoryBackend memory_;
  RecordingSink sink_;  // outlives the engine
  uint64_t stream_ = 0;
  std::unique_ptr<Engine> engine_;
  std::vector<WorkItem> held_;
};

}  // namespace taskhub::engine::testing

#endif  // TASKHUB_TESTS_ENGINE_ENGINE_PARTITION_SUPPORT_H_
