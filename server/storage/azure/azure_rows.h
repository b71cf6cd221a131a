// Turns a WriteSet into the table row writes of the Azure layout (azure_layout.h), and
// row data to and from Binary properties. Pure functions over an injected RowSource,
// unit-tested without storage. Internal to the Azure backend.
#ifndef TASKHUB_SERVER_STORAGE_AZURE_AZURE_ROWS_H_
#define TASKHUB_SERVER_STORAGE_AZURE_AZURE_ROWS_H_

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "server/storage/azure/client/azure_client.h"
#include "server/storage/backend.h"
#include "taskhub_store.pb.h"

namespace taskhub::storage::azrows {

// A write of one row: upsert-replace of `entity` (with `data` as its payload), or a
// delete of the row (entity holds the keys only).
struct RowWrite {
  bool del = false;
  azure::TableEntity entity;
  std::string data;  // serialized proto; moved into properties/blob before writing
};
using RowId = std::pair<std::string, std::string>;  // (PartitionKey, RowKey)
using RowMap = std::map<RowId, RowWrite>;

// A stored row: its key and the data blob it references ("" none).
struct StoredRow {
  std::string row_key;
  std::string blob;
};

// What the translation needs to know about stored rows.
class RowSource {
 public:
  virtual ~RowSource() = default;
  // The stored rows of partition `pk` starting with any of `prefixes`.
  virtual absl::StatusOr<std::vector<StoredRow>> ListRows(
      const std::string& pk, const std::vector<std::string>& prefixes) = 0;
  // The data blob the stored row references ("" when none or no such row).
  virtual absl::StatusOr<std::string> BlobOf(const std::string& pk, const std::string& rk) = 0;
  // Every stored row except the ~meta rows, in every partition.
  virtual absl::StatusOr<std::vector<RowId>> ListAll() = 0;
  // The partition of the stored a:/t:/m: row with this seq (kind 'a', 't', 'm'), or -1.
  virtual int SeqPartition(char kind, uint64_t seq) = 0;
  // The data blob of a stored n:/a:/t:/m: row as far as known without I/O ("" none).
  virtual std::string KnownBlob(const std::string& pk, const std::string& rk) = 0;
};

// Changes to the seq -> partition map, applied once the commit succeeded.
struct SeqChange {
  char kind;
  uint64_t seq;
  int partition;  // -1: removed
};
struct Translation {
  RowMap rows;
  std::vector<SeqChange> seq_changes;
  bool delete_everything = false;
  // Data blobs of rows this commit deletes or replaces: deleted once it succeeded
  // (best effort; a blob no row references is garbage, never state).
  std::vector<std::string> garbage_blobs;
};

// The row writes of `ws`, in a map (the last write of a row wins).
absl::StatusOr<Translation> Translate(const WriteSet& ws, int partition_count, RowSource* src);

// Properties: D0..Dk hold `data` in kChunk pieces.
void SetData(azure::TableEntity* e, const std::string& data);
// The payload of a read row: its D properties, or the blob named by its Blob property
// (read with `fetch`). DATA_LOSS for a row with neither.
absl::StatusOr<std::string> GetData(
    const azure::TableEntity& e,
    const std::function<absl::StatusOr<std::string>(const std::string& blob)>& fetch);
// Estimated request bytes of a row write (for batch sizing).
size_t WriteBytes(const RowWrite& w);

// Rows whose data blob the backend tracks in memory (n:, a:, t:, m:): deleted one by
// one, their blobs could not be found otherwise.
bool TracksBlob(const std::string& row_key);

// Int64 property (0 when absent).
int64_t IntProp(const azure::TableEntity& e, const std::string& name);
std::string StringProp(const azure::TableEntity& e, const std::string& name);

// Commit records.
store::AzureLogRow ToLogRow(const RowWrite& w);
RowWrite FromLogRow(const store::AzureLogRow& r);

}  // namespace taskhub::storage::azrows

#endif  // TASKHUB_SERVER_STORAGE_AZURE_AZURE_ROWS_H_
