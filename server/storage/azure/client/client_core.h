// Internal to the client library: one HTTP call with signing, retries, counting and
// error mapping, shared by the Table, Queue and Blob views.
//
// Thread-safety: ClientCore is thread-safe (counters are atomic; the transport is
// thread-safe).
#ifndef TASKHUB_SERVER_STORAGE_AZURE_CLIENT_CLIENT_CORE_H_
#define TASKHUB_SERVER_STORAGE_AZURE_CLIENT_CLIENT_CORE_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/storage/azure/client/azure_client.h"
#include "server/storage/azure/client/shared_key.h"

namespace taskhub::azure {

enum class Service { kBlob, kQueue, kTable };

struct Call {
  Service service;
  TxKind kind;
  std::string op;        // "Table Insert", for error messages
  std::string resource;  // "table Orders pk=p0 rk=r1", for error messages (no secrets)
  std::string method;
  std::string path;  // below the service endpoint, percent-encoded, starting with '/'
  QueryList query;   // decoded
  HeaderList headers;
  std::string body;
};

// The one place that maps an HTTP answer to a status: the code by HTTP status (see
// azure_client.h), the message naming op, resource, status and the service's error
// code (x-ms-error-code, else the XML or JSON error body), the first line of the
// service's message and the request id; the code also as a payload (ErrorCodeOf).
// Also used for the failing part of a $batch answer.
absl::Status StatusFromResponse(const std::string& op, const std::string& resource,
                                const HttpResponse& response);
// OK for a 409 whose code is *AlreadyExists (the *IfNotExists calls); any other
// status as is (e.g. 409 TableBeingDeleted / QueueBeingDeleted stays an error).
absl::Status IgnoreAlreadyExists(absl::Status status);
// Attaches the failing batch operation's index (FailedBatchIndex).
absl::Status WithBatchIndex(absl::Status status, int index);
bool IsRetryableHttpStatus(int status);
// A response header by its lower-case name, or "".
inline std::string HeaderOf(const HttpResponse& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

class ClientCore {
 public:
  ClientCore(Account account, std::shared_ptr<HttpTransport> transport, RetryPolicy retry);

  // Signs and sends `call`, retrying transport errors and retryable statuses; every
  // attempt is counted under call.kind. Returns the response when its status is 2xx,
  // else the mapped status.
  absl::StatusOr<HttpResponse> Do(const Call& call);

  // The endpoint of a service with `path` appended (no query): for batch inner URLs.
  std::string Url(Service service, const std::string& path) const;

  const Account& account() const { return account_; }
  TxCounts Counts() const;

 private:
  HttpRequest Build(const Call& call) const;

  Account account_;
  std::shared_ptr<HttpTransport> transport_;
  RetryPolicy retry_;
  std::atomic<uint64_t> counts_[static_cast<int>(TxKind::kCount)] = {};
};

}  // namespace taskhub::azure

#endif  // TASKHUB_SERVER_STORAGE_AZURE_CLIENT_CLIENT_CORE_H_
