// Writes the seed corpora of the fuzz targets: the request sequences, worker flows
// and histories of the unit tests (tests/engine/engine_test.cc, sdk/src/replay_test.cc,
// the storage conformance test), as fuzz_input.proto messages. The store seeds are
// the RocksDB stores the worker flows leave behind. Deterministic apart from the
// random ids and times the engine records in stores.
// Usage: make_seeds OUT_DIR  (writes OUT_DIR/<target>/seed-NN)
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "proto/timestamp_util.h"
#include "rocksdb/db.h"
#include "server/storage/rocksdb/rocksdb_backend.h"
#include "tests/fuzz/engine_harness.h"
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/seed_builders.h"

namespace taskhub::fuzz {
namespace {

namespace fs = std::filesystem;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

void Write(const fs::path& dir, int n, const std::string& bytes) {
  fs::create_directories(dir);
  char name[32];
  snprintf(name, sizeof(name), "seed-%02d", n);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

std::vector<ClientInput> ClientSeeds() {
  std::vector<ClientInput> out(5);
  // The life of one instance through every control call.
  for (const ClientCall& c : {Start("i1"), Get("i1"), Raise("i1", "go"), ClientCall(), Get("i1"),
                              Terminate("i1"), Get("i1"), Purge("i1"), Get("i1")}) {
    *out[0].add_calls() = c;
  }
  ClientCall suspend, resume;
  suspend.mutable_suspend()->set_instanceid("i1");
  suspend.mutable_suspend()->mutable_reason()->set_value("why");
  resume.mutable_resume()->set_instanceid("i1");
  *out[0].mutable_calls(3) = suspend;
  *out[0].add_calls() = resume;
  // Start options, restart, rewind of a non-failed instance, waits and history.
  ClientCall s = Start("", "orch");
  (*s.mutable_start()->mutable_tags())["k"] = "v";
  s.mutable_start()->mutable_version()->set_value("1.0");
  s.mutable_start()->mutable_executionid()->set_value("exec");
  *s.mutable_start()->mutable_scheduledstarttimestamp() = ToTimestamp(kT0 + absl::Hours(1e5));
  ClientCall dup = Start("d");
  dup.mutable_start()->mutable_orchestrationidreusepolicy()->add_replaceablestatus(
      ORCHESTRATION_STATUS_PENDING);
  ClientCall restart, rewind, wait, waitc, hist, del;
  restart.mutable_restart()->set_instanceid("d");
  restart.mutable_restart()->set_restartwithnewinstanceid(true);
  rewind.mutable_rewind()->set_instanceid("d");
  rewind.mutable_rewind()->mutable_reason()->set_value("again");
  wait.mutable_wait_start()->set_instanceid("d");
  waitc.mutable_wait_completion()->set_instanceid("d");
  hist.mutable_history()->set_instanceid("d");
  del.mutable_delete_task_hub();
  for (const ClientCall& c : {s, Start("d"), dup, dup, Terminate("d"), restart, rewind, wait, waitc,
                              hist, del, Get("d")}) {
    *out[1].add_calls() = c;
  }
  // Queries: prefixes, paging, tokens (valid, foreign, malformed), ListInstanceIds.
  for (const char* id : {"a", "a1", "a2", "b"}) *out[2].add_calls() = Start(id);
  *out[2].add_calls() = Terminate("a1");
  *out[2].add_calls() = Terminate("b");
  for (const ClientCall& c :
       {Query("", 1, ""), Query("a", 1, ""), Query("a", 1, "pa1"),
        Query("", 2, "c1700000000000000/a"), Query("", 0, "x"), Query("", 1, "c12a/x")}) {
    *out[2].add_calls() = c;
  }
  ClientCall list;
  list.mutable_list()->set_pagesize(1);
  list.mutable_list()->add_runtimestatus(ORCHESTRATION_STATUS_TERMINATED);
  *out[2].add_calls() = list;
  list.mutable_list()->mutable_lastinstancekey()->set_value("c1700000000000000/a1");
  *out[2].add_calls() = list;
  // Purge by filter, recursive purge and terminate.
  for (const char* id : {"p1", "p2"}) *out[3].add_calls() = Start(id);
  *out[3].add_calls() = Terminate("p1", true);
  ClientCall pf;
  pf.mutable_purge()->mutable_purgeinstancefilter()->add_runtimestatus(
      ORCHESTRATION_STATUS_TERMINATED);
  pf.mutable_purge()->mutable_purgeinstancefilter()->mutable_timeout()->set_seconds(1);
  *out[3].add_calls() = pf;
  *out[3].add_calls() = Purge("p2", true);
  ClientCall batch;
  batch.mutable_purge()->mutable_instancebatch()->add_instanceids("p2");
  *out[3].add_calls() = batch;
  // Bad input: missing name, duplicate, unknown instance, oversized payload.
  ClientCall noname;
  noname.mutable_start()->set_instanceid("x");
  ClientCall big = Start("big");
  big.mutable_start()->mutable_input()->set_value(std::string(5000, 'x'));
  for (const ClientCall& c : {noname, Start("dup"), Start("dup"), Raise("nobody", "e"), big}) {
    *out[4].add_calls() = c;
  }
  // Entities: signals (now, scheduled, retried request id, malformed ids), reads, admin.
  ClientInput ent;
  for (const char* id : {"@counter@a", "@Counter@a", "@counter@b", "@bad", "@@x", "plain"}) {
    ClientCall sig;
    sig.mutable_signal_entity()->set_instanceid(id);
    sig.mutable_signal_entity()->set_name("add");
    sig.mutable_signal_entity()->mutable_input()->set_value("1");
    sig.mutable_signal_entity()->set_requestid("r1");
    *ent.add_calls() = sig;
  }
  ClientCall later;
  later.mutable_signal_entity()->set_instanceid("@counter@c");
  later.mutable_signal_entity()->set_name("add");
  *later.mutable_signal_entity()->mutable_scheduledtime() = ToTimestamp(kT0 + absl::Hours(1e5));
  ClientCall gete, querye, cleane;
  gete.mutable_get_entity()->set_instanceid("@counter@a");
  gete.mutable_get_entity()->set_includestate(true);
  querye.mutable_query_entities()->mutable_query()->mutable_instanceidstartswith()->set_value(
      "@counter");
  querye.mutable_query_entities()->mutable_query()->mutable_pagesize()->set_value(1);
  querye.mutable_query_entities()->mutable_query()->set_includetransient(true);
  cleane.mutable_clean_entities()->set_removeemptyentities(true);
  cleane.mutable_clean_entities()->set_releaseorphanedlocks(true);
  for (const ClientCall& c : {later, gete, querye, cleane, Purge("@counter@b"),
                              Terminate("@counter@a"), Get("@counter@a")}) {
    *ent.add_calls() = c;
  }
  out.push_back(ent);
  return out;
}

std::vector<WorkerInput> WorkerSeeds() {
  std::vector<WorkerInput> out;
  const absl::Time now = absl::Now();
  // engine_test ActivityRoundTrip: schedule, complete the activity, complete.
  out.push_back(
      Flow({Orch({Schedule(1, "act")}), Act("42"),
            Orch({Complete(2, ORCHESTRATION_STATUS_COMPLETED, "\"done\"")}), Client(Get("w1"))}));
  // Timers, sub-orchestrations, events to self and another, custom status.
  WorkerStep many =
      Orch({Timer(1, now - absl::Seconds(1)), Timer(2, now + absl::Hours(1)), Sub(3, "w1-child"),
            Send(4, "w1", "self"), Send(5, "nobody", "x"), Schedule(6, "act")});
  many.mutable_orchestrator()->mutable_customstatus()->set_value("\"busy\"");
  WorkerStep child = Orch({Complete(1, ORCHESTRATION_STATUS_COMPLETED, "\"kid\"")});
  out.push_back(Flow({many, Act("", true), child, Orch({}), Client(Terminate("w1", true))}));
  // Failure, client rewind, then a rewind action with a new history.
  WorkerStep rw;
  OrchestratorAction* a = rw.mutable_orchestrator()->add_actions();
  a->set_id(-1);
  HistoryEvent ev;
  ev.set_eventid(-1);
  *ev.mutable_timestamp() = ToTimestamp(now);
  ev.mutable_orchestratorstarted();
  *a->mutable_rewindorchestration()->add_newhistory() = ev;
  ev.mutable_executionstarted()->set_name("orch");
  ev.mutable_executionstarted()->mutable_orchestrationinstance()->set_instanceid("w1");
  *a->mutable_rewindorchestration()->add_newhistory() = ev;
  ev.set_eventid(1);
  ev.mutable_suborchestrationinstancecreated()->set_instanceid("w1-sub");
  ev.mutable_suborchestrationinstancecreated()->set_name("child");
  *a->mutable_rewindorchestration()->add_newhistory() = ev;
  ClientCall rewind;
  rewind.mutable_rewind()->set_instanceid("w1");
  out.push_back(
      Flow({Orch({Sub(1, "w1-sub")}), Orch({Complete(1, ORCHESTRATION_STATUS_FAILED, "")}),
            Orch({Complete(1, ORCHESTRATION_STATUS_FAILED, "")}), Client(rewind), rw, Orch({})}));
  // Abandons, stale tokens, reconnect with filters, continue-as-new with carry-over.
  WorkerStep abandon;
  abandon.set_abandon_orchestration("");
  WorkerStep stale = Orch({Complete(1, ORCHESTRATION_STATUS_COMPLETED, "\"late\"")});
  stale.set_token(3);
  WorkerStep reconnect;
  reconnect.mutable_reconnect()->mutable_workitemfilters()->add_orchestrations()->set_name("orch");
  reconnect.mutable_reconnect()->set_maxconcurrentorchestrationworkitems(1);
  OrchestratorAction can = Complete(1, ORCHESTRATION_STATUS_CONTINUED_AS_NEW, "2");
  *can.mutable_completeorchestration()->add_carryoverevents() = ev;
  WorkerStep act_abandon;
  act_abandon.set_abandon_activity("");
  out.push_back(Flow({abandon, reconnect, stale, Orch({Schedule(1, "a"), Schedule(2, "b")}),
                      act_abandon, Client(Raise("w1", "e")), Orch({can}), Orch({})}));
  // Suspend/resume around an episode; terminate action on a child; wrong token.
  ClientCall sus, res;
  sus.mutable_suspend()->set_instanceid("w1");
  res.mutable_resume()->set_instanceid("w1");
  OrchestratorAction term;
  term.set_id(2);
  term.mutable_terminateorchestration()->set_instanceid("w1-c");
  term.mutable_terminateorchestration()->set_recurse(true);
  WorkerStep fuzzed = Orch({Complete(3, ORCHESTRATION_STATUS_COMPLETED, "1")});
  fuzzed.set_token(2);
  fuzzed.mutable_orchestrator()->set_completiontoken("o-bogus");
  out.push_back(Flow({Client(sus), Orch({Sub(1, "w1-c")}), Client(res), Orch({term}), fuzzed,
                      Orch({Complete(3, ORCHESTRATION_STATUS_COMPLETED, "1")})}));
  // Restarts with work in flight; tokenless completions (older SDKs) from the work
  // item's connection and from another one.
  WorkerStep restart;
  restart.set_restart(true);
  WorkerStep tokenless = Orch({Schedule(1, "a")});
  tokenless.set_token(2);
  tokenless.mutable_orchestrator()->set_instanceid("w1");
  WorkerStep elsewhere = Act("7");
  elsewhere.set_token(2);
  elsewhere.set_other_peer(true);
  elsewhere.mutable_activity()->set_instanceid("w1");
  elsewhere.mutable_activity()->set_taskid(1);
  WorkerStep act_tokenless = elsewhere;
  act_tokenless.set_other_peer(false);
  out.push_back(Flow({restart, tokenless, restart, elsewhere, act_tokenless, restart,
                      Orch({Timer(2, now + absl::Hours(1))}), restart, Client(Get("w1"))}));
  // Entities: a call, a scheduled signal and a critical section over two entities; batch
  // answers (full, too many results, batch failure), an abandon, a restart in between.
  WorkerStep ent_abandon;
  ent_abandon.set_abandon_entity("");
  out.push_back(
      Flow({Orch({EntityCall(1, "@counter@a", "req-1"),
                  EntitySignal(2, "@counter@b", now + absl::Hours(1))}),
            EntityResult(1), Orch({EntityLock(3, {"@counter@b", "@counter@a"}, "cs")}),
            Orch({EntityCall(4, "@counter@a", "req-2")}), ent_abandon, restart, EntityResult(3),
            EntityResult(0, true),
            Orch({EntityUnlock(5, "@counter@a", "cs"), EntityUnlock(6, "@counter@b", "cs"),
                  Complete(7, ORCHESTRATION_STATUS_COMPLETED, "1")}),
            Client(Terminate("w1"))}));
  return out;
}

// Runs a worker flow on a RocksDB store and returns the store's pairs.
StoreInput StoreAfter(const WorkerInput& flow, const std::string& dir) {
  fs::remove_all(dir);
  {
    storage::RocksDbOptions o;
    o.path = dir;
    o.sync = false;
    auto backend = storage::OpenRocksDbBackend(o);
    if (!backend.ok()) abort();
    EngineHarness h(backend->get());
    h.Connect(flow.stream());
    ClientCall start;
    *start.mutable_start() = flow.start();
    h.Apply(start);
    for (const auto& s : flow.steps()) h.Apply(s);
    h.Barrier();
  }
  StoreInput in;
  in.set_no_format(true);  // the format key is among the pairs
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::OpenForReadOnly(rocksdb::Options(), dir, &raw).ok()) abort();
  std::unique_ptr<rocksdb::DB> db(raw);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    StoredPair* p = in.add_pairs();
    p->set_key(it->key().ToString());
    p->set_value(it->value().ToString());
  }
  *in.add_calls() = Get(flow.start().instanceid());
  ClientCall h;
  h.mutable_history()->set_instanceid(flow.start().instanceid());
  *in.add_calls() = h;
  *in.add_calls() = Query("", 2, "");
  return in;
}

// --- SDK histories (as sdk/src/replay_test.cc builds them) ------------------------------
class History {
 public:
  History& Started(absl::Time t = kT0) { return Add(-1, t).mutable_orchestratorstarted(), *this; }
  History& Execution(const std::string& name, const std::string& input) {
    auto* e = Add(-1, kT0).mutable_executionstarted();
    e->set_name(name);
    e->mutable_input()->set_value(input);
    e->mutable_orchestrationinstance()->set_instanceid("inst");
    e->mutable_orchestrationinstance()->mutable_executionid()->set_value("exec");
    return *this;
  }
  History& Scheduled(int id, const std::string& name) {
    return Add(id, kT0).mutable_taskscheduled()->set_name(name), *this;
  }
  History& Completed(int id, const std::string& result) {
    auto* e = Add(-1, kT0).mutable_taskcompleted();
    e->set_taskscheduledid(id);
    e->mutable_result()->set_value(result);
    return *this;
  }
  History& Failed(int id) {
    auto* e = Add(-1, kT0).mutable_taskfailed();
    e->set_taskscheduledid(id);
    e->mutable_failuredetails()->set_errortype("E");
    e->mutable_failuredetails()->set_errormessage("kaput");
    return *this;
  }
  History& TimerCreated(int id, absl::Time at) {
    return *Add(id, kT0).mutable_timercreated()->mutable_fireat() = ToTimestamp(at), *this;
  }
  History& TimerFired(int id, absl::Time at) {
    auto* e = Add(-1, at).mutable_timerfired();
    e->set_timerid(id);
    *e->mutable_fireat() = ToTimestamp(at);
    return *this;
  }
  History& Raised(const std::string& name, const std::string& data) {
    auto* e = Add(-1, kT0).mutable_eventraised();
    e->set_name(name);
    e->mutable_input()->set_value(data);
    return *this;
  }
  History& SubCreated(int id, const std::string& name) {
    return Add(id, kT0).mutable_suborchestrationinstancecreated()->set_name(name), *this;
  }
  History& SubCompleted(int id, const std::string& result) {
    auto* e = Add(-1, kT0).mutable_suborchestrationinstancecompleted();
    e->set_taskscheduledid(id);
    e->mutable_result()->set_value(result);
    return *this;
  }
  History& Sent(int id) { return Add(id, kT0).mutable_eventsent()->set_name("ping"), *this; }
  History& EntitySignaled(int id, const std::string& op) {
    auto* e = Add(id, kT0).mutable_entityoperationsignaled();
    e->set_requestid("s" + std::to_string(id));
    e->set_operation(op);
    e->mutable_targetinstanceid()->set_value("@counter@c");
    return *this;
  }
  History& EntityCalled(int id, const std::string& op, const std::string& target) {
    auto* e = Add(id, kT0).mutable_entityoperationcalled();
    e->set_requestid("r" + std::to_string(id));
    e->set_operation(op);
    e->mutable_parentinstanceid()->set_value("inst");
    e->mutable_targetinstanceid()->set_value(target);
    return *this;
  }
  History& EntityCallCompleted(int id, const std::string& output) {
    auto* e = Add(-1, kT0).mutable_entityoperationcompleted();
    e->set_requestid("r" + std::to_string(id));
    e->mutable_output()->set_value(output);
    return *this;
  }
  History& LockRequested(int id) {
    auto* e = Add(id, kT0).mutable_entitylockrequested();
    e->set_criticalsectionid("cs");
    e->add_lockset("@account@a");
    e->add_lockset("@account@b");
    e->mutable_parentinstanceid()->set_value("inst");
    return *this;
  }
  History& LockGranted() {
    return Add(-1, kT0).mutable_entitylockgranted()->set_criticalsectionid("cs"), *this;
  }
  History& Suspended() { return Add(-1, kT0).mutable_executionsuspended(), *this; }
  History& Resumed() { return Add(-1, kT0).mutable_executionresumed(), *this; }
  History& Done() { return Add(-1, kT0).mutable_orchestratorcompleted(), *this; }
  std::vector<HistoryEvent> events;

 private:
  HistoryEvent& Add(int id, absl::Time t) {
    events.emplace_back();
    events.back().set_eventid(id);
    *events.back().mutable_timestamp() = ToTimestamp(t);
    return events.back();
  }
};

OrchestratorRequest Episode(const History& past, const History& fresh) {
  OrchestratorRequest r;
  r.set_instanceid("inst");
  r.mutable_executionid()->set_value("exec");
  for (const auto& e : past.events) *r.add_pastevents() = e;
  for (const auto& e : fresh.events) *r.add_newevents() = e;
  return r;
}

std::vector<ReplayInput> ReplaySeeds() {
  std::vector<ReplayInput> out;
  auto add = [&](std::vector<OrchestratorRequest> eps) {
    out.emplace_back();
    for (auto& e : eps) *out.back().add_episodes() = e;
  };
  {  // cities: three episodes, as a worker with a session sees them
    History h1, p2, f2, p3, f3;
    h1.Started().Execution("cities", "null");
    p2.Started().Execution("cities", "null").Scheduled(1, "hello").Done();
    f2.Started().Completed(1, "\"Hi Tokyo\"");
    p3 = p2;
    p3.Started().Completed(1, "\"Hi Tokyo\"").Scheduled(2, "hello").Done();
    f3.Started().Completed(2, "\"Hi Seattle\"");
    add({Episode(History(), h1), Episode(p2, f2), Episode(p3, f3)});
  }
  {  // fan-out with results out of order
    History p, f;
    p.Started()
        .Execution("fan", "3")
        .Scheduled(1, "square")
        .Scheduled(2, "square")
        .Scheduled(3, "square")
        .Done();
    f.Started().Completed(3, "4").Completed(1, "0").Completed(2, "1");
    add({Episode(p, f)});
  }
  {  // approval: event vs timeout
    History p, f1, f2;
    p.Started().Execution("approval", "null").TimerCreated(1, kT0 + absl::Hours(1)).Done();
    f1.Started().Raised("approval", "true");
    f2.Started(kT0 + absl::Hours(1)).TimerFired(1, kT0 + absl::Hours(1));
    add({Episode(p, f1), Episode(p, f2)});
  }
  {  // catching a failure; retry with a durable timer
    History p, f, p2, f2, p3, f3;
    p.Started().Execution("catching", "null").Scheduled(1, "boom").Done();
    f.Started().Failed(1);
    p2.Started().Execution("retrying", "null").Scheduled(1, "flaky").Done();
    f2.Started().Failed(1);
    p3 = p2;
    p3.Started().Failed(1).TimerCreated(2, kT0 + absl::Seconds(5)).Done();
    f3.Started(kT0 + absl::Seconds(5)).TimerFired(2, kT0 + absl::Seconds(5));
    add({Episode(p, f)});
    add({Episode(p2, f2), Episode(p3, f3)});
  }
  {  // continue-as-new with an unprocessed event; suspend/resume
    History f, p2, f2;
    f.Started().Execution("loop", "41").Raised("later", "1");
    p2.Started().Execution("cities", "null").Scheduled(1, "hello").Done();
    f2.Started().Suspended().Completed(1, "\"Hi\"").Resumed();
    add({Episode(History(), f)});
    add({Episode(p2, f2)});
  }
  {  // parent: timer, event sent, sub-orchestration vs external event
    History h1, p2, f2, p3, f3;
    h1.Started().Execution("parent", "null");
    p2.Started().Execution("parent", "null").TimerCreated(1, kT0 + absl::Seconds(1)).Done();
    f2.Started(kT0 + absl::Seconds(1)).TimerFired(1, kT0 + absl::Seconds(1));
    p3 = p2;
    p3.Started(kT0 + absl::Seconds(1))
        .TimerFired(1, kT0 + absl::Seconds(1))
        .Sent(2)
        .SubCreated(3, "cities")
        .Done();
    f3.Started().SubCompleted(3, "[\"a\",\"b\"]").Raised("stop", "\"now\"");
    add({Episode(History(), h1), Episode(p2, f2), Episode(p3, f3)});
  }
  {  // unknown orchestrator
    History f;
    f.Started().Execution("nope", "null");
    add({Episode(History(), f)});
  }
  {  // entities: a delayed signal, a call, a critical section with calls (ids as recorded)
    History h1, p2, f2, p3, f3, p4, f4;
    h1.Started().Execution("entities", "null");
    p2.Started()
        .Execution("entities", "null")
        .EntitySignaled(1, "add")
        .EntityCalled(2, "get", "@counter@c")
        .Done();
    f2.Started().EntityCallCompleted(2, "3");
    p3 = p2;
    p3.Started().EntityCallCompleted(2, "3").LockRequested(3).Done();
    f3.Started().LockGranted();
    p4 = p3;
    p4.Started().LockGranted().EntityCalled(4, "balance", "@account@a").Done();
    f4.Started().EntityCallCompleted(4, "2");
    add({Episode(History(), h1), Episode(p2, f2), Episode(p3, f3), Episode(p4, f4)});
  }
  return out;
}

// --- continuation tokens: flags, page size, token -----------------------------------------
std::vector<std::string> TokenSeeds() {
  std::vector<std::string> out;
  auto add = [&](uint8_t flags, uint8_t page, const std::string& tok) {
    out.push_back(std::string(1, static_cast<char>(flags)) + static_cast<char>(page) + tok);
  };
  add(0, 2, "");
  add(0, 2, "c1700000000000000/a1");
  add(4, 1, "c1700000001000000/a2");
  add(3, 1, "pa1");
  add(1, 1, "pp");
  add(8, 1, "c1700000002000000/b/1");
  add(0x70, 3, "c-1/x");
  add(0, 0, "c99999999999999999999/a");
  add(0, 1, "x");
  return out;
}

}  // namespace
}  // namespace taskhub::fuzz

int main(int argc, char** argv) {
  using namespace taskhub::fuzz;
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  QuietLogs();
  const fs::path out = argv[1];
  int n = 0;
  for (const auto& in : ClientSeeds())
    Write(out / "fuzz_engine_client", n++, in.SerializeAsString());
  n = 0;
  const auto flows = WorkerSeeds();
  for (const auto& in : flows) Write(out / "fuzz_engine_worker", n++, in.SerializeAsString());
  n = 0;
  char tmpl[] = "/tmp/taskhub-seeds-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  for (const auto& flow : flows) {
    Write(out / "fuzz_store_recovery", n++,
          StoreAfter(flow, std::string(tmpl) + "/db").SerializeAsString());
  }
  fs::remove_all(tmpl);
  n = 0;
  for (const auto& in : ReplaySeeds()) Write(out / "fuzz_sdk_replay", n++, in.SerializeAsString());
  n = 0;
  for (const auto& s : TokenSeeds()) Write(out / "fuzz_continuation_token", n++, s);
  return 0;
}
