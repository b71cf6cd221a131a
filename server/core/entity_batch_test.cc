// Table-driven tests of entity batches: the work item (V1, V2) and CompleteEntityBatch.
#include <functional>

#include "gtest/gtest.h"
#include "server/core/entity.h"
#include "server/core/entity_test_support.h"
#include "server/core/record.h"

namespace taskhub::core {
namespace {

using namespace taskhub::core::testing;  // NOLINT

HistoryEvent WithInput(HistoryEvent e, const std::string& in) {
  if (e.has_entityoperationcalled()) e.mutable_entityoperationcalled()->mutable_input()->set_value(in);
  if (e.has_entityoperationsignaled()) {
    e.mutable_entityoperationsignaled()->mutable_input()->set_value(in);
  }
  return e;
}

TEST(BuildEntityWorkItem, V2) {
  std::vector<HistoryEvent> ops = {WithInput(Sig("r1", "add"), "1"), Call("o", "r2", "oe")};
  WorkItem wi;
  BuildEntityWorkItem(EntityRec("@counter@k", "5"), ops, false, &wi);
  ASSERT_TRUE(wi.has_entityrequestv2());
  const EntityRequest& r = wi.entityrequestv2();
  EXPECT_EQ(r.instanceid(), "@counter@k");
  EXPECT_EQ(r.executionid(), "ee");
  EXPECT_EQ(r.entitystate().value(), "5");
  ASSERT_EQ(r.operationrequests_size(), 2);
  EXPECT_EQ(r.operationrequests(0).entityoperationsignaled().requestid(), "r1");
  EXPECT_EQ(r.operationrequests(0).entityoperationsignaled().input().value(), "1");
  EXPECT_EQ(r.operationrequests(1).entityoperationcalled().parentexecutionid().value(), "oe");
  EXPECT_EQ(r.operationrequests(1).eventid(), -1);

  WorkItem stateless;
  BuildEntityWorkItem(EntityRec(), ops, false, &stateless);
  EXPECT_FALSE(stateless.entityrequestv2().has_entitystate());  // null: no state
}

TEST(BuildEntityWorkItem, V1) {
  std::vector<HistoryEvent> ops = {WithInput(Sig("r1", "add"), "1"), Call("o", "r2")};
  WorkItem wi;
  BuildEntityWorkItem(EntityRec("@counter@k", "5"), ops, true, &wi);
  ASSERT_TRUE(wi.has_entityrequest());
  const EntityBatchRequest& r = wi.entityrequest();
  EXPECT_EQ(r.instanceid(), "@counter@k");
  EXPECT_EQ(r.entitystate().value(), "5");
  ASSERT_EQ(r.operations_size(), 2);
  EXPECT_EQ(r.operations(0).operation(), "add");
  EXPECT_EQ(r.operations(0).requestid(), "r1");
  EXPECT_EQ(r.operations(0).input().value(), "1");
  EXPECT_EQ(r.operations(1).operation(), "get");
  EXPECT_EQ(r.operations(1).requestid(), "r2");
  EXPECT_FALSE(r.operations(1).has_input());
  WorkItem stateless;
  BuildEntityWorkItem(EntityRec(), ops, true, &stateless);
  EXPECT_FALSE(stateless.entityrequest().has_entitystate());
}

// --- CompleteEntityBatch ---------------------------------------------------------------

OperationResult Ok(const std::string& out) {
  OperationResult r;
  r.mutable_success()->mutable_result()->set_value(out);
  return r;
}

OperationResult Fail(const std::string& msg) {
  OperationResult r;
  r.mutable_failure()->mutable_failuredetails()->set_errortype("Boom");
  r.mutable_failure()->mutable_failuredetails()->set_errormessage(msg);
  return r;
}

OperationAction SignalAction(const std::string& target, std::optional<absl::Duration> at = {}) {
  OperationAction a;
  a.mutable_sendsignal()->set_instanceid(target);
  a.mutable_sendsignal()->set_name("ping");
  a.mutable_sendsignal()->mutable_input()->set_value("in");
  if (at) *a.mutable_sendsignal()->mutable_scheduledtime() = ToProto(kNow + *at);
  return a;
}

OperationAction StartAction(const std::string& id) {
  OperationAction a;
  a.mutable_startneworchestration()->set_instanceid(id);
  a.mutable_startneworchestration()->set_name("orch");
  a.mutable_startneworchestration()->mutable_input()->set_value("x");
  return a;
}

// What a reply looks like in the outbox: "o:completed:r2", "o:failed:r2".
std::vector<std::string> Replies(const Transition& t) {
  std::vector<std::string> out;
  for (const auto& m : t.outbox) {
    if (m.event.has_entityoperationcompleted()) {
      out.push_back(m.target + ":completed:" + m.event.entityoperationcompleted().requestid() +
                    "=" + m.event.entityoperationcompleted().output().value() + "@" +
                    m.expected_execution_id);
    } else if (m.event.has_entityoperationfailed()) {
      out.push_back(m.target + ":failed:" + m.event.entityoperationfailed().requestid() + "=" +
                    m.event.entityoperationfailed().failuredetails().errortype());
    }
  }
  return out;
}

struct BatchCase {
  const char* name;
  std::vector<HistoryEvent> queue;  // the batch is its first ops.size() positions ...
  std::vector<size_t> positions;    // ... unless given here
  std::function<void(EntityBatchResult*)> result;
  Limits limits;
  absl::StatusCode want_code;
  std::vector<size_t> want_removed;
  std::optional<std::string> want_state;  // nullopt: no state
  bool want_deleted;
  std::vector<std::string> want_replies;
  size_t want_other_messages = 0;  // signals and starts sent now
  size_t want_delayed = 0;
};

// A signal's trace context (taskhubd-internal field of the queued event) goes to the V1
// operation's traceContext and never leaves the server inside a V2 HistoryEvent.
TEST(BuildEntityWorkItem, SignalTraceContext) {
  HistoryEvent sig = Sig("r1", "add");
  sig.mutable_entityoperationsignaled()->mutable_parenttracecontext()->set_traceparent("00-tp");
  WorkItem v1, v2;
  BuildEntityWorkItem(EntityRec("@counter@k", "5"), {sig}, true, &v1);
  BuildEntityWorkItem(EntityRec("@counter@k", "5"), {sig}, false, &v2);
  EXPECT_EQ(v1.entityrequest().operations(0).tracecontext().traceparent(), "00-tp");
  EXPECT_FALSE(
      v2.entityrequestv2().operationrequests(0).entityoperationsignaled().has_parenttracecontext());
}

TEST(TraceNote, TraceIdOfAW3cTraceparent) {
  EXPECT_EQ(TraceNote("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            " [trace 0af7651916cd43dd8448eb211c80319c]");
  EXPECT_EQ(TraceNote(""), "");
  EXPECT_EQ(TraceNote("garbage"), "");
}

TEST(CompleteEntityBatch, Table) {
  const std::vector<HistoryEvent> q3 = {Sig("r1"), Call("o", "r2", "oe"), Sig("r3")};
  const BatchCase cases[] = {
      {"all ops, new state, reply to the caller", q3, {0, 1, 2},
       [](EntityBatchResult* r) {
         *r->add_results() = Ok("a");
         *r->add_results() = Ok("b");
         *r->add_results() = Ok("c");
         r->mutable_entitystate()->set_value("9");
       },
       {}, absl::StatusCode::kOk, {0, 1, 2}, "9", false, {"o:completed:r2=b@oe"}},
      {"partial: the rest stays queued", q3, {0, 1, 2},
       [](EntityBatchResult* r) {
         *r->add_results() = Ok("a");
         r->mutable_entitystate()->set_value("2");
       },
       {}, absl::StatusCode::kOk, {0}, "2", false, {}},
      {"an op failure goes to its caller, the state is the worker's", q3, {0, 1, 2},
       [](EntityBatchResult* r) {
         *r->add_results() = Ok("a");
         *r->add_results() = Fail("no");
         *r->add_results() = Ok("c");
         r->mutable_entitystate()->set_value("1");
       },
       {}, absl::StatusCode::kOk, {0, 1, 2}, "1", false, {"o:failed:r2=Boom"}},
      {"no state left, nothing queued: deleted", {Sig("r1")}, {0},
       [](EntityBatchResult* r) { *r->add_results() = Ok(""); }, {}, absl::StatusCode::kOk, {},
       std::nullopt, true, {}},
      {"no state but more queued: kept", {Sig("r1"), Sig("r2")}, {0},
       [](EntityBatchResult* r) { *r->add_results() = Ok(""); }, {}, absl::StatusCode::kOk, {0},
       std::nullopt, false, {}},
      {"batch-level failure: all fail, state kept, actions ignored", q3, {0, 1, 2},
       [](EntityBatchResult* r) {
         r->mutable_failuredetails()->set_errortype("Framework");
         r->mutable_entitystate()->set_value("junk");
         *r->add_actions() = SignalAction("@x@1");
       },
       {}, absl::StatusCode::kOk, {0, 1, 2}, "0", false, {"o:failed:r2=Framework"}},
      {"more results than ops: invalid, batch fails", q3, {0, 1},
       [](EntityBatchResult* r) {
         for (int i = 0; i < 3; ++i) *r->add_results() = Ok("x");
         r->mutable_entitystate()->set_value("junk");
       },
       {}, absl::StatusCode::kInvalidArgument, {0, 1}, "0", false,
       {"o:failed:r2=InvalidEntityBatchResult"}},
      {"no results: invalid", q3, {0, 1, 2}, [](EntityBatchResult*) {}, {},
       absl::StatusCode::kInvalidArgument, {0, 1, 2}, "0", false,
       {"o:failed:r2=InvalidEntityBatchResult"}},
      {"a result without outcome: invalid", q3, {0, 1, 2},
       [](EntityBatchResult* r) {
         r->add_results();
         r->add_results();
         r->add_results();
       },
       {}, absl::StatusCode::kInvalidArgument, {0, 1, 2}, "0", false,
       {"o:failed:r2=InvalidEntityBatchResult"}},
      {"an invalid signal target: invalid", q3, {0, 1, 2},
       [](EntityBatchResult* r) {
         for (int i = 0; i < 3; ++i) *r->add_results() = Ok("x");
         *r->add_actions() = SignalAction("not-an-entity");
       },
       {}, absl::StatusCode::kInvalidArgument, {0, 1, 2}, "0", false,
       {"o:failed:r2=InvalidEntityBatchResult"}},
      {"starting an '@' orchestration: invalid", q3, {0, 1, 2},
       [](EntityBatchResult* r) {
         for (int i = 0; i < 3; ++i) *r->add_results() = Ok("x");
         *r->add_actions() = StartAction("@x@y");
       },
       {}, absl::StatusCode::kInvalidArgument, {0, 1, 2}, "0", false,
       {"o:failed:r2=InvalidEntityBatchResult"}},
      {"oversized state: payload too large", q3, {0, 1, 2},
       [](EntityBatchResult* r) {
         for (int i = 0; i < 3; ++i) *r->add_results() = Ok("x");
         r->mutable_entitystate()->set_value(std::string(11, 's'));
       },
       {10, 0, 0}, absl::StatusCode::kResourceExhausted, {0, 1, 2}, "0", false,
       {"o:failed:r2=PayloadTooLarge"}},
      {"oversized result: payload too large", q3, {0, 1, 2},
       [](EntityBatchResult* r) {
         for (int i = 0; i < 3; ++i) *r->add_results() = Ok(std::string(11, 'r'));
       },
       {10, 0, 0}, absl::StatusCode::kResourceExhausted, {0, 1, 2}, "0", false,
       {"o:failed:r2=PayloadTooLarge"}},
      {"actions: signal now, signal later, start", q3, {0, 1, 2},
       [](EntityBatchResult* r) {
         for (int i = 0; i < 3; ++i) *r->add_results() = Ok("x");
         r->mutable_entitystate()->set_value("0");
         *r->add_actions() = SignalAction("@Other@1");
         *r->add_actions() = SignalAction("@other@2", absl::Minutes(1));
         *r->add_actions() = SignalAction("@other@3", -absl::Minutes(1));
         *r->add_actions() = StartAction("");
       },
       {}, absl::StatusCode::kOk, {0, 1, 2}, "0", false, {"o:completed:r2=x@oe"}, 3, 1},
      {"locked batch: positions not contiguous", {Sig("a"), Call("o", "r2", "oe"), Sig("c")},
       {1},
       [](EntityBatchResult* r) {
         *r->add_results() = Ok("v");
         r->mutable_entitystate()->set_value("0");
       },
       {}, absl::StatusCode::kOk, {1}, "0", false, {"o:completed:r2=v@oe"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Fixture f;
    SetUpEntity(&f, EntityRec("@counter@k", "0"), c.queue);
    std::vector<HistoryEvent> ops;
    for (size_t p : c.positions) ops.push_back(c.queue[p]);
    EntityResultCommand cmd;
    c.result(&cmd.result);
    Transition t = CompleteEntityBatch(f.State(), c.positions, ops, cmd, kNow,
                                       [&] { return f.NewId(); }, c.limits);
    EXPECT_EQ(t.reply.code(), c.want_code) << t.reply;
    EXPECT_EQ(t.instance_id, "@counter@k");
    EXPECT_EQ(t.discard_existing, c.want_deleted);
    if (c.want_deleted) {
      EXPECT_FALSE(t.record.has_value());
    } else {
      ASSERT_TRUE(t.record.has_value());
      EXPECT_EQ(t.inbox_removed, c.want_removed);
      EXPECT_EQ(t.record->entity().has_state(), c.want_state.has_value());
      if (c.want_state) {
        EXPECT_EQ(t.record->entity().state().value(), *c.want_state);
      }
    }
    EXPECT_EQ(Replies(t), c.want_replies);
    EXPECT_EQ(t.outbox.size(), c.want_replies.size() + c.want_other_messages);
    EXPECT_EQ(t.delayed.size(), c.want_delayed);
    EXPECT_TRUE(t.inbox_append.empty());
    EXPECT_EQ(t.inbox_consumed, 0u);
  }
}

TEST(CompleteEntityBatch, ActionMessages) {
  Fixture f;
  SetUpEntity(&f, EntityRec("@counter@k", "0"), {Sig("r1")});
  EntityResultCommand cmd;
  *cmd.result.add_results() = Ok("x");
  cmd.result.mutable_entitystate()->set_value("1");
  *cmd.result.add_actions() = SignalAction("@Other@1");
  *cmd.result.add_actions() = SignalAction("@other@2", absl::Minutes(1));
  *cmd.result.add_actions() = StartAction("");
  *cmd.result.add_actions() = StartAction("named");
  Transition t = CompleteEntityBatch(f.State(), {0}, {Sig("r1")}, cmd, kNow,
                                     [&] { return f.NewId(); }, Limits{});
  ASSERT_TRUE(t.reply.ok());
  ASSERT_EQ(t.outbox.size(), 3u);
  const Message& sig = t.outbox[0];
  EXPECT_EQ(sig.kind, Message::Kind::kEvent);
  EXPECT_EQ(sig.target, "@other@1");  // normalized
  const auto& s = sig.event.entityoperationsignaled();
  EXPECT_FALSE(s.requestid().empty());
  EXPECT_EQ(s.operation(), "ping");
  EXPECT_EQ(s.input().value(), "in");
  EXPECT_EQ(s.targetinstanceid().value(), "@other@1");
  ASSERT_EQ(t.delayed.size(), 1u);
  EXPECT_EQ(t.delayed[0].at, kNow + absl::Minutes(1));
  EXPECT_EQ(t.delayed[0].message.target, "@other@2");
  EXPECT_NE(t.delayed[0].message.event.entityoperationsignaled().requestid(), s.requestid());
  const Message& start = t.outbox[1];
  EXPECT_EQ(start.kind, Message::Kind::kStartChild);
  EXPECT_FALSE(start.target.empty());  // generated
  EXPECT_EQ(start.child.record.instance_id(), start.target);
  EXPECT_FALSE(start.child.record.has_parent());
  EXPECT_EQ(start.child.record.name(), "orch");
  EXPECT_FALSE(start.child.record.execution_id().empty());
  EXPECT_EQ(start.child.start.executionstarted().input().value(), "x");
  EXPECT_EQ(t.outbox[2].target, "named");
  // A signal's reply goes nowhere; the last change is stamped.
  ASSERT_TRUE(t.record.has_value());
  EXPECT_EQ(FromProto(t.record->entity().last_modified()), kNow);
}

TEST(CompleteEntityBatch, EntityGone) {
  Fixture f;
  EntityResultCommand cmd;
  *cmd.result.add_results() = Ok("x");
  Transition t = CompleteEntityBatch(f.State(), {0}, {Sig("r1")}, cmd, kNow,
                                     [&] { return f.NewId(); }, Limits{});
  EXPECT_TRUE(t.reply.ok());
  EXPECT_TRUE(t.empty());
}

}  // namespace
}  // namespace taskhub::core
