// taskhub::Client: a synchronous client of the Durable Task sidecar protocol
// (TaskHubSidecarService), for taskhubd or any server of the protocol.
// Payloads are JSON text (so any SDK can read what this one writes).
// Thread-safe: one Client may be used from many threads.
//
// Example:
//   auto client = taskhub::Client::Connect({.address = "localhost:4001"});
//   auto id = (*client)->ScheduleNewOrchestration("hello_cities", taskhub::Json("Tokyo"));
//   auto state = (*client)->WaitForInstanceCompletion(*id, absl::Seconds(30));
//   if (state.ok() && *state && (*state)->runtime_status == taskhub::RuntimeStatus::kCompleted)
//     std::vector<std::string> out = *(*state)->GetOutput<std::vector<std::string>>();
//
// Inputs: a std::string, string literal or std::optional<std::string> argument is
// JSON text, sent as is (e.g. "\"Tokyo\"", "42"); any other value (numbers,
// nlohmann::json, your types with to_json, taskhub::Json(...) for strings) is
// converted to JSON.
#ifndef TASKHUB_SDK_CLIENT_H_
#define TASKHUB_SDK_CLIENT_H_

#include <concepts>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "orchestrator_service.pb.h"
#include "taskhub/connection.h"
#include "taskhub/entity.h"

namespace taskhub {

// An orchestration's runtime status (the wire's OrchestrationStatus, as a C++ enum).
enum class RuntimeStatus {
  kRunning,
  kCompleted,
  kContinuedAsNew,
  kFailed,
  kCanceled,
  kTerminated,
  kPending,
  kSuspended,
};
RuntimeStatus ToRuntimeStatus(OrchestrationStatus status);
OrchestrationStatus ToProto(RuntimeStatus status);
// "RUNNING", "COMPLETED", "CONTINUED_AS_NEW", ... (the protocol's names).
const char* ToString(RuntimeStatus status);
// Completed, failed or terminated (the instance will not run again by itself).
bool IsTerminal(RuntimeStatus status);

// A value converted to JSON for a client call, for when the value is a string (a
// plain std::string argument is taken as JSON text): Json("Tokyo") sends "\"Tokyo\"".
struct Json {
  template <typename T>
  explicit Json(const T& value) : value(value) {}
  nlohmann::json value;
};
void to_json(nlohmann::json& j, const Json& v);

namespace internal {
// Arguments that the client takes as JSON text rather than as a value.
template <typename T>
concept JsonText = std::same_as<std::decay_t<T>, std::string> || std::same_as < std::decay_t<T>,
const char* > || std::same_as<std::decay_t<T>, char*> ||
    std::same_as<std::decay_t<T>, std::optional<std::string>> ||
    std::same_as<std::decay_t<T>, std::nullopt_t>;
template <typename T>
std::optional<std::string> EncodeValue(const T& value) {
  const nlohmann::json j = value;
  if (j.is_null()) return std::nullopt;
  return j.dump();
}
template <typename T>
std::optional<T> DecodeText(const std::optional<std::string>& text) {
  if (!text || text->empty()) return std::nullopt;
  const nlohmann::json j = nlohmann::json::parse(*text);
  if constexpr (std::is_same_v<T, nlohmann::json>) {
    return j;
  } else {
    return j.get<T>();
  }
}
}  // namespace internal

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
  RuntimeStatus runtime_status = RuntimeStatus::kPending;
  OrchestrationStatus status = ORCHESTRATION_STATUS_PENDING;  // the same, as the wire enum
  absl::Time created_at, last_updated_at;
  std::optional<absl::Time> completed_at, scheduled_start_at;
  std::optional<std::string> input, output, custom_status;  // JSON text
  std::optional<FailureDetails> failure;
  std::string execution_id;
  std::string parent_instance_id;
  std::map<std::string, std::string> tags;
  // The payloads converted from JSON; std::nullopt when absent (or not fetched).
  // Throw nlohmann::json exceptions when the JSON does not convert to T.
  template <typename T = nlohmann::json>
  std::optional<T> GetOutput() const {
    return internal::DecodeText<T>(output);
  }
  template <typename T = nlohmann::json>
  std::optional<T> GetInput() const {
    return internal::DecodeText<T>(input);
  }
  template <typename T = nlohmann::json>
  std::optional<T> GetCustomStatus() const {
    return internal::DecodeText<T>(custom_status);
  }
  static OrchestrationMetadata FromProto(const OrchestrationState& s);
};

struct StartOptions {
  std::string instance_id = {};  // empty: the server generates one
  std::optional<absl::Time> start_at = {};
  std::map<std::string, std::string> tags = {};
  std::string version = {};
  // When set, an existing instance in one of these statuses is replaced; otherwise
  // starting an existing id fails with ALREADY_EXISTS (a finished one is replaced
  // by taskhubd when no policy is given).
  std::optional<std::vector<OrchestrationStatus>> replaceable_statuses = {};
};

struct InstanceQuery {
  std::vector<OrchestrationStatus> statuses = {};
  std::optional<absl::Time> created_from = {}, created_to = {};
  std::string instance_id_prefix = {};
  int page_size = 100;
  std::string continuation_token = {};
  bool fetch_payloads = false;
};

struct InstancePage {
  std::vector<OrchestrationMetadata> instances;
  std::string continuation_token;  // empty on the last page
};

struct PurgeFilter {
  std::optional<absl::Time> created_from = {}, created_to = {};
  std::vector<OrchestrationStatus> statuses = {};  // empty: every finished status
  // How long one server call may run before it answers isComplete=false (0: the
  // server's cap); PurgeBy calls again until complete.
  absl::Duration call_timeout = absl::ZeroDuration();
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
  std::string instance_id_prefix = {};  // a prefix of "@name@key" ("@counter@" = every counter)
  std::optional<absl::Time> last_modified_from = {}, last_modified_to = {};
  bool include_state = true;
  bool include_transient = false;  // also entities without state (queued work or a lock)
  int page_size = 100;
  std::string continuation_token = {};
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

  // Returns the instance id. `input_json` (JSON text) absent = no input.
  absl::StatusOr<std::string> ScheduleNewOrchestration(
      const std::string& name, const std::optional<std::string>& input_json = std::nullopt,
      const StartOptions& options = {});
  // The same with any JSON-convertible input (a number, a struct with to_json,
  // nlohmann::json, Json("a string")); a null JSON value = no input.
  template <typename In>
  requires(!internal::JsonText<In>) absl::StatusOr<std::string> ScheduleNewOrchestration(
      const std::string& name, const In& input, const StartOptions& options = {}) {
    return ScheduleNewOrchestration(name, internal::EncodeValue(input), options);
  }
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
  template <typename In>
  requires(!internal::JsonText<In>) absl::Status
      RaiseEvent(const std::string& id, const std::string& event_name, const In& data) {
    return RaiseEvent(id, event_name, internal::EncodeValue(data));
  }
  absl::Status Terminate(const std::string& id,
                         const std::optional<std::string>& output_json = std::nullopt,
                         bool recursive = true);
  template <typename Out>
  requires(!internal::JsonText<Out>) absl::Status
      Terminate(const std::string& id, const Out& output, bool recursive = true) {
    return Terminate(id, internal::EncodeValue(output), recursive);
  }
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
  // Repeats the server-side purge until it reports completion. `progress`, when set,
  // is called after each call with the number deleted so far.
  absl::StatusOr<int> PurgeBy(const PurgeFilter& filter,
                              const std::function<void(int64_t deleted)>& progress = nullptr);
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
