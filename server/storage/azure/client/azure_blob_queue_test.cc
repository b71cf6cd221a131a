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

using QueueTest = AzuriteTest;

TEST_F(QueueTest, MessagesWithVisibilityAndPopReceipts) {
  const std::string q = LowerName("work");
  AZ_ASSERT_OK(queues().CreateQueueIfNotExists(q));
  AZ_ASSERT_OK(queues().CreateQueueIfNotExists(q));  // exists: fine
  const std::string text = "{\"a\":\"<b> & 'c' é\"}\r\n";

  auto put = queues().Put(q, text);
  AZ_ASSERT_OK(put);
  EXPECT_FALSE(put->id.empty());
  EXPECT_FALSE(put->pop_receipt.empty());
  EXPECT_EQ(put->text, text);
  auto peek = queues().Peek(q, 32);
  AZ_ASSERT_OK(peek);
  ASSERT_EQ(peek->size(), 1u);
  EXPECT_EQ((*peek)[0].text, text);
  EXPECT_EQ((*peek)[0].id, put->id);

  // Get hides the message for the visibility timeout.
  auto got = queues().Get(q, 32, absl::Seconds(30));
  AZ_ASSERT_OK(got);
  ASSERT_EQ(got->size(), 1u);
  QueueMessage m = (*got)[0];
  EXPECT_EQ(m.text, text);
  EXPECT_EQ(m.dequeue_count, 1);
  EXPECT_GT(m.next_visible, absl::Now() + absl::Seconds(20));
  auto hidden = queues().Get(q, 32, absl::Seconds(30));
  AZ_ASSERT_OK(hidden);
  EXPECT_TRUE(hidden->empty());

  // Update: visible again at once with a new text; the old pop receipt is dead.
  const QueueMessage before = m;
  AZ_ASSERT_OK(queues().Update(q, &m, absl::ZeroDuration(), std::string("second")));
  EXPECT_NE(m.pop_receipt, before.pop_receipt);
  EXPECT_EQ(m.text, "second");
  absl::Status stale = queues().Delete(q, before);
  EXPECT_EQ(stale.code(), absl::StatusCode::kInvalidArgument) << stale;
  EXPECT_EQ(ErrorCodeOf(stale), "PopReceiptMismatch");
  got = queues().Get(q, 1, absl::Seconds(30));
  AZ_ASSERT_OK(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].text, "second");
  EXPECT_EQ((*got)[0].dequeue_count, 2);
  AZ_ASSERT_OK(queues().Delete(q, (*got)[0]));
  EXPECT_EQ(queues().Delete(q, (*got)[0]).code(), absl::StatusCode::kNotFound);
  peek = queues().Peek(q, 32);
  AZ_ASSERT_OK(peek);
  EXPECT_TRUE(peek->empty());

  // An initial visibility timeout hides a new message (a timer); Clear drops all.
  AZ_ASSERT_OK(queues().Put(q, "later", absl::Seconds(60), absl::Hours(1)));
  AZ_ASSERT_OK(queues().Put(q, "now"));
  peek = queues().Peek(q, 32);
  AZ_ASSERT_OK(peek);
  ASSERT_EQ(peek->size(), 1u);
  EXPECT_EQ((*peek)[0].text, "now");
  AZ_ASSERT_OK(queues().Clear(q));
  peek = queues().Peek(q, 32);
  AZ_ASSERT_OK(peek);
  EXPECT_TRUE(peek->empty());

  // Limits: > 64 KiB text, more than 32 messages per Get.
  auto big = queues().Put(q, std::string(64 * 1024 + 1, 'x'));
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted) << big.status();
  EXPECT_EQ(queues().Get(q, 33, absl::Seconds(1)).status().code(),
            absl::StatusCode::kInvalidArgument);

  AZ_ASSERT_OK(queues().DeleteQueue(q));
  EXPECT_EQ(queues().Put(q, "x").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace taskhub::azure
