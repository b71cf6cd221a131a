// Tests of the wire -> command translation (server/api/translate.h).
#include "server/api/translate.h"

#include <functional>

#include "gtest/gtest.h"
#include "server/core/history.h"

namespace taskhub::api {
namespace {

const TranslateOptions kOpt{/*max_payload_bytes=*/100, /*max_page_size=*/1000,
                            /*default_page_size=*/100};

// --- which requests are refused, and with what -------------------------------------

struct RejectCase {
  const char* name;
  std::function<absl::Status()> run;
  absl::StatusCode want;
  const char* field;  // named in the message ("" = any message)
};

template <typename Req>
std::function<absl::Status()> Of(std::function<void(Req&)> fill) {
  return [fill] {
    Req req;
    fill(req);
    return Translate(req, kOpt).status();
  };
}

const std::string kBig(101, 'x');
const std::string kBadId = "@entity@key";

std::vector<RejectCase> RejectCases() {
  using C = absl::StatusCode;
  return {
      {"start ok", Of<CreateInstanceRequest>([](auto& r) { r.set_name("o"); }), C::kOk, ""},
      {"start without a name", Of<CreateInstanceRequest>([](auto&) {}), C::kInvalidArgument,
       "name"},
      {"start with a bad id", Of<CreateInstanceRequest>([](auto& r) {
         r.set_name("o");
         r.set_instanceid(kBadId);
       }), C::kInvalidArgument, "instanceId"},
      {"start with a big input", Of<CreateInstanceRequest>([](auto& r) {
         r.set_name("o");
         r.mutable_input()->set_value(kBig);
       }), C::kResourceExhausted, "input"},
      {"raise without an id", Of<RaiseEventRequest>([](auto& r) { r.set_name("e"); }),
       C::kInvalidArgument, "instanceId"},
      {"raise without a name", Of<RaiseEventRequest>([](auto& r) { r.set_instanceid("i"); }),
       C::kInvalidArgument, "name"},
      {"raise with a big input", Of<RaiseEventRequest>([](auto& r) {
         r.set_instanceid("i");
         r.set_name("e");
         r.mutable_input()->set_value(kBig);
       }), C::kResourceExhausted, "input"},
      {"terminate with a big output", Of<TerminateRequest>([](auto& r) {
         r.set_instanceid("i");
         r.mutable_output()->set_value(kBig);
       }), C::kResourceExhausted, "output"},
      {"suspend with a bad id", Of<SuspendRequest>([](auto& r) { r.set_instanceid(kBadId); }),
       C::kInvalidArgument, "instanceId"},
      {"resume with a big reason", Of<ResumeRequest>([](auto& r) {
         r.set_instanceid("i");
         r.mutable_reason()->set_value(kBig);
       }), C::kResourceExhausted, "reason"},
      {"rewind with a big reason", Of<RewindInstanceRequest>([](auto& r) {
         r.set_instanceid("i");
         r.mutable_reason()->set_value(kBig);
       }), C::kResourceExhausted, "reason"},
      {"restart without an id", Of<RestartInstanceRequest>([](auto&) {}), C::kInvalidArgument,
       "instanceId"},
      {"purge of nothing", Of<PurgeInstancesRequest>([](auto&) {}), C::kInvalidArgument,
       "PurgeInstancesRequest"},
      {"purge a bad id", Of<PurgeInstancesRequest>([](auto& r) { r.set_instanceid(""); }),
       C::kInvalidArgument, "instanceId"},
      {"purge a batch with a bad id", Of<PurgeInstancesRequest>([](auto& r) {
         r.mutable_instancebatch()->add_instanceids("a");
         r.mutable_instancebatch()->add_instanceids("@no-key");
       }), C::kInvalidArgument, "instanceBatch.instanceIds[1]"},
      // Entities: ids starting with '@' name entities, never orchestrations.
      {"start with an entity id", Of<CreateInstanceRequest>([](auto& r) {
         r.set_name("o");
         r.set_instanceid("@counter@1");
       }), C::kInvalidArgument, "reserved for entities"},
      {"raise at an entity", Of<RaiseEventRequest>([](auto& r) {
         r.set_instanceid("@counter@1");
         r.set_name("e");
       }), C::kInvalidArgument, "is an entity"},
      {"terminate an entity", Of<TerminateRequest>([](auto& r) { r.set_instanceid("@c@1"); }),
       C::kInvalidArgument, "is an entity"},
      {"suspend an entity", Of<SuspendRequest>([](auto& r) { r.set_instanceid("@c@1"); }),
       C::kInvalidArgument, "is an entity"},
      {"resume an entity", Of<ResumeRequest>([](auto& r) { r.set_instanceid("@c@1"); }),
       C::kInvalidArgument, "is an entity"},
      {"rewind an entity", Of<RewindInstanceRequest>([](auto& r) { r.set_instanceid("@c@1"); }),
       C::kInvalidArgument, "is an entity"},
      {"restart an entity", Of<RestartInstanceRequest>([](auto& r) { r.set_instanceid("@c@1"); }),
       C::kInvalidArgument, "is an entity"},
      {"purge an entity by id", Of<PurgeInstancesRequest>([](auto& r) {
         r.set_instanceid("@Counter@1");
       }), C::kOk, ""},
      {"signal ok", Of<SignalEntityRequest>([](auto& r) {
         r.set_instanceid("@counter@1");
         r.set_name("add");
       }), C::kOk, ""},
      {"signal a malformed id", Of<SignalEntityRequest>([](auto& r) {
         r.set_instanceid("@counter");
         r.set_name("add");
       }), C::kInvalidArgument, "instanceId"},
      {"signal an orchestration id", Of<SignalEntityRequest>([](auto& r) {
         r.set_instanceid("counter@1");
         r.set_name("add");
       }), C::kInvalidArgument, "instanceId"},
      {"signal an empty name", Of<SignalEntityRequest>([](auto& r) {
         r.set_instanceid("@@1");
         r.set_name("add");
       }), C::kInvalidArgument, "instanceId"},
      {"signal without an operation", Of<SignalEntityRequest>([](auto& r) {
         r.set_instanceid("@counter@1");
       }), C::kInvalidArgument, "name"},
      {"signal with a big input", Of<SignalEntityRequest>([](auto& r) {
         r.set_instanceid("@counter@1");
         r.set_name("add");
         r.mutable_input()->set_value(kBig);
       }), C::kResourceExhausted, "input"},
      {"signal with a control char in the request id", Of<SignalEntityRequest>([](auto& r) {
         r.set_instanceid("@counter@1");
         r.set_name("add");
         r.set_requestid("a\x01");
       }), C::kInvalidArgument, "requestId"},
      {"entity result without a token", Of<EntityBatchResult>([](auto&) {}),
       C::kInvalidArgument, "completionToken"},
      {"chunked episode answer", Of<OrchestratorResponse>([](auto& r) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
         r.set_ispartial(true);
#pragma GCC diagnostic pop
       }), C::kUnimplemented, "isPartial"},
      // Checked later, against the state: an oversized activity result still fails the task.
      {"activity result over the cap passes", Of<ActivityResponse>([](auto& r) {
         r.mutable_result()->set_value(kBig);
       }), C::kOk, ""},
      // The actions are checked by CompleteEpisode (an invalid answer fails the orchestration).
      {"episode answer with a bad action passes",
       Of<OrchestratorResponse>([](auto& r) { r.add_actions()->set_id(1); }), C::kOk, ""},
  };
}

class RejectTest : public ::testing::TestWithParam<RejectCase> {};

TEST_P(RejectTest, Status) {
  const RejectCase& c = GetParam();
  absl::Status st = c.run();
  EXPECT_EQ(st.code(), c.want) << st;
  EXPECT_NE(st.message().find(c.field), std::string::npos) << st;
}

INSTANTIATE_TEST_SUITE_P(Translate, RejectTest, ::testing::ValuesIn(RejectCases()),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (char& ch : n) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return n;
                         });

// --- what the commands carry ------------------------------------------------------------

TEST(TranslateTest, StartKeepsAbsentAndEmptyApart) {
  CreateInstanceRequest req;
  req.set_name("o");
  req.mutable_input()->set_value("");
  req.mutable_executionid()->set_value("x1");
  *req.mutable_scheduledstarttimestamp() = core::ToProto(absl::FromUnixSeconds(5));
  (*req.mutable_tags())["k"] = "v";
  req.mutable_parenttracecontext()->set_traceparent("tp");
  auto c = Translate(req, kOpt);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->instance_id, "");
  EXPECT_EQ(c->input, std::optional<std::string>(""));
  EXPECT_EQ(c->version, std::nullopt);
  EXPECT_EQ(c->execution_id, "x1");
  EXPECT_EQ(c->scheduled_start, absl::FromUnixSeconds(5));
  EXPECT_EQ(c->tags.at("k"), "v");
  EXPECT_EQ(c->parent_trace_context->traceparent(), "tp");
  EXPECT_FALSE(c->replaceable_statuses.has_value());  // no policy sent

  req.mutable_orchestrationidreusepolicy();  // a policy that lists nothing
  c = Translate(req, kOpt);
  ASSERT_TRUE(c->replaceable_statuses.has_value());
  EXPECT_TRUE(c->replaceable_statuses->empty());
  req.mutable_orchestrationidreusepolicy()->add_replaceablestatus(ORCHESTRATION_STATUS_FAILED);
  c = Translate(req, kOpt);
  EXPECT_EQ(*c->replaceable_statuses, std::vector{ORCHESTRATION_STATUS_FAILED});
}

TEST(TranslateTest, ControlCommands) {
  TerminateRequest t;
  t.set_instanceid("i");
  t.set_recursive(true);
  auto term = Translate(t, kOpt);
  EXPECT_EQ(term->reason, std::nullopt);
  EXPECT_TRUE(term->recursive);
  RaiseEventRequest r;
  r.set_instanceid("i");
  r.set_name("e");
  r.mutable_input()->set_value("1");
  auto raise = Translate(r, kOpt);
  EXPECT_EQ(raise->input, std::optional<std::string>("1"));
  RestartInstanceRequest rs;
  rs.set_instanceid("i");
  rs.set_restartwithnewinstanceid(true);
  EXPECT_TRUE(Translate(rs, kOpt)->new_instance_id);
}

TEST(TranslateTest, ListsAndPurgesSeeOnlyTerminalStatuses) {
  ListInstanceIdsRequest l;
  auto all = Translate(l, kOpt);
  EXPECT_EQ(all->statuses.size(), 4u);
  EXPECT_FALSE(all->nothing_matches);
  EXPECT_EQ(all->page_size, 100);
  l.add_runtimestatus(ORCHESTRATION_STATUS_RUNNING);
  EXPECT_TRUE(Translate(l, kOpt)->nothing_matches);
  l.add_runtimestatus(ORCHESTRATION_STATUS_FAILED);
  l.set_pagesize(5000);
  auto some = Translate(l, kOpt);
  EXPECT_EQ(some->statuses, std::vector{ORCHESTRATION_STATUS_FAILED});
  EXPECT_EQ(some->page_size, 1000);

  PurgeInstancesRequest p;
  p.mutable_purgeinstancefilter()->add_runtimestatus(ORCHESTRATION_STATUS_PENDING);
  p.mutable_purgeinstancefilter()->mutable_timeout()->set_seconds(3);
  p.set_recursive(true);
  auto purge = Translate(p, kOpt);
  EXPECT_TRUE(purge->by_filter);
  EXPECT_TRUE(purge->nothing_matches);
  EXPECT_EQ(purge->timeout, absl::Seconds(3));
  EXPECT_TRUE(purge->recursive);
  p.mutable_purgeinstancefilter()->mutable_timeout()->set_seconds(-1);
  EXPECT_EQ(Translate(p, kOpt)->timeout, std::nullopt);
}

TEST(TranslateTest, QueryPaging) {
  InstanceQuery q;
  q.add_runtimestatus(ORCHESTRATION_STATUS_RUNNING);  // any status may be queried
  q.mutable_instanceidprefix()->set_value("ab");
  q.mutable_continuationtoken()->set_value("tok");
  q.set_fetchinputsandoutputs(true);
  auto c = Translate(q, kOpt);
  EXPECT_EQ(c->statuses, std::vector{ORCHESTRATION_STATUS_RUNNING});
  EXPECT_EQ(c->id_prefix, std::optional<std::string>("ab"));
  EXPECT_EQ(c->continuation, std::optional<std::string>("tok"));
  EXPECT_EQ(c->page_size, 100);
  EXPECT_TRUE(c->fetch_payloads);
}

TEST(TranslateTest, WorkerResults) {
  ActivityResponse a;
  a.set_instanceid("i");
  a.set_taskid(4);
  a.set_completiontoken("tok");
  auto void_result = Translate(a, kOpt);
  EXPECT_EQ(void_result->result, std::nullopt);
  EXPECT_FALSE(void_result->failure.has_value());
  a.mutable_failuredetails()->set_errortype("E");
  auto failed = Translate(a, kOpt);
  EXPECT_EQ(failed->failure->errortype(), "E");
  EXPECT_EQ(failed->task_id, 4);
  EXPECT_EQ(failed->completion_token, "tok");

  OrchestratorResponse o;
  o.set_instanceid("i");
  o.set_completiontoken("t2");
  o.add_actions()->set_id(7);
  auto ep = Translate(o, kOpt);
  EXPECT_EQ(ep->completion_token, "t2");
  EXPECT_EQ(ep->response.actions(0).id(), 7);

  AbandonActivityTaskRequest ab;
  ab.set_completiontoken("t3");
  EXPECT_EQ(Translate(ab).kind, core::AbandonCommand::Kind::kActivity);

  EntityBatchResult eb;
  eb.set_completiontoken("t4");
  eb.add_results()->mutable_success();
  auto er = Translate(eb, kOpt);
  ASSERT_TRUE(er.ok()) << er.status();
  EXPECT_EQ(er->completion_token, "t4");
  EXPECT_EQ(er->result.results_size(), 1);
  AbandonEntityTaskRequest abe;
  abe.set_completiontoken("t5");
  EXPECT_EQ(Translate(abe).kind, core::AbandonCommand::Kind::kEntity);
  EXPECT_EQ(Translate(abe).completion_token, "t5");
}

// Entity ids are normalized (the name lower-cased, the key kept); a purge names
// entities by their normalized id too.
TEST(TranslateTest, EntityRequests) {
  SignalEntityRequest sig;
  sig.set_instanceid("@Counter@Key@X");
  sig.set_name("Add");
  sig.mutable_input()->set_value("");
  sig.mutable_scheduledtime()->set_seconds(1'700'000'000);
  auto s = Translate(sig, kOpt);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->instance_id, "@counter@Key@X");
  EXPECT_EQ(s->operation, "Add");
  EXPECT_EQ(s->input, std::optional<std::string>(""));
  EXPECT_EQ(s->request_id, "");  // generated by the engine
  EXPECT_EQ(s->scheduled_time, absl::FromUnixSeconds(1'700'000'000));
  sig.set_requestid("r-1");
  sig.clear_input();
  sig.clear_scheduledtime();
  s = Translate(sig, kOpt);
  EXPECT_EQ(s->request_id, "r-1");
  EXPECT_EQ(s->input, std::nullopt);
  EXPECT_EQ(s->scheduled_time, std::nullopt);

  auto id = TranslateEntityId("instanceId", "@ACCT@Bob");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "@acct@Bob");
  EXPECT_EQ(TranslateEntityId("instanceId", "acct@Bob").status().code(),
            absl::StatusCode::kInvalidArgument);

  PurgeInstancesRequest purge;
  purge.set_instanceid("@Counter@1");
  EXPECT_EQ(Translate(purge, kOpt)->instance_ids, (std::vector<std::string>{"@counter@1"}));

  EntityQuery q;
  auto all = Translate(q, kOpt);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->id_prefix, std::nullopt);
  EXPECT_EQ(all->page_size, 100);
  EXPECT_FALSE(all->include_state);
  q.mutable_instanceidstartswith()->set_value("Counter@K");  // '@' added, name lower-cased
  q.mutable_pagesize()->set_value(5000);
  q.set_includestate(true);
  q.set_includetransient(true);
  q.mutable_lastmodifiedfrom()->set_seconds(10);
  q.mutable_continuationtoken()->set_value("p@counter@a");
  auto some = Translate(q, kOpt);
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(some->id_prefix, "@counter@K");
  EXPECT_EQ(some->page_size, 1000);
  EXPECT_TRUE(some->include_state);
  EXPECT_TRUE(some->include_transient);
  EXPECT_EQ(some->modified_from, absl::FromUnixSeconds(10));
  EXPECT_EQ(some->modified_to, std::nullopt);
  EXPECT_EQ(some->continuation, "p@counter@a");
  q.mutable_instanceidstartswith()->set_value("@COUNT");  // a name prefix
  EXPECT_EQ(Translate(q, kOpt)->id_prefix, "@count");

  CleanEntityStorageRequest clean;
  clean.set_removeemptyentities(true);
  clean.mutable_continuationtoken()->set_value("p@x@1");
  auto c = Translate(clean, kOpt);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->remove_empty);
  EXPECT_FALSE(c->release_orphaned_locks);
  EXPECT_EQ(c->continuation, "p@x@1");
}

// A worker's stream: concurrency and work-item filters (name -> versions); no filters
// means every work item, an empty category with filters means none of that kind.
TEST(TranslateTest, WorkerStreamFilters) {
  GetWorkItemsRequest plain;
  plain.set_maxconcurrentorchestrationworkitems(3);
  core::ConnectCommand c = Translate(plain);
  EXPECT_EQ(c.max_orchestrations, 3);
  EXPECT_EQ(c.max_activities, 0);
  EXPECT_FALSE(c.filtered);
  GetWorkItemsRequest req;
  auto* f = req.mutable_workitemfilters();
  auto* o = f->add_orchestrations();
  o->set_name("orch");
  o->add_versions("1");
  o->add_versions("2");
  f->add_activities()->set_name("act");
  f->add_exclude_activities()->set_name("bad");
  c = Translate(req);
  EXPECT_TRUE(c.filtered);
  EXPECT_EQ(c.orchestrations.at("orch"), (std::set<std::string>{"1", "2"}));
  EXPECT_TRUE(c.activities.at("act").empty());
  EXPECT_TRUE(c.excluded_activities.contains("bad"));
  EXPECT_TRUE(c.entities.empty());  // filtered: no entity work items
  f->add_entities()->set_name("Counter");
  req.set_maxconcurrententityworkitems(7);
  c = Translate(req);
  EXPECT_EQ(c.entities, (std::set<std::string>{"counter"}));
  EXPECT_EQ(c.max_entities, 7);
}

}  // namespace
}  // namespace taskhub::api
