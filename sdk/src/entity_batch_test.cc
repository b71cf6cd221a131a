// The entity batch executor, without a server: results per operation, rollback
// of a failed operation, actions, state, both work-item formats.
#include "gtest/gtest.h"
#include "sdk/src/sdk_util.h"
#include "taskhub/registry.h"

namespace taskhub {
namespace {

struct Account {
  int64_t balance = 0;
  std::vector<std::string> log;
  void Deposit(int64_t n) { balance += n; }
  int64_t Withdraw(int64_t n) {
    if (n > balance) throw std::runtime_error("insufficient funds");
    balance -= n;
    return balance;
  }
  int64_t Balance() const { return balance; }
  void Note(EntityContext& ctx, std::string text) { log.push_back(ctx.Id().key() + ":" + text); }
  void Close(EntityContext& ctx, std::nullptr_t) { ctx.DeleteState(); }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Account, balance, log)

Registry Entities() {
  Registry r;
  r.AddEntity("Counter", [](EntityContext& ctx, const std::string& op, int amount) -> int {
    int value = ctx.GetState<int>(0);
    if (op == "add") {
      value += amount;
      ctx.SetState(value);
    } else if (op == "fail_after_write") {
      ctx.SetState(value + 1000);
      ctx.SignalEntity(EntityInstanceId("counter", "other"), "add", 1);
      throw std::runtime_error("changed my mind");
    } else if (op == "notify") {
      ctx.SignalEntity(EntityInstanceId("Counter", "other"), "add", amount,
                       absl::FromUnixSeconds(2'000'000'000));
    } else if (op == "start") {
      ctx.StartNewOrchestration("child", amount);
    } else if (op == "reset") {
      ctx.DeleteState();
    }
    return value;
  });
  r.AddEntity("account", EntityClass<Account>()
                             .Op("deposit", &Account::Deposit)
                             .Op("Withdraw", &Account::Withdraw)
                             .Op("balance", &Account::Balance)
                             .Op("note", &Account::Note)
                             .Op("close", &Account::Close));
  r.AddEntity("echo", [](EntityContext& ctx, nlohmann::json in) {
    return nlohmann::json{{"op", ctx.OperationName()}, {"in", in}, {"id", ctx.Id().ToString()}};
  });
  return r;
}

EntityBatchRequest Batch(const std::string& id, std::optional<std::string> state,
                         std::vector<std::pair<std::string, std::string>> ops) {
  EntityBatchRequest req;
  req.set_instanceid(id);
  if (state) req.mutable_entitystate()->set_value(*state);
  int n = 0;
  for (auto& [op, input] : ops) {
    auto* o = req.add_operations();
    o->set_operation(op);
    o->set_requestid("r" + std::to_string(++n));
    if (!input.empty()) o->mutable_input()->set_value(input);
  }
  return req;
}

TEST(EntityBatchTest, FunctionEntityRunsOperationsInOrder) {
  EntityBatchResult res = ExecuteEntityBatch(
      Entities(), Batch("@counter@x", "2", {{"add", "5"}, {"add", "3"}, {"get", ""}}), "tok");
  EXPECT_EQ(res.completiontoken(), "tok");
  ASSERT_EQ(res.results_size(), 3);
  EXPECT_EQ(res.results(0).success().result().value(), "7");
  EXPECT_EQ(res.results(1).success().result().value(), "10");
  EXPECT_EQ(res.results(2).success().result().value(), "10");
  EXPECT_EQ(res.entitystate().value(), "10");
  EXPECT_FALSE(res.has_failuredetails());
  EXPECT_EQ(res.operationinfos_size(), 0);  // V1: none
}

TEST(EntityBatchTest, FailedOperationIsRolledBackAlone) {
  EntityBatchResult res = ExecuteEntityBatch(
      Entities(), Batch("@counter@x", std::nullopt,
                        {{"add", "5"}, {"notify", "9"}, {"fail_after_write", ""}, {"add", "1"}}));
  ASSERT_EQ(res.results_size(), 4);
  EXPECT_TRUE(res.results(0).has_success());
  EXPECT_TRUE(res.results(1).has_success());
  ASSERT_TRUE(res.results(2).has_failure());
  EXPECT_EQ(res.results(2).failure().failuredetails().errortype(), "std::runtime_error");
  EXPECT_EQ(res.results(2).failure().failuredetails().errormessage(), "changed my mind");
  EXPECT_EQ(res.results(3).success().result().value(), "6");
  EXPECT_EQ(res.entitystate().value(), "6");  // not 1005: the failed write is gone
  // Only the successful operation's signal remains, with its delay.
  ASSERT_EQ(res.actions_size(), 1);
  EXPECT_EQ(res.actions(0).id(), 0);
  EXPECT_EQ(res.actions(0).sendsignal().instanceid(), "@counter@other");
  EXPECT_EQ(res.actions(0).sendsignal().name(), "add");
  EXPECT_EQ(res.actions(0).sendsignal().input().value(), "9");
  EXPECT_EQ(internal::FromTimestamp(res.actions(0).sendsignal().scheduledtime()),
            absl::FromUnixSeconds(2'000'000'000));
}

TEST(EntityBatchTest, DeleteStateLeavesNoState) {
  EntityBatchResult res = ExecuteEntityBatch(Entities(), Batch("@counter@x", "4", {{"reset", ""}}));
  ASSERT_TRUE(res.results(0).has_success());
  EXPECT_FALSE(res.has_entitystate());
  // A JSON null input is no input: the typed parameter gets its default.
  res = ExecuteEntityBatch(Entities(), Batch("@counter@x", "4", {{"reset", "null"}}));
  ASSERT_TRUE(res.results(0).has_success());
  EXPECT_FALSE(res.has_entitystate());
}

TEST(EntityBatchTest, StartNewOrchestrationIdIsStableAcrossRetries) {
  auto req = Batch("@counter@x", "4", {{"start", "3"}});
  EntityBatchResult a = ExecuteEntityBatch(Entities(), req);
  EntityBatchResult b = ExecuteEntityBatch(Entities(), req);
  ASSERT_EQ(a.actions_size(), 1);
  const auto& s = a.actions(0).startneworchestration();
  EXPECT_EQ(s.name(), "child");
  EXPECT_EQ(s.input().value(), "3");
  EXPECT_EQ(s.instanceid().size(), 32u);
  EXPECT_EQ(s.instanceid(), b.actions(0).startneworchestration().instanceid());
}

TEST(EntityBatchTest, ClassEntityDispatchesByNameAndKeepsStateAsJson) {
  const Registry r = Entities();
  EntityBatchResult res = ExecuteEntityBatch(r, Batch("@Account@alice", std::nullopt,
                                                      {{"deposit", "100"},
                                                       {"WITHDRAW", "30"},
                                                       {"withdraw", "500"},
                                                       {"note", "\"hi\""},
                                                       {"balance", ""},
                                                       {"transfer", "1"}}));
  ASSERT_EQ(res.results_size(), 6);
  EXPECT_TRUE(res.results(0).has_success());
  EXPECT_FALSE(res.results(0).success().has_result());  // void
  EXPECT_EQ(res.results(1).success().result().value(), "70");
  EXPECT_EQ(res.results(2).failure().failuredetails().errormessage(), "insufficient funds");
  EXPECT_TRUE(res.results(3).has_success());
  EXPECT_EQ(res.results(4).success().result().value(), "70");
  ASSERT_TRUE(res.results(5).has_failure());  // no such operation
  EXPECT_NE(res.results(5).failure().failuredetails().errormessage().find("transfer"),
            std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(res.entitystate().value()),
            (nlohmann::json{{"balance", 70}, {"log", {"alice:hi"}}}));

  EntityBatchResult closed =
      ExecuteEntityBatch(r, Batch("@account@alice", res.entitystate().value(), {{"close", ""}}));
  EXPECT_TRUE(closed.results(0).has_success());
  EXPECT_FALSE(closed.has_entitystate());
  EntityBatchResult deleted =
      ExecuteEntityBatch(r, Batch("@account@alice", res.entitystate().value(), {{"delete", ""}}));
  EXPECT_TRUE(deleted.results(0).has_success());
  EXPECT_FALSE(deleted.has_entitystate());
}

TEST(EntityBatchTest, UnknownEntityFailsEveryOperationNonRetriably) {
  EntityBatchResult res =
      ExecuteEntityBatch(Entities(), Batch("@nobody@x", "1", {{"a", ""}, {"b", ""}}));
  ASSERT_EQ(res.results_size(), 2);
  for (const auto& r : res.results()) {
    ASSERT_TRUE(r.has_failure());
    EXPECT_EQ(r.failure().failuredetails().errortype(), "EntityNotRegisteredError");
    EXPECT_TRUE(r.failure().failuredetails().isnonretriable());
  }
  EXPECT_EQ(res.entitystate().value(), "1");  // untouched
  EntityBatchResult bad = ExecuteEntityBatch(Entities(), Batch("not-an-entity", "", {{"a", ""}}));
  ASSERT_EQ(bad.results_size(), 1);
  EXPECT_TRUE(bad.results(0).has_failure());
}

TEST(EntityBatchTest, V2RequestReportsWhereEachResultGoes) {
  EntityRequest req;
  req.set_instanceid("@echo@k");
  req.set_executionid("exec");
  auto* call = req.add_operationrequests()->mutable_entityoperationcalled();
  call->set_requestid("call-1");
  call->set_operation("ping");
  call->mutable_input()->set_value("{\"a\":1}");
  call->mutable_parentinstanceid()->set_value("orch");
  call->mutable_parentexecutionid()->set_value("orch-exec");
  auto* signal = req.add_operationrequests()->mutable_entityoperationsignaled();
  signal->set_requestid("sig-1");
  signal->set_operation("poke");
  EntityBatchResult res = ExecuteEntityRequest(Entities(), req, "tok2");
  EXPECT_EQ(res.completiontoken(), "tok2");
  ASSERT_EQ(res.results_size(), 2);
  EXPECT_EQ(nlohmann::json::parse(res.results(0).success().result().value()),
            (nlohmann::json{{"op", "ping"}, {"in", {{"a", 1}}}, {"id", "@echo@k"}}));
  EXPECT_EQ(nlohmann::json::parse(res.results(1).success().result().value())["in"],
            nlohmann::json());
  ASSERT_EQ(res.operationinfos_size(), 2);
  EXPECT_EQ(res.operationinfos(0).requestid(), "call-1");
  EXPECT_EQ(res.operationinfos(0).responsedestination().instanceid(), "orch");
  EXPECT_EQ(res.operationinfos(0).responsedestination().executionid().value(), "orch-exec");
  EXPECT_EQ(res.operationinfos(1).requestid(), "sig-1");
  EXPECT_FALSE(res.operationinfos(1).has_responsedestination());
  EXPECT_FALSE(res.has_entitystate());  // no state before, none written
}

TEST(EntityInstanceIdTest, ParsesAndLowerCasesTheName) {
  auto id = EntityInstanceId::Parse("@Counter@Key@With@Ats");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->name(), "counter");
  EXPECT_EQ(id->key(), "Key@With@Ats");
  EXPECT_EQ(id->ToString(), "@counter@Key@With@Ats");
  EXPECT_FALSE(EntityInstanceId::Parse("counter@x").ok());
  EXPECT_FALSE(EntityInstanceId::Parse("@@x").ok());
  EXPECT_FALSE(EntityInstanceId::Parse("@counter@").ok());
  EXPECT_THROW(EntityInstanceId("a@b", "k"), std::invalid_argument);
  EXPECT_TRUE(EntityInstanceId("A", "k") == EntityInstanceId("a", "k"));
  EXPECT_TRUE(EntityInstanceId("a", "k") < EntityInstanceId("b", "a"));
}

}  // namespace
}  // namespace taskhub
