// Retries, ambiguous outcomes, outages and transaction counts, against a real Azurite
// through FaultTransport (testing/fault_transport.h).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "server/storage/azure/client/azure_test_support.h"

namespace taskhub::azure {
namespace {

using testing::FaultTransport;
using RetryTest = AzuriteTest;

TableOp Insert(const std::string& pk, const std::string& rk) {
  TableOp op;
  op.kind = TableOpKind::kInsert;
  op.entity.partition_key = pk;
  op.entity.row_key = rk;
  op.entity.props["V"] = TableValue::String(rk);
  return op;
}

TEST_F(RetryTest, ServerBusyIsRetriedAndEveryAttemptCounted) {
  const std::string t = TableName();
  AZ_ASSERT_OK(tables().CreateTableIfNotExists(t));
  const TxCounts before = client_->Counts();
  faults_->FailNext(2, FaultTransport::MethodIs("POST"), FaultTransport::When::kBefore, 503);
  AZ_ASSERT_OK(tables().Execute(t, Insert("p", "a")));
  EXPECT_EQ(faults_->injected(), 2);
  EXPECT_EQ(client_->Counts()[TxKind::kTableWrite] - before[TxKind::kTableWrite], 3u);
  AZ_EXPECT_OK(tables().Get(t, "p", "a"));

  // 429, 500 and transport errors are retried too.
  faults_->FailNext(1, nullptr, FaultTransport::When::kBefore, 429);
  faults_->FailNext(1, nullptr, FaultTransport::When::kBefore, 500);
  faults_->FailNext(1, nullptr, FaultTransport::When::kBefore, 0);
  AZ_EXPECT_OK(tables().Get(t, "p", "a"));
  EXPECT_EQ(faults_->injected(), 5);
}

TEST_F(RetryTest, RetriesEndInUnavailableNamingTheOperation) {
  const std::string t = TableName();
  AZ_ASSERT_OK(tables().CreateTableIfNotExists(t));
  const int before = faults_->requests();
  faults_->FailNext(100, FaultTransport::MethodIs("POST"), FaultTransport::When::kBefore, 0);
  auto r = tables().Execute(t, Insert("p", "a"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_NE(r.status().message().find("Table Insert"), std::string::npos) << r.status();
  EXPECT_EQ(faults_->requests() - before, FastRetries().max_attempts);
  faults_->Clear();
  faults_->FailNext(100, nullptr, FaultTransport::When::kBefore, 503);
  auto busy = tables().Get(t, "p", "a");
  EXPECT_EQ(busy.status().code(), absl::StatusCode::kUnavailable) << busy.status();
  EXPECT_EQ(ErrorCodeOf(busy.status()), "ServerBusy");
  faults_->Clear();
  EXPECT_EQ(tables().Get(t, "p", "a").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RetryTest, ClientErrorsAreNotRetried) {
  const std::string t = TableName();
  AZ_ASSERT_OK(tables().CreateTableIfNotExists(t));
  for (int status : {400, 403, 404, 409, 412}) {
    const int before = faults_->requests();
    faults_->FailNext(1, nullptr, FaultTransport::When::kBefore, status);
    EXPECT_FALSE(tables().Get(t, "p", "a").ok());
    EXPECT_EQ(faults_->requests() - before, 1) << status;
  }
}

TEST_F(RetryTest, CreateIfNotExistsIgnoresOnlyAlreadyExists) {
  const std::string t = TableName(), c = LowerName("gone"), q = LowerName("gone");
  faults_->FailNext(1, nullptr, FaultTransport::When::kBefore, 409, "TableBeingDeleted");
  absl::Status s = tables().CreateTableIfNotExists(t);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  EXPECT_EQ(ErrorCodeOf(s), "TableBeingDeleted");
  faults_->FailNext(1, nullptr, FaultTransport::When::kBefore, 409, "ContainerBeingDeleted");
  EXPECT_EQ(blobs().CreateContainerIfNotExists(c).code(), absl::StatusCode::kAlreadyExists);
  faults_->FailNext(1, nullptr, FaultTransport::When::kBefore, 409, "QueueBeingDeleted");
  EXPECT_EQ(queues().CreateQueueIfNotExists(q).code(), absl::StatusCode::kAlreadyExists);
  // The real thing: creating twice is fine (Azurite answers 409 *AlreadyExists or 204).
  for (int i = 0; i < 2; ++i) {
    AZ_EXPECT_OK(tables().CreateTableIfNotExists(t));
    AZ_EXPECT_OK(blobs().CreateContainerIfNotExists(c));
    AZ_EXPECT_OK(queues().CreateQueueIfNotExists(q));
  }
}

TEST_F(RetryTest, LostRepliesMakeAmbiguousOutcomes) {
  const std::string t = TableName();
  AZ_ASSERT_OK(tables().CreateTableIfNotExists(t));
  // The insert happens, its reply is lost, the retry finds the row: ALREADY_EXISTS.
  faults_->FailNext(1, FaultTransport::MethodIs("POST"), FaultTransport::When::kAfter, 0);
  auto r = tables().Execute(t, Insert("p", "a"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists) << r.status();
  AZ_EXPECT_OK(tables().Get(t, "p", "a"));
  // Same for a batch: the retry fails on its first op, nothing is applied twice.
  faults_->FailNext(1, FaultTransport::UrlContains("$batch"), FaultTransport::When::kAfter, 503);
  auto b = tables().Batch(t, {Insert("p", "b"), Insert("p", "c")});
  EXPECT_EQ(b.status().code(), absl::StatusCode::kAlreadyExists) << b.status();
  EXPECT_EQ(FailedBatchIndex(b.status()), 0);
  AZ_EXPECT_OK(tables().Get(t, "p", "b"));
  AZ_EXPECT_OK(tables().Get(t, "p", "c"));
}

TEST_F(RetryTest, StorageDownAndBack) {
  const std::string c = LowerName("down");
  AZ_ASSERT_OK(blobs().CreateContainerIfNotExists(c));
  std::atomic<int> failed_attempts{0};
  faults_->SetObserver([&](const HttpRequest&, const absl::StatusOr<HttpResponse>& r) {
    if (!r.ok()) ++failed_attempts;
  });
  faults_->SetDown(true);
  auto r = blobs().Put(c, "b", "x");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_EQ(failed_attempts.load(), FastRetries().max_attempts);
  EXPECT_EQ(blobs().Get(c, "b").status().code(), absl::StatusCode::kUnavailable);
  faults_->SetDown(false);
  AZ_ASSERT_OK(blobs().Put(c, "b", "x"));
  auto got = blobs().Get(c, "b");
  AZ_ASSERT_OK(got);
  EXPECT_EQ(got->body, "x");
}

TEST_F(RetryTest, CountsEveryKind) {
  StorageClient client(azurite_->account(), nullptr, FastRetries());
  const std::string t = TableName(), q = LowerName("count"), c = LowerName("count");
  AZ_ASSERT_OK(client.tables().CreateTableIfNotExists(t));                       // table_write
  AZ_ASSERT_OK(client.tables().Execute(t, Insert("p", "a")));                    // table_write
  AZ_ASSERT_OK(client.tables().Get(t, "p", "a"));                                // table_read
  AZ_ASSERT_OK(client.tables().Query(t, {}));                                    // table_read
  AZ_ASSERT_OK(client.tables().Batch(t, {Insert("p", "b"), Insert("p", "c")}));  // table_batch
  AZ_ASSERT_OK(client.queues().CreateQueueIfNotExists(q));                       // queue_put
  AZ_ASSERT_OK(client.queues().Put(q, "m"));                                     // queue_put
  auto got = client.queues().Get(q, 1, absl::Seconds(30));                       // queue_get
  AZ_ASSERT_OK(got);
  ASSERT_EQ(got->size(), 1u);
  AZ_ASSERT_OK(client.queues().Update(q, &(*got)[0], absl::Seconds(30)));  // queue_update
  AZ_ASSERT_OK(client.queues().Delete(q, (*got)[0]));                      // queue_delete
  AZ_ASSERT_OK(client.blobs().CreateContainerIfNotExists(c));              // blob_write
  AZ_ASSERT_OK(client.blobs().Put(c, "b", "x"));                           // blob_write
  AZ_ASSERT_OK(client.blobs().Get(c, "b"));                                // blob_read
  AZ_ASSERT_OK(client.blobs().AcquireLease(c, "b", absl::Seconds(15)));    // blob_lease
  EXPECT_EQ(client.Counts().ToString(),
            "table_read=2 table_write=2 table_batch=1 queue_get=1 queue_put=2 queue_delete=1 "
            "queue_update=1 blob_read=1 blob_write=2 blob_lease=1 total=14");
}

TEST_F(RetryTest, ConcurrentCallsFromManyThreads) {
  const std::string t = TableName();
  AZ_ASSERT_OK(tables().CreateTableIfNotExists(t));
  const TxCounts before = client_->Counts();
  constexpr int kThreads = 8, kPerThread = 20;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kPerThread; ++j) {
        if (!tables().Execute(t, Insert("p" + std::to_string(i), std::to_string(j))).ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(client_->Counts()[TxKind::kTableWrite] - before[TxKind::kTableWrite],
            uint64_t{kThreads * kPerThread});
  QueryOptions all;
  auto rows = tables().QueryAll(t, all);
  AZ_ASSERT_OK(rows);
  EXPECT_EQ(rows->size(), size_t{kThreads * kPerThread});
}

// Azurite itself goes away and comes back on the same ports with its data directory:
// calls fail UNAVAILABLE meanwhile, and the same client recovers. Stop() (SIGTERM)
// keeps every write; SIGKILL may lose Azurite's last ~5 s of writes (its LokiJS
// metadata autosaves every 5 s), so after Kill() only availability is checked.
TEST(AzuriteOutageTest, StoppedOrKilledAndRestartedWithPersistence) {
  std::string dir = ::testing::TempDir() + "/azurite-outage-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  auto azurite = testing::Azurite::Start({.location = dir});
  AZ_ASSERT_OK(azurite);
  StorageClient client((*azurite)->account(), nullptr, FastRetries());
  AZ_ASSERT_OK(client.tables().CreateTableIfNotExists("Outage"));
  AZ_ASSERT_OK(client.tables().Execute("Outage", Insert("p", "before")));
  AZ_ASSERT_OK(client.blobs().CreateContainerIfNotExists("outage"));
  AZ_ASSERT_OK(client.blobs().Put("outage", "b", "kept"));

  AZ_ASSERT_OK((*azurite)->Stop());
  auto down = client.tables().Get("Outage", "p", "before");
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  EXPECT_EQ(client.blobs().Get("outage", "b").status().code(), absl::StatusCode::kUnavailable);

  AZ_ASSERT_OK((*azurite)->Restart());
  auto row = client.tables().Get("Outage", "p", "before");
  AZ_ASSERT_OK(row);
  EXPECT_EQ(row->props["V"].s, "before");
  auto blob = client.blobs().Get("outage", "b");
  AZ_ASSERT_OK(blob);
  EXPECT_EQ(blob->body, "kept");
  AZ_EXPECT_OK(client.tables().Execute("Outage", Insert("p", "after")));

  (*azurite)->Kill();
  EXPECT_EQ(client.tables().Get("Outage", "p", "before").status().code(),
            absl::StatusCode::kUnavailable);
  AZ_ASSERT_OK((*azurite)->Restart());
  AZ_EXPECT_OK(client.tables().CreateTableIfNotExists("Outage"));
  AZ_EXPECT_OK(client.tables().Execute("Outage", Insert("p", "after-kill")));
  azurite->reset();
  std::filesystem::remove_all(dir);
}

TEST(AzuriteFixtureTest, MissingBinaryFailsWithTheInstallHint) {
  const char* old = getenv("TASKHUB_AZURITE");
  std::string saved = old ? old : "";
  setenv("TASKHUB_AZURITE", "/nonexistent/azurite", 1);
  auto azurite = testing::Azurite::Start();
  if (old) {
    setenv("TASKHUB_AZURITE", saved.c_str(), 1);
  } else {
    unsetenv("TASKHUB_AZURITE");
  }
  ASSERT_FALSE(azurite.ok());
  EXPECT_EQ(azurite.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(azurite.status().message().find("tools/azurite.sh install"), std::string::npos);
}

}  // namespace
}  // namespace taskhub::azure
