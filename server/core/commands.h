// Commands: what a client or a worker asks of the server, as plain values that are
// already validated (ids, names, sizes: see server/api/translate.h, which builds them
// from the wire protos). The lifecycle (server/core/lifecycle.h) and the engine take
// these, never request protos.
//
// A payload is std::optional<std::string> where the wire distinguishes an absent
// StringValue from an empty one. The worker's episode answer stays a proto
// (OrchestratorResponse): its actions are the worker's data and ApplyEpisode reads them.
//
// Plain structs; thread-compatible.
#ifndef TASKHUB_SERVER_CORE_COMMANDS_H_
#define TASKHUB_SERVER_CORE_COMMANDS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "orchestrator_service.pb.h"

namespace taskhub::core {

// StartInstance (and RestartInstance, once resolved: see core::Restart).
struct StartCommand {
  std::string instance_id;  // empty: a new id is generated (see ResolveStartId)
  std::string name;
  std::optional<std::string> version;
  std::optional<std::string> input;
  std::string execution_id;  // empty: generated
  // A delayed first episode; ignored unless later than `now` at start.
  std::optional<absl::Time> scheduled_start;
  std::map<std::string, std::string> tags;
  std::optional<TraceContext> parent_trace_context;
  // The id-reuse policy. nullopt (no policy sent): a finished instance with the same id
  // is replaced, a live one is ALREADY_EXISTS. Set: an existing instance is replaced
  // only if its status is listed (live ones included), else ALREADY_EXISTS.
  std::optional<std::vector<OrchestrationStatus>> replaceable_statuses;
};

struct RaiseEventCommand {
  std::string instance_id;
  std::string name;
  std::optional<std::string> input;
};

struct TerminateCommand {
  std::string instance_id;
  std::optional<std::string> reason;  // becomes the instance's output
  bool recursive = false;             // also terminate open sub-orchestrations
};

struct SuspendCommand {
  std::string instance_id;
  std::optional<std::string> reason;
};

struct ResumeCommand {
  std::string instance_id;
  std::optional<std::string> reason;
};

struct RewindCommand {
  std::string instance_id;
  std::optional<std::string> reason;
};

struct RestartCommand {
  std::string instance_id;
  bool new_instance_id = false;  // true: restart under a freshly generated id
};

// Which instances a purge removes: one id, a batch of ids, or a filter.
struct PurgeCommand {
  std::vector<std::string> instance_ids;  // by id / by batch (empty when by filter)
  bool by_filter = false;
  // Filter (by_filter): terminal statuses only; empty = every terminal status.
  // `nothing_matches` is set when the request named only non-terminal statuses.
  std::vector<OrchestrationStatus> statuses;
  bool nothing_matches = false;
  std::optional<absl::Time> created_from, created_to;
  std::optional<absl::Duration> timeout;  // the client's time budget, if it gave one
  bool recursive = false;
};

// QueryInstances.
struct QueryCommand {
  std::vector<OrchestrationStatus> statuses;  // empty: any
  std::optional<absl::Time> created_from, created_to;
  std::optional<std::string> id_prefix;
  int32_t page_size = 100;  // already clamped to 1..the server's maximum
  std::optional<std::string> continuation;
  bool fetch_payloads = false;
};

// ListInstanceIds (finished instances only).
struct ListIdsCommand {
  std::vector<OrchestrationStatus> statuses;  // terminal statuses; empty = all terminal
  bool nothing_matches = false;               // the request named only non-terminal statuses
  std::optional<absl::Time> completed_from, completed_to;
  int32_t page_size = 100;  // already clamped
  std::optional<std::string> continuation;
};

// CompleteActivityTask. Exactly one of `result` (may be absent: a void activity)
// and `failure` describes the outcome; `failure` wins when both are set.
struct ActivityResultCommand {
  std::string completion_token;  // empty: tokenless completion (instance_id + task_id)
  std::string instance_id;
  int32_t task_id = 0;
  std::optional<std::string> result;
  std::optional<TaskFailureDetails> failure;
};

// CompleteOrchestratorTask: the worker's answer to an episode, kept as the proto.
struct EpisodeResultCommand {
  std::string completion_token;  // = response.completiontoken()
  std::string instance_id;       // = response.instanceid()
  OrchestratorResponse response;
};

// AbandonTaskOrchestratorWorkItem / AbandonTaskActivityWorkItem.
// GetWorkItems: a worker's stream. Filters map a name to the versions it takes (empty: any
// version). Without filters (`filtered` false) the stream takes every work item; with
// them a category that lists no names takes nothing.
struct ConnectCommand {
  int32_t max_orchestrations = 0;  // concurrent work items; <= 0: the server's default
  int32_t max_activities = 0;
  int32_t max_entities = 0;
  bool filtered = false;
  std::map<std::string, std::set<std::string>> orchestrations, activities, excluded_activities;
  std::set<std::string> entities;  // entity names, lower-cased (used when `filtered`)
};

struct AbandonCommand {
  enum class Kind { kOrchestration, kActivity, kEntity };
  Kind kind = Kind::kOrchestration;
  std::string completion_token;
};

// SignalEntity from a client. `instance_id` is normalized ("@name@key", name lower-cased:
// see NormalizeEntityId); `request_id` is set (generated by the api when the client sent
// none). `scheduled_time` later than now: the signal is delivered then.
struct SignalEntityCommand {
  std::string instance_id;
  std::string operation;
  std::optional<std::string> input;
  std::string request_id;
  std::optional<absl::Time> scheduled_time;
  std::optional<TraceContext> parent_trace_context;  // to the entity work item
};

// CompleteEntityTask: the worker's answer to an entity batch, correlated by the token.
struct EntityResultCommand {
  std::string completion_token;  // = result.completiontoken()
  EntityBatchResult result;
};

// QueryEntities.
struct EntityQueryCommand {
  std::optional<std::string> id_prefix;  // full "@name@key" prefix, as sent
  std::optional<absl::Time> modified_from, modified_to;
  bool include_state = false;
  bool include_transient = false;  // also entities without state (queued work or a lock)
  int32_t page_size = 100;         // already clamped
  std::optional<std::string> continuation;
};

// CleanEntityStorage.
struct CleanEntitiesCommand {
  bool remove_empty = false;
  bool release_orphaned_locks = false;
  std::optional<std::string> continuation;
};

}  // namespace taskhub::core

#endif  // TASKHUB_SERVER_CORE_COMMANDS_H_
