// One conformance suite, run over every Backend: the in-memory reference model and
// RocksDB (storage_conformance_test), and Azure Storage over one Azurite per binary
// (azure_conformance_test: this file built with TASKHUB_CONFORMANCE_AZURE). Plus a
// randomized model test: the persistent backend must answer like the model.
#include <unistd.h>

#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/core/history.h"
#include "server/storage/backend.h"
#include "server/storage/memory/memory_backend.h"
#include "server/storage/rocksdb/rocksdb_backend.h"
#ifdef TASKHUB_CONFORMANCE_AZURE
#include "server/storage/azure/azure_backend.h"
#include "server/storage/azure/testing/azurite.h"
#endif

namespace taskhub::storage {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

std::string TempDir() {
  static int n = 0;
  auto dir = std::filesystem::temp_directory_path() /
             ("taskhub_conf_" + std::to_string(getpid()) + "_" + std::to_string(++n));
  std::filesystem::remove_all(dir);
  return dir.string();
}

enum class Kind { kMemory, kRocksDb, kAzure };

// Opens a backend; Reopen() simulates a restart (RocksDB, Azure: close and open again).
// Azure: one Azurite for the whole binary; every Harness gets a fresh task hub.
class Harness {
 public:
  explicit Harness(Kind kind) : kind_(kind), dir_(kind == Kind::kRocksDb ? TempDir() : "") {
#ifdef TASKHUB_CONFORMANCE_AZURE
    if (kind == Kind::kAzure) hub_ = azure::testing::FreshHubName("conf");
#endif
    Reopen();
  }
  ~Harness() {
    backend_.reset();
    if (kind_ == Kind::kRocksDb) std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    if (kind_ == Kind::kMemory) {
      if (!backend_) backend_ = std::make_unique<MemoryBackend>();
      return;
    }
    backend_.reset();
#ifdef TASKHUB_CONFORMANCE_AZURE
    if (kind_ == Kind::kAzure) {
      AzureBackendOptions o;
      o.connection_string = azure::testing::SharedAzuriteOrDie()->ConnectionString();
      o.task_hub = hub_;
      o.partition_count = 4;
      o.owner_id = "conformance";
      auto b = OpenAzureBackend(o);
      ASSERT_TRUE(b.ok()) << b.status();
      backend_ = std::move(*b);
      return;
    }
#endif
    auto b = OpenRocksDbBackend({.path = dir_});
    ASSERT_TRUE(b.ok()) << b.status();
    backend_ = std::move(*b);
  }
  Backend* operator->() { return backend_.get(); }
  Backend* get() { return backend_.get(); }

 private:
  Kind kind_;
  std::string dir_;
  std::string hub_;
  std::unique_ptr<Backend> backend_;
};

store::InstanceRecord Rec(const std::string& id, OrchestrationStatus s, int created_s) {
  store::InstanceRecord r;
  r.set_instance_id(id);
  r.set_name("orch");
  r.set_status(s);
  r.set_execution_id("x-" + id);
  *r.mutable_created_time() = core::ToProto(kT0 + absl::Seconds(created_s));
  *r.mutable_last_updated_time() = r.created_time();
  if (core::IsTerminal(s)) {
    *r.mutable_completed_time() = core::ToProto(kT0 + absl::Seconds(created_s + 10));
  }
  return r;
}

HistoryEvent Raised(const std::string& name, const std::string& data) {
  HistoryEvent e = core::NewEvent(kT0);
  e.mutable_eventraised()->set_name(name);
  e.mutable_eventraised()->mutable_input()->set_value(data);
  return e;
}

class BackendConformance : public ::testing::TestWithParam<Kind> {
 protected:
  BackendConformance() : h_(GetParam()) {}
  void Put(const store::InstanceRecord& r, std::optional<IndexedFields> prev = std::nullopt) {
    WriteSet ws;
    ws.ops.push_back(PutInstance{r, prev});
    ASSERT_TRUE(h_->Commit(ws).ok());
  }
  std::vector<std::string> AllIds(InstanceFilter f) {
    std::vector<std::string> ids;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = h_->QueryInstances(f);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      EXPECT_LE(page->records.size(), static_cast<size_t>(f.page_size));
      for (auto& r : page->records) ids.push_back(r.instance_id());
      if (page->continuation.empty()) break;
      f.continuation = page->continuation;
    }
    return ids;
  }
  Harness h_;
};

TEST_P(BackendConformance, InstanceAndHistoryRoundTripByteForByte) {
  store::InstanceRecord r = Rec("a", ORCHESTRATION_STATUS_RUNNING, 1);
  const std::string payload = std::string("{\"k\": \"\xc3\xa9\\u0000\"}  ") + std::string(1 << 20, 'z');
  r.mutable_input()->set_value(payload);
  WriteSet ws;
  ws.ops.push_back(PutInstance{r, std::nullopt});
  // Appends of different sizes: index order must hold across them.
  for (int i = 0; i < 300;) {
    AppendHistory append{"a", static_cast<uint64_t>(i), {}};
    for (int n = 1 + i % 7; n > 0 && i < 300; --n, ++i) {
      append.events.push_back(Raised("e" + std::to_string(i), "1"));
    }
    ws.ops.push_back(std::move(append));
  }
  ws.max_seq = 7;
  ASSERT_TRUE(h_->Commit(ws).ok());
  h_.Reopen();
  auto got = h_->GetInstance("a");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->input().value(), payload);
  auto hist = h_->GetHistory("a");
  ASSERT_TRUE(hist.ok());
  ASSERT_EQ(hist->size(), 300u);
  for (int i = 0; i < 300; ++i) EXPECT_EQ((*hist)[i].eventraised().name(), "e" + std::to_string(i));
  EXPECT_FALSE(h_->GetInstance("b")->has_value());
  EXPECT_TRUE(h_->GetHistory("b")->empty());
  auto rec = h_->LoadRecoveryState();
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->max_seq, 7u);
}

TEST_P(BackendConformance, RecoveryStateHoldsLiveWorkOnly) {
  WriteSet ws;
  ws.ops.push_back(PutInstance{Rec("live", ORCHESTRATION_STATUS_RUNNING, 1), std::nullopt});
  ws.ops.push_back(PutInstance{Rec("pend", ORCHESTRATION_STATUS_PENDING, 2), std::nullopt});
  ws.ops.push_back(PutInstance{Rec("done", ORCHESTRATION_STATUS_COMPLETED, 3), std::nullopt});
  ws.ops.push_back(PutInbox{"live", 5, Raised("x", "1")});
  ws.ops.push_back(PutInbox{"live", 3, Raised("y", "2")});
  ws.ops.push_back(PutInbox{"pend", 9, Raised("z", "3")});
  store::ActivityTask t;
  t.set_instance_id("live");
  t.mutable_request()->set_name("act");
  ws.ops.push_back(PutActivity{11, t});
  ws.ops.push_back(PutActivity{12, t});
  store::TimerRecord tr;
  tr.set_instance_id("live");
  ws.ops.push_back(PutTimer{core::ToMicros(kT0 + absl::Seconds(5)), 13, tr});
  ws.ops.push_back(PutTimer{core::ToMicros(kT0 - absl::Seconds(5)), 14, tr});
  ws.max_seq = 14;
  ASSERT_TRUE(h_->Commit(ws).ok());
  WriteSet del;
  del.ops.push_back(DeleteActivity{12});
  del.ops.push_back(DeleteInbox{"pend", 9});
  del.max_seq = 14;
  ASSERT_TRUE(h_->Commit(del).ok());
  h_.Reopen();
  auto s = h_->LoadRecoveryState();
  ASSERT_TRUE(s.ok()) << s.status();
  std::set<std::string> live;
  for (auto& r : s->live_instances) live.insert(r.instance_id());
  EXPECT_EQ(live, (std::set<std::string>{"live", "pend"}));
  ASSERT_EQ(s->inbox.size(), 2u);
  EXPECT_EQ(s->inbox[0].seq, 3u);  // ordered by seq within an instance
  EXPECT_EQ(s->inbox[0].event.eventraised().name(), "y");
  ASSERT_EQ(s->activities.size(), 1u);
  EXPECT_EQ(s->activities[0].seq, 11u);
  ASSERT_EQ(s->timers.size(), 2u);
  EXPECT_EQ(s->timers[0].seq, 14u);  // ordered by fire time (negative offsets too)
  EXPECT_EQ(s->max_seq, 14u);
}

TEST_P(BackendConformance, DeleteInstanceRemovesEverythingOfIt) {
  store::InstanceRecord r = Rec("gone", ORCHESTRATION_STATUS_COMPLETED, 1);
  WriteSet ws;
  ws.ops.push_back(PutInstance{r, std::nullopt});
  ws.ops.push_back(AppendHistory{"gone", 0, {Raised("a", "1")}});
  ws.ops.push_back(PutInbox{"gone", 1, Raised("b", "1")});
  ws.ops.push_back(PutInstance{Rec("gone2", ORCHESTRATION_STATUS_COMPLETED, 1), std::nullopt});
  ws.ops.push_back(AppendHistory{"gone2", 0, {Raised("a", "1")}});
  ASSERT_TRUE(h_->Commit(ws).ok());
  WriteSet del;
  del.ops.push_back(DeleteInstance{"gone", IndexedFields::Of(r)});
  ASSERT_TRUE(h_->Commit(del).ok());
  EXPECT_FALSE(h_->GetInstance("gone")->has_value());
  EXPECT_TRUE(h_->GetHistory("gone")->empty());
  EXPECT_EQ(h_->GetHistory("gone2")->size(), 1u);  // a longer id sharing the prefix survives
  EXPECT_TRUE(h_->LoadRecoveryState()->inbox.empty());
  EXPECT_EQ(AllIds({}), std::vector<std::string>{"gone2"});
}

// A delete sees keys written earlier in its own WriteSet (the RocksDB backend deletes
// the stored keys one by one, not by range: it must not miss ones not stored yet),
// and keys of several appends.
TEST_P(BackendConformance, DeleteInstanceInTheWriteSetThatWroteIt) {
  store::InstanceRecord r = Rec("same", ORCHESTRATION_STATUS_COMPLETED, 1);
  WriteSet first;
  first.ops.push_back(PutInstance{r, std::nullopt});
  first.ops.push_back(AppendHistory{"same", 0, {Raised("a", "1")}});
  ASSERT_TRUE(h_->Commit(first).ok());
  WriteSet ws;
  ws.ops.push_back(AppendHistory{"same", 1, {Raised("b", "2"), Raised("c", "3")}});
  ws.ops.push_back(PutInbox{"same", 7, Raised("d", "4")});
  ws.ops.push_back(DeleteInstance{"same", IndexedFields::Of(r)});
  ASSERT_TRUE(h_->Commit(ws).ok());
  EXPECT_FALSE(h_->GetInstance("same")->has_value());
  EXPECT_TRUE(h_->GetHistory("same")->empty());
  EXPECT_TRUE(h_->LoadRecoveryState()->inbox.empty());
  // Written and deleted again: nothing of the first life shows.
  WriteSet again;
  again.ops.push_back(PutInstance{r, std::nullopt});
  again.ops.push_back(AppendHistory{"same", 0, {Raised("e", "5")}});
  ASSERT_TRUE(h_->Commit(again).ok());
  ASSERT_EQ(h_->GetHistory("same")->size(), 1u);
  EXPECT_EQ((*h_->GetHistory("same"))[0].eventraised().name(), "e");
}

// Many instances deleted in batches (a purge): the rest are queried exactly, by
// status, created time and prefix, whatever was deleted around them.
TEST_P(BackendConformance, QueriesAfterManyDeletions) {
  constexpr int kN = 600;
  std::vector<store::InstanceRecord> recs;
  WriteSet ws;
  for (int i = 0; i < kN; ++i) {
    recs.push_back(Rec(absl::StrCat("m", 1000 + i), i % 3 == 0 ? ORCHESTRATION_STATUS_FAILED
                                                               : ORCHESTRATION_STATUS_COMPLETED,
                       i));
    ws.ops.push_back(PutInstance{recs.back(), std::nullopt});
    ws.ops.push_back(AppendHistory{recs.back().instance_id(), 0, {Raised("a", "1")}});
  }
  ASSERT_TRUE(h_->Commit(ws).ok());
  std::vector<std::string> kept;
  WriteSet del;
  for (int i = 0; i < kN; ++i) {
    if (i % 10 == 9) {
      kept.push_back(recs[i].instance_id());
      continue;
    }
    del.ops.push_back(DeleteInstance{recs[i].instance_id(), IndexedFields::Of(recs[i])});
    if (del.ops.size() == 100) {
      ASSERT_TRUE(h_->Commit(del).ok());
      del.ops.clear();
    }
  }
  ASSERT_TRUE(h_->Commit(del).ok());
  InstanceFilter by_status;
  by_status.statuses = {ORCHESTRATION_STATUS_COMPLETED, ORCHESTRATION_STATUS_FAILED};
  by_status.page_size = 7;
  EXPECT_EQ(AllIds(by_status), kept);
  InstanceFilter by_created;
  by_created.created_from = kT0 + absl::Seconds(100);
  by_created.page_size = 7;
  std::vector<std::string> later(kept.begin() + 10, kept.end());  // m1109 is the 11th kept
  EXPECT_EQ(AllIds(by_created), later);
  InstanceFilter by_prefix;
  by_prefix.id_prefix = "m1";
  by_prefix.page_size = 7;
  EXPECT_EQ(AllIds(by_prefix), kept);
  EXPECT_TRUE(h_->GetHistory("m1000")->empty());
  EXPECT_EQ(h_->GetHistory("m1009")->size(), 1u);
}

TEST_P(BackendConformance, ClearHistoryAndDeleteEverything) {
  WriteSet ws;
  ws.ops.push_back(PutInstance{Rec("a", ORCHESTRATION_STATUS_RUNNING, 1), std::nullopt});
  ws.ops.push_back(AppendHistory{"a", 0, {Raised("a", "1")}});
  ws.ops.push_back(AppendHistory{"a", 1, {Raised("b", "1")}});
  ASSERT_TRUE(h_->Commit(ws).ok());
  WriteSet clr;
  clr.ops.push_back(ClearHistory{"a"});
  clr.ops.push_back(AppendHistory{"a", 0, {Raised("new", "1")}});
  ASSERT_TRUE(h_->Commit(clr).ok());
  auto hist = h_->GetHistory("a");
  ASSERT_EQ(hist->size(), 1u);
  EXPECT_EQ((*hist)[0].eventraised().name(), "new");
  WriteSet all;
  all.ops.push_back(DeleteEverything{});
  ASSERT_TRUE(h_->Commit(all).ok());
  h_.Reopen();
  EXPECT_FALSE(h_->GetInstance("a")->has_value());
  EXPECT_TRUE(AllIds({}).empty());
}

// Outbox messages between partitions: kept in seq order, independent of any instance
// (deleting the target instance keeps them), deleted one by one or with everything.
TEST_P(BackendConformance, MessagesSurviveUntilDeleted) {
  auto msg = [](const std::string& target, store::OutboxMessage::Kind kind) {
    store::OutboxMessage m;
    m.set_kind(kind);
    m.set_target(target);
    m.set_expected_execution("e1");
    *m.mutable_event() = Raised("x", "1");
    return m;
  };
  WriteSet ws;
  ws.ops.push_back(PutInstance{Rec("t", ORCHESTRATION_STATUS_COMPLETED, 1), std::nullopt});
  ws.ops.push_back(PutMessage{31, msg("t", store::OutboxMessage::START_CHILD)});
  ws.ops.push_back(PutMessage{7, msg("u", store::OutboxMessage::EVENT)});
  ws.ops.push_back(PutMessage{12, msg("t", store::OutboxMessage::REWIND_CHILD)});
  ws.max_seq = 31;
  ASSERT_TRUE(h_->Commit(ws).ok());
  WriteSet del;
  del.ops.push_back(DeleteMessage{12});
  del.ops.push_back(DeleteInstance{"t", IndexedFields::Of(Rec("t", ORCHESTRATION_STATUS_COMPLETED, 1))});
  ASSERT_TRUE(h_->Commit(del).ok());
  h_.Reopen();
  auto st = h_->LoadRecoveryState();
  ASSERT_TRUE(st.ok()) << st.status();
  ASSERT_EQ(st->messages.size(), 2u);
  EXPECT_EQ(st->messages[0].seq, 7u);
  EXPECT_EQ(st->messages[0].message.target(), "u");
  EXPECT_EQ(st->messages[0].message.expected_execution(), "e1");
  EXPECT_EQ(st->messages[1].seq, 31u);
  EXPECT_EQ(st->messages[1].message.kind(), store::OutboxMessage::START_CHILD);
  EXPECT_EQ(st->messages[1].message.event().eventraised().name(), "x");
  WriteSet all;
  all.ops.push_back(DeleteEverything{});
  ASSERT_TRUE(h_->Commit(all).ok());
  h_.Reopen();
  EXPECT_TRUE(h_->LoadRecoveryState()->messages.empty());
}

// Lifecycle notifications (the notifier's outbox): kept in seq order, independent of
// the instance (deleting it keeps them), rewritten in place (dead-lettering), deleted
// one by one (also a delete of a row that is gone is fine) or with everything.
TEST_P(BackendConformance, NotificationsSurviveUntilDeleted) {
  auto note = [](const std::string& id, const std::string& type) {
    store::Notification n;
    n.set_event_id("ev-" + id + "-" + type);
    n.set_webhook("http://127.0.0.1:1/hook");
    n.set_type(type);
    n.set_instance_id(id);
    n.set_name("Orch");
    n.set_runtime_status(ORCHESTRATION_STATUS_COMPLETED);
    return n;
  };
  WriteSet ws;
  ws.ops.push_back(PutInstance{Rec("t", ORCHESTRATION_STATUS_COMPLETED, 1), std::nullopt});
  ws.ops.push_back(PutNotification{40, note("t", "Completed")});
  ws.ops.push_back(PutNotification{9, note("u", "Started")});
  ws.ops.push_back(PutNotification{21, note("t", "Started")});
  ws.max_seq = 40;
  ASSERT_TRUE(h_->Commit(ws).ok());
  store::Notification dead = note("u", "Started");
  dead.set_dead(true);
  dead.set_attempts(5);
  dead.set_last_error("HTTP 500");
  WriteSet upd;
  upd.ops.push_back(PutNotification{9, dead});
  upd.ops.push_back(DeleteNotification{21, "t"});
  upd.ops.push_back(DeleteNotification{22, "t"});  // never written
  upd.ops.push_back(
      DeleteInstance{"t", IndexedFields::Of(Rec("t", ORCHESTRATION_STATUS_COMPLETED, 1))});
  upd.max_seq = 40;
  ASSERT_TRUE(h_->Commit(upd).ok());
  h_.Reopen();
  auto st = h_->LoadRecoveryState();
  ASSERT_TRUE(st.ok()) << st.status();
  ASSERT_EQ(st->notifications.size(), 2u);
  EXPECT_EQ(st->notifications[0].seq, 9u);
  EXPECT_TRUE(st->notifications[0].notification.dead());
  EXPECT_EQ(st->notifications[0].notification.attempts(), 5);
  EXPECT_EQ(st->notifications[0].notification.last_error(), "HTTP 500");
  EXPECT_EQ(st->notifications[1].seq, 40u);
  EXPECT_EQ(st->notifications[1].notification.type(), "Completed");
  EXPECT_EQ(st->notifications[1].notification.instance_id(), "t");
  EXPECT_EQ(st->notifications[1].notification.event_id(), "ev-t-Completed");
  EXPECT_GE(st->max_seq, 40u);
  WriteSet all;
  all.ops.push_back(DeleteEverything{});
  ASSERT_TRUE(h_->Commit(all).ok());
  h_.Reopen();
  EXPECT_TRUE(h_->LoadRecoveryState()->notifications.empty());
}

TEST_P(BackendConformance, StatusChangesMoveIndexes) {
  store::InstanceRecord r = Rec("a", ORCHESTRATION_STATUS_PENDING, 1);
  Put(r);
  IndexedFields prev = IndexedFields::Of(r);
  r.set_status(ORCHESTRATION_STATUS_RUNNING);
  Put(r, prev);
  prev = IndexedFields::Of(r);
  r.set_status(ORCHESTRATION_STATUS_COMPLETED);
  *r.mutable_completed_time() = core::ToProto(kT0 + absl::Seconds(50));
  Put(r, prev);
  InstanceFilter running;
  running.statuses = {ORCHESTRATION_STATUS_RUNNING, ORCHESTRATION_STATUS_PENDING};
  EXPECT_TRUE(AllIds(running).empty());
  InstanceFilter done;
  done.statuses = {ORCHESTRATION_STATUS_COMPLETED};
  EXPECT_EQ(AllIds(done), std::vector<std::string>{"a"});
  EXPECT_TRUE(h_->LoadRecoveryState()->live_instances.empty());
}

TEST_P(BackendConformance, QueriesFilterAndPageWithoutDuplicates) {
  const OrchestrationStatus statuses[] = {ORCHESTRATION_STATUS_RUNNING,
                                          ORCHESTRATION_STATUS_COMPLETED,
                                          ORCHESTRATION_STATUS_FAILED};
  WriteSet ws;
  for (int i = 0; i < 60; ++i) {
    char id[16];
    std::snprintf(id, sizeof(id), "%s-%03d", i % 2 ? "odd" : "even", i);
    // Several instances share a created time: ties order by id.
    ws.ops.push_back(PutInstance{Rec(id, statuses[i % 3], i / 4), std::nullopt});
  }
  ASSERT_TRUE(h_->Commit(ws).ok());
  InstanceFilter f;
  f.page_size = 7;
  std::vector<std::string> all = AllIds(f);
  ASSERT_EQ(all.size(), 60u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 60u);

  f.statuses = {ORCHESTRATION_STATUS_COMPLETED, ORCHESTRATION_STATUS_FAILED};
  std::vector<std::string> terminal = AllIds(f);
  EXPECT_EQ(terminal.size(), 40u);
  std::vector<std::string> expected;
  for (const auto& id : all) {
    const int i = std::stoi(id.substr(id.size() - 3));
    if (i % 3 != 0) expected.push_back(id);
  }
  EXPECT_EQ(terminal, expected);  // merged in (created, id) order

  InstanceFilter range;
  range.created_from = kT0 + absl::Seconds(2);
  range.created_to = kT0 + absl::Seconds(4);
  range.page_size = 5;
  EXPECT_EQ(AllIds(range).size(), 12u);

  InstanceFilter prefix;
  prefix.id_prefix = "odd-";
  prefix.page_size = 4;
  std::vector<std::string> odd = AllIds(prefix);
  ASSERT_EQ(odd.size(), 30u);
  EXPECT_TRUE(std::is_sorted(odd.begin(), odd.end()));
  prefix.statuses = {ORCHESTRATION_STATUS_RUNNING};
  EXPECT_EQ(AllIds(prefix).size(), 10u);

  InstanceFilter completed;
  completed.statuses = {ORCHESTRATION_STATUS_COMPLETED};
  completed.completed_from = kT0 + absl::Seconds(10);
  completed.completed_to = kT0 + absl::Seconds(11);
  EXPECT_EQ(AllIds(completed).size(), 3u);

  InstanceFilter bad;
  bad.continuation = "garbage";
  EXPECT_EQ(h_->QueryInstances(bad).status().code(), absl::StatusCode::kInvalidArgument);
}

// A token is a position in the query's order; one the query did not make (found by
// fuzz_continuation_token) still pages like the model: ids after it, within the prefix.
TEST_P(BackendConformance, PrefixQueryTokenOutsideThePrefixRange) {
  for (const char* id : {"a", "pa", "pb", "q"}) Put(Rec(id, ORCHESTRATION_STATUS_RUNNING, 0));
  InstanceFilter f;
  f.id_prefix = "p";
  f.continuation = EncodePrefixToken("9");  // before the range
  EXPECT_EQ(AllIds(f), (std::vector<std::string>{"pa", "pb"}));
  f.continuation = EncodePrefixToken("pa");
  EXPECT_EQ(AllIds(f), (std::vector<std::string>{"pb"}));
  f.continuation = EncodePrefixToken("pz");  // after the range
  EXPECT_TRUE(AllIds(f).empty());
}

// Entities ("@name@key") and orchestrations share the instance table; a query sees
// one kind only, whatever else it asks.
TEST_P(BackendConformance, QueriesSeeEntitiesOrOrchestrationsNeverBoth) {
  for (const char* id : {"@counter@a", "@counter@b", "@acct@1", "orch-1", "@x", "a@b"}) {
    Put(Rec(id, ORCHESTRATION_STATUS_RUNNING, 0));
  }
  Put(Rec("done-1", ORCHESTRATION_STATUS_COMPLETED, 1));
  InstanceFilter orchs;
  orchs.page_size = 2;
  EXPECT_EQ(AllIds(orchs), (std::vector<std::string>{"a@b", "orch-1", "done-1"}));  // (created, id)
  orchs.statuses = {ORCHESTRATION_STATUS_RUNNING};
  EXPECT_EQ(AllIds(orchs), (std::vector<std::string>{"a@b", "orch-1"}));
  orchs.statuses.clear();
  orchs.id_prefix = "@";
  EXPECT_TRUE(AllIds(orchs).empty());

  InstanceFilter ents;
  ents.entities = true;
  ents.id_prefix = "@";
  ents.page_size = 2;
  EXPECT_EQ(AllIds(ents), (std::vector<std::string>{"@acct@1", "@counter@a", "@counter@b", "@x"}));
  ents.id_prefix = "@counter@";
  EXPECT_EQ(AllIds(ents), (std::vector<std::string>{"@counter@a", "@counter@b"}));
  InstanceFilter by_time;  // the created-time path filters too
  by_time.entities = true;
  by_time.statuses = {ORCHESTRATION_STATUS_RUNNING};
  EXPECT_EQ(AllIds(by_time).size(), 4u);
}

// The start-up seed of the instance gauges (/metrics): orchestrations by status and
// entities, after updates and deletions.
TEST_P(BackendConformance, CountInstancesByStatusAndEntities) {
  for (const char* id : {"@counter@a", "@x", "a@b", "r-1", "r-2"}) {
    Put(Rec(id, ORCHESTRATION_STATUS_RUNNING, 0));
  }
  Put(Rec("f-1", ORCHESTRATION_STATUS_FAILED, 1));
  const store::InstanceRecord done = Rec("r-2", ORCHESTRATION_STATUS_COMPLETED, 0);
  Put(done, IndexedFields::Of(Rec("r-2", ORCHESTRATION_STATUS_RUNNING, 0)));
  WriteSet del;
  del.ops.push_back(
      DeleteInstance{"@x", IndexedFields::Of(Rec("@x", ORCHESTRATION_STATUS_RUNNING, 0))});
  ASSERT_TRUE(h_->Commit(del).ok());
  absl::StatusOr<InstanceCounts> c = h_->CountInstances();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->by_status[ORCHESTRATION_STATUS_RUNNING], 2);  // a@b, r-1
  EXPECT_EQ(c->by_status[ORCHESTRATION_STATUS_COMPLETED], 1);
  EXPECT_EQ(c->by_status[ORCHESTRATION_STATUS_FAILED], 1);
  EXPECT_EQ(c->by_status[ORCHESTRATION_STATUS_PENDING], 0);
  EXPECT_EQ(c->entities, 1);
}

#ifdef TASKHUB_CONFORMANCE_AZURE
constexpr Kind kPersistent = Kind::kAzure;
constexpr int kModelRounds = 150;  // Azurite is slower than RocksDB: bounded
INSTANTIATE_TEST_SUITE_P(Backends, BackendConformance, ::testing::Values(Kind::kAzure),
                         [](const auto&) { return "Azure"; });
#else
constexpr Kind kPersistent = Kind::kRocksDb;
constexpr int kModelRounds = 300;
INSTANTIATE_TEST_SUITE_P(Backends, BackendConformance,
                         ::testing::Values(Kind::kMemory, Kind::kRocksDb),
                         [](const auto& info) {
                           return info.param == Kind::kRocksDb ? "RocksDb" : "Memory";
                         });
#endif

// Random operations applied to both backends must leave them answering alike.
TEST(BackendModelTest, PersistentBackendMatchesTheModel) {
  const unsigned seed = std::random_device{}();
  std::printf("BackendModelTest seed=%u\n", seed);
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937 rng(seed);
  Harness model(Kind::kMemory), rocks(kPersistent);
  std::map<std::string, store::InstanceRecord> current;
  const OrchestrationStatus statuses[] = {
      ORCHESTRATION_STATUS_PENDING, ORCHESTRATION_STATUS_RUNNING, ORCHESTRATION_STATUS_SUSPENDED,
      ORCHESTRATION_STATUS_COMPLETED, ORCHESTRATION_STATUS_FAILED, ORCHESTRATION_STATUS_TERMINATED};
  uint64_t seq = 0;
  for (int round = 0; round < kModelRounds; ++round) {
    WriteSet ws;
    const int n = 1 + rng() % 5;
    for (int k = 0; k < n; ++k) {
      const std::string id = "i" + std::to_string(rng() % 40);
      switch (rng() % 4) {
        case 0:
        case 1: {
          store::InstanceRecord r = Rec(id, statuses[rng() % 6], rng() % 20);
          std::optional<IndexedFields> prev;
          if (current.count(id)) prev = IndexedFields::Of(current[id]);
          ws.ops.push_back(PutInstance{r, prev});
          current[id] = r;
          break;
        }
        case 2:
          if (current.count(id)) {
            ws.ops.push_back(DeleteInstance{id, IndexedFields::Of(current[id])});
            current.erase(id);
          }
          break;
        case 3:
          if (current.count(id)) ws.ops.push_back(PutInbox{id, ++seq, Raised("e", "1")});
          break;
      }
    }
    ws.max_seq = seq;
    ASSERT_TRUE(model->Commit(ws).ok());
    ASSERT_TRUE(rocks->Commit(ws).ok());
  }
  rocks.Reopen();
  for (int q = 0; q < 50; ++q) {
    InstanceFilter f;
    if (rng() % 2) f.statuses = {statuses[rng() % 6], statuses[rng() % 6]};
    if (rng() % 3 == 0) f.created_from = kT0 + absl::Seconds(rng() % 10);
    if (rng() % 3 == 0) f.created_to = kT0 + absl::Seconds(5 + rng() % 15);
    if (rng() % 4 == 0) f.id_prefix = "i" + std::to_string(1 + rng() % 3);
    f.page_size = 1 + rng() % 9;
    while (true) {
      auto a = model->QueryInstances(f);
      auto b = rocks->QueryInstances(f);
      ASSERT_TRUE(a.ok() && b.ok());
      ASSERT_EQ(a->records.size(), b->records.size());
      for (size_t i = 0; i < a->records.size(); ++i) {
        EXPECT_EQ(a->records[i].SerializeAsString(), b->records[i].SerializeAsString());
      }
      ASSERT_EQ(a->continuation, b->continuation);
      if (a->continuation.empty()) break;
      f.continuation = a->continuation;
    }
  }
  auto ma = model->LoadRecoveryState();
  auto mb = rocks->LoadRecoveryState();
  ASSERT_TRUE(ma.ok() && mb.ok());
  EXPECT_EQ(ma->live_instances.size(), mb->live_instances.size());
  EXPECT_EQ(ma->inbox.size(), mb->inbox.size());
}

}  // namespace
}  // namespace taskhub::storage
