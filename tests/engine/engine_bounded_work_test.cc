// Bounded work against hostile or huge requests (no gRPC): deep purge trees, long
// filter purges, unbounded pages, corrupt stored bytes. Each test reproduces a crash
// or a stall that existed before its fix.
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
#include "server/engine/engine_purge.h"
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
  auto r =
      AwaitOr<PurgeInstancesResponse>([&](auto d) { wire::Purge(*engine_, req, std::move(d)); });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->deletedinstancecount(), kDepth);
  EXPECT_TRUE(r->iscomplete().value());
  EXPECT_FALSE(Get(name(kDepth - 1)).exists());
  req.set_instanceid("n-extra");
  r = AwaitOr<PurgeInstancesResponse>([&](auto d) { wire::Purge(*engine_, req, std::move(d)); });
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
  wire::Purge(*engine_, req, [&](absl::StatusOr<PurgeInstancesResponse> r) {
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
  auto r = AwaitOr<QueryInstancesResponse>([&](auto d) { wire::Query(*engine_, q, std::move(d)); });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->orchestrationstate_size(), 1000);
  EXPECT_TRUE(r->has_continuationtoken());
  ListInstanceIdsRequest l;
  l.set_pagesize(1 << 30);
  auto ids = AwaitOr<ListInstanceIdsResponse>(
      [&](auto d) { wire::ListInstanceIds(*engine_, l, std::move(d)); });
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(ids->instanceids_size(), 1000);
  EXPECT_TRUE(ids->has_lastinstancekey());
}

// The client chooses a purge's time budget, but the server caps it: with a zero cap
// every call purges one page and says isComplete=false until nothing is left.
TEST_F(EngineHostileTest, FilterPurgeTimeIsCappedByTheServer) {
  const int n = static_cast<int>(4 * kPurgeSliceInstances + 50);  // pages: 4 full, 1 partial
  for (int i = 0; i < n; ++i) PutTerminal(absl::StrCat("c", i), "", {}, 1000 + i);
  FlushPut();
  EngineOptions o;
  o.max_purge_time = absl::ZeroDuration();
  Open(o);
  PurgeInstancesRequest req;
  req.mutable_purgeinstancefilter()->mutable_timeout()->set_seconds(3600);
  int64_t total = 0;
  int calls = 0;
  while (true) {
    auto r =
        AwaitOr<PurgeInstancesResponse>([&](auto d) { wire::Purge(*engine_, req, std::move(d)); });
    ASSERT_TRUE(r.ok()) << r.status();
    ++calls;
    total += r->deletedinstancecount();
    if (r->iscomplete().value()) break;
    EXPECT_GT(r->deletedinstancecount(), 0);  // every call makes progress
    ASSERT_LT(calls, 100);
  }
  EXPECT_EQ(total, n);
  EXPECT_GE(calls, 4);
}

// Stored bytes are decoded without exceptions or out-of-bounds reads: a corrupt
// max_seq (before: std::stoull threw and aborted the daemon at start-up) or a key too
// short for its layout (before: a size_t underflow) is DATA_LOSS with a message.
TEST_F(EngineHostileTest, CorruptStoredKeysAndCountersAreDataLoss) {
  struct Corruption {
    std::string key, value;
  };
  const Corruption cases[] = {
      {storage::keys::Meta("max_seq"), "99999999999999999999999"},
      {storage::keys::Meta("max_seq"), "12x"},
      {std::string(1, storage::keys::kInbox) + "x", "v"},
      {std::string(1, storage::keys::kActivity) + "abc", "v"},
      {std::string(1, storage::keys::kTimer) + "abc", "v"},
      {storage::keys::StatusIndexPrefix(ORCHESTRATION_STATUS_RUNNING) + "abc", ""},
  };
  for (const auto& c : cases) {
    char tmpl[] = "/tmp/engine_hostile_store_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    const std::string dir = tmpl;
    {
      storage::RocksDbOptions ro;
      ro.path = dir;
      ASSERT_TRUE(storage::OpenRocksDbBackend(ro).ok());  // creates the store
      rocksdb::DB* raw = nullptr;
      ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir, &raw).ok());
      std::unique_ptr<rocksdb::DB> db(raw);
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), c.key, c.value).ok());
    }
    storage::RocksDbOptions ro;
    ro.path = dir;
    auto backend = storage::OpenRocksDbBackend(ro);
    ASSERT_TRUE(backend.ok()) << backend.status();
    auto state = (*backend)->LoadRecoveryState();
    EXPECT_EQ(state.status().code(), absl::StatusCode::kDataLoss)
        << absl::CHexEscape(c.key) << ": " << state.status();
    backend->reset();
    std::filesystem::remove_all(dir);
  }
}

}  // namespace
}  // namespace taskhub::engine
