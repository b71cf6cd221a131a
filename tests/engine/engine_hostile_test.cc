// Hostile input against the engine (memory backend, no gRPC): crafted tokens, ids,
// oversized fields and responses, stale or foreign completions, deep trees. Each
// test reproduces a crash or corruption that existed before its fix.
#include <atomic>
#include <filesystem>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/core/history.h"
#include "server/storage/memory/memory_backend.h"
#include "server/storage/rocksdb/rocksdb_backend.h"
#include "tests/engine/engine_test_support.h"

namespace taskhub::engine {
namespace {

using testing::AwaitOr;
using testing::AwaitStatus;
using testing::RecordingSink;

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
    auto e = Engine::Create(backend(), Clock::Real(), IdGenerator::Random(), opts);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(*e);
  }
  absl::StatusOr<std::string> Start(const CreateInstanceRequest& req) {
    return AwaitOr<std::string>([&](auto d) { engine_->StartInstance(req, std::move(d)); });
  }
  absl::StatusOr<std::string> Start(const std::string& id, const std::string& name = "orch") {
    CreateInstanceRequest req;
    req.set_instanceid(id);
    req.set_name(name);
    return Start(req);
  }
  absl::Status Complete(const WorkItem& wi, std::vector<OrchestratorAction> actions) {
    OrchestratorResponse resp;
    resp.set_instanceid(wi.orchestratorrequest().instanceid());
    resp.set_completiontoken(wi.completiontoken());
    for (auto& a : actions) *resp.add_actions() = a;
    return AwaitStatus([&](Done d) { engine_->CompleteOrchestration(resp, std::move(d)); });
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

  RecordingSink sink_;  // outlives the engine (TearDown stops it first)
  storage::MemoryBackend memory_;
  std::unique_ptr<storage::Backend> rocks_;
  std::string dir_;
  EngineOptions opts_;
  storage::WriteSet pending_;
  std::unique_ptr<Engine> engine_;
};

OrchestratorAction CompleteAction(int id,
                                  OrchestrationStatus status = ORCHESTRATION_STATUS_COMPLETED) {
  OrchestratorAction a;
  a.set_id(id);
  a.mutable_completeorchestration()->set_orchestrationstatus(status);
  return a;
}

OrchestratorAction ScheduleTask(int id, const std::string& name = "act") {
  OrchestratorAction a;
  a.set_id(id);
  a.mutable_scheduletask()->set_name(name);
  return a;
}

// Before: std::stoll threw std::out_of_range on a 20-digit number and the uncaught
// exception aborted the daemon.
TEST_F(EngineHostileTest, CraftedContinuationTokensGetInvalidArgument) {
  ASSERT_TRUE(Start("t1").ok());
  for (const std::string token :
       {"c99999999999999999999999/x", "c-99999999999999999999999/x", "c-/x", "c--1/x",
        "c1-2/x", "c/x", "cx", "zzz", "c123"}) {
    InstanceQuery q;
    q.mutable_continuationtoken()->set_value(token);
    auto r = AwaitOr<QueryInstancesResponse>([&](auto d) { engine_->Query(q, std::move(d)); });
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << token;
    ListInstanceIdsRequest l;
    l.mutable_lastinstancekey()->set_value(token);
    auto ids = AwaitOr<ListInstanceIdsResponse>(
        [&](auto d) { engine_->ListInstanceIds(l, std::move(d)); });
    EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument) << token;
  }
  EXPECT_TRUE(Get("t1").exists());  // still serving
}

// Before: ids inside a worker's rewind history were not validated. A child id
// "v\0x" was created, and its history keys ("H" v \0 x \0 <n>) landed inside the
// key range of instance "v", whose history then read back with foreign events.
TEST_F(EngineHostileTest, RewindHistoryIdsCannotWriteIntoAnotherInstance) {
  Open({}, /*rocks=*/true);
  RecordingSink& sink = sink_;
  engine_->AddStream(&sink, GetWorkItemsRequest(), "peer-a");
  ASSERT_TRUE(Start("v").ok());
  auto wv = sink.Next();
  ASSERT_TRUE(wv);
  ASSERT_TRUE(Complete(*wv, {CompleteAction(0)}).ok());
  auto before = AwaitOr<std::vector<HistoryEvent>>(
      [&](auto d) { engine_->GetHistory("v", std::move(d)); });
  ASSERT_TRUE(before.ok());

  ASSERT_TRUE(Start("p").ok());
  auto wp = sink.Next();
  ASSERT_TRUE(wp);
  ASSERT_TRUE(Complete(*wp, {CompleteAction(0, ORCHESTRATION_STATUS_FAILED)}).ok());
  RewindInstanceRequest rw;
  rw.set_instanceid("p");
  ASSERT_TRUE(AwaitStatus([&](Done d) { engine_->Rewind(rw, std::move(d)); }).ok());
  auto wr = sink.Next();
  ASSERT_TRUE(wr);
  const std::string evil("v\0x", 3);
  OrchestratorAction rewind;
  rewind.set_id(-1);
  auto* h = rewind.mutable_rewindorchestration();
  for (const auto& e : wr->orchestratorrequest().pastevents()) {
    if (e.has_executionstarted()) *h->add_newhistory() = e;
  }
  HistoryEvent created = core::NewEvent(absl::Now(), 1);
  created.mutable_suborchestrationinstancecreated()->set_instanceid(evil);
  created.mutable_suborchestrationinstancecreated()->set_name("orch");
  *h->add_newhistory() = created;
  absl::Status st = Complete(*wr, {rewind});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_NE(st.message().find("newHistory[1].subOrchestrationInstanceCreated.instanceId"),
            std::string::npos)
      << st;
  EXPECT_EQ(StatusOf("p"), ORCHESTRATION_STATUS_FAILED);
  auto stored = backend()->GetInstance(evil);
  ASSERT_TRUE(stored.ok());
  if (stored->has_value()) {  // the bug: let the child run so its history is written
    for (int i = 0; i < 5; ++i) {
      auto wc = sink.Next();
      ASSERT_TRUE(wc);
      const bool child = wc->orchestratorrequest().instanceid() == evil;
      (void)Complete(*wc, child ? std::vector<OrchestratorAction>{CompleteAction(0)}
                                : std::vector<OrchestratorAction>{});
      if (child) break;
    }
  }
  EXPECT_FALSE(stored->has_value());
  auto after = AwaitOr<std::vector<HistoryEvent>>(
      [&](auto d) { engine_->GetHistory("v", std::move(d)); });
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), before->size());
}

// Every id a client names is validated, not only on start/raise/terminate.
TEST_F(EngineHostileTest, ClientIdsAreValidatedEverywhere) {
  const std::string bad_ids[] = {std::string("a\0b", 3), "@entity@x", std::string(300, 'x'),
                                 "tab\tid", ""};
  for (const auto& id : bad_ids) {
    SuspendRequest s;
    s.set_instanceid(id);
    EXPECT_EQ(AwaitStatus([&](Done d) { engine_->Suspend(s, std::move(d)); }).code(),
              absl::StatusCode::kInvalidArgument);
    ResumeRequest r;
    r.set_instanceid(id);
    EXPECT_EQ(AwaitStatus([&](Done d) { engine_->Resume(r, std::move(d)); }).code(),
              absl::StatusCode::kInvalidArgument);
    RewindInstanceRequest w;
    w.set_instanceid(id);
    EXPECT_EQ(AwaitStatus([&](Done d) { engine_->Rewind(w, std::move(d)); }).code(),
              absl::StatusCode::kInvalidArgument);
    RestartInstanceRequest rs;
    rs.set_instanceid(id);
    EXPECT_EQ(AwaitOr<std::string>([&](auto d) { engine_->Restart(rs, std::move(d)); })
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument);
    PurgeInstancesRequest p;
    p.mutable_instancebatch()->add_instanceids("fine");
    p.mutable_instancebatch()->add_instanceids(id);
    EXPECT_EQ(AwaitOr<PurgeInstancesResponse>([&](auto d) { engine_->Purge(p, std::move(d)); })
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(AwaitOr<GetInstanceResponse>(
                  [&](auto d) { engine_->GetInstance(id, false, std::move(d)); })
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument);
  }
}

// Before: only input, output and event data were capped; tags, version, executionId
// and suspend/resume/rewind/terminate reasons were stored at any size.
TEST_F(EngineHostileTest, EverySizeCarryingClientFieldCountsAgainstTheCaps) {
  EngineOptions o;
  o.max_payload_bytes = 1024;
  Open(o);
  const std::string big(2048, 'x');
  auto code_of = [&](CreateInstanceRequest req) {
    req.set_name("orch");
    return Start(req).status().code();
  };
  CreateInstanceRequest tags;
  (*tags.mutable_tags())["k"] = big;
  EXPECT_EQ(code_of(tags), absl::StatusCode::kResourceExhausted);
  CreateInstanceRequest many_tags;
  for (int i = 0; i < 100; ++i) {
    (*many_tags.mutable_tags())[absl::StrCat("key", i)] = "0123456789012345";
  }
  EXPECT_EQ(code_of(many_tags), absl::StatusCode::kResourceExhausted);
  CreateInstanceRequest version;
  version.mutable_version()->set_value(big);
  EXPECT_EQ(code_of(version), absl::StatusCode::kInvalidArgument);
  CreateInstanceRequest exec;
  exec.mutable_executionid()->set_value(big);
  EXPECT_EQ(code_of(exec), absl::StatusCode::kInvalidArgument);
  CreateInstanceRequest trace;
  trace.mutable_parenttracecontext()->mutable_tracestate()->set_value(std::string(80 << 10, 't'));
  EXPECT_EQ(code_of(trace), absl::StatusCode::kResourceExhausted);

  ASSERT_TRUE(Start("i").ok());
  SuspendRequest s;
  s.set_instanceid("i");
  s.mutable_reason()->set_value(big);
  EXPECT_EQ(AwaitStatus([&](Done d) { engine_->Suspend(s, std::move(d)); }).code(),
            absl::StatusCode::kResourceExhausted);
  ResumeRequest r;
  r.set_instanceid("i");
  r.mutable_reason()->set_value(big);
  EXPECT_EQ(AwaitStatus([&](Done d) { engine_->Resume(r, std::move(d)); }).code(),
            absl::StatusCode::kResourceExhausted);
  RewindInstanceRequest w;
  w.set_instanceid("i");
  w.mutable_reason()->set_value(big);
  EXPECT_EQ(AwaitStatus([&](Done d) { engine_->Rewind(w, std::move(d)); }).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(StatusOf("i"), ORCHESTRATION_STATUS_PENDING);
}

// A worker's response: the same caps, plus per-response limits on actions and on
// history growth. Before: 100,000 actions or megabytes of tags were accepted.
TEST_F(EngineHostileTest, WorkerResponsesAreCappedPerFieldAndPerResponse) {
  EngineOptions o;
  o.max_payload_bytes = 1024;
  o.max_actions_per_response = 50;
  o.max_episode_history_bytes = 8 << 10;
  Open(o);
  RecordingSink& sink = sink_;
  engine_->AddStream(&sink, GetWorkItemsRequest(), "peer-a");
  const std::string big(2048, 'x');
  struct Case {
    std::string what;
    std::vector<OrchestratorAction> actions;
    absl::StatusCode code;
    std::string needle;
  };
  std::vector<Case> cases;
  {
    OrchestratorAction a = ScheduleTask(1);
    (*a.mutable_scheduletask()->mutable_tags())["k"] = big;
    cases.push_back({"tags", {a}, absl::StatusCode::kResourceExhausted, "scheduleTask.tags"});
  }
  {
    OrchestratorAction a = ScheduleTask(1);
    a.mutable_scheduletask()->mutable_version()->set_value(big);
    cases.push_back({"version", {a}, absl::StatusCode::kInvalidArgument, "scheduleTask.version"});
  }
  {
    OrchestratorAction a;
    a.set_id(1);
    a.mutable_terminateorchestration()->set_instanceid("other");
    a.mutable_terminateorchestration()->mutable_reason()->set_value(big);
    cases.push_back(
        {"reason", {a}, absl::StatusCode::kResourceExhausted, "terminateOrchestration.reason"});
  }
  {
    OrchestratorAction a = CompleteAction(1, ORCHESTRATION_STATUS_CONTINUED_AS_NEW);
    HistoryEvent carried = core::NewEvent(absl::Now());
    carried.mutable_eventraised()->set_name("e");
    carried.mutable_eventraised()->mutable_input()->set_value(std::string(80 << 10, 'c'));
    *a.mutable_completeorchestration()->add_carryoverevents() = carried;
    cases.push_back({"carryover", {a}, absl::StatusCode::kResourceExhausted, "carryoverEvents[0]"});
  }
  {
    std::vector<OrchestratorAction> many;
    for (int i = 0; i < 51; ++i) many.push_back(ScheduleTask(i));
    cases.push_back({"count", many, absl::StatusCode::kResourceExhausted,
                     "--max-actions-per-response"});
  }
  {
    std::vector<OrchestratorAction> growth;
    for (int i = 0; i < 20; ++i) {
      OrchestratorAction a = ScheduleTask(i);
      a.mutable_scheduletask()->mutable_input()->set_value(std::string(1000, 'i'));
      growth.push_back(a);
    }
    cases.push_back({"growth", growth, absl::StatusCode::kResourceExhausted,
                     "--max-episode-history-bytes"});
  }
  {
    // The derived child id "<parent>:0001" must be a valid id too.
    OrchestratorAction a;
    a.set_id(1);
    a.mutable_createsuborchestration()->set_name("child");
    cases.push_back({"derived-id", {a}, absl::StatusCode::kInvalidArgument,
                     "createSubOrchestration.instanceId"});
  }
  int n = 0;
  for (auto& c : cases) {
    const std::string id = c.what == "derived-id" ? std::string(256, 'p') : absl::StrCat("w", n++);
    ASSERT_TRUE(Start(id).ok());
    auto wi = sink.Next();
    ASSERT_TRUE(wi) << c.what;
    absl::Status st = Complete(*wi, c.actions);
    EXPECT_EQ(st.code(), c.code) << c.what << ": " << st;
    EXPECT_NE(st.message().find(c.needle), std::string::npos) << c.what << ": " << st;
    EXPECT_EQ(StatusOf(id), ORCHESTRATION_STATUS_FAILED) << c.what;
  }
  auto child = backend()->GetInstance(std::string(256, 'p') + ":0001");
  ASSERT_TRUE(child.ok());
  EXPECT_FALSE(child->has_value());
  EngineStats stats = engine_->Stats();
  EXPECT_EQ(stats.activities, 0u);  // nothing from a refused response was scheduled
}

// Before: tokens were "<kind><boot prefix>.<counter>": a worker could name the next
// delivery (another worker's) by incrementing its own token.
TEST_F(EngineHostileTest, CompletionTokensAreUnguessableAndStaleOnesCompleteNothing) {
  RecordingSink& sink = sink_;
  engine_->AddStream(&sink, GetWorkItemsRequest(), "peer-a");
  std::vector<std::string> tokens;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(Start(absl::StrCat("t", i)).ok());
    auto wi = sink.Next();
    ASSERT_TRUE(wi);
    tokens.push_back(wi->completiontoken());
  }
  for (size_t i = 1; i < tokens.size(); ++i) {
    EXPECT_GE(tokens[i].size(), 33u);
    size_t common = 0;
    while (common < tokens[i].size() && tokens[i][common] == tokens[i - 1][common]) ++common;
    EXPECT_LT(common, 8u) << tokens[i - 1] << " vs " << tokens[i];  // only the kind letter
  }
  // A token from before a restart completes nothing after it.
  Open();
  engine_->AddStream(&sink, GetWorkItemsRequest(), "peer-a");
  std::set<std::string> redelivered;
  for (int i = 0; i < 20; ++i) {
    auto wi = sink.Next();
    ASSERT_TRUE(wi);
    redelivered.insert(wi->completiontoken());
  }
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(redelivered.count(tokens[i]), 0u);
    OrchestratorResponse resp;
    resp.set_instanceid(absl::StrCat("t", i));
    resp.set_completiontoken(tokens[i]);
    *resp.add_actions() = CompleteAction(0);
    EXPECT_TRUE(
        AwaitStatus([&](Done d) { engine_->CompleteOrchestration(resp, std::move(d)); }).ok());
    EXPECT_EQ(StatusOf(absl::StrCat("t", i)), ORCHESTRATION_STATUS_PENDING);  // not completed
  }
}

// Before: a completion without a token completed whatever was in flight for the
// instance (and for activities: any (instanceId, taskId) match), from any caller.
TEST_F(EngineHostileTest, TokenlessCompletionsOnlyFromTheWorkItemsConnection) {
  RecordingSink& sink = sink_;
  engine_->AddStream(&sink, GetWorkItemsRequest(), "ipv4:127.0.0.1:1111");
  ASSERT_TRUE(Start("x").ok());
  auto wi = sink.Next();
  ASSERT_TRUE(wi);
  OrchestratorResponse resp;
  resp.set_instanceid("x");
  *resp.add_actions() = ScheduleTask(1);
  for (const std::string peer : {"ipv4:127.0.0.1:2222", ""}) {
    absl::Status st = AwaitStatus(
        [&](Done d) { engine_->CompleteOrchestration(resp, peer, std::move(d)); });
    EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
    EXPECT_NE(st.message().find("completionToken"), std::string::npos);
  }
  EXPECT_EQ(engine_->Stats().activities, 0u);
  ASSERT_TRUE(AwaitStatus([&](Done d) {
                engine_->CompleteOrchestration(resp, "ipv4:127.0.0.1:1111", std::move(d));
              }).ok());
  auto act = sink.Next();
  ASSERT_TRUE(act && act->has_activityrequest());
  ActivityResponse ar;
  ar.set_instanceid("x");
  ar.set_taskid(1);
  ar.mutable_result()->set_value("\"forged\"");
  absl::Status st = AwaitStatus(
      [&](Done d) { engine_->CompleteActivity(ar, "ipv4:127.0.0.1:2222", std::move(d)); });
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  ar.mutable_result()->set_value("\"real\"");
  ASSERT_TRUE(AwaitStatus([&](Done d) {
                engine_->CompleteActivity(ar, "ipv4:127.0.0.1:1111", std::move(d));
              }).ok());
  auto next = sink.Next();
  ASSERT_TRUE(next && next->has_orchestratorrequest());
  ASSERT_EQ(next->orchestratorrequest().newevents_size(), 2);
  EXPECT_EQ(next->orchestratorrequest().newevents(1).taskcompleted().result().value(),
            "\"real\"");
}

// Before: PurgeOne recursed once per level; a deep tree overflowed the reader
// thread's stack (SIGSEGV).
TEST_F(EngineHostileTest, RecursivePurgeOfADeepTreeIsIterative) {
  constexpr int kDepth = 50'000;
  auto name = [](int i) { return absl::StrCat("n", i); };
  for (int i = 0; i < kDepth; ++i) {
    std::vector<std::string> children;
    if (i + 1 < kDepth) children.push_back(name(i + 1));
    PutTerminal(name(i), i == 0 ? "" : name(i - 1), children);
  }
  // A foreign instance named as a child but whose parent is someone else: kept.
  PutTerminal("stranger", "someone-else", {});
  PutTerminal("n-extra", "", {"stranger"});
  FlushPut();
  Open();
  PurgeInstancesRequest req;
  req.set_instanceid(name(0));
  req.set_recursive(true);
  auto r = AwaitOr<PurgeInstancesResponse>([&](auto d) { engine_->Purge(req, std::move(d)); });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->deletedinstancecount(), kDepth);
  EXPECT_TRUE(r->iscomplete().value());
  EXPECT_FALSE(Get(name(kDepth - 1)).exists());
  req.set_instanceid("n-extra");
  r = AwaitOr<PurgeInstancesResponse>([&](auto d) { engine_->Purge(req, std::move(d)); });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->deletedinstancecount(), 1);
  EXPECT_TRUE(Get("stranger").exists());
}

// Before: a filter purge ran on the reader thread until done (or the client's
// timeout), and every read queued behind it.
TEST_F(EngineHostileTest, ReadsInterleaveWithALongFilterPurge) {
  constexpr int kInstances = 5'000;
  for (int i = 0; i < kInstances; ++i) PutTerminal(absl::StrCat("f", i), "", {}, 1000 + i);
  FlushPut();
  Open();
  ASSERT_TRUE(Start("reader-target").ok());
  PurgeInstancesRequest req;
  req.mutable_purgeinstancefilter()->mutable_createdtimefrom()->set_seconds(0);
  std::promise<absl::StatusOr<PurgeInstancesResponse>> purged;
  std::atomic<bool> purge_done{false};
  engine_->Purge(req, [&](absl::StatusOr<PurgeInstancesResponse> r) {
    purge_done = true;
    purged.set_value(std::move(r));
  });
  std::promise<bool> read_before_purge_done;
  engine_->GetInstance("reader-target", false, [&](absl::StatusOr<GetInstanceResponse> r) {
    EXPECT_TRUE(r.ok() && r->exists());
    read_before_purge_done.set_value(!purge_done.load());
  });
  EXPECT_TRUE(read_before_purge_done.get_future().get());
  auto r = purged.get_future().get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->deletedinstancecount(), kInstances);
  EXPECT_TRUE(r->iscomplete().value());
}

// Before: maxInstanceCount/pageSize were taken as given: one call could make the
// reader thread read and return the whole store.
TEST_F(EngineHostileTest, QueryPagesAreBounded) {
  for (int i = 0; i < 1500; ++i) PutTerminal(absl::StrCat("q", i), "", {}, 1000 + i);
  FlushPut();
  Open();
  InstanceQuery q;
  q.set_maxinstancecount(1 << 30);
  auto r = AwaitOr<QueryInstancesResponse>([&](auto d) { engine_->Query(q, std::move(d)); });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->orchestrationstate_size(), 1000);
  EXPECT_TRUE(r->has_continuationtoken());
  ListInstanceIdsRequest l;
  l.set_pagesize(1 << 30);
  auto ids =
      AwaitOr<ListInstanceIdsResponse>([&](auto d) { engine_->ListInstanceIds(l, std::move(d)); });
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(ids->instanceids_size(), 1000);
  EXPECT_TRUE(ids->has_lastinstancekey());
}

// The client chooses a purge's time budget, but the server caps it: with a zero cap
// every call purges one page and says isComplete=false until nothing is left.
TEST_F(EngineHostileTest, FilterPurgeTimeIsCappedByTheServer) {
  for (int i = 0; i < 450; ++i) PutTerminal(absl::StrCat("c", i), "", {}, 1000 + i);
  FlushPut();
  EngineOptions o;
  o.max_purge_time = absl::ZeroDuration();
  Open(o);
  PurgeInstancesRequest req;
  req.mutable_purgeinstancefilter()->mutable_timeout()->set_seconds(3600);
  int64_t total = 0;
  int calls = 0;
  while (true) {
    auto r = AwaitOr<PurgeInstancesResponse>([&](auto d) { engine_->Purge(req, std::move(d)); });
    ASSERT_TRUE(r.ok()) << r.status();
    ++calls;
    total += r->deletedinstancecount();
    if (r->iscomplete().value()) break;
    EXPECT_GT(r->deletedinstancecount(), 0);  // every call makes progress
    ASSERT_LT(calls, 100);
  }
  EXPECT_EQ(total, 450);
  EXPECT_GE(calls, 4);
}

}  // namespace
}  // namespace taskhub::engine
