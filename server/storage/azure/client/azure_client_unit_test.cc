// Unit tests of the client library without a server: Shared Key signing against the
// reference's worked example, connection strings, entity JSON, the $batch multipart
// body and its response parser, and the one error mapping.
#include <gtest/gtest.h>

#include "nlohmann/json.hpp"
#include "server/storage/azure/client/azure_client.h"
#include "server/storage/azure/client/client_core.h"
#include "server/storage/azure/client/shared_key.h"
#include "server/storage/azure/client/table_json.h"
#include "server/storage/azure/client/xml.h"

namespace taskhub::azure {
namespace {

constexpr char kDevKey[] =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

// Reference section 2.3 (verified against Azurite with curl).
TEST(SharedKeyTest, QueuePutMessageWorkedExample) {
  HeaderList headers = {{"x-ms-version", "2021-12-02"},
                        {"x-ms-date", "Tue, 02 Jun 2026 10:00:00 GMT"},
                        {"Content-Type", "application/xml"}};
  QueryList query = {{"visibilitytimeout", "0"}, {"messagettl", "-1"}};
  std::string to_sign = BlobQueueStringToSign("POST", headers, 64, "devstoreaccount1",
                                              "/devstoreaccount1/orders/messages", query);
  EXPECT_EQ(to_sign,
            "POST\n\n\n64\n\napplication/xml\n\n\n\n\n\n\nx-ms-date:Tue, 02 Jun 2026 10:00:00 "
            "GMT\nx-ms-version:2021-12-02\n/devstoreaccount1/devstoreaccount1/orders/"
            "messages\nmessagettl:-1\nvisibilitytimeout:0");
  std::string key = *Base64Decode(kDevKey);
  EXPECT_EQ(HmacSha256Base64(key, to_sign), "KMMJjuZSe9IV4fRZAbK2OK9RkzBEF7O9Scl3DUDMVr8=");
  // Production-style resource line.
  std::string prod =
      BlobQueueStringToSign("POST", headers, 64, "devstoreaccount1", "/orders/messages", query);
  EXPECT_EQ(HmacSha256Base64(key, prod), "VYav4tyG7f1LkzqwvVe+K2OB6fY5KzqxOEdKcNpF51Y=");
}

TEST(SharedKeyTest, EmptyBodyHasEmptyContentLengthAndRepeatedParamsJoin) {
  std::string s = BlobQueueStringToSign("PUT", {{"X-MS-Lease-Action", "acquire "}}, 0, "a", "/c/b",
                                        {{"comp", "lease"}, {"B", "2"}, {"b", "1"}});
  EXPECT_EQ(s, "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-lease-action:acquire\n/a/c/b\nb:1,2\ncomp:lease");
}

TEST(SharedKeyTest, TableSignsDateAndOnlyComp) {
  HeaderList h = {{"x-ms-date", "Tue, 02 Jun 2026 10:00:00 GMT"},
                  {"Content-Type", "application/json"}};
  EXPECT_EQ(TableStringToSign("GET", h, "acct", "/acct/T()",
                              {{"$filter", "PartitionKey eq 'a'"}, {"comp", "list"}}),
            "GET\n\napplication/json\nTue, 02 Jun 2026 10:00:00 GMT\n/acct/acct/T()?comp=list");
}

TEST(SharedKeyTest, Base64AndPercentEncoding) {
  for (const std::string& s :
       std::vector<std::string>{"", "f", "fo", "foo", "foob", std::string("\0\xff\x10", 3)}) {
    EXPECT_EQ(*Base64Decode(Base64Encode(s)), s);
  }
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_FALSE(Base64Decode("Zm9v!").has_value());
  EXPECT_FALSE(Base64Decode("Zm9").has_value());
  EXPECT_EQ(PercentEncode("a b/'c~"), "a%20b%2F%27c~");
  EXPECT_EQ(PercentEncode("a b/c", true), "a%20b/c");
  EXPECT_EQ(PercentDecode("a%20b%2fc%zz%"), "a b/c%zz%");
  EXPECT_EQ(Rfc1123(absl::FromUnixSeconds(1780394400)), "Tue, 02 Jun 2026 10:00:00 GMT");
  EXPECT_EQ(*ParseRfc1123("Tue, 02 Jun 2026 10:00:00 GMT"), absl::FromUnixSeconds(1780394400));
}

TEST(XmlTest, EscapeRoundTripsAndEntitiesDecode) {
  const std::string text = "<a b='c'>&amp;\"\r\n\xc3\xa9</a>";
  EXPECT_EQ(XmlEscape(text), "&lt;a b=&apos;c&apos;&gt;&amp;amp;&quot;&#13;\n\xc3\xa9&lt;/a&gt;");
  EXPECT_EQ(XmlUnescape(XmlEscape(text)), text);
  EXPECT_EQ(XmlUnescape("&#233;&#x20AC;&#x1F600;&bogus;&"),
            "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80&bogus;&");
  EXPECT_EQ(XmlElement("<a><Code>X</Code><Code>Y</Code></a>", "Code"), "X");
  EXPECT_EQ(XmlElement("<a><Code>X</a>", "Code"), "");
}

TEST(ConnectionStringTest, DevelopmentStorage) {
  auto a = ParseConnectionString("UseDevelopmentStorage=true");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->name, "devstoreaccount1");
  EXPECT_EQ(a->key, *Base64Decode(kDevKey));
  EXPECT_EQ(a->blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
  EXPECT_EQ(a->queue_endpoint, "http://127.0.0.1:10001/devstoreaccount1");
  EXPECT_EQ(a->table_endpoint, "http://127.0.0.1:10002/devstoreaccount1");
  a = ParseConnectionString("UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://h");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->table_endpoint, "http://h:10002/devstoreaccount1");
}

TEST(ConnectionStringTest, AccountKeyDerivesEndpoints) {
  auto a = ParseConnectionString(
      "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Zm9vYg==;EndpointSuffix=core."
      "chinacloudapi.cn;");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->key, "foob");
  EXPECT_EQ(a->blob_endpoint, "https://acct.blob.core.chinacloudapi.cn");
  EXPECT_EQ(a->table_endpoint, "https://acct.table.core.chinacloudapi.cn");
  a = ParseConnectionString("accountname=acct;accountkey=Zm9vYg==;TableEndpoint=http://x:1/acct/");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->table_endpoint, "http://x:1/acct");
  EXPECT_EQ(a->queue_endpoint, "https://acct.queue.core.windows.net");
}

TEST(ConnectionStringTest, SasNeedsNoKey) {
  auto a = ParseConnectionString(
      "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=?sv=2021&sig=a%2Bb=");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->sas, "sv=2021&sig=a%2Bb=");
  EXPECT_TRUE(a->key.empty());
  EXPECT_EQ(a->blob_endpoint, "https://acct.blob.core.windows.net");
}

TEST(ConnectionStringTest, ErrorsNameTheProblemWithoutTheKey) {
  const std::string secret = "c2VjcmV0!!";  // not base64
  auto a = ParseConnectionString("AccountName=acct;AccountKey=" + secret);
  ASSERT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(a.status().message().find("AccountKey"), std::string::npos);
  EXPECT_EQ(a.status().message().find(secret), std::string::npos);
  EXPECT_EQ(ParseConnectionString("AccountName=acct").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseConnectionString("AccountKey=Zm9vYg==").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseConnectionString("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseConnectionString("garbage").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseConnectionString("AccountName=a;AccountKey=Zm9vYg==;DefaultEndpointsProtocol=ftp")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TableJsonTest, EntityRoundTripsTypes) {
  TableEntity e;
  e.partition_key = "p'0";
  e.row_key = "r/1";
  e.props["S"] = TableValue::String("héllo");
  e.props["I"] = TableValue::Int64(-9223372036854775807LL - 1);
  e.props["B"] = TableValue::Binary(std::string("\0\x01\xfe", 3));
  e.props["F"] = TableValue::Bool(true);
  TableValue d;
  d.type = TableValue::Type::kDouble;
  d.d = 2.0;
  e.props["D"] = d;
  auto json = EntityToJson(e);
  ASSERT_TRUE(json.ok());
  auto back = EntityFromJson(*json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->partition_key, "p'0");
  EXPECT_EQ(back->row_key, "r/1");
  EXPECT_EQ(back->props["S"].s, "héllo");
  EXPECT_EQ(back->props["I"].type, TableValue::Type::kInt64);
  EXPECT_EQ(back->props["I"].i, -9223372036854775807LL - 1);
  EXPECT_EQ(back->props["B"].type, TableValue::Type::kBinary);
  EXPECT_EQ(back->props["B"].s, std::string("\0\x01\xfe", 3));
  EXPECT_EQ(back->props["F"].type, TableValue::Type::kBool);
  EXPECT_EQ(back->props["D"].type, TableValue::Type::kDouble);
  EXPECT_EQ(back->props["D"].d, 2.0);
  e.props["S"] = TableValue::String("\xff");
  EXPECT_EQ(EntityToJson(e).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TableJsonTest, EntityPathDoublesQuotesAndEncodes) {
  EXPECT_EQ(EntityPath("T", "it's a key", "~m:1"),
            "/T(PartitionKey='it%27%27s%20a%20key',RowKey='~m%3A1')");
  EXPECT_EQ(ODataQuote("it's"), "'it''s'");
}

TEST(TableBatchTest, BodyHasOnePartPerOperation) {
  std::vector<TableOp> ops(3);
  ops[0].kind = TableOpKind::kInsert;
  ops[1].kind = TableOpKind::kMerge;
  ops[1].if_match = "W/\"x\"";
  ops[2].kind = TableOpKind::kDelete;
  for (int i = 0; i < 3; ++i) {
    ops[i].entity.partition_key = "p";
    ops[i].entity.row_key = "r" + std::to_string(i);
  }
  auto body = BuildBatchBody("http://h/acct", "T", ops, "batch_B", "changeset_C");
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->find("--batch_B\r\nContent-Type: multipart/mixed; boundary=changeset_C\r\n\r\n"),
            0u);
  EXPECT_NE(body->find("POST http://h/acct/T HTTP/1.1\r\n"), std::string::npos);
  EXPECT_NE(body->find("MERGE http://h/acct/T(PartitionKey='p',RowKey='r1') HTTP/1.1\r\n"),
            std::string::npos);
  EXPECT_NE(body->find("If-Match: W/\"x\"\r\n"), std::string::npos);
  EXPECT_NE(body->find("DELETE http://h/acct/T(PartitionKey='p',RowKey='r2') HTTP/1.1\r\n"),
            std::string::npos);
  EXPECT_NE(body->find("If-Match: *\r\n"), std::string::npos);  // delete default
  EXPECT_TRUE(body->ends_with("--changeset_C--\r\n--batch_B--\r\n"));
}

TEST(TableBatchTest, ParsesSuccessAndFailureResponses) {
  std::string ok =
      "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n"
      "--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: "
      "binary\r\n\r\nHTTP/1.1 204 No Content\r\nETag: W/\"a\"\r\n\r\n\r\n"
      "--changesetresponse_2\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No "
      "Content\r\nETag: W/\"b\"\r\n\r\n\r\n--changesetresponse_2--\r\n--batchresponse_1--\r\n";
  auto parts = ParseBatchResponse("multipart/mixed; boundary=batchresponse_1", ok);
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].status, 204);
  EXPECT_EQ((*parts)[0].headers["etag"], "W/\"a\"");
  EXPECT_EQ((*parts)[1].headers["etag"], "W/\"b\"");

  std::string fail =
      "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n"
      "--changesetresponse_2\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 409 "
      "Conflict\r\nContent-Type: application/json\r\n\r\n{\"odata.error\":{\"code\":"
      "\"EntityAlreadyExists\",\"message\":{\"lang\":\"en-US\",\"value\":\"1:The specified entity "
      "already exists.\\nRequestId:x\"}}}\r\n--changesetresponse_2--\r\n--batchresponse_1--";
  parts = ParseBatchResponse("multipart/mixed; boundary=\"batchresponse_1\"", fail);
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].status, 409);
  absl::Status s = StatusFromResponse("Table Batch", "t", {409, {}, (*parts)[0].body});
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrorCodeOf(s), "EntityAlreadyExists");
  EXPECT_EQ(ParseBatchResponse("text/plain", ok).status().code(), absl::StatusCode::kInternal);
}

TEST(ErrorMappingTest, StatusesCodesAndMessages) {
  struct Case {
    int http;
    absl::StatusCode code;
  } cases[] = {
      {404, absl::StatusCode::kNotFound},           {409, absl::StatusCode::kAlreadyExists},
      {412, absl::StatusCode::kFailedPrecondition}, {400, absl::StatusCode::kInvalidArgument},
      {403, absl::StatusCode::kPermissionDenied},   {413, absl::StatusCode::kResourceExhausted},
      {503, absl::StatusCode::kUnavailable},        {500, absl::StatusCode::kUnavailable},
      {429, absl::StatusCode::kUnavailable},        {408, absl::StatusCode::kUnavailable}};
  for (const Case& c : cases) {
    HttpResponse r{c.http, {{"x-ms-error-code", "SomeCode"}}, ""};
    absl::Status s = StatusFromResponse("Op", "res", r);
    EXPECT_EQ(s.code(), c.code) << c.http;
    EXPECT_EQ(ErrorCodeOf(s), "SomeCode");
    EXPECT_NE(s.message().find("Op res: HTTP " + std::to_string(c.http) + " SomeCode"),
              std::string::npos)
        << s;
  }
  // Code and message from an XML body when the header is absent.
  absl::Status s = StatusFromResponse(
      "Put blob", "blob c/b",
      {412,
       {},
       "<?xml version=\"1.0\"?><Error><Code>LeaseIdMissing</Code><Message>There is a "
       "lease.\nRequestId:1</Message></Error>"});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorCodeOf(s), "LeaseIdMissing");
  EXPECT_EQ(s.message(), "Put blob blob c/b: HTTP 412 LeaseIdMissing (There is a lease.)");
  EXPECT_EQ(FailedBatchIndex(s), -1);
  s = StatusFromResponse(
      "Get blob", "blob c/b",
      {503, {{"x-ms-request-id", "r-1"}, {"x-ms-error-code", "ServerBusy"}}, ""});
  EXPECT_EQ(s.message(), "Get blob blob c/b: HTTP 503 ServerBusy request-id r-1");
  EXPECT_EQ(FailedBatchIndex(WithBatchIndex(s, 3)), 3);
  EXPECT_EQ(ErrorCodeOf(absl::OkStatus()), "");
}

TEST(TxCountsTest, FormatsEveryKind) {
  TxCounts c;
  c[TxKind::kTableBatch] = 2;
  c[TxKind::kBlobLease] = 1;
  EXPECT_EQ(c.total(), 3u);
  EXPECT_EQ(c.ToString(),
            "table_read=0 table_write=0 table_batch=2 queue_get=0 queue_put=0 queue_delete=0 "
            "queue_update=0 blob_read=0 blob_write=0 blob_lease=1 total=3");
  auto j = nlohmann::json::parse(c.ToJson());
  EXPECT_EQ(j["table_batch"], 2);
  EXPECT_EQ(j["total"], 3);
  EXPECT_EQ(j.size(), 11u);
}

}  // namespace
}  // namespace taskhub::azure
