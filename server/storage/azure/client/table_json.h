// Internal: Table entities <-> JSON (odata=minimalmetadata), the key path of an entity
// and the entity-group transaction ($batch) multipart body, built and parsed.
//
// Thread-safety: pure functions.
#ifndef TASKHUB_SERVER_STORAGE_AZURE_CLIENT_TABLE_JSON_H_
#define TASKHUB_SERVER_STORAGE_AZURE_CLIENT_TABLE_JSON_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/storage/azure/client/azure_client.h"

namespace taskhub::azure {

// {"PartitionKey":..,"RowKey":..,props with @odata.type annotations}.
// INVALID_ARGUMENT when a string is not valid UTF-8.
absl::StatusOr<std::string> EntityToJson(const TableEntity& e);
// Parses one entity object (minimalmetadata); etag from odata.etag when present.
absl::StatusOr<TableEntity> EntityFromJson(const std::string& json);
// Parses {"value":[...]}.
absl::StatusOr<std::vector<TableEntity>> EntitiesFromJson(const std::string& json);
// "/Table(PartitionKey='pk',RowKey='rk')" with quotes doubled and percent-encoded.
std::string EntityPath(const std::string& table, const std::string& pk, const std::string& rk);

// The HTTP method of a single operation, and whether it carries If-Match.
const char* TableOpMethod(TableOpKind kind);
bool TableOpHasIfMatch(TableOpKind kind);

// The multipart/mixed body of a $batch of `ops` on `table`; `table_url` is the table
// endpoint (inner requests use absolute URLs).
absl::StatusOr<std::string> BuildBatchBody(const std::string& table_url, const std::string& table,
                                           const std::vector<TableOp>& ops,
                                           const std::string& batch_boundary,
                                           const std::string& changeset_boundary);

// One inner response of a $batch answer.
struct BatchPart {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
};
// Parses a $batch response body given its Content-Type header (which names the
// boundary); INTERNAL when malformed.
absl::StatusOr<std::vector<BatchPart>> ParseBatchResponse(const std::string& content_type,
                                                          const std::string& body);

}  // namespace taskhub::azure

#endif  // TASKHUB_SERVER_STORAGE_AZURE_CLIENT_TABLE_JSON_H_
