// What only the Azure backend has, against a real Azurite (one per binary, a fresh task
// hub per test): fencing, log replay after a crash between the commit point and
// materialization, ambiguous batch outcomes, payloads beyond the table limits, the
// partition count, hub names, the hub lease, DeleteEverything, transaction counts.
#include "server/storage/azure/azure_backend.h"

#include <unistd.h>

#include <algorithm>
#include <thread>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "server/core/history.h"
#include "server/storage/azure/azure_layout.h"
#include "server/storage/azure/testing/azurite.h"
#include "server/storage/azure/testing/fault_transport.h"

namespace taskhub::storage {
namespace {
using azure::testing::FaultTransport;
using azure::testing::SharedAzuriteOrDie;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

std::string FreshHub() { return azure::testing::FreshHubName("azt"); }

AzureBackendOptions Opts(const std::string& hub, const std::string& owner = "owner-a",
                         std::shared_ptr<azure::HttpTransport> transport = nullptr) {
  AzureBackendOptions o;
  o.connection_string = SharedAzuriteOrDie()->ConnectionString();
  o.task_hub = hub;
  o.partition_count = 4;
  o.owner_id = owner;
  o.lease_duration = absl::Seconds(15);
  o.lease_wait = absl::Seconds(2);
  o.max_retry_time = absl::Seconds(1);
  o.transport = std::move(transport);
  return o;
}

std::unique_ptr<AzureBackend> MustOpen(const AzureBackendOptions& o) {
  auto b = OpenAzureBackend(o);
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? std::move(*b) : nullptr;
}

store::InstanceRecord Rec(const std::string& id, const std::string& input,
                          OrchestrationStatus s = ORCHESTRATION_STATUS_RUNNING) {
  store::InstanceRecord r;
  r.set_instance_id(id);
  r.set_name("orch");
  r.set_status(s);
  *r.mutable_created_time() = core::ToProto(kT0);
  r.mutable_input()->set_value(input);
  return r;
}

HistoryEvent Raised(const std::string& data) {
  HistoryEvent e = core::NewEvent(kT0);
  e.mutable_eventraised()->set_name("e");
  e.mutable_eventraised()->mutable_input()->set_value(data);
  return e;
}

std::string InputOf(AzureBackend* b, const std::string& id) {
  auto got = b->GetInstance(id);
  if (!got.ok()) return "error: " + got.status().ToString();
  return got->has_value() ? (*got)->input().value() : "<none>";
}

WriteSet Puts(std::initializer_list<std::pair<std::string, std::string>> recs) {
  WriteSet ws;
  for (const auto& [id, input] : recs) {
    ws.ops.push_back(PutInstance{Rec(id, input), IndexedFields::Of(Rec(id, input))});
  }
  return ws;
}

// "abc" is in partition 3 of 4 and "instance-1" in partition 0 (azure_layout_test).
FaultTransport::Predicate BatchOn(const std::string& pk) {
  return [pk](const azure::HttpRequest& r) {
    return absl::StrContains(r.url, "$batch") &&
           absl::StrContains(r.body, "(PartitionKey='" + pk + "'");
  };
}

TEST(AzureBackend, FastPathCommitIsOneStorageTransaction) {
  auto b = MustOpen(Opts(FreshHub()));
  ASSERT_TRUE(b);
  const azure::TxCounts before = b->Counts();
  WriteSet ws = Puts({{"abc", "1"}});
  ws.ops.push_back(AppendHistory{"abc", 0, {Raised("h")}});
  ws.ops.push_back(PutInbox{"abc", 3, Raised("i")});
  ASSERT_TRUE(b->Commit(ws).ok());
  const azure::TxCounts after = b->Counts();
  // (Lease renewals run in the background: not part of the commit.)
  const uint64_t renewals = after[azure::TxKind::kBlobLease] - before[azure::TxKind::kBlobLease];
  EXPECT_EQ(after.total() - before.total() - renewals, 1u) << after.ToString();
  EXPECT_EQ(after[azure::TxKind::kTableBatch] - before[azure::TxKind::kTableBatch], 1u);
}

TEST(AzureBackend, SecondOwnerFencesTheFirst) {
  const std::string hub = FreshHub();
  auto a = MustOpen(Opts(hub, "owner-a"));
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->Commit(Puts({{"abc", "from a"}})).ok());
  // A's lease "expires" (e.g. A hung): B takes the hub.
  azure::StorageClient raw(SharedAzuriteOrDie()->account());
  ASSERT_TRUE(raw.blobs().BreakLease(azlayout::ContainerName(hub), "lease").ok());
  auto b = MustOpen(Opts(hub, "owner-b"));
  ASSERT_TRUE(b);
  absl::Status st = a->Commit(Puts({{"abc", "stale write from a"}}));
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "owned by 'owner-b'")) << st;
  // Sticky, and the log path is fenced too.
  EXPECT_EQ(a->Commit(Puts({{"abc", "x"}, {"instance-1", "y"}})).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(InputOf(b.get(), "abc"), "from a");
  EXPECT_EQ(InputOf(b.get(), "instance-1"), "<none>");
  ASSERT_TRUE(b->Commit(Puts({{"abc", "from b"}, {"instance-1", "b"}})).ok());
  EXPECT_EQ(InputOf(b.get(), "abc"), "from b");
}

TEST(AzureBackend, LogPathCommitIsFencedAtItsCommitPoint) {
  const std::string hub = FreshHub();
  auto a = MustOpen(Opts(hub, "owner-a"));
  ASSERT_TRUE(a);
  azure::StorageClient raw(SharedAzuriteOrDie()->account());
  ASSERT_TRUE(raw.blobs().BreakLease(azlayout::ContainerName(hub), "lease").ok());
  auto b = MustOpen(Opts(hub, "owner-b"));
  ASSERT_TRUE(b);
  EXPECT_EQ(a->Commit(Puts({{"abc", "x"}, {"instance-1", "y"}})).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(InputOf(b.get(), "abc"), "<none>");
  EXPECT_EQ(InputOf(b.get(), "instance-1"), "<none>");
}

TEST(AzureBackend, CrashBetweenCommitPointAndMaterializationIsReplayedAtOpen) {
  const std::string hub = FreshHub();
  auto ft = std::make_shared<FaultTransport>(azure::MakeCurlTransport());
  {
    auto a = MustOpen(Opts(hub, "owner-a", ft));
    ASSERT_TRUE(a);
    ASSERT_TRUE(a->Commit(Puts({{"abc", "v1"}, {"instance-1", "v1"}})).ok());
    // Partition p00 becomes unreachable: the record commits, p03 gets it, p00 not.
    ft->FailNext(1000, BatchOn("p00"));
    absl::Status st = a->Commit(Puts({{"abc", "v2"}, {"instance-1", "v2"}}));
    EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
    EXPECT_EQ(InputOf(a.get(), "abc"), "v2");
    EXPECT_EQ(InputOf(a.get(), "instance-1"), "v1");  // not yet materialized
    ft->Clear();
  }  // "crash"
  auto b = MustOpen(Opts(hub, "owner-a"));
  ASSERT_TRUE(b);
  EXPECT_EQ(InputOf(b.get(), "instance-1"), "v2");  // replayed
  EXPECT_EQ(InputOf(b.get(), "abc"), "v2");
  // A later fast-path write is never undone by replaying the record again.
  ASSERT_TRUE(b->Commit(Puts({{"instance-1", "v3"}})).ok());
  b.reset();
  auto c = MustOpen(Opts(hub, "owner-a"));
  ASSERT_TRUE(c);
  EXPECT_EQ(InputOf(c.get(), "instance-1"), "v3");
}

// A partition whose materialization was cut after some of its batches is replayed from
// its first batch: upserts again, and deletes of rows already gone are done (404).
TEST(AzureBackend, ReplayOfAPartlyMaterializedPartitionIsIdempotent) {
  const std::string hub = FreshHub();
  auto ft = std::make_shared<FaultTransport>(azure::MakeCurlTransport());
  WriteSet old_inbox;
  for (uint64_t seq = 1; seq <= 150; ++seq)
    old_inbox.ops.push_back(PutInbox{"abc", seq, Raised("old")});
  WriteSet swap = Puts({{"abc", "v2"}, {"instance-1", "v2"}});
  for (uint64_t seq = 1; seq <= 150; ++seq) {
    swap.ops.push_back(DeleteInbox{"abc", seq});
    swap.ops.push_back(PutInbox{"abc", 1000 + seq, Raised("new")});
  }
  {
    auto a = MustOpen(Opts(hub, "owner-a", ft));
    ASSERT_TRUE(a);
    ASSERT_TRUE(a->Commit(old_inbox).ok());
    // p03 (abc) takes 4 batches: let the first through, then p03 is unreachable.
    auto seen = std::make_shared<int>(0);
    ft->FailNext(1000, [seen, p = BatchOn("p03")](const azure::HttpRequest& r) {
      return p(r) && ++*seen > 1;
    });
    EXPECT_EQ(a->Commit(swap).code(), absl::StatusCode::kUnavailable);
    ft->Clear();
    auto partial = a->LoadRecoveryState();  // some old events deleted, no new one yet
    ASSERT_TRUE(partial.ok());
    EXPECT_LT(partial->inbox.size(), 150u);
    EXPECT_GT(partial->inbox.size(), 0u);
    EXPECT_LT(partial->inbox.back().seq, 1000u);
  }
  auto b = MustOpen(Opts(hub, "owner-a"));
  ASSERT_TRUE(b);
  auto st = b->LoadRecoveryState();
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->inbox.size(), 150u);
  EXPECT_EQ(st->inbox.front().seq, 1001u);
  EXPECT_EQ(st->inbox.back().event.eventraised().input().value(), "new");
  EXPECT_EQ(InputOf(b.get(), "abc"), "v2");
}

TEST(AzureBackend, AmbiguousBatchOutcomesAreResolvedByReReading) {
  auto ft = std::make_shared<FaultTransport>(azure::MakeCurlTransport());
  auto b = MustOpen(Opts(FreshHub(), "owner-a", ft));
  ASSERT_TRUE(b);
  // The batch takes effect but its answer is lost (then 503): the client retries and
  // gets 412 on ~meta, which the backend resolves as "already applied".
  ft->FailNext(1, BatchOn("p03"), FaultTransport::When::kAfter, 0);
  ASSERT_TRUE(b->Commit(Puts({{"abc", "once"}})).ok());
  ft->FailNext(1, BatchOn("p03"), FaultTransport::When::kAfter, 503);
  WriteSet ws = Puts({{"abc", "twice"}});
  ws.ops.push_back(PutInbox{"abc", 1, Raised("x")});
  ASSERT_TRUE(b->Commit(ws).ok());
  // Same on the log path's commit point and on materialization.
  ft->FailNext(1, BatchOn("log"), FaultTransport::When::kAfter, 0);
  ft->FailNext(1, BatchOn("p00"), FaultTransport::When::kAfter, 0);
  ASSERT_TRUE(b->Commit(Puts({{"abc", "three"}, {"instance-1", "three"}})).ok());
  EXPECT_GE(ft->injected(), 4);
  // The ETags are right afterwards: more commits go through.
  WriteSet del;
  del.ops.push_back(DeleteInbox{"abc", 1});
  ASSERT_TRUE(b->Commit(del).ok());
  ASSERT_TRUE(b->Commit(Puts({{"abc", "four"}, {"instance-1", "four"}})).ok());
  EXPECT_EQ(InputOf(b.get(), "abc"), "four");
  EXPECT_EQ(InputOf(b.get(), "instance-1"), "four");
  EXPECT_TRUE(b->LoadRecoveryState()->inbox.empty());
}

TEST(AzureBackend, StorageDownFailsCommitStickyAndReadsNot) {
  auto ft = std::make_shared<FaultTransport>(azure::MakeCurlTransport());
  auto b = MustOpen(Opts(FreshHub(), "owner-a", ft));
  ASSERT_TRUE(b);
  ft->SetDown(true);
  EXPECT_EQ(b->GetInstance("abc").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(b->Commit(Puts({{"abc", "1"}})).code(), absl::StatusCode::kUnavailable);
  ft->SetDown(false);
  EXPECT_EQ(InputOf(b.get(), "abc"), "<none>");  // reads work again
  EXPECT_EQ(b->Commit(Puts({{"abc", "2"}})).code(), absl::StatusCode::kUnavailable);  // sticky
}

// An outage shorter than max_retry_time is ridden out: the commit (its reads included)
// waits and succeeds, nothing sticky.
TEST(AzureBackend, ShortOutageIsRiddenOut) {
  auto ft = std::make_shared<FaultTransport>(azure::MakeCurlTransport());
  AzureBackendOptions o = Opts(FreshHub(), "owner-a", ft);
  o.max_retry_time = absl::Seconds(60);
  auto b = MustOpen(o);
  ASSERT_TRUE(b);
  WriteSet first = Puts({{"abc", "1"}});
  first.ops.push_back(AppendHistory{"abc", 0, {Raised("old")}});
  ASSERT_TRUE(b->Commit(first).ok());
  ft->SetDown(true);
  std::thread back([&] {
    absl::SleepFor(absl::Seconds(4));  // the outage's length, not a wait for a result
    ft->SetDown(false);
  });
  WriteSet ws = Puts({{"abc", "2"}, {"instance-1", "2"}});
  ws.ops.push_back(ClearHistory{"abc"});  // needs a read before writing
  ws.ops.push_back(AppendHistory{"abc", 0, {Raised("new")}});
  absl::Status st = b->Commit(ws);
  back.join();
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(InputOf(b.get(), "instance-1"), "2");
  auto hist = b->GetHistory("abc");
  ASSERT_TRUE(hist.ok());
  ASSERT_EQ(hist->size(), 1u);
  EXPECT_EQ((*hist)[0].eventraised().input().value(), "new");
  EXPECT_TRUE(b->Commit(Puts({{"abc", "3"}})).ok());
}

TEST(AzureBackend, LargePayloadsRoundTrip) {
  const std::string hub = FreshHub();
  auto b = MustOpen(Opts(hub));
  ASSERT_TRUE(b);
  auto payload = [](size_t n, char seed) {
    std::string s(n, ' ');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('!' + (seed + i * 31) % 90);
    return s;
  };
  const std::string k70 = payload(70 << 10, 'a'), m1 = payload(1536 << 10, 'b'),
                    m5 = payload(5 << 20, 'c');
  WriteSet ws = Puts({{"abc", k70}, {"instance-1", m5}});
  ws.ops.push_back(AppendHistory{"abc", 0, {Raised(m1), Raised(k70)}});
  ws.ops.push_back(AppendHistory{"abc", 2, {Raised(m5)}});
  ASSERT_TRUE(b->Commit(ws).ok());
  // One partition, many medium rows: a record too big for log rows (spilled to a blob).
  WriteSet many;
  for (uint64_t i = 0; i < 24; ++i)
    many.ops.push_back(PutInbox{"abc", 10 + i, Raised(payload(200 << 10, 'd' + i))});
  ASSERT_TRUE(b->Commit(many).ok());
  azure::StorageClient raw(SharedAzuriteOrDie()->account());
  EXPECT_EQ(raw.blobs().List(azlayout::ContainerName(hub), "log/")->size(), 1u);
  b.reset();
  b = MustOpen(Opts(hub));
  ASSERT_TRUE(b);
  EXPECT_TRUE(InputOf(b.get(), "abc") == k70);
  EXPECT_TRUE(InputOf(b.get(), "instance-1") == m5);
  auto hist = b->GetHistory("abc");
  ASSERT_TRUE(hist.ok()) << hist.status();
  ASSERT_EQ(hist->size(), 3u);
  EXPECT_TRUE((*hist)[0].eventraised().input().value() == m1);
  EXPECT_TRUE((*hist)[2].eventraised().input().value() == m5);
  auto rec = b->LoadRecoveryState();
  ASSERT_TRUE(rec.ok()) << rec.status();
  ASSERT_EQ(rec->inbox.size(), 24u);
  EXPECT_TRUE(rec->inbox[23].event.eventraised().input().value() == payload(200 << 10, 'd' + 23));
  InstanceFilter f;  // the query reads the big record (its index row has no copy)
  auto page = b->QueryInstances(f);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->records.size(), 2u);
  // Blobs of replaced and deleted rows are removed: instance-1's record, abc's two
  // history chunks are the only ones.
  auto blobs = [&] { return raw.blobs().List(azlayout::ContainerName(hub), "data/")->size(); };
  EXPECT_EQ(blobs(), 3u);
  ASSERT_TRUE(b->Commit(Puts({{"instance-1", m1}})).ok());
  EXPECT_EQ(InputOf(b.get(), "instance-1"), m1);
  EXPECT_EQ(blobs(), 3u);
  WriteSet del;
  del.ops.push_back(DeleteInstance{"abc", IndexedFields::Of(Rec("abc", ""))});
  ASSERT_TRUE(b->Commit(del).ok());
  EXPECT_EQ(blobs(), 1u);
  EXPECT_TRUE(b->GetHistory("abc")->empty());
  // The spilled commit record's blob went with the next record (after the reopen too).
  ASSERT_TRUE(b->Commit(Puts({{"abc", "x"}, {"instance-1", "y"}})).ok());
  EXPECT_EQ(raw.blobs().List(azlayout::ContainerName(hub), "log/")->size(), 0u);
}

// Ids whose escaped form is too long for a key are hashed (azure_layout.h); queries
// still answer in id order, across pages (tokens that are hashed ids included).
TEST(AzureBackend, HashedIdsStillQueryInIdOrder) {
  auto b = MustOpen(Opts(FreshHub()));
  ASSERT_TRUE(b);
  std::string base;
  for (int i = 0; i < 50; ++i) base += "\xe4\xb8\xad";  // 150 bytes, 450 escaped chars
  std::vector<std::string> ids = {"x", base.substr(0, 147) + "z"};
  for (char c : std::string("jihgfedcba")) ids.push_back(base + c);
  WriteSet ws;
  for (const auto& id : ids) ws.ops.push_back(PutInstance{Rec(id, "in"), std::nullopt});
  ASSERT_TRUE(b->Commit(ws).ok());
  std::sort(ids.begin(), ids.end());
  auto all = [&](InstanceFilter f) {
    std::vector<std::string> got;
    for (int pages = 0; pages < 100; ++pages) {
      auto page = b->QueryInstances(f);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (const auto& r : page->records) got.push_back(r.instance_id());
      if (page->continuation.empty()) break;
      f.continuation = page->continuation;
    }
    return got;
  };
  InstanceFilter by_created;
  by_created.page_size = 3;
  EXPECT_EQ(all(by_created), ids);
  InstanceFilter by_prefix;
  by_prefix.id_prefix = base.substr(0, 147);
  by_prefix.page_size = 3;
  ASSERT_EQ(ids.front(), "x");
  EXPECT_EQ(all(by_prefix), std::vector<std::string>(ids.begin() + 1, ids.end()));
  EXPECT_EQ(InputOf(b.get(), base + "c"), "in");
}

// Big inbox events and activity inputs live in blobs; deleting their rows one by one
// (the engine's normal flow) deletes the blobs too, also after a restart.
TEST(AzureBackend, BlobsOfRowsDeletedOneByOneAreCollected) {
  const std::string hub = FreshHub();
  auto b = MustOpen(Opts(hub));
  ASSERT_TRUE(b);
  azure::StorageClient raw(SharedAzuriteOrDie()->account());
  auto blobs = [&] { return raw.blobs().List(azlayout::ContainerName(hub), "data/")->size(); };
  const std::string big(300 << 10, 'b');
  WriteSet ws;
  ws.ops.push_back(PutInbox{"abc", 1, Raised(big)});
  store::ActivityTask task;
  task.set_instance_id("abc");
  task.mutable_request()->mutable_input()->set_value(big);
  ws.ops.push_back(PutActivity{5, task});
  ws.ops.push_back(PutInbox{"abc", 2, Raised("small")});
  ASSERT_TRUE(b->Commit(ws).ok());
  EXPECT_EQ(blobs(), 2u);
  WriteSet del_act;
  del_act.ops.push_back(DeleteActivity{5});
  ASSERT_TRUE(b->Commit(del_act).ok());
  EXPECT_EQ(blobs(), 1u);
  b.reset();
  b = MustOpen(Opts(hub));
  ASSERT_TRUE(b);
  auto rec = b->LoadRecoveryState();
  ASSERT_TRUE(rec.ok());
  ASSERT_EQ(rec->inbox.size(), 2u);
  EXPECT_TRUE(rec->inbox[0].event.eventraised().input().value() == big);
  WriteSet del_inbox;
  del_inbox.ops.push_back(DeleteInbox{"abc", 1});
  ASSERT_TRUE(b->Commit(del_inbox).ok());
  EXPECT_EQ(blobs(), 0u);
  EXPECT_EQ(b->LoadRecoveryState()->inbox.size(), 1u);
}

TEST(AzureBackend, PartitionCountIsFixedWhenTheHubExists) {
  const std::string hub = FreshHub();
  MustOpen(Opts(hub)).reset();
  AzureBackendOptions o = Opts(hub);
  o.partition_count = 8;
  auto b = OpenAzureBackend(o);
  ASSERT_EQ(b.status().code(), absl::StatusCode::kFailedPrecondition) << b.status();
  EXPECT_TRUE(absl::StrContains(b.status().message(), "created with 4 partitions")) << b.status();
  EXPECT_TRUE(absl::StrContains(b.status().message(), "--partition-count 8")) << b.status();
}

TEST(AzureBackend, BadHubNamesAndOptionsAreRejected) {
  for (const char* bad : {"ab", "1hub", "has-dash", "under_score", "h\xc3\xa9llo",
                          "a234567890123456789012345678901234567890123456"}) {
    EXPECT_EQ(ValidateAzureTaskHubName(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(OpenAzureBackend(Opts(bad)).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(absl::StrContains(ValidateAzureTaskHubName("h\xc3\xbc"
                                                         "b")
                                    .message(),
                                "non-ASCII"));
  EXPECT_TRUE(absl::StrContains(ValidateAzureTaskHubName("has-dash").message(), "'-'"));
  EXPECT_TRUE(ValidateAzureTaskHubName("Hub1").ok());
  EXPECT_TRUE(ValidateAzureTaskHubName("a23456789012345678901234567890123456789012345").ok());
  for (int count : {0, 17}) {
    AzureBackendOptions o = Opts(FreshHub());
    o.partition_count = count;
    EXPECT_EQ(OpenAzureBackend(o).status().code(), absl::StatusCode::kInvalidArgument);
  }
  AzureBackendOptions o = Opts(FreshHub());
  o.connection_string = "AccountName=x";
  EXPECT_EQ(OpenAzureBackend(o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AzureBackend, LeaseHeldByAnotherOwnerWaitsThenFails) {
  const std::string hub = FreshHub();
  auto a = MustOpen(Opts(hub, "owner-a"));
  ASSERT_TRUE(a);
  const absl::Time start = absl::Now();
  auto b = OpenAzureBackend(Opts(hub, "owner-b"));  // lease_wait 2 s
  ASSERT_EQ(b.status().code(), absl::StatusCode::kFailedPrecondition) << b.status();
  EXPECT_GE(absl::Now() - start, absl::Seconds(2));  // it waited (a lower bound only)
  EXPECT_TRUE(absl::StrContains(b.status().message(), "leased by another owner")) << b.status();
  // The same owner (a restart) takes it back at once, and fences its old self.
  auto a2 = MustOpen(Opts(hub, "owner-a"));
  ASSERT_TRUE(a2);
  EXPECT_EQ(a->Commit(Puts({{"abc", "old"}})).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(a2->Commit(Puts({{"abc", "new"}})).ok());
}

TEST(AzureBackend, DeleteEverythingRemovesRowsAndDataBlobs) {
  const std::string hub = FreshHub();
  auto b = MustOpen(Opts(hub));
  ASSERT_TRUE(b);
  WriteSet ws = Puts({{"abc", std::string(600 << 10, 'x')}, {"instance-1", "small"}});
  store::ActivityTask task;
  task.set_instance_id("abc");
  ws.ops.push_back(PutActivity{5, task});
  store::TimerRecord timer;
  timer.set_instance_id("instance-1");
  ws.ops.push_back(PutTimer{-7, 6, timer});
  ws.max_seq = 6;
  ASSERT_TRUE(b->Commit(ws).ok());
  azure::StorageClient raw(SharedAzuriteOrDie()->account());
  auto blobs = raw.blobs().List(azlayout::ContainerName(hub), "data/");
  ASSERT_TRUE(blobs.ok());
  EXPECT_FALSE(blobs->empty());
  WriteSet all;
  all.ops.push_back(DeleteEverything{});
  all.ops.push_back(PutInstance{Rec("kept", std::string(300 << 10, 'k')), std::nullopt});
  ASSERT_TRUE(b->Commit(all).ok());
  b.reset();
  b = MustOpen(Opts(hub));
  ASSERT_TRUE(b);
  auto st = b->LoadRecoveryState();
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->live_instances.size(), 1u);
  EXPECT_EQ(st->live_instances[0].instance_id(), "kept");
  EXPECT_TRUE(st->activities.empty());
  EXPECT_TRUE(st->timers.empty());
  EXPECT_EQ(st->max_seq, 6u);
  EXPECT_EQ(InputOf(b.get(), "kept"), std::string(300 << 10, 'k'));  // its blob survived
  EXPECT_EQ(raw.blobs().List(azlayout::ContainerName(hub), "data/")->size(), 1u);
}

}  // namespace
}  // namespace taskhub::storage
