// Blob and Queue services against a real Azurite: uploads with ETag conditions,
// listing, leases and lease-fenced writes; queue messages with visibility timeouts
// and pop receipts.
#include <gtest/gtest.h>

#include "server/storage/azure/client/azure_test_support.h"

namespace taskhub::azure {
namespace {

using BlobTest = AzuriteTest;

BlobConditions IfMatch(const std::string& etag) {
  BlobConditions c;
  c.if_match = etag;
  return c;
}
BlobConditions IfNoneMatch(const std::string& etag) {
  BlobConditions c;
  c.if_none_match = etag;
  return c;
}
BlobConditions Leased(const std::string& lease_id) {
  BlobConditions c;
  c.lease_id = lease_id;
  return c;
}

TEST_F(BlobTest, PutGetDeleteWithConditions) {
  const std::string c = LowerName("blobs");
  AZ_ASSERT_OK(blobs().CreateContainerIfNotExists(c));
  AZ_ASSERT_OK(blobs().CreateContainerIfNotExists(c));  // exists: fine
  const std::string name = "data/p00/it's a blob+é";
  std::string body(5 * 1024 * 1024 + 3, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 31);

  auto etag = blobs().Put(c, name, body, IfNoneMatch("*"));
  AZ_ASSERT_OK(etag);
  EXPECT_FALSE(etag->empty());
  auto got = blobs().Get(c, name);
  AZ_ASSERT_OK(got);
  EXPECT_EQ(got->etag, *etag);
  EXPECT_TRUE(got->body == body);

  // Create-only on an existing blob: ALREADY_EXISTS; a stale If-Match: FAILED_PRECONDITION.
  auto again = blobs().Put(c, name, "x", IfNoneMatch("*"));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists) << again.status();
  EXPECT_EQ(ErrorCodeOf(again.status()), "BlobAlreadyExists");
  auto replaced = blobs().Put(c, name, "", IfMatch(*etag));
  AZ_ASSERT_OK(replaced);
  auto stale = blobs().Put(c, name, "y", IfMatch(*etag));
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition) << stale.status();
  got = blobs().Get(c, name);
  AZ_ASSERT_OK(got);
  EXPECT_EQ(got->body, "");
  EXPECT_EQ(blobs().Delete(c, name, IfMatch(*etag)).code(), absl::StatusCode::kFailedPrecondition);

  AZ_ASSERT_OK(blobs().Delete(c, name, IfMatch(*replaced)));
  EXPECT_EQ(blobs().Get(c, name).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(blobs().Delete(c, name).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(blobs().Get(LowerName("missing"), "b").status().code(), absl::StatusCode::kNotFound);
  AZ_ASSERT_OK(blobs().DeleteContainer(c));
  EXPECT_EQ(blobs().Put(c, "b", "x").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(BlobTest, ListsByPrefix) {
  const std::string c = LowerName("list");
  AZ_ASSERT_OK(blobs().CreateContainerIfNotExists(c));
  for (const char* n : {"log/1", "log/2", "log/10", "data/p00/a&b", "lease"}) {
    AZ_ASSERT_OK(blobs().Put(c, n, n));
  }
  auto logs = blobs().List(c, "log/");
  AZ_ASSERT_OK(logs);
  EXPECT_EQ(*logs, (std::vector<std::string>{"log/1", "log/10", "log/2"}));
  auto all = blobs().List(c, "");
  AZ_ASSERT_OK(all);
  EXPECT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[0], "data/p00/a&b");
  auto none = blobs().List(c, "zzz");
  AZ_ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(BlobTest, LeasesFenceWrites) {
  const std::string c = LowerName("lease");
  AZ_ASSERT_OK(blobs().CreateContainerIfNotExists(c));
  AZ_ASSERT_OK(blobs().Put(c, "lease", "{}"));
  const std::string a = "11111111-1111-1111-1111-111111111111";
  const std::string b = "22222222-2222-2222-2222-222222222222";

  auto id = blobs().AcquireLease(c, "lease", absl::Seconds(15), a);
  AZ_ASSERT_OK(id);
  EXPECT_EQ(*id, a);
  // The holder re-acquiring renews; another owner is refused.
  AZ_EXPECT_OK(blobs().AcquireLease(c, "lease", absl::Seconds(15), a));
  auto other = blobs().AcquireLease(c, "lease", absl::Seconds(15), b);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists) << other.status();
  EXPECT_EQ(ErrorCodeOf(other.status()), "LeaseAlreadyPresent");
  EXPECT_EQ(blobs().RenewLease(c, "lease", b).code(), absl::StatusCode::kAlreadyExists);
  AZ_EXPECT_OK(blobs().RenewLease(c, "lease", a));

  // Fenced writes: without the lease id, or with another id, rejected.
  auto no_id = blobs().Put(c, "lease", "x");
  EXPECT_EQ(no_id.status().code(), absl::StatusCode::kFailedPrecondition) << no_id.status();
  EXPECT_EQ(ErrorCodeOf(no_id.status()), "LeaseIdMissing");
  EXPECT_EQ(blobs().Put(c, "lease", "x", Leased(b)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(blobs().Delete(c, "lease").code(), absl::StatusCode::kFailedPrecondition);
  AZ_EXPECT_OK(blobs().Put(c, "lease", "owned by a", Leased(a)));
  auto got = blobs().Get(c, "lease");  // reads need no lease
  AZ_ASSERT_OK(got);
  EXPECT_EQ(got->body, "owned by a");

  // Release: the other owner can take it; then break it (period 0): free at once.
  AZ_ASSERT_OK(blobs().ReleaseLease(c, "lease", a));
  auto taken = blobs().AcquireLease(c, "lease", absl::Seconds(-1), b);
  AZ_ASSERT_OK(taken);
  EXPECT_EQ(*taken, b);
  EXPECT_EQ(blobs().ReleaseLease(c, "lease", a).code(), absl::StatusCode::kAlreadyExists);
  AZ_ASSERT_OK(blobs().BreakLease(c, "lease"));
  auto after_break = blobs().AcquireLease(c, "lease", absl::Seconds(60), a);
  AZ_ASSERT_OK(after_break);
  AZ_EXPECT_OK(blobs().Delete(c, "lease", Leased(a)));
  EXPECT_EQ(blobs().AcquireLease(c, "lease", absl::Seconds(15), a).status().code(),
            absl::StatusCode::kNotFound);
  // Bad duration: INVALID_ARGUMENT (not retried).
  AZ_ASSERT_OK(blobs().Put(c, "other", "x"));
  EXPECT_EQ(blobs().AcquireLease(c, "other", absl::Seconds(10)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace taskhub::azure
