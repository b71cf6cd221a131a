// The fixture of the hostile-input engine tests: an engine over the memory backend
// (or a fresh RocksDB store) on a FakeClock (no test here waits for time to pass; the
// fake clock keeps a long purge from meeting its time budget on a slow machine),
// blocking helpers, and a way to write finished instances straight into the store.
// Test-only; not thread-safe.
#ifndef TASKHUB_TESTS_ENGINE_ENGINE_HOSTILE_FIXTURE_H_
#define TASKHUB_TESTS_ENGINE_ENGINE_HOSTILE_FIXTURE_H_

#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/core/history.h"
#include "server/storage/memory/memory_backend.h"
#include "server/storage/rocksdb/rocksdb_backend.h"
#include "tests/engine/engine_test_support.h"

namespace taskhub::engine::testing {

class EngineHostileTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void TearDown() override {
    if (engine_) engine_->Stop();
    engine_.reset();
    rocks_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  storage::Backend* backend() { return rocks_ ? rocks_.get() : &memory_; }
  // Reopens the engine on the same backend; `rocks` switches to a fresh RocksDB store.
  void Open(EngineOptions opts = {}, bool rocks = false) {
    if (engine_) engine_->Stop();
    engine_.reset();
    if (rocks && !rocks_) {
      char tmpl[] = "/tmp/engine_hostile_XXXXXX";
      ASSERT_NE(mkdtemp(tmpl), nullptr);
      dir_ = tmpl;
      storage::RocksDbOptions ro;
      ro.path = dir_;
      ro.sync = false;
      auto b = storage::OpenRocksDbBackend(ro);
      ASSERT_TRUE(b.ok()) << b.status();
      rocks_ = std::move(*b);
    }
    opts.abandon_delay = absl::Milliseconds(50);
    opts_ = opts;
    auto e = Engine::Create(backend(), &clock_, IdGenerator::Random(), opts);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(*e);
  }
  absl::StatusOr<std::string> Start(const CreateInstanceRequest& req) {
    return AwaitOr<std::string>([&](auto d) { wire::StartInstance(*engine_, req, std::move(d)); });
  }
  absl::StatusOr<std::string> Start(const std::string& id, const std::string& name = "orch") {
    CreateInstanceRequest req;
    req.set_instanceid(id);
    req.set_name(name);
    return Start(req);
  }
  absl::Status Complete(const WorkItem& wi, std::vector<OrchestratorAction> actions) {
    return CompleteEpisode(*engine_, wi, std::move(actions));
  }
  GetInstanceResponse Get(const std::string& id) {
    auto r = AwaitOr<GetInstanceResponse>(
        [&](auto d) { engine_->GetInstance(id, true, std::move(d)); });
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : GetInstanceResponse();
  }
  OrchestrationStatus StatusOf(const std::string& id) {
    return Get(id).orchestrationstate().orchestrationstatus();
  }
  // Writes a terminal instance straight into the backend (recovered by Open()).
  void PutTerminal(const std::string& id, const std::string& parent,
                   const std::vector<std::string>& children, int64_t created_s = 1000) {
    store::InstanceRecord rec;
    rec.set_instance_id(id);
    rec.set_name("orch");
    rec.set_execution_id("e");
    rec.set_status(ORCHESTRATION_STATUS_COMPLETED);
    rec.mutable_created_time()->set_seconds(created_s);
    rec.mutable_completed_time()->set_seconds(created_s + 1);
    if (!parent.empty()) {
      rec.mutable_parent()->mutable_orchestrationinstance()->set_instanceid(parent);
    }
    std::vector<HistoryEvent> history;
    for (size_t i = 0; i < children.size(); ++i) {
      HistoryEvent e = core::NewEvent(absl::FromUnixSeconds(created_s), static_cast<int>(i));
      e.mutable_suborchestrationinstancecreated()->set_instanceid(children[i]);
      e.mutable_suborchestrationinstancecreated()->set_name("orch");
      history.push_back(std::move(e));
    }
    rec.set_history_size(history.size());
    storage::WriteSet ws;
    ws.ops.push_back(storage::PutInstance{rec, std::nullopt});
    if (!history.empty()) ws.ops.push_back(storage::AppendHistory{id, 0, std::move(history)});
    pending_.ops.insert(pending_.ops.end(), std::make_move_iterator(ws.ops.begin()),
                        std::make_move_iterator(ws.ops.end()));
    if (pending_.ops.size() > 2000) FlushPut();
  }
  void FlushPut() {
    if (pending_.ops.empty()) return;
    ASSERT_TRUE(backend()->Commit(pending_).ok());
    pending_ = storage::WriteSet();
  }

  FakeClock clock_;     // outlives the engine
  RecordingSink sink_;  // outlives the engine (TearDown stops it first)
  storage::MemoryBackend memory_;
  std::unique_ptr<storage::Backend> rocks_;
  std::string dir_;
  EngineOptions opts_;
  storage::WriteSet pending_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace taskhub::engine::testing

#endif  // TASKHUB_TESTS_ENGINE_ENGINE_HOSTILE_FIXTURE_H_
