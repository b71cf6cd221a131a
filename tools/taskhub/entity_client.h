// Durable entities for the taskhub CLI: entity ids ("@name@key") and the four
// entity client RPCs of the Durable Task sidecar protocol (SignalEntity,
// GetEntity, QueryEntities, CleanEntityStorage), called on the service's gRPC
// stub directly (the SDK client has no entity calls the CLI can rely on).
// Not thread-safe: one EntityClient per CLI invocation.
#ifndef TASKHUB_TOOLS_TASKHUB_ENTITY_CLIENT_H_
#define TASKHUB_TOOLS_TASKHUB_ENTITY_CLIENT_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "orchestrator_service.grpc.pb.h"
#include "taskhub/connection.h"

namespace taskhub::cli {

// "@name@key" with the name lower-cased (as the SDKs and the server normalize it).
// InvalidArgumentError when `name` is empty or contains '@'; the key may hold any
// character (the server applies the instance-id rules to the whole id).
absl::StatusOr<std::string> EntityId(absl::string_view name, absl::string_view key);

// The name and key of an entity id "@name@key" ("" and the whole id when malformed).
struct EntityIdParts {
  std::string name, key;
};
EntityIdParts SplitEntityId(absl::string_view id);

// An --prefix value as an entity-id prefix, the way the SDKs normalize it:
// "Counter" -> "@counter", "Counter@Ab" -> "@counter@Ab", "@Counter@" -> "@counter@".
std::string EntityIdPrefix(absl::string_view prefix);

// A new random request id (UUID version 4 text) for SignalEntity.
std::string NewRequestId();

// A duration such as "30s", "5m", "1h30m", "250ms" (absl / Go syntax) that is not
// negative; InvalidArgumentError naming `flag` otherwise.
absl::StatusOr<absl::Duration> ParseNonNegativeDuration(absl::string_view text,
                                                        absl::string_view flag);

// One entity as the server reports it.
struct EntityInfo {
  std::string instance_id;  // "@name@key"
  absl::Time last_modified;
  int backlog_queue_size = 0;
  std::optional<std::string> locked_by;  // orchestration instance id holding the lock
  std::optional<std::string> state;      // JSON text; absent when not asked or no state
  static EntityInfo FromProto(const ::EntityMetadata& m);
};

struct EntityListQuery {
  std::string id_prefix;  // normalized ("@name..."); empty: every entity
  std::optional<absl::Time> modified_from, modified_to;
  bool include_state = false;
  bool include_transient = false;
  int page_size = 0;  // 0: the server's default
};

struct CleanCounts {
  int empty_entities_removed = 0;
  int orphaned_locks_released = 0;
};

class EntityClient {
 public:
  static absl::StatusOr<std::unique_ptr<EntityClient>> Connect(const std::string& address,
                                                               const TlsOptions& tls,
                                                               const std::string& token);

  // Enqueues operation `operation` with `input_json` (absent: no input) on entity
  // `id`, now or at `at`; `request_id` lets the server drop a retried duplicate.
  absl::Status Signal(const std::string& id, const std::string& operation,
                      const std::optional<std::string>& input_json, const std::string& request_id,
                      std::optional<absl::Time> at);
  // std::nullopt when the entity does not exist.
  absl::StatusOr<std::optional<EntityInfo>> Get(const std::string& id, bool include_state);
  // Every match: follows continuation tokens (stops if the server repeats one).
  absl::StatusOr<std::vector<EntityInfo>> QueryAll(const EntityListQuery& query);
  // Repeats CleanEntityStorage while the server returns a continuation token; the
  // counts are summed over the calls.
  absl::StatusOr<CleanCounts> Clean(bool remove_empty, bool release_orphaned_locks);

 private:
  explicit EntityClient(std::unique_ptr<TaskHubSidecarService::Stub> stub);
  std::unique_ptr<TaskHubSidecarService::Stub> stub_;
};

}  // namespace taskhub::cli

#endif  // TASKHUB_TOOLS_TASKHUB_ENTITY_CLIENT_H_
