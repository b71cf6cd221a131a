// Hostile input against the engine (no gRPC): crafted tokens, ids, oversized fields
// and responses, stale or foreign completions. Each test reproduces a crash or
// corruption that existed before its fix.
#include <atomic>
#include <filesystem>
#include <future>
#include <set>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "server/core/history.h"
#include "server/storage/rocksdb/key_schema.h"
#include "tests/engine/engine_hostile_fixture.h"

namespace taskhub::engine {
namespace {

namespace wire = testing::wire;
using testing::AwaitOr;
using testing::AwaitStatus;
using testing::CompleteAction;
using testing::EngineHostileTest;
using testing::RecordingSink;
using testing::ScheduleTask;

// Before: std::stoll threw std::out_of_range on a 20-digit number and the uncaught
// exception aborted the daemon.
TEST_F(EngineHostileTest, CraftedContinuationTokensGetInvalidArgument) {
  ASSERT_TRUE(Start("t1").ok());
  for (const std::string token :
       {"c99999999999999999999999/x", "c-99999999999999999999999/x", "c-/x", "c--1/x",
        "c1-2/x", "c/x", "cx", "zzz", "c123"}) {
    InstanceQuery q;
    q.mutable_continuationtoken()->set_value(token);
    auto r =
        AwaitOr<QueryInstancesResponse>([&](auto d) { wire::Query(*engine_, q, std::move(d)); });
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << token;
    ListInstanceIdsRequest l;
    l.mutable_lastinstancekey()->set_value(token);
    auto ids = AwaitOr<ListInstanceIdsResponse>(
        [&](auto d) { wire::ListInstanceIds(*engine_, l, std::move(d)); });
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
  wire::AddStream(*engine_, &sink, GetWorkItemsRequest(), "peer-a");
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
  ASSERT_TRUE(AwaitStatus([&](Done d) { wire::Rewind(*engine_, rw, std::move(d)); }).ok());
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
    EXPECT_EQ(AwaitStatus([&](Done d) { wire::Suspend(*engine_, s, std::move(d)); }).code(),
              absl::StatusCode::kInvalidArgument);
    ResumeRequest r;
    r.set_instanceid(id);
    EXPECT_EQ(AwaitStatus([&](Done d) { wire::Resume(*engine_, r, std::move(d)); }).code(),
              absl::StatusCode::kInvalidArgument);
    RewindInstanceRequest w;
    w.set_instanceid(id);
    EXPECT_EQ(AwaitStatus([&](Done d) { wire::Rewind(*engine_, w, std::move(d)); }).code(),
              absl::StatusCode::kInvalidArgument);
    RestartInstanceRequest rs;
    rs.set_instanceid(id);
    EXPECT_EQ(AwaitOr<std::string>([&](auto d) { wire::Restart(*engine_, rs, std::move(d)); })
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument);
    // Entity ids ("@name@key") name entities: a purge by id may delete one and
    // GetInstance answers exists=false (the entity tests cover both).
    const bool entity = !id.empty() && id[0] == '@';
    PurgeInstancesRequest p;
    p.mutable_instancebatch()->add_instanceids("fine");
    p.mutable_instancebatch()->add_instanceids(entity ? "@no-key" : id);
    EXPECT_EQ(
        AwaitOr<PurgeInstancesResponse>([&](auto d) { wire::Purge(*engine_, p, std::move(d)); })
            .status()
            .code(),
        absl::StatusCode::kInvalidArgument);
    auto got = AwaitOr<GetInstanceResponse>(
        [&](auto d) { engine_->GetInstance(id, false, std::move(d)); });
    if (entity) {
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_FALSE(got->exists());
    } else {
      EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    }
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
  EXPECT_EQ(AwaitStatus([&](Done d) { wire::Suspend(*engine_, s, std::move(d)); }).code(),
            absl::StatusCode::kResourceExhausted);
  ResumeRequest r;
  r.set_instanceid("i");
  r.mutable_reason()->set_value(big);
  EXPECT_EQ(AwaitStatus([&](Done d) { wire::Resume(*engine_, r, std::move(d)); }).code(),
            absl::StatusCode::kResourceExhausted);
  RewindInstanceRequest w;
  w.set_instanceid("i");
  w.mutable_reason()->set_value(big);
  EXPECT_EQ(AwaitStatus([&](Done d) { wire::Rewind(*engine_, w, std::move(d)); }).code(),
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
  wire::AddStream(*engine_, &sink, GetWorkItemsRequest(), "peer-a");
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
  wire::AddStream(*engine_, &sink, GetWorkItemsRequest(), "peer-a");
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
  wire::AddStream(*engine_, &sink, GetWorkItemsRequest(), "peer-a");
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
    EXPECT_TRUE(AwaitStatus([&](Done d) {
                  wire::CompleteOrchestration(*engine_, resp, std::move(d));
                }).ok());
    EXPECT_EQ(StatusOf(absl::StrCat("t", i)), ORCHESTRATION_STATUS_PENDING);  // not completed
  }
}

// Before: a completion without a token completed whatever was in flight for the
// instance (and for activities: any (instanceId, taskId) match), from any caller.
TEST_F(EngineHostileTest, TokenlessCompletionsOnlyFromTheWorkItemsConnection) {
  RecordingSink& sink = sink_;
  wire::AddStream(*engine_, &sink, GetWorkItemsRequest(), "ipv4:127.0.0.1:1111");
  ASSERT_TRUE(Start("x").ok());
  auto wi = sink.Next();
  ASSERT_TRUE(wi);
  OrchestratorResponse resp;
  resp.set_instanceid("x");
  *resp.add_actions() = ScheduleTask(1);
  for (const std::string peer : {"ipv4:127.0.0.1:2222", ""}) {
    absl::Status st = AwaitStatus(
        [&](Done d) { wire::CompleteOrchestration(*engine_, resp, peer, std::move(d)); });
    EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
    EXPECT_NE(st.message().find("completionToken"), std::string::npos);
  }
  EXPECT_EQ(engine_->Stats().activities, 0u);
  ASSERT_TRUE(AwaitStatus([&](Done d) {
                wire::CompleteOrchestration(*engine_, resp, "ipv4:127.0.0.1:1111", std::move(d));
              }).ok());
  auto act = sink.Next();
  ASSERT_TRUE(act && act->has_activityrequest());
  ActivityResponse ar;
  ar.set_instanceid("x");
  ar.set_taskid(1);
  ar.mutable_result()->set_value("\"forged\"");
  absl::Status st = AwaitStatus(
      [&](Done d) { wire::CompleteActivity(*engine_, ar, "ipv4:127.0.0.1:2222", std::move(d)); });
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  ar.mutable_result()->set_value("\"real\"");
  ASSERT_TRUE(AwaitStatus([&](Done d) {
                wire::CompleteActivity(*engine_, ar, "ipv4:127.0.0.1:1111", std::move(d));
              }).ok());
  auto next = sink.Next();
  ASSERT_TRUE(next && next->has_orchestratorrequest());
  ASSERT_EQ(next->orchestratorrequest().newevents_size(), 2);
  EXPECT_EQ(next->orchestratorrequest().newevents(1).taskcompleted().result().value(),
            "\"real\"");
}

}  // namespace
}  // namespace taskhub::engine
