// Durable entities for the taskhub CLI: entity ids ("@name@key"), --prefix values,
// request ids and --in durations. The entity RPCs themselves go through the SDK's
// Client (sdk/include/taskhub/client.h). Pure functions; thread-safe.
#ifndef TASKHUB_TOOLS_TASKHUB_ENTITY_IDS_H_
#define TASKHUB_TOOLS_TASKHUB_ENTITY_IDS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

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

}  // namespace taskhub::cli

#endif  // TASKHUB_TOOLS_TASKHUB_ENTITY_IDS_H_
