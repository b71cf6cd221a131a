// Options of the engine and the callback types of its asynchronous API.
#ifndef TASKHUB_SERVER_ENGINE_ENGINE_OPTIONS_H_
#define TASKHUB_SERVER_ENGINE_ENGINE_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orchestrator_service.pb.h"

namespace taskhub::engine {

class LifecycleSink;  // lifecycle_sink.h

struct EngineOptions {
  size_t max_payload_bytes = 16 << 20;                    // per payload (input, result, event data)
  absl::Duration orchestration_lease = absl::Minutes(5);  // episode completion deadline
  absl::Duration activity_lease = absl::ZeroDuration();   // 0: no deadline while connected
  absl::Duration abandon_delay = absl::Seconds(1);        // first redelivery delay
  absl::Duration max_abandon_delay = absl::Minutes(1);
  absl::Duration health_ping_interval = absl::Seconds(30);
  absl::Duration max_wait = absl::Minutes(10);  // server-side cap of WaitFor* calls
  size_t history_cache_events = 2'000'000;      // bound of cached history events
  int default_max_concurrent = 1000;            // per stream, when the worker sends 0
  // Server-wide caps of work items out at once, by kind, over all streams (0 = no cap;
  // host.json maxConcurrentOrchestratorFunctions/ActivityFunctions/EntityFunctions).
  // Work over the cap waits, in order, until a delivery completes or is abandoned.
  int max_concurrent_orchestrations = 0;
  int max_concurrent_activities = 0;
  int max_concurrent_entities = 0;
  // Per orchestrator response: at most this many actions, and at most this many
  // bytes added to the history (0 = no limit). Over a limit the orchestration fails
  // and the worker gets RESOURCE_EXHAUSTED naming the limit.
  size_t max_actions_per_response = 10'000;
  size_t max_episode_history_bytes = 64 << 20;
  // A purge by filter runs at most this long per call (the client's timeout is capped
  // to it); isComplete=false tells the client to call again.
  absl::Duration max_purge_time = absl::Seconds(30);
  // Retention: finished instances in `status` whose completion is older than `age` are
  // purged (with their sub-orchestrations) in the background, at most
  // `retention_rate` instances per second, in a sweep every `retention_interval`
  // (0: a quarter of the smallest age, between 100 ms and 1 min). Empty: off.
  struct RetentionRule {
    OrchestrationStatus status = ORCHESTRATION_STATUS_COMPLETED;
    absl::Duration age = absl::InfiniteDuration();
  };
  std::vector<RetentionRule> retention;
  int retention_rate = 2000;
  absl::Duration retention_interval = absl::ZeroDuration();
  // Called once, on the committer thread, when a store write fails and the engine
  // starts refusing writes for good (see CommitQueue). Must not block.
  std::function<void(const absl::Status&)> on_store_failure;
  // Instances map to this many partitions (a stable hash of the instance id), each
  // with its own lock and state; 1 = one lock for everything.
  int partitions = 1;
  // Deterministic scheduling (simulation tests): the engine starts no thread; the
  // caller drives it with RunCommit/RunRead/RunDueTimers, from one thread, and every
  // callback runs on that thread. Deterministic given the same calls.
  bool manual_scheduling = false;
  // Durable entities: at most this many operations per entity batch (work item), and
  // the work-item format: V2 (`entityRequestV2`, what PY >= 1.9, JS 0.4.0, Java and
  // .NET speak) unless `entity_v1` asks for V1 (`entityRequest`).
  size_t entity_max_batch = 100;
  bool entity_v1 = false;
  // Seeds the completion-token generator (0: OS entropy), so that a run with the same
  // seed issues the same tokens.
  uint64_t token_seed = 0;
  // Lifecycle notifications (server/engine/lifecycle_sink.h); null: none. Not owned;
  // outlives the engine.
  LifecycleSink* lifecycle_sink = nullptr;
};

using Done = absl::AnyInvocable<void(absl::Status)>;
template <typename T>
using DoneWith = absl::AnyInvocable<void(absl::StatusOr<T>)>;

}  // namespace taskhub::engine

#endif  // TASKHUB_SERVER_ENGINE_ENGINE_OPTIONS_H_
