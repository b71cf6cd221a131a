// A small Azure Storage client (Blob, Queue, Table) over the REST API, on libcurl +
// OpenSSL: Shared Key or SAS authorization, retries with back-off, ETag conditions,
// Table entity-group transactions, Queue messages, Blob upload/download and leases.
// Wire facts: ../shared/reference/azure-storage.md.
//
// Errors: every failure is an absl::Status, made in exactly one place
// (StatusFromResponse in azure_client.cc; curl errors in curl_transport.cc):
//   404 -> NOT_FOUND, 409 -> ALREADY_EXISTS (EntityAlreadyExists, *AlreadyExists,
//   LeaseAlreadyPresent...), 412 -> FAILED_PRECONDITION (UpdateConditionNotSatisfied,
//   ConditionNotMet, lease mismatches), 400 -> INVALID_ARGUMENT, 403 ->
//   PERMISSION_DENIED, 413 -> RESOURCE_EXHAUSTED, 5xx/408/429/transport errors (after
//   the retries) -> UNAVAILABLE. The message names the operation, the resource, the
//   HTTP status and the service's error code (x-ms-error-code); the code is also
//   available through ErrorCodeOf(status) (a status payload).
//
// Retries: transport errors, 408, 429, 500, 502, 503, 504 are retried with exponential
// back-off and jitter (RetryPolicy); every attempt is re-signed. Non-idempotent calls
// may have happened although the last attempt failed ("ambiguous"): callers that care
// re-read state (e.g. Insert -> ALREADY_EXISTS after a retry).
//
// Thread-safety: a StorageClient and its Table/Queue/Blob views may be used from any
// number of threads at once (each call uses its own curl easy handle from a pool).
#ifndef TASKHUB_SERVER_STORAGE_AZURE_CLIENT_AZURE_CLIENT_H_
#define TASKHUB_SERVER_STORAGE_AZURE_CLIENT_AZURE_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace taskhub::azure {

class ClientCore;  // internal (client_core.h): signing, retries, counting, error mapping

// --- Connection strings -----------------------------------------------------------
struct Account {
  std::string name;                                     // AccountName
  std::string key;                                      // decoded AccountKey bytes ("" with SAS)
  std::string sas;                                      // SAS query string without '?'
  std::string blob_endpoint, queue_endpoint, table_endpoint;  // no trailing '/'
};
// Parses "DefaultEndpointsProtocol=..;AccountName=..;AccountKey=..;[EndpointSuffix=..]
// [BlobEndpoint=..;QueueEndpoint=..;TableEndpoint=..][SharedAccessSignature=..]" and
// "UseDevelopmentStorage=true[;DevelopmentStorageProxyUri=..]". INVALID_ARGUMENT naming
// the missing/bad key (never echoing the account key).
absl::StatusOr<Account> ParseConnectionString(const std::string& connection_string);

// --- HTTP transport (one place converts libcurl errors) ----------------------------
struct HttpRequest {
  std::string method;  // GET PUT POST DELETE HEAD MERGE
  std::string url;     // absolute, query included, already percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  absl::Duration timeout = absl::Seconds(30);
};
struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // UNAVAILABLE for transport errors (connection refused, reset, timeout); any HTTP
  // status is a successful Send.
  virtual absl::StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};
// libcurl, keep-alive connections pooled. Tests wrap it to inject faults.
std::shared_ptr<HttpTransport> MakeCurlTransport();

// --- Costs ------------------------------------------------------------------------
// Every HTTP attempt (retries included: they are billed) is counted by kind.
enum class TxKind {
  kTableRead,   // point read, query page
  kTableWrite,  // insert/update/merge/delete/upsert, create/delete table
  kTableBatch,  // one $batch (any number of operations)
  kQueueGet,    // get/peek messages
  kQueuePut,    // put message, create/delete/clear queue
  kQueueDelete, // delete message
  kQueueUpdate, // update message (visibility)
  kBlobRead,    // get blob / properties, list
  kBlobWrite,   // put/delete blob, create/delete container
  kBlobLease,   // acquire/renew/release/break/change
  kCount
};
const char* TxKindName(TxKind k);  // "table_read", ...
struct TxCounts {
  uint64_t n[static_cast<int>(TxKind::kCount)] = {};
  uint64_t total() const;
  uint64_t& operator[](TxKind k) { return n[static_cast<int>(k)]; }
  uint64_t operator[](TxKind k) const { return n[static_cast<int>(k)]; }
  std::string ToString() const;  // "table_read=3 table_write=0 ... total=9"
  std::string ToJson() const;    // {"table_read":3,...,"total":9}
};

struct RetryPolicy {
  int max_attempts = 4;  // first try included
  absl::Duration initial_delay = absl::Milliseconds(200);
  absl::Duration max_delay = absl::Seconds(10);
  absl::Duration attempt_timeout = absl::Seconds(30);
};

// --- Table service ----------------------------------------------------------------
// An entity: PartitionKey, RowKey and typed properties. Values round-trip their Edm
// type (requests annotate Int64/Binary/DateTime; reads use minimalmetadata).
struct TableValue {
  enum class Type { kString, kInt64, kInt32, kBool, kDouble, kBinary };
  Type type = Type::kString;
  std::string s;   // kString; kBinary holds raw bytes (base64 on the wire)
  int64_t i = 0;   // kInt64, kInt32, kBool (0/1)
  double d = 0;    // kDouble
  static TableValue String(std::string v);
  static TableValue Int64(int64_t v);
  static TableValue Binary(std::string bytes);
  static TableValue Bool(bool v);
};
struct TableEntity {
  std::string partition_key, row_key;
  std::map<std::string, TableValue> props;
  std::string etag;  // set on reads and on successful writes
};
enum class TableOpKind { kInsert, kUpsertReplace, kUpsertMerge, kUpdate, kMerge, kDelete };
struct TableOp {
  TableOpKind kind;
  TableEntity entity;        // kDelete: keys only
  std::string if_match;      // kUpdate/kMerge/kDelete: ETag or "*" (default "*")
};
struct QueryOptions {
  std::string filter;                   // OData $filter, e.g. "PartitionKey eq 'p0'"
  std::vector<std::string> select;      // empty = all properties
  int top = 1000;                       // per page, <= 1000
};
struct QueryPage {
  std::vector<TableEntity> entities;
  std::string next_partition_key, next_row_key;  // both empty: no more pages
  bool more() const { return !next_partition_key.empty() || !next_row_key.empty(); }
};
// Escapes a string literal for $filter: wraps in '...' and doubles single quotes.
std::string ODataQuote(const std::string& s);

class TableClient {
 public:
  absl::Status CreateTableIfNotExists(const std::string& table);
  absl::Status DeleteTable(const std::string& table);  // NOT_FOUND when absent
  // NOT_FOUND when absent.
  absl::StatusOr<TableEntity> Get(const std::string& table, const std::string& pk,
                                  const std::string& rk);
  // Single operations; returns the new ETag (empty for kDelete).
  absl::StatusOr<std::string> Execute(const std::string& table, const TableOp& op);
  // One query page, continuing from `page_token` (the previous page's next keys).
  absl::StatusOr<QueryPage> Query(const std::string& table, const QueryOptions& q,
                                  const std::string& next_pk = "", const std::string& next_rk = "");
  // Every page (loops on continuation tokens).
  absl::StatusOr<std::vector<TableEntity>> QueryAll(const std::string& table,
                                                    const QueryOptions& q);
  // An entity-group transaction: <= 100 ops, one PartitionKey, each row once, payload
  // <= 4 MiB (INVALID_ARGUMENT before sending otherwise). All or nothing. On success,
  // the new ETag of each op in order (empty for deletes). On failure, the mapped status
  // of the failing op; FailedBatchIndex(status) tells which op (-1 if unknown).
  absl::StatusOr<std::vector<std::string>> Batch(const std::string& table,
                                                 const std::vector<TableOp>& ops);

 private:
  friend class StorageClient;
  explicit TableClient(ClientCore* core) : core_(core) {}
  ClientCore* core_;
};
int FailedBatchIndex(const absl::Status& status);
// The service's error code of a failed call ("EntityAlreadyExists", ...) or "".
std::string ErrorCodeOf(const absl::Status& status);

// --- Queue service ----------------------------------------------------------------
struct QueueMessage {
  std::string id, pop_receipt, text;
  int dequeue_count = 0;
  absl::Time next_visible;
};
class QueueClient {
 public:
  absl::Status CreateQueueIfNotExists(const std::string& queue);
  absl::Status DeleteQueue(const std::string& queue);
  // `text` is sent XML-escaped as is (no base64); <= 64 KiB. ttl < 0: never expires.
  absl::StatusOr<QueueMessage> Put(const std::string& queue, const std::string& text,
                                   absl::Duration visibility_timeout = absl::ZeroDuration(),
                                   absl::Duration ttl = absl::Seconds(-1));
  // Up to `max` (1..32) messages, hidden for `visibility_timeout` (>= 1 s).
  absl::StatusOr<std::vector<QueueMessage>> Get(const std::string& queue, int max,
                                                absl::Duration visibility_timeout);
  absl::StatusOr<std::vector<QueueMessage>> Peek(const std::string& queue, int max);
  absl::Status Delete(const std::string& queue, const QueueMessage& m);
  // Changes the visibility (and optionally the text); updates m->pop_receipt.
  absl::Status Update(const std::string& queue, QueueMessage* m, absl::Duration visibility_timeout,
                      const std::optional<std::string>& new_text = std::nullopt);
  absl::Status Clear(const std::string& queue);

 private:
  friend class StorageClient;
  explicit QueueClient(ClientCore* core) : core_(core) {}
  ClientCore* core_;
};

// --- Blob service -----------------------------------------------------------------
struct BlobConditions {
  std::string if_match, if_none_match;  // ETags or "*"
  std::string lease_id;                 // x-ms-lease-id (writes to a leased blob)
};
struct BlobData {
  std::string body, etag;
};
class BlobClient {
 public:
  absl::Status CreateContainerIfNotExists(const std::string& container);
  absl::Status DeleteContainer(const std::string& container);
  // Block blob upload in one request; returns the new ETag.
  absl::StatusOr<std::string> Put(const std::string& container, const std::string& blob,
                                  const std::string& body, const BlobConditions& c = {});
  absl::StatusOr<BlobData> Get(const std::string& container, const std::string& blob);
  absl::Status Delete(const std::string& container, const std::string& blob,
                      const BlobConditions& c = {});  // NOT_FOUND when absent
  // Names of the blobs whose name starts with `prefix` (all pages).
  absl::StatusOr<std::vector<std::string>> List(const std::string& container,
                                                const std::string& prefix);
  // Leases (duration 15..60 s or -1 = infinite). Acquire returns the lease id;
  // acquiring with the id that holds the lease renews it.
  absl::StatusOr<std::string> AcquireLease(const std::string& container, const std::string& blob,
                                           absl::Duration duration,
                                           const std::string& proposed_id = "");
  absl::Status RenewLease(const std::string& container, const std::string& blob,
                          const std::string& lease_id);
  absl::Status ReleaseLease(const std::string& container, const std::string& blob,
                            const std::string& lease_id);
  absl::Status BreakLease(const std::string& container, const std::string& blob,
                          absl::Duration break_period = absl::ZeroDuration());

 private:
  friend class StorageClient;
  explicit BlobClient(ClientCore* core) : core_(core) {}
  ClientCore* core_;
};

// --- The client ---------------------------------------------------------------------
class StorageClient {
 public:
  // `transport` null: libcurl.
  StorageClient(Account account, std::shared_ptr<HttpTransport> transport = nullptr,
                RetryPolicy retry = {});
  ~StorageClient();
  TableClient& tables();
  QueueClient& queues();
  BlobClient& blobs();
  TxCounts Counts() const;  // since construction
  const Account& account() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace taskhub::azure

#endif  // TASKHUB_SERVER_STORAGE_AZURE_CLIENT_AZURE_CLIENT_H_
