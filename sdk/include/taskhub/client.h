// taskhub::Client: a synchronous client of the Durable Task sidecar protocol
// (TaskHubSidecarService), for taskhubd or any server of the protocol.
// Payloads are JSON text (so any SDK can read what this one writes).
// Thread-safe: one Client may be used from many threads.
//
// Example:
//   auto client = taskhub::Client::Connect({.address = "localhost:4001"});
//   auto id = (*client)->ScheduleNewOrchestration("hello_cities", "\"Tokyo\"");
//   auto state = (*client)->WaitForInstanceCompletion(*id, absl::Seconds(30));
#ifndef TASKHUB_SDK_CLIENT_H_
#define TASKHUB_SDK_CLIENT_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "orchestrator_service.pb.h"
#include "taskhub/connection.h"
#include "taskhub/entity.h"

namespace taskhub {

struct ClientOptions {
  std::string address = "localhost:4001";
  absl::Duration rpc_timeout = absl::Seconds(30);  // per unary call (not waits)
  std::string token = {};  // non-empty: sent as `authorization: Bearer <token>` on every call
  TlsOptions tls = {};     // TLS / mutual TLS (connection.h); default plaintext
};

// What a failed activity or orchestration reported.
struct FailureDetails {
  std::string error_type;
  std::string message;
  std::optional<std::string> stack_trace;
  std::shared_ptr<FailureDetails> inner;
  static FailureDetails FromProto(const TaskFailureDetails& f);
};

// The state of one orchestration instance.
struct OrchestrationMetadata {
  std::string instance_id;
  std::string name;
  std::string version;
  OrchestrationStatus status = ORCHESTRATION_STATUS_PENDING;
  absl::Time created_at, last_updated_at;
  std::optional<absl::Time> completed_at, scheduled_start_at;
  std::optional<std::string> input, output, custom_status;  // JSON text
  std::optional<FailureDetails> failure;
  std::string execution_id;
  std::string parent_instance_id;
  std::map<std::string, std::string> tags;
  static OrchestrationMetadata FromProto(const OrchestrationState& s);
};

struct StartOptions {
  std::string instance_id;  // empty: the server generates one
  std::optional<absl::Time> start_at;
  std::map<std::string, std::string> tags;
  std::string version;
  // When set, an existing instance in one of these statuses is replaced; otherwise
  // starting an existing id fails with ALREADY_EXISTS (a finished one is replaced
  // by taskhubd when no policy is given).
  std::optional<std::vector<OrchestrationStatus>> replaceable_statuses;
};

struct InstanceQuery {
  std::vector<OrchestrationStatus> statuses;
  std::optional<absl::Time> created_from, created_to;
  std::string instance_id_prefix;
  int page_size = 100;
  std::string continuation_token;
  bool fetch_payloads = false;
};

struct InstancePage {
  std::vector<OrchestrationMetadata> instances;
  std::string continuation_token;  // empty on the last page
};

struct PurgeFilter {
  std::optional<absl::Time> created_from, created_to;
  std::vector<OrchestrationStatus> statuses;  // empty: every finished status
};

// One entity as the server reports it (GetEntityMetadata, QueryEntities).
struct EntityMetadata {
  std::string instance_id;  // "@name@key"
  EntityInstanceId id;      // parsed (empty when the server sent a malformed id)
  absl::Time last_modified = absl::UnixEpoch();
  int backlog_queue_size = 0;        // operations queued, not yet run
  std::string locked_by;             // the orchestration holding its lock, "" = unlocked
  std::optional<std::string> state;  // JSON text, when asked for and present
  // The state converted from JSON; nullopt when absent.
  template <typename T = nlohmann::json>
  std::optional<T> State() const {
    if (!state) return std::nullopt;
    return internal::FromJson<T>(nlohmann::json::parse(*state));
  }
  static EntityMetadata FromProto(const ::EntityMetadata& m);
};

struct EntityQuery {
  std::string instance_id_prefix;  // a prefix of "@name@key" ("@counter@" = every counter)
  std::optional<absl::Time> last_modified_from, last_modified_to;
  bool include_state = true;
  bool include_transient = false;  // also entities without state (queued work or a lock)
  int page_size = 100;
  std::string continuation_token;
};

struct EntityPage {
  std::vector<EntityMetadata> entities;
  std::string continuation_token;  // empty on the last page
};

struct CleanEntityStorageResult {
  int empty_entities_removed = 0;
  int orphaned_locks_released = 0;
};

class Client {
 public:
  static absl::StatusOr<std::unique_ptr<Client>> Connect(const ClientOptions& options);
  ~Client();

  // Returns the instance id. `input_json` absent = no input.
  absl::StatusOr<std::string> ScheduleNewOrchestration(
      const std::string& name, const std::optional<std::string>& input_json = std::nullopt,
      const StartOptions& options = {});
  // std::nullopt when the instance does not exist.
  absl::StatusOr<std::optional<OrchestrationMetadata>> GetInstance(const std::string& id,
                                                                   bool fetch_payloads = true);
  // DEADLINE_EXCEEDED when `timeout` passes first.
  absl::StatusOr<std::optional<OrchestrationMetadata>> WaitForInstanceStart(
      const std::string& id, absl::Duration timeout, bool fetch_payloads = true);
  absl::StatusOr<std::optional<OrchestrationMetadata>> WaitForInstanceCompletion(
      const std::string& id, absl::Duration timeout, bool fetch_payloads = true);
  absl::Status RaiseEvent(const std::string& id, const std::string& event_name,
                          const std::optional<std::string>& data_json = std::nullopt);
  absl::Status Terminate(const std::string& id,
                         const std::optional<std::string>& output_json = std::nullopt,
                         bool recursive = true);
  absl::Status Suspend(const std::string& id, const std::string& reason = "");
  absl::Status Resume(const std::string& id, const std::string& reason = "");
  absl::Status Rewind(const std::string& id, const std::string& reason = "");
  // Returns the id of the restarted instance.
  absl::StatusOr<std::string> Restart(const std::string& id, bool new_instance_id = false);
  absl::StatusOr<InstancePage> QueryInstances(const InstanceQuery& query);
  // Follows continuation tokens until every matching instance is returned.
  absl::StatusOr<std::vector<OrchestrationMetadata>> QueryAllInstances(InstanceQuery query);
  // Returns the number of deleted instances.
  absl::StatusOr<int> Purge(const std::string& id, bool recursive = true);
  // Repeats the server-side purge until it reports completion.
  absl::StatusOr<int> PurgeBy(const PurgeFilter& filter);
  absl::StatusOr<std::vector<HistoryEvent>> GetHistory(const std::string& id);
  absl::Status CreateTaskHub(bool recreate_if_exists);
  absl::Status DeleteTaskHub();
  // --- entities (entity.h) ---
  // Queues a one-way operation for the entity (created if it does not exist);
  // delivered at `at` when given. `request_id` (empty: a generated one) lets the server
  // drop a retried request with the same id.
  absl::Status SignalEntity(const EntityInstanceId& entity, const std::string& operation,
                            const std::optional<std::string>& input_json = std::nullopt,
                            std::optional<absl::Time> at = std::nullopt,
                            const std::string& request_id = "");
  template <typename In>
  absl::Status SignalEntityWith(const EntityInstanceId& entity, const std::string& operation,
                                const In& input, std::optional<absl::Time> at = std::nullopt) {
    const nlohmann::json j = input;
    return SignalEntity(entity, operation,
                        j.is_null() ? std::nullopt : std::optional<std::string>(j.dump()), at);
  }
  // std::nullopt when the entity does not exist.
  absl::StatusOr<std::optional<EntityMetadata>> GetEntityMetadata(const EntityInstanceId& entity,
                                                                  bool include_state = true);
  // The entity's state as T; std::nullopt when it does not exist (or has no state).
  template <typename T = nlohmann::json>
  absl::StatusOr<std::optional<T>> GetEntity(const EntityInstanceId& entity) {
    absl::StatusOr<std::optional<EntityMetadata>> m = GetEntityMetadata(entity, true);
    if (!m.ok()) return m.status();
    if (!m->has_value()) return std::optional<T>();
    return (*m)->State<T>();
  }
  absl::StatusOr<EntityPage> QueryEntities(const EntityQuery& query);
  // Follows continuation tokens until every matching entity is returned.
  absl::StatusOr<std::vector<EntityMetadata>> QueryAllEntities(EntityQuery query);
  // Removes entities with no state, no queued operation and no lock, and/or
  // releases locks held by orchestrations that no longer run; repeats until the
  // server reports it went through all of them.
  absl::StatusOr<CleanEntityStorageResult> CleanEntityStorage(bool remove_empty_entities = true,
                                                              bool release_orphaned_locks = true);

  // OK when the server answers Hello.
  absl::Status Ping();

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace taskhub

#endif  // TASKHUB_SDK_CLIENT_H_
