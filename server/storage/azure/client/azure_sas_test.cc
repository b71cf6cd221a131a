// SAS connection strings against a real Azurite: an account SAS (made here with the
// well-known Azurite key) authorizes tables, batches, blobs, leases and queues with no
// account key in the client; a tampered signature is refused (PERMISSION_DENIED).
#include <gtest/gtest.h>

#include "server/storage/azure/client/azure_test_support.h"
#include "server/storage/azure/client/shared_key.h"

namespace taskhub::azure {
namespace {

using SasTest = AzuriteTest;

// An account SAS (version 2021-12-02 format: the string-to-sign ends with the
// encryption scope and an empty line) for every service, resource type and permission.
std::string AccountSas(const Account& a) {
  const std::string sp = "rwdlacup", ss = "bqt", srt = "sco", se = "2099-01-01T00:00:00Z",
                    sv = "2021-12-02";
  std::string to_sign =
      absl::StrCat(a.name, "\n", sp, "\n", ss, "\n", srt, "\n\n", se, "\n\n\n", sv, "\n\n");
  return EncodeQuery({{"sv", sv},
                      {"ss", ss},
                      {"srt", srt},
                      {"sp", sp},
                      {"se", se},
                      {"sig", HmacSha256Base64(a.key, to_sign)}});
}

std::string SasConnectionString(const Account& a, const std::string& sas) {
  return absl::StrCat("BlobEndpoint=", a.blob_endpoint, ";QueueEndpoint=", a.queue_endpoint,
                      ";TableEndpoint=", a.table_endpoint, ";SharedAccessSignature=?", sas);
}

TEST_F(SasTest, AccountSasAuthorizesEveryService) {
  auto account = ParseConnectionString(
      SasConnectionString(azurite_->account(), AccountSas(azurite_->account())));
  AZ_ASSERT_OK(account);
  ASSERT_TRUE(account->key.empty());
  StorageClient client(*account, nullptr, FastRetries());

  const std::string t = TableName();
  AZ_ASSERT_OK(client.tables().CreateTableIfNotExists(t));
  TableOp op;
  op.kind = TableOpKind::kInsert;
  op.entity.partition_key = "p";
  op.entity.row_key = "a";
  AZ_ASSERT_OK(client.tables().Execute(t, op));
  op.entity.row_key = "b";
  AZ_ASSERT_OK(client.tables().Batch(t, {op}));
  QueryOptions q;
  q.filter = "PartitionKey eq 'p'";
  auto rows = client.tables().QueryAll(t, q);
  AZ_ASSERT_OK(rows);
  EXPECT_EQ(rows->size(), 2u);

  const std::string c = LowerName("sas");
  AZ_ASSERT_OK(client.blobs().CreateContainerIfNotExists(c));
  AZ_ASSERT_OK(client.blobs().Put(c, "b", "x"));
  AZ_ASSERT_OK(client.blobs().AcquireLease(c, "b", absl::Seconds(15)));
  auto blob = client.blobs().Get(c, "b");
  AZ_ASSERT_OK(blob);
  EXPECT_EQ(blob->body, "x");

  const std::string qn = LowerName("sas");
  AZ_ASSERT_OK(client.queues().CreateQueueIfNotExists(qn));
  AZ_ASSERT_OK(client.queues().Put(qn, "m"));
  auto got = client.queues().Get(qn, 1, absl::Seconds(30));
  AZ_ASSERT_OK(got);
  ASSERT_EQ(got->size(), 1u);
  AZ_ASSERT_OK(client.queues().Delete(qn, (*got)[0]));
}

TEST_F(SasTest, TamperedSignatureIsRefusedAndNotEchoed) {
  std::string sas = AccountSas(azurite_->account());
  sas.replace(sas.find("sp=rwdlacup"), 11, "sp=rwdlacu");  // the signature no longer matches
  auto account = ParseConnectionString(SasConnectionString(azurite_->account(), sas));
  AZ_ASSERT_OK(account);
  StorageClient client(*account, nullptr, FastRetries());
  auto r = client.blobs().Get(LowerName("sas"), "b");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << r.status();
  EXPECT_EQ(r.status().ToString().find("sig="), std::string::npos) << r.status();
}

TEST_F(SasTest, TransportErrorsDoNotEchoTheSas) {
  Account dead = azurite_->account();
  dead.blob_endpoint = "http://127.0.0.1:1/devstoreaccount1";  // nothing listens there
  auto account = ParseConnectionString(SasConnectionString(dead, AccountSas(dead)));
  AZ_ASSERT_OK(account);
  StorageClient client(*account, nullptr, FastRetries());
  auto r = client.blobs().Get("c", "b");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_NE(r.status().message().find("127.0.0.1:1/devstoreaccount1/c/b"), std::string::npos)
      << r.status();
  EXPECT_EQ(r.status().message().find("sig="), std::string::npos) << r.status();
}

}  // namespace
}  // namespace taskhub::azure
