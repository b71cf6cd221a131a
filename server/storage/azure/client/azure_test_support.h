// Test support for the tests that run against Azurite: one Azurite per test binary
// (started by the first test that needs it, killed at exit) and a fresh StorageClient
// per test (fast retries, over a FaultTransport around libcurl).
#ifndef TASKHUB_SERVER_STORAGE_AZURE_CLIENT_AZURE_TEST_SUPPORT_H_
#define TASKHUB_SERVER_STORAGE_AZURE_CLIENT_AZURE_TEST_SUPPORT_H_

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/storage/azure/client/azure_client.h"
#include "server/storage/azure/testing/azurite.h"
#include "server/storage/azure/testing/fault_transport.h"

// Status-printing assertions for absl::Status and absl::StatusOr.
#define AZ_ASSERT_OK(expr)                                                         \
  do {                                                                             \
    const auto& az_s_ = (expr);                                                    \
    ASSERT_TRUE(az_s_.ok()) << #expr << ": " << ::taskhub::azure::StatusOf(az_s_); \
  } while (0)
#define AZ_EXPECT_OK(expr)                                                         \
  do {                                                                             \
    const auto& az_s_ = (expr);                                                    \
    EXPECT_TRUE(az_s_.ok()) << #expr << ": " << ::taskhub::azure::StatusOf(az_s_); \
  } while (0)

namespace taskhub::azure {

inline absl::Status StatusOf(const absl::Status& s) { return s; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

// Quick retries (tests inject the faults; no need to wait long between attempts).
inline RetryPolicy FastRetries() {
  RetryPolicy r;
  r.max_attempts = 4;
  r.initial_delay = absl::Milliseconds(5);
  r.max_delay = absl::Milliseconds(50);
  r.attempt_timeout = absl::Seconds(20);
  return r;
}

class AzuriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<testing::Azurite*> shared = testing::SharedAzurite();
    ASSERT_TRUE(shared.ok()) << shared.status();
    azurite_ = *shared;
    faults_ = std::make_shared<testing::FaultTransport>(MakeCurlTransport());
    client_ = std::make_unique<StorageClient>(azurite_->account(), faults_, FastRetries());
  }

  // A name unique in this process: letters and digits ("T" + n) for tables, lower
  // case with '-' for containers and queues.
  static std::string TableName() { return absl::StrCat("Test", Next()); }
  static std::string LowerName(const std::string& prefix) {
    return absl::StrCat(prefix, "-", Next());
  }

  TableClient& tables() { return client_->tables(); }
  QueueClient& queues() { return client_->queues(); }
  BlobClient& blobs() { return client_->blobs(); }

  testing::Azurite* azurite_ = nullptr;
  std::shared_ptr<testing::FaultTransport> faults_;
  std::unique_ptr<StorageClient> client_;

 private:
  static int Next() {
    static std::atomic<int> n{0};
    return ++n;
  }
};

}  // namespace taskhub::azure

#endif  // TASKHUB_SERVER_STORAGE_AZURE_CLIENT_AZURE_TEST_SUPPORT_H_
