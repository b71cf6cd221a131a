// Wire messages -> core commands (server/core/commands.h). Every check of a client's or
// worker's request happens here (with server/core/validation.h), so the engine and the
// lifecycle receive only valid values. Errors are INVALID_ARGUMENT (or
// RESOURCE_EXHAUSTED for oversized payloads, UNIMPLEMENTED for unsupported features)
// with a message naming the field, as before the split.
//
// Not checked here, because they depend on state: an activity result's payload size
// (an oversized result still fails the task: core::CompleteActivity) and an episode's
// actions (core::CompleteEpisode, which fails the orchestration on an invalid answer).
//
// Pure functions; thread-compatible.
#ifndef TASKHUB_SERVER_API_TRANSLATE_H_
#define TASKHUB_SERVER_API_TRANSLATE_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "orchestrator_service.pb.h"
#include "server/core/commands.h"

namespace taskhub::api {

struct TranslateOptions {
  size_t max_payload_bytes = 0;  // 0 = no limit (EngineOptions::max_payload_bytes)
  // One query page is one storage read: a larger page size is clamped to this.
  int32_t max_page_size = 1000;
  int32_t default_page_size = 100;  // when the request gives none (<= 0)
};

absl::StatusOr<core::StartCommand> Translate(const CreateInstanceRequest& req,
                                             const TranslateOptions& opt);
absl::StatusOr<core::RaiseEventCommand> Translate(const RaiseEventRequest& req,
                                                  const TranslateOptions& opt);
absl::StatusOr<core::TerminateCommand> Translate(const TerminateRequest& req,
                                                 const TranslateOptions& opt);
absl::StatusOr<core::SuspendCommand> Translate(const SuspendRequest& req,
                                               const TranslateOptions& opt);
absl::StatusOr<core::ResumeCommand> Translate(const ResumeRequest& req,
                                              const TranslateOptions& opt);
absl::StatusOr<core::RewindCommand> Translate(const RewindInstanceRequest& req,
                                              const TranslateOptions& opt);
absl::StatusOr<core::RestartCommand> Translate(const RestartInstanceRequest& req,
                                               const TranslateOptions& opt);
absl::StatusOr<core::PurgeCommand> Translate(const PurgeInstancesRequest& req,
                                             const TranslateOptions& opt);
absl::StatusOr<core::QueryCommand> Translate(const InstanceQuery& req, const TranslateOptions& opt);
absl::StatusOr<core::ListIdsCommand> Translate(const ListInstanceIdsRequest& req,
                                               const TranslateOptions& opt);
absl::StatusOr<core::ActivityResultCommand> Translate(const ActivityResponse& req,
                                                      const TranslateOptions& opt);
// UNIMPLEMENTED for a chunked response (the deprecated isPartial/chunkIndex).
absl::StatusOr<core::EpisodeResultCommand> Translate(const OrchestratorResponse& req,
                                                     const TranslateOptions& opt);
core::ConnectCommand Translate(const GetWorkItemsRequest& req);
core::AbandonCommand Translate(const AbandonOrchestrationTaskRequest& req);
core::AbandonCommand Translate(const AbandonActivityTaskRequest& req);
core::AbandonCommand Translate(const AbandonEntityTaskRequest& req);

// --- Durable entities (server/core/entity.h) ----------------------------------------
// Entity ids are normalized ("@Name@key" -> "@name@key"); a malformed one is
// INVALID_ARGUMENT. The request id is kept as sent (empty: the engine generates one).
absl::StatusOr<core::SignalEntityCommand> Translate(const SignalEntityRequest& req,
                                                    const TranslateOptions& opt);
// GetEntity: the normalized entity id.
absl::StatusOr<std::string> TranslateEntityId(absl::string_view field, const std::string& id);
// The prefix, when given, is made an entity-id prefix: a leading '@' is added when
// missing and the name part (up to the second '@') lower-cased.
absl::StatusOr<core::EntityQueryCommand> Translate(const EntityQuery& req,
                                                   const TranslateOptions& opt);
absl::StatusOr<core::CleanEntitiesCommand> Translate(const CleanEntityStorageRequest& req,
                                                     const TranslateOptions& opt);
// The result is checked by core::CompleteEntityBatch (against the batch it answers).
absl::StatusOr<core::EntityResultCommand> Translate(const EntityBatchResult& req,
                                                    const TranslateOptions& opt);

}  // namespace taskhub::api

#endif  // TASKHUB_SERVER_API_TRANSLATE_H_
