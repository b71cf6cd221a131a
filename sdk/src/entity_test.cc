// Entity tests without a server: the actions an orchestration sends for entity
// calls, signals and critical sections, and how their results replay (the shapes
// of the Python SDK 1.12); and the entity batch executor (both work-item formats).
#include "gtest/gtest.h"
#include "sdk/src/replay_test_support.h"
#include "sdk/src/sdk_util.h"
#include "taskhub/replay.h"

namespace taskhub {
namespace {

using testing_support::History;
using testing_support::kT0;
using testing_support::Replay;

const CompleteOrchestrationAction* Completion(const OrchestratorResponse& resp) {
  for (const auto& a : resp.actions()) {
    if (a.has_completeorchestration()) return &a.completeorchestration();
  }
  return nullptr;
}

// --- orchestrations ---

Task<int> CallsCounter(OrchestrationContext& ctx) {
  const EntityInstanceId counter("Counter", "a");
  int value = co_await ctx.CallEntity<int>(counter, "add", 5);
  co_return value;
}

Task<std::string> CatchesFailure(OrchestrationContext& ctx) {
  const EntityInstanceId counter("counter", "a");
  try {
    co_await ctx.CallEntity<int>(counter, "boom");
  } catch (const EntityOperationFailedError& e) {
    co_return e.entity().ToString() + "|" + e.operation() + "|" + e.failure().error_type + "|" +
        e.failure().message;
  }
  co_return "no failure";
}

Task<void> Signals(OrchestrationContext& ctx) {
  const EntityInstanceId counter("counter", "a");
  ctx.SignalEntity(counter, "add", 1);
  ctx.SignalEntity(counter, "reset", nullptr, ctx.CurrentUtcDateTime() + absl::Minutes(5));
  co_return;
}

// Transfer under a critical section: two reads, two writes, then release.
Task<int> Transfer(OrchestrationContext& ctx) {
  const EntityInstanceId from("account", "b"), to("Account", "a");
  auto lock = co_await ctx.LockEntities(from, to, from);
  int balance = co_await ctx.CallEntity<int>(from, "withdraw", 10);
  co_await ctx.CallEntity<int>(to, "deposit", 10);
  lock.Release();
  co_return balance;
}

// Throws inside the critical section (the lock's destructor releases it).
Task<void> ThrowsInside(OrchestrationContext& ctx) {
  const EntityInstanceId a("account", "a");
  auto lock = co_await ctx.LockEntities(a);
  throw std::runtime_error("bad things");
}

Task<std::string> Misuse(OrchestrationContext& ctx) {
  const EntityInstanceId a("account", "a"), other("account", "z");
  auto lock = co_await ctx.LockEntities(a);
  std::string out;
  try {
    ctx.SignalEntity(a, "deposit", 1);
  } catch (const std::logic_error&) {
    out += "signal-locked;";
  }
  try {
    co_await ctx.CallEntity<int>(other, "deposit", 1);
  } catch (const std::logic_error&) {
    out += "call-unlocked;";
  }
  try {
    co_await ctx.LockEntities(other);
  } catch (const std::logic_error&) {
    out += "nested-lock;";
  }
  co_return out;
}

Registry Orchestrations() {
  Registry r;
  r.AddOrchestrator("calls_counter", CallsCounter);
  r.AddOrchestrator("catches_failure", CatchesFailure);
  r.AddOrchestrator("signals", Signals);
  r.AddOrchestrator("transfer", Transfer);
  r.AddOrchestrator("throws_inside", ThrowsInside);
  r.AddOrchestrator("misuse", Misuse);
  return r;
}

TEST(EntityReplayTest, CallEntityActionShape) {
  Registry r = Orchestrations();
  History fresh;
  fresh.Started().Execution("calls_counter");
  OrchestratorResponse resp = Replay(r, History(), fresh);
  ASSERT_EQ(resp.actions_size(), 1);
  const auto& a = resp.actions(0);
  EXPECT_EQ(a.id(), 1);
  ASSERT_TRUE(a.sendentitymessage().has_entityoperationcalled());
  const auto& c = a.sendentitymessage().entityoperationcalled();
  EXPECT_EQ(c.operation(), "add");
  EXPECT_EQ(c.input().value(), "5");
  EXPECT_EQ(c.parentinstanceid().value(), "inst");
  EXPECT_EQ(c.targetinstanceid().value(), "@counter@a");  // name lower-cased
  EXPECT_FALSE(c.has_parentexecutionid());                // as the Python SDK: the server fills it
  EXPECT_EQ(c.requestid().size(), 36u);
  // Deterministic: the same request id on every replay.
  EXPECT_EQ(Replay(r, History(), fresh)
                .actions(0)
                .sendentitymessage()
                .entityoperationcalled()
                .requestid(),
            c.requestid());
}

TEST(EntityReplayTest, CallResolvesByRequestIdOnReplay) {
  Registry r = Orchestrations();
  History first;
  first.Started().Execution("calls_counter");
  OrchestratorResponse resp = Replay(r, History(), first);
  const std::string rid = resp.actions(0).sendentitymessage().entityoperationcalled().requestid();
  History past = first;
  past.Confirm(resp);
  // A result for another request does not resolve the call.
  History stray;
  stray.Started().CallCompleted("someone-else", "1");
  OrchestratorResponse waiting = Replay(r, past, stray);
  EXPECT_EQ(Completion(waiting), nullptr);
  EXPECT_EQ(waiting.actions_size(), 0);  // the call is confirmed: not sent again

  History fresh;
  fresh.Started().CallCompleted(rid, "42");
  OrchestratorResponse done = Replay(r, past, fresh);
  ASSERT_NE(Completion(done), nullptr);
  EXPECT_EQ(Completion(done)->orchestrationstatus(), ORCHESTRATION_STATUS_COMPLETED);
  EXPECT_EQ(Completion(done)->result().value(), "42");
}

TEST(EntityReplayTest, FailedCallThrowsEntityOperationFailedError) {
  Registry r = Orchestrations();
  History first;
  first.Started().Execution("catches_failure");
  OrchestratorResponse resp = Replay(r, History(), first);
  const std::string rid = resp.actions(0).sendentitymessage().entityoperationcalled().requestid();
  History past = first;
  past.Confirm(resp);
  History fresh;
  fresh.Started().CallFailed(rid, "std::runtime_error", "kaput");
  OrchestratorResponse done = Replay(r, past, fresh);
  ASSERT_NE(Completion(done), nullptr);
  EXPECT_EQ(Completion(done)->result().value(), "\"@counter@a|boom|std::runtime_error|kaput\"");

  // Uncaught, it fails the orchestration with the entity's failure inside.
  Registry r2;
  r2.AddOrchestrator("calls_counter", CallsCounter);
  History first2;
  first2.Started().Execution("calls_counter");
  OrchestratorResponse resp2 = Replay(r2, History(), first2);
  History past2 = first2;
  past2.Confirm(resp2);
  History fresh2;
  fresh2.Started().CallFailed(
      resp2.actions(0).sendentitymessage().entityoperationcalled().requestid(), "E", "m");
  OrchestratorResponse failed = Replay(r2, past2, fresh2);
  ASSERT_NE(Completion(failed), nullptr);
  EXPECT_EQ(Completion(failed)->orchestrationstatus(), ORCHESTRATION_STATUS_FAILED);
  EXPECT_EQ(Completion(failed)->failuredetails().innerfailure().errortype(), "E");
}

TEST(EntityReplayTest, SignalActionShapeAndConfirmation) {
  Registry r = Orchestrations();
  History fresh;
  fresh.Started().Execution("signals");
  OrchestratorResponse resp = Replay(r, History(), fresh);
  ASSERT_EQ(resp.actions_size(), 3);  // two signals, then the completion
  const auto& s1 = resp.actions(0).sendentitymessage().entityoperationsignaled();
  const auto& s2 = resp.actions(1).sendentitymessage().entityoperationsignaled();
  EXPECT_EQ(resp.actions(0).id(), 1);
  EXPECT_EQ(resp.actions(1).id(), 2);
  EXPECT_EQ(s1.operation(), "add");
  EXPECT_EQ(s1.input().value(), "1");
  EXPECT_EQ(s1.targetinstanceid().value(), "@counter@a");
  EXPECT_FALSE(s1.has_scheduledtime());
  EXPECT_EQ(s2.operation(), "reset");
  EXPECT_FALSE(s2.has_input());
  EXPECT_EQ(internal::FromTimestamp(s2.scheduledtime()), kT0 + absl::Minutes(5));
  EXPECT_NE(s1.requestid(), s2.requestid());
  EXPECT_EQ(resp.actions(2).completeorchestration().orchestrationstatus(),
            ORCHESTRATION_STATUS_COMPLETED);
}

TEST(EntityReplayTest, CriticalSectionLockCallsAndUnlocks) {
  Registry r = Orchestrations();
  History h;
  h.Started().Execution("transfer");
  OrchestratorResponse resp = Replay(r, History(), h);
  ASSERT_EQ(resp.actions_size(), 1);
  const EntityLockRequestedEvent lock = resp.actions(0).sendentitymessage().entitylockrequested();
  EXPECT_EQ(lock.lockset_size(), 2);  // sorted, de-duplicated, lower-cased
  EXPECT_EQ(lock.lockset(0), "@account@a");
  EXPECT_EQ(lock.lockset(1), "@account@b");
  EXPECT_EQ(lock.position(), 0);
  EXPECT_EQ(lock.parentinstanceid().value(), "inst");
  const std::string section = lock.criticalsectionid();
  EXPECT_EQ(section.size(), 36u);
  h.Confirm(resp);

  // Until the grant nothing else happens.
  History other;
  other.Started().Granted("another-section");
  EXPECT_EQ(Replay(r, h, other).actions_size(), 0);

  History granted;
  granted.Started().Granted(section);
  resp = Replay(r, h, granted);
  ASSERT_EQ(resp.actions_size(), 1);
  const EntityOperationCalledEvent withdraw =
      resp.actions(0).sendentitymessage().entityoperationcalled();
  EXPECT_EQ(withdraw.targetinstanceid().value(), "@account@b");
  h.Then(granted).Confirm(resp);

  History first_result;
  first_result.Started().CallCompleted(withdraw.requestid(), "90");
  resp = Replay(r, h, first_result);
  ASSERT_EQ(resp.actions_size(), 1);
  const EntityOperationCalledEvent deposit =
      resp.actions(0).sendentitymessage().entityoperationcalled();
  EXPECT_EQ(deposit.targetinstanceid().value(), "@account@a");
  h.Then(first_result).Confirm(resp);

  History second_result;
  second_result.Started().CallCompleted(deposit.requestid(), "10");
  resp = Replay(r, h, second_result);
  // One unlock per locked entity, then the completion.
  ASSERT_EQ(resp.actions_size(), 3);
  for (int i = 0; i < 2; ++i) {
    const auto& u = resp.actions(i).sendentitymessage().entityunlocksent();
    EXPECT_EQ(u.criticalsectionid(), section);
    EXPECT_EQ(u.parentinstanceid().value(), "inst");
    EXPECT_EQ(u.targetinstanceid().value(), lock.lockset(i));
  }
  EXPECT_EQ(resp.actions(0).id() + 1, resp.actions(1).id());
  ASSERT_NE(Completion(resp), nullptr);
  EXPECT_EQ(Completion(resp)->result().value(), "90");

  // Unlocks confirmed by the history are not sent again on a later replay.
  h.Then(second_result).Confirm(resp);
  resp = Replay(r, h, History());
  EXPECT_EQ(resp.actions_size(), 1);
  EXPECT_NE(Completion(resp), nullptr);
}

TEST(EntityReplayTest, SuspendedOrchestratorKeepsItsLockWhenTornDown) {
  // The orchestrator waits for a call inside its critical section at the end of
  // the episode; destroying it must not emit unlocks.
  Registry r = Orchestrations();
  History h;
  h.Started().Execution("transfer");
  OrchestratorResponse resp = Replay(r, History(), h);
  h.Confirm(resp);
  History granted;
  granted.Started().Granted(
      resp.actions(0).sendentitymessage().entitylockrequested().criticalsectionid());
  resp = Replay(r, h, granted);
  ASSERT_EQ(resp.actions_size(), 1);
  EXPECT_TRUE(resp.actions(0).sendentitymessage().has_entityoperationcalled());
}

TEST(EntityReplayTest, ThrowingInsideACriticalSectionUnlocksAndFails) {
  Registry r = Orchestrations();
  History h;
  h.Started().Execution("throws_inside");
  OrchestratorResponse resp = Replay(r, History(), h);
  const std::string section =
      resp.actions(0).sendentitymessage().entitylockrequested().criticalsectionid();
  h.Confirm(resp);
  History granted;
  granted.Started().Granted(section);
  resp = Replay(r, h, granted);
  ASSERT_EQ(resp.actions_size(), 2);
  EXPECT_EQ(resp.actions(0).sendentitymessage().entityunlocksent().criticalsectionid(), section);
  EXPECT_EQ(resp.actions(0).sendentitymessage().entityunlocksent().targetinstanceid().value(),
            "@account@a");
  EXPECT_EQ(resp.actions(1).completeorchestration().orchestrationstatus(),
            ORCHESTRATION_STATUS_FAILED);
}

TEST(EntityReplayTest, CriticalSectionRulesOfThePythonSdk) {
  Registry r = Orchestrations();
  History h;
  h.Started().Execution("misuse");
  OrchestratorResponse resp = Replay(r, History(), h);
  h.Confirm(resp);
  History granted;
  granted.Started().Granted(
      resp.actions(0).sendentitymessage().entitylockrequested().criticalsectionid());
  resp = Replay(r, h, granted);
  ASSERT_NE(Completion(resp), nullptr);
  EXPECT_EQ(Completion(resp)->result().value(), "\"signal-locked;call-unlocked;nested-lock;\"");
  // Nothing was sent for the refused operations: only the unlock and the completion.
  ASSERT_EQ(resp.actions_size(), 2);
  EXPECT_TRUE(resp.actions(0).sendentitymessage().has_entityunlocksent());
}

TEST(EntityReplayTest, HistoryWithACallTheCodeNoLongerMakesIsNonDeterministic) {
  Registry r = Orchestrations();
  History h;
  h.Started().Execution("signals");
  OrchestratorResponse signals = Replay(r, History(), h);
  // Record a call with id 1 where the code sends a signal.
  History first;
  first.Started().Execution("calls_counter");
  OrchestratorResponse call = Replay(r, History(), first);
  h.Confirm(call);
  OrchestratorResponse resp = Replay(r, h, History());
  ASSERT_NE(Completion(resp), nullptr);
  EXPECT_EQ(Completion(resp)->orchestrationstatus(), ORCHESTRATION_STATUS_FAILED);
  EXPECT_EQ(Completion(resp)->failuredetails().errortype(), "NonDeterminismError");
  EXPECT_EQ(signals.actions_size(), 3);
}

TEST(EntityReplayTest, IdsRecordedInTheHistoryWin) {
  // The history is the source of truth: a call or lock confirmed with another
  // request / critical section id than this code generated resolves by that id.
  Registry r = Orchestrations();
  History h;
  h.Started().Execution("transfer");
  OrchestratorResponse resp = Replay(r, History(), h);
  resp.mutable_actions(0)
      ->mutable_sendentitymessage()
      ->mutable_entitylockrequested()
      ->set_criticalsectionid("server-cs");
  h.Confirm(resp);
  History granted;
  granted.Started().Granted("server-cs");
  resp = Replay(r, h, granted);
  ASSERT_EQ(resp.actions_size(), 1);
  resp.mutable_actions(0)
      ->mutable_sendentitymessage()
      ->mutable_entityoperationcalled()
      ->set_requestid("server-r1");
  h.Then(granted).Confirm(resp);
  History result;
  result.Started().CallCompleted("server-r1", "5");
  resp = Replay(r, h, result);
  ASSERT_EQ(resp.actions_size(), 1);  // the second call: the first one resolved
  EXPECT_EQ(resp.actions(0).sendentitymessage().entityoperationcalled().targetinstanceid().value(),
            "@account@a");
  h.Then(result).Confirm(resp);
  History second;
  second.Started().CallCompleted(
      resp.actions(0).sendentitymessage().entityoperationcalled().requestid(), "1");
  resp = Replay(r, h, second);
  ASSERT_EQ(resp.actions_size(), 3);
  EXPECT_EQ(resp.actions(0).sendentitymessage().entityunlocksent().criticalsectionid(),
            "server-cs");
  EXPECT_EQ(Completion(resp)->result().value(), "5");
}

TEST(EntityReplayTest, ResultsWaitWhileSuspended) {
  Registry r = Orchestrations();
  History first;
  first.Started().Execution("calls_counter");
  OrchestratorResponse resp = Replay(r, History(), first);
  const std::string rid = resp.actions(0).sendentitymessage().entityoperationcalled().requestid();
  History past = first;
  past.Confirm(resp);
  History fresh;
  fresh.Started().Suspended().CallCompleted(rid, "7");
  EXPECT_EQ(Completion(Replay(r, past, fresh)), nullptr);
  fresh.Resumed();
  ASSERT_NE(Completion(Replay(r, past, fresh)), nullptr);
}

}  // namespace
}  // namespace taskhub
