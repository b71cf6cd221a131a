// A Durable Functions host.json, accepted as it is. What maps to what:
//
//   extensions.durableTask.hubName                 -> task-hub ("%NAME%": $NAME)
//     .storageProvider.type                        -> store (AzureStorage -> azure;
//                                                     rocksdb, memory; others refused)
//     .storageProvider.connectionStringName        -> azure-storage-connection-string-name
//       (or .connectionName)                          (the variable holding the string)
//     .storageProvider.partitionCount              -> partition-count
//     .maxConcurrentOrchestratorFunctions          -> max-concurrent-orchestrations
//     .maxConcurrentActivityFunctions              -> max-concurrent-activities
//     .maxConcurrentEntityFunctions                -> max-concurrent-entities
//     .maxEntityOperationBatchSize                 -> entity-max-batch
//   taskhub.<key>                                  -> <key> (taskhubd's own keys; win)
//
// Accepted, checked for type and noted as having no effect (see kIgnored for why):
// extendedSessions*, notifications.eventGrid, tracing, the Azure Storage provider's
// queue/lease tuning, versioning and the other host-side settings. Other top-level
// sections (version, logging, extensionBundle, functionTimeout, ...) and other
// extensions are for the Functions host: one info line each. Unknown keys inside
// durableTask, storageProvider, notifications and tracing: a warning naming them.
#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/daemon/config_file_internal.h"

namespace taskhub::daemon::config_internal {
namespace {

enum class Type { kBool, kNumber, kString, kMap, kAny };

struct Ignored {
  const char* name;
  Type type;
  const char* why;
};

constexpr char kExtendedSessions[] =
    "extended sessions keep an orchestration's history in the worker between episodes; "
    "the sidecar protocol sends the history with each work item, and taskhubd keeps "
    "recent histories in memory (--history-cache-events), so there is nothing to turn on";
constexpr char kAzureTuning[] =
    "tuning of the Functions host's Azure Storage queues and leases; taskhubd's azure "
    "store has its own (--azure-lease-seconds, --azure-max-retry-seconds)";
constexpr char kHostSide[] = "a setting of the Functions host's Durable extension";

const Ignored kDurableTaskIgnored[] = {
    {"extendedSessionsEnabled", Type::kBool, kExtendedSessions},
    {"extendedSessionIdleTimeoutInSeconds", Type::kNumber, kExtendedSessions},
    {"defaultVersion", Type::kString, "orchestration versions are set by the client/worker"},
    {"versionMatchStrategy", Type::kString, "worker-side versioning"},
    {"versionFailureStrategy", Type::kString, "worker-side versioning"},
    {"httpSettings", Type::kMap, kHostSide},
    {"useAppLease", Type::kBool, "the azure store takes a task hub lease of its own"},
    {"appLeaseOptions", Type::kMap, "the azure store takes a task hub lease of its own"},
    {"useGracefulShutdown", Type::kBool, "taskhubd always drains on SIGTERM"},
    {"storeInputsInOrchestrationHistory", Type::kBool, kHostSide},
    {"localRpcEndpointEnabled", Type::kBool, kHostSide},
    {"rollbackEntityOperationsOnExceptions", Type::kBool, "worker-side entity behaviour"},
    {"maxOrchestrationActions", Type::kNumber,
     "see --max-actions-per-response for taskhubd's per-episode cap"},
    {"entityMessageReorderWindowInMinutes", Type::kNumber, kHostSide},
    {"typeNameHandling", Type::kString, ".NET serialization setting"},
    {"maxQueuePollingInterval", Type::kString, kAzureTuning},
};

const Ignored kStorageIgnored[] = {
    {"controlQueueBatchSize", Type::kNumber, kAzureTuning},
    {"controlQueueBufferThreshold", Type::kNumber, kAzureTuning},
    {"controlQueueVisibilityTimeout", Type::kString, kAzureTuning},
    {"workItemQueueVisibilityTimeout", Type::kString, kAzureTuning},
    {"maxQueuePollingInterval", Type::kString, kAzureTuning},
    {"trackingStoreConnectionStringName", Type::kString,
     "taskhubd keeps instances and history in the one storage account"},
    {"trackingStoreNamePrefix", Type::kString,
     "taskhubd names its tables and containers after the task hub"},
    {"useLegacyPartitionManagement", Type::kBool, kAzureTuning},
    {"useTablePartitionManagement", Type::kBool, kAzureTuning},
    {"fetchLargeMessagesAutomatically", Type::kBool, "taskhubd always returns whole payloads"},
    {"allowReplayingTerminalInstances", Type::kBool, kHostSide},
};

constexpr char kNotImplementedNotifications[] =
    "taskhubd publishes lifecycle notifications to webhooks (--notification-webhook), not to "
    "Event Grid";
constexpr char kNotImplementedTracing[] =
    "taskhubd propagates W3C trace context and logs it; it exports no traces (no "
    "Application Insights / OpenTelemetry exporter)";
const Ignored kEventGridKeys[] = {
    {"topicEndpoint", Type::kString, kNotImplementedNotifications},
    {"keySettingName", Type::kString, kNotImplementedNotifications},
    {"publishRetryCount", Type::kNumber, kNotImplementedNotifications},
    {"publishRetryInterval", Type::kString, kNotImplementedNotifications},
    {"publishRetryHttpStatus", Type::kAny, kNotImplementedNotifications},
    {"publishEventTypes", Type::kAny, kNotImplementedNotifications},
};
const Ignored kTracingKeys[] = {
    {"traceInputsAndOutputs", Type::kBool, kNotImplementedTracing},
    {"traceReplayEvents", Type::kBool, kNotImplementedTracing},
    {"distributedTracingEnabled", Type::kBool, kNotImplementedTracing},
    {"distributedTracingProtocol", Type::kString, kNotImplementedTracing},
    {"version", Type::kString, kNotImplementedTracing},
    {"Version", Type::kString, kNotImplementedTracing},
};

// host.json is parsed by the Functions host case-insensitively.
bool NameIs(const std::string& name, absl::string_view want) {
  return absl::EqualsIgnoreCase(name, want);
}

template <size_t N>
const Ignored* Find(const Ignored (&table)[N], const std::string& name) {
  for (const Ignored& i : table) {
    if (NameIs(name, i.name)) return &i;
  }
  return nullptr;
}

absl::Status CheckType(const YAML::Node& node, Type type, const std::string& path,
                       const Builder& b) {
  switch (type) {
    case Type::kAny:
      return absl::OkStatus();
    case Type::kMap:
      if (node.IsMap() || node.IsNull()) return absl::OkStatus();
      return b.Error(path, "expected a map");
    case Type::kBool: {
      absl::StatusOr<std::string> v = ScalarAt(node, path, b);
      if (!v.ok()) return v.status();
      bool ignored;
      if (absl::SimpleAtob(*v, &ignored)) return absl::OkStatus();
      return b.Error(path, absl::StrCat("expected true or false, got '", *v, "'"));
    }
    case Type::kNumber: {
      absl::StatusOr<std::string> v = ScalarAt(node, path, b);
      if (!v.ok()) return v.status();
      double ignored;
      if (absl::SimpleAtod(*v, &ignored)) return absl::OkStatus();
      return b.Error(path, absl::StrCat("expected a number, got '", *v, "'"));
    }
    case Type::kString:
      return ScalarAt(node, path, b).status();
  }
  return absl::OkStatus();
}

absl::Status CheckMap(const YAML::Node& node, const std::string& path, const Builder& b) {
  if (node.IsMap() || node.IsNull()) return absl::OkStatus();
  return b.Error(path, "expected a map");
}

// Checks a known-but-ignored key and notes it.
absl::Status NoteIgnored(const Ignored& i, const YAML::Node& node, const std::string& path,
                         Builder& b) {
  if (absl::Status st = CheckType(node, i.type, path, b); !st.ok()) return st;
  b.Info(absl::StrCat("host.json ", path, ": accepted, no effect: ", i.why));
  return absl::OkStatus();
}

// A mapped scalar: `key` gets the value (checked by the flag when applied).
absl::Status Map(const YAML::Node& node, const std::string& key, const std::string& path,
                 Builder& b) {
  absl::StatusOr<std::string> v = ScalarAt(node, path, b);
  if (!v.ok()) return v.status();
  b.Set(key, {*std::move(v)}, path);
  return absl::OkStatus();
}

// Keys of `node` (a map) checked against `table`: every one is noted; unknown ones warned.
template <size_t N>
absl::Status AddIgnoredSection(const YAML::Node& node, const std::string& path,
                               const Ignored (&table)[N], Builder& b) {
  if (absl::Status st = CheckMap(node, path, b); !st.ok()) return st;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string name = it->first.Scalar();
    const std::string at = JoinPath(path, name);
    const YAML::Node v = it->second;  // a handle
    if (const Ignored* i = Find(table, name)) {
      if (absl::Status st = NoteIgnored(*i, v, at, b); !st.ok()) return st;
    } else {
      b.Warn(absl::StrCat("host.json ", at, ": unknown key; ignored"));
    }
  }
  return absl::OkStatus();
}

absl::Status AddStorageProvider(const YAML::Node& node, const std::string& path, Builder& b) {
  if (absl::Status st = CheckMap(node, path, b); !st.ok()) return st;
  bool have_string_name = false;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string name = it->first.Scalar();
    const std::string at = JoinPath(path, name);
    const YAML::Node v = it->second;  // a handle
    absl::Status st;
    if (NameIs(name, "type")) {
      absl::StatusOr<std::string> type = ScalarAt(v, at, b);
      if (!type.ok()) return type.status();
      const std::string t = absl::AsciiStrToLower(*type);
      if (t == "azurestorage" || t == "azure") {
        b.Set("store", {"azure"}, at);
      } else if (t == "rocksdb" || t == "memory") {
        b.Set("store", {t}, at);
      } else {
        return b.Error(at, absl::StrCat("storage provider '", *type,
                                        "' is not supported by taskhubd; use AzureStorage "
                                        "(store azure), rocksdb or memory"));
      }
    } else if (NameIs(name, "connectionStringName")) {
      have_string_name = true;
      st = Map(v, "azure-storage-connection-string-name", at, b);
    } else if (NameIs(name, "connectionName")) {
      if (!have_string_name) st = Map(v, "azure-storage-connection-string-name", at, b);
    } else if (NameIs(name, "partitionCount")) {
      st = Map(v, "partition-count", at, b);
    } else if (const Ignored* i = Find(kStorageIgnored, name)) {
      st = NoteIgnored(*i, v, at, b);
    } else {
      b.Warn(absl::StrCat("host.json ", at, ": unknown key; ignored"));
    }
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status AddNotifications(const YAML::Node& node, const std::string& path, Builder& b) {
  if (absl::Status st = CheckMap(node, path, b); !st.ok()) return st;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string name = it->first.Scalar();
    const std::string at = JoinPath(path, name);
    const YAML::Node v = it->second;  // a handle
    if (NameIs(name, "eventGrid")) {
      if (absl::Status st = AddIgnoredSection(v, at, kEventGridKeys, b); !st.ok()) {
        return st;
      }
    } else {
      b.Warn(absl::StrCat("host.json ", at, ": unknown key; ignored"));
    }
  }
  return absl::OkStatus();
}

absl::Status AddDurableTask(const YAML::Node& node, const std::string& path, Builder& b) {
  if (absl::Status st = CheckMap(node, path, b); !st.ok()) return st;
  static constexpr std::pair<const char*, const char*> kMapped[] = {
      {"maxConcurrentOrchestratorFunctions", "max-concurrent-orchestrations"},
      {"maxConcurrentActivityFunctions", "max-concurrent-activities"},
      {"maxConcurrentEntityFunctions", "max-concurrent-entities"},
      {"maxEntityOperationBatchSize", "entity-max-batch"},
  };
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string name = it->first.Scalar();
    const std::string at = JoinPath(path, name);
    const YAML::Node v = it->second;  // a handle
    absl::Status st;
    auto mapped = std::find_if(std::begin(kMapped), std::end(kMapped),
                               [&](const auto& m) { return NameIs(name, m.first); });
    if (mapped != std::end(kMapped)) {
      st = Map(v, mapped->second, at, b);
    } else if (NameIs(name, "hubName")) {
      absl::StatusOr<std::string> hub = ScalarAt(v, at, b);
      if (!hub.ok()) return hub.status();
      // "%NAME%": an app setting, i.e. an environment variable.
      if (hub->size() > 2 && hub->front() == '%' && hub->back() == '%') {
        const std::string var = hub->substr(1, hub->size() - 2);
        std::optional<std::string> value = b.Env(var);
        if (!value || value->empty()) {
          return b.Error(
              at, absl::StrCat("refers to the environment variable ", var, ", which is not set"));
        }
        *hub = *value;
      }
      b.Set("task-hub", {*hub}, at);
    } else if (NameIs(name, "storageProvider")) {
      st = AddStorageProvider(v, at, b);
    } else if (NameIs(name, "notifications")) {
      st = AddNotifications(v, at, b);
    } else if (NameIs(name, "tracing")) {
      st = AddIgnoredSection(v, at, kTracingKeys, b);
    } else if (const Ignored* i = Find(kDurableTaskIgnored, name)) {
      st = NoteIgnored(*i, v, at, b);
    } else {
      b.Warn(absl::StrCat("host.json ", at, ": unknown key; ignored"));
    }
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status AddHostJson(const YAML::Node& root, Builder& b) {
  YAML::Node own;  // a handle
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string name = it->first.Scalar();
    const YAML::Node section = it->second;  // a handle
    if (name == "extensions") {
      if (absl::Status st = CheckMap(section, name, b); !st.ok()) return st;
      for (auto ext = section.begin(); ext != section.end(); ++ext) {
        const std::string at = JoinPath(name, ext->first.Scalar());
        const YAML::Node durable_task = ext->second;
        if (NameIs(ext->first.Scalar(), "durableTask")) {
          if (absl::Status st = AddDurableTask(durable_task, at, b); !st.ok()) return st;
        } else {
          b.Info(absl::StrCat("host.json ", at, ": for the Functions host; not used by taskhubd"));
        }
      }
    } else if (name == "taskhub") {
      own = section;
    } else {
      b.Info(absl::StrCat("host.json ", name, ": for the Functions host; not used by taskhubd"));
    }
  }
  if (own.IsDefined()) {  // after the mapped keys: taskhubd's own keys win
    if (absl::Status st = CheckMap(own, "taskhub", b); !st.ok()) return st;
    return AddOwnKeys(own, "", "taskhub", b);
  }
  return absl::OkStatus();
}

}  // namespace taskhub::daemon::config_internal
