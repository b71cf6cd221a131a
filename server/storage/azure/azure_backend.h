// The Azure Storage backend (`taskhubd --store azure`): a task hub in one Azure
// Table, a blob container and (for scale-out, later) queues, behind the same Backend
// interface and conformance suite as RocksDB. The layout and the atomicity argument
// are in azure_layout.h.
//
// Ownership: at open the backend takes the task hub's lease blob (renewed in the
// background) and claims every partition by bumping the epoch in its meta row; every
// later write carries that row's ETag, so a replica that lost ownership is fenced
// (its next commit fails and the backend turns sticky-failed).
//
// Availability: while storage is unreachable a Commit keeps retrying (back-off) for up
// to `max_retry_time`, then fails (UNAVAILABLE, sticky, like RocksDB I/O errors).
// Reads fail with UNAVAILABLE and do not make the backend sticky.
//
// Thread-safety: as Backend (all methods may be called concurrently).
#ifndef TASKHUB_SERVER_STORAGE_AZURE_AZURE_BACKEND_H_
#define TASKHUB_SERVER_STORAGE_AZURE_AZURE_BACKEND_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/storage/azure/client/azure_client.h"
#include "server/storage/backend.h"

namespace taskhub::storage {

struct AzureBackendOptions {
  std::string connection_string;  // see azure::ParseConnectionString
  std::string task_hub = "default";
  int partition_count = 4;  // 1..16; fixed when the task hub is created
  // Lease identity: a restart with the same owner id takes the lease back at once;
  // another owner waits until it expires. Empty: the host name.
  std::string owner_id;
  absl::Duration lease_duration = absl::Seconds(30);  // 15..60 s
  // How long an open waits for a lease held by another owner before failing.
  absl::Duration lease_wait = absl::Minutes(2);
  absl::Duration max_retry_time = absl::Minutes(2);
  std::shared_ptr<azure::HttpTransport> transport;  // null: libcurl (tests inject faults)
};

// Checks `task_hub` against Azure's naming rules for what it prefixes: 3-45 ASCII
// letters and digits, starting with a letter. INVALID_ARGUMENT saying why otherwise.
absl::Status ValidateAzureTaskHubName(const std::string& task_hub);

class AzureBackend : public Backend {
 public:
  // Storage transactions made so far, by kind (server/storage/azure/client).
  virtual azure::TxCounts Counts() const = 0;
  // The partition count the task hub was created with.
  virtual int partition_count() const = 0;
};

// Opens (creating if needed) the task hub: INVALID_ARGUMENT for a bad connection
// string, hub name or partition count; FAILED_PRECONDITION when the hub exists with
// another partition count (the message names both) or its lease stays held by another
// owner for `lease_wait`; UNAVAILABLE when storage cannot be reached.
absl::StatusOr<std::unique_ptr<AzureBackend>> OpenAzureBackend(const AzureBackendOptions& options);

}  // namespace taskhub::storage

#endif  // TASKHUB_SERVER_STORAGE_AZURE_AZURE_BACKEND_H_
