#include "server/api/translate.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/core/entity.h"
#include "server/core/history.h"
#include "server/core/validation.h"

namespace taskhub::api {
namespace {

std::optional<std::string> Opt(bool has, const google::protobuf::StringValue& v) {
  if (!has) return std::nullopt;
  return v.value();
}

int32_t PageSize(int32_t asked, const TranslateOptions& opt) {
  return asked > 0 ? std::min(asked, opt.max_page_size) : opt.default_page_size;
}

// The terminal statuses among `given` (all terminal statuses when `given` is empty);
// nothing_matches when `given` names only non-terminal statuses.
void TerminalOnly(const google::protobuf::RepeatedField<int>& given,
                  std::vector<OrchestrationStatus>* out, bool* nothing_matches) {
  out->clear();
  for (int s : given) {
    if (core::IsTerminal(static_cast<OrchestrationStatus>(s))) {
      out->push_back(static_cast<OrchestrationStatus>(s));
    }
  }
  if (given.empty()) *out = core::TerminalStatuses();
  *nothing_matches = out->empty();
}

// Orchestration-only requests refuse entity ids with a message that says why.
absl::Status ValidateOrchestrationId(const std::string& id, absl::string_view rpc) {
  if (core::IsEntityId(id)) {
    return absl::InvalidArgumentError(absl::StrCat("instanceId '", id, "' is an entity: ", rpc,
                                                   " applies to orchestration instances only"));
  }
  return core::ValidateInstanceId("instanceId", id);
}

absl::Status ValidateIdAndReason(const std::string& id, const google::protobuf::StringValue& v,
                                 absl::string_view field, const TranslateOptions& opt,
                                 absl::string_view rpc) {
  RETURN_IF_ERROR(ValidateOrchestrationId(id, rpc));
  return core::ValidatePayload(field, v, opt.max_payload_bytes);
}

// A purge names orchestration instances or entities.
absl::StatusOr<std::string> PurgeId(absl::string_view field, const std::string& id) {
  if (core::IsEntityId(id)) return TranslateEntityId(field, id);
  RETURN_IF_ERROR(core::ValidateInstanceId(field, id));
  return id;
}

}  // namespace

absl::StatusOr<core::StartCommand> Translate(const CreateInstanceRequest& req,
                                             const TranslateOptions& opt) {
  RETURN_IF_ERROR(core::ValidateCreateInstance(req, opt.max_payload_bytes));
  if (!req.instanceid().empty()) {
    if (core::IsEntityId(req.instanceid())) {
      return absl::InvalidArgumentError(
          absl::StrCat("instanceId '", req.instanceid(),
                       "': instance ids starting with '@' are reserved for entities"));
    }
    RETURN_IF_ERROR(core::ValidateInstanceId("instanceId", req.instanceid()));
  }
  core::StartCommand c;
  c.instance_id = req.instanceid();
  c.name = req.name();
  c.version = Opt(req.has_version(), req.version());
  c.input = Opt(req.has_input(), req.input());
  if (req.has_executionid()) c.execution_id = req.executionid().value();
  if (req.has_scheduledstarttimestamp()) {
    c.scheduled_start = core::FromProto(req.scheduledstarttimestamp());
  }
  c.tags.insert(req.tags().begin(), req.tags().end());
  if (req.has_parenttracecontext()) c.parent_trace_context = req.parenttracecontext();
  if (req.has_orchestrationidreusepolicy()) {
    auto& r = c.replaceable_statuses.emplace();
    for (int s : req.orchestrationidreusepolicy().replaceablestatus()) {
      r.push_back(static_cast<OrchestrationStatus>(s));
    }
  }
  return c;
}

absl::StatusOr<core::RaiseEventCommand> Translate(const RaiseEventRequest& req,
                                                  const TranslateOptions& opt) {
  RETURN_IF_ERROR(ValidateOrchestrationId(req.instanceid(), "RaiseEvent"));
  RETURN_IF_ERROR(core::ValidateName("name", req.name()));
  RETURN_IF_ERROR(core::ValidatePayload("input", req.input(), opt.max_payload_bytes));
  return core::RaiseEventCommand{req.instanceid(), req.name(), Opt(req.has_input(), req.input())};
}

absl::StatusOr<core::TerminateCommand> Translate(const TerminateRequest& req,
                                                 const TranslateOptions& opt) {
  RETURN_IF_ERROR(
      ValidateIdAndReason(req.instanceid(), req.output(), "output", opt, "TerminateInstance"));
  return core::TerminateCommand{req.instanceid(), Opt(req.has_output(), req.output()),
                                req.recursive()};
}

absl::StatusOr<core::SuspendCommand> Translate(const SuspendRequest& req,
                                               const TranslateOptions& opt) {
  RETURN_IF_ERROR(
      ValidateIdAndReason(req.instanceid(), req.reason(), "reason", opt, "SuspendInstance"));
  return core::SuspendCommand{req.instanceid(), Opt(req.has_reason(), req.reason())};
}

absl::StatusOr<core::ResumeCommand> Translate(const ResumeRequest& req,
                                              const TranslateOptions& opt) {
  RETURN_IF_ERROR(
      ValidateIdAndReason(req.instanceid(), req.reason(), "reason", opt, "ResumeInstance"));
  return core::ResumeCommand{req.instanceid(), Opt(req.has_reason(), req.reason())};
}

absl::StatusOr<core::RewindCommand> Translate(const RewindInstanceRequest& req,
                                              const TranslateOptions& opt) {
  RETURN_IF_ERROR(
      ValidateIdAndReason(req.instanceid(), req.reason(), "reason", opt, "RewindInstance"));
  return core::RewindCommand{req.instanceid(), Opt(req.has_reason(), req.reason())};
}

absl::StatusOr<core::RestartCommand> Translate(const RestartInstanceRequest& req,
                                               const TranslateOptions&) {
  RETURN_IF_ERROR(ValidateOrchestrationId(req.instanceid(), "RestartInstance"));
  return core::RestartCommand{req.instanceid(), req.restartwithnewinstanceid()};
}

absl::StatusOr<core::PurgeCommand> Translate(const PurgeInstancesRequest& req,
                                             const TranslateOptions&) {
  core::PurgeCommand c;
  c.recursive = req.recursive();
  switch (req.request_case()) {
    case PurgeInstancesRequest::kPurgeInstanceFilter: {
      const auto& f = req.purgeinstancefilter();
      c.by_filter = true;
      TerminalOnly(f.runtimestatus(), &c.statuses, &c.nothing_matches);
      if (f.has_createdtimefrom()) c.created_from = core::FromProto(f.createdtimefrom());
      if (f.has_createdtimeto()) c.created_to = core::FromProto(f.createdtimeto());
      if (f.has_timeout() &&
          (f.timeout().seconds() > 0 || (f.timeout().seconds() == 0 && f.timeout().nanos() > 0))) {
        c.timeout = absl::Seconds(f.timeout().seconds()) + absl::Nanoseconds(f.timeout().nanos());
      }
      return c;
    }
    case PurgeInstancesRequest::kInstanceId: {
      ASSIGN_OR_RETURN(std::string id, PurgeId("instanceId", req.instanceid()));
      c.instance_ids.push_back(std::move(id));
      return c;
    }
    case PurgeInstancesRequest::kInstanceBatch: {
      const auto& ids = req.instancebatch().instanceids();
      for (int i = 0; i < ids.size(); ++i) {
        ASSIGN_OR_RETURN(std::string id,
                         PurgeId(absl::StrCat("instanceBatch.instanceIds[", i, "]"), ids[i]));
        c.instance_ids.push_back(std::move(id));
      }
      return c;
    }
    case PurgeInstancesRequest::REQUEST_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "PurgeInstancesRequest needs instanceId, purgeInstanceFilter or instanceBatch");
}

absl::StatusOr<core::QueryCommand> Translate(const InstanceQuery& q, const TranslateOptions& opt) {
  core::QueryCommand c;
  for (int s : q.runtimestatus()) c.statuses.push_back(static_cast<OrchestrationStatus>(s));
  if (q.has_createdtimefrom()) c.created_from = core::FromProto(q.createdtimefrom());
  if (q.has_createdtimeto()) c.created_to = core::FromProto(q.createdtimeto());
  if (q.has_instanceidprefix()) c.id_prefix = q.instanceidprefix().value();
  c.page_size = PageSize(q.maxinstancecount(), opt);
  if (q.has_continuationtoken()) c.continuation = q.continuationtoken().value();
  c.fetch_payloads = q.fetchinputsandoutputs();
  return c;
}

absl::StatusOr<core::ListIdsCommand> Translate(const ListInstanceIdsRequest& req,
                                               const TranslateOptions& opt) {
  core::ListIdsCommand c;
  TerminalOnly(req.runtimestatus(), &c.statuses, &c.nothing_matches);
  if (req.has_completedtimefrom()) c.completed_from = core::FromProto(req.completedtimefrom());
  if (req.has_completedtimeto()) c.completed_to = core::FromProto(req.completedtimeto());
  c.page_size = PageSize(req.pagesize(), opt);
  if (req.has_lastinstancekey()) c.continuation = req.lastinstancekey().value();
  return c;
}

absl::StatusOr<core::ActivityResultCommand> Translate(const ActivityResponse& req,
                                                      const TranslateOptions&) {
  core::ActivityResultCommand c;
  c.completion_token = req.completiontoken();
  c.instance_id = req.instanceid();
  c.task_id = req.taskid();
  c.result = Opt(req.has_result(), req.result());
  if (req.has_failuredetails()) c.failure = req.failuredetails();
  return c;
}

absl::StatusOr<core::EpisodeResultCommand> Translate(const OrchestratorResponse& req,
                                                     const TranslateOptions&) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  const bool partial = req.ispartial();  // .NET/Java chunking (deprecated fields)
#pragma GCC diagnostic pop
  if (partial) {
    return absl::UnimplementedError(
        "chunked orchestrator responses (isPartial/chunkIndex) are not supported; raise the "
        "worker's message size limit instead");
  }
  return core::EpisodeResultCommand{req.completiontoken(), req.instanceid(), req};
}

core::ConnectCommand Translate(const GetWorkItemsRequest& req) {
  core::ConnectCommand c;
  c.max_orchestrations = req.maxconcurrentorchestrationworkitems();
  c.max_activities = req.maxconcurrentactivityworkitems();
  c.max_entities = req.maxconcurrententityworkitems();
  if (!req.has_workitemfilters()) return c;
  c.filtered = true;
  const auto& f = req.workitemfilters();
  for (const auto& o : f.orchestrations()) {
    c.orchestrations[o.name()].insert(o.versions().begin(), o.versions().end());
  }
  for (const auto& a : f.activities()) {
    c.activities[a.name()].insert(a.versions().begin(), a.versions().end());
  }
  for (const auto& a : f.exclude_activities()) {
    c.excluded_activities[a.name()].insert(a.versions().begin(), a.versions().end());
  }
  // Entity names are case-insensitive: ids carry them lower-cased.
  for (const auto& e : f.entities()) c.entities.insert(absl::AsciiStrToLower(e.name()));
  return c;
}

core::AbandonCommand Translate(const AbandonOrchestrationTaskRequest& req) {
  return {core::AbandonCommand::Kind::kOrchestration, req.completiontoken()};
}

core::AbandonCommand Translate(const AbandonActivityTaskRequest& req) {
  return {core::AbandonCommand::Kind::kActivity, req.completiontoken()};
}

core::AbandonCommand Translate(const AbandonEntityTaskRequest& req) {
  return {core::AbandonCommand::Kind::kEntity, req.completiontoken()};
}

// --- durable entities ---------------------------------------------------------------

absl::StatusOr<std::string> TranslateEntityId(absl::string_view field, const std::string& id) {
  absl::StatusOr<std::string> norm = core::NormalizeEntityId(id);
  if (!norm.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", norm.status().message(),
                     " (an entity id is '@name@key': a non-empty name without '@', a key)"));
  }
  return norm;
}

absl::StatusOr<core::SignalEntityCommand> Translate(const SignalEntityRequest& req,
                                                    const TranslateOptions& opt) {
  core::SignalEntityCommand c;
  ASSIGN_OR_RETURN(c.instance_id, TranslateEntityId("instanceId", req.instanceid()));
  RETURN_IF_ERROR(core::ValidateName("name", req.name()));
  RETURN_IF_ERROR(core::ValidatePayload("input", req.input(), opt.max_payload_bytes));
  RETURN_IF_ERROR(
      core::ValidateShortField("requestId", req.requestid(), core::kMaxInstanceIdLength));
  c.operation = req.name();
  c.input = Opt(req.has_input(), req.input());
  c.request_id = req.requestid();
  if (req.has_scheduledtime()) c.scheduled_time = core::FromProto(req.scheduledtime());
  if (req.has_parenttracecontext()) c.parent_trace_context = req.parenttracecontext();
  return c;
}

absl::StatusOr<core::EntityQueryCommand> Translate(const EntityQuery& q,
                                                   const TranslateOptions& opt) {
  core::EntityQueryCommand c;
  if (q.has_instanceidstartswith() && !q.instanceidstartswith().value().empty()) {
    std::string prefix = q.instanceidstartswith().value();
    RETURN_IF_ERROR(
        core::ValidateShortField("instanceIdStartsWith", prefix, core::kMaxInstanceIdLength));
    if (prefix[0] != '@') prefix = absl::StrCat("@", prefix);
    const size_t name_end = std::min(prefix.find('@', 1), prefix.size());
    for (size_t i = 1; i < name_end; ++i) prefix[i] = absl::ascii_tolower(prefix[i]);
    c.id_prefix = std::move(prefix);
  }
  if (q.has_lastmodifiedfrom()) c.modified_from = core::FromProto(q.lastmodifiedfrom());
  if (q.has_lastmodifiedto()) c.modified_to = core::FromProto(q.lastmodifiedto());
  c.include_state = q.includestate();
  c.include_transient = q.includetransient();
  c.page_size = PageSize(q.has_pagesize() ? q.pagesize().value() : 0, opt);
  if (q.has_continuationtoken() && !q.continuationtoken().value().empty()) {
    c.continuation = q.continuationtoken().value();
  }
  return c;
}

absl::StatusOr<core::CleanEntitiesCommand> Translate(const CleanEntityStorageRequest& req,
                                                     const TranslateOptions&) {
  core::CleanEntitiesCommand c;
  c.remove_empty = req.removeemptyentities();
  c.release_orphaned_locks = req.releaseorphanedlocks();
  if (req.has_continuationtoken() && !req.continuationtoken().value().empty()) {
    c.continuation = req.continuationtoken().value();
  }
  return c;
}

absl::StatusOr<core::EntityResultCommand> Translate(const EntityBatchResult& req,
                                                    const TranslateOptions&) {
  if (req.completiontoken().empty()) {
    return absl::InvalidArgumentError(
        "completionToken is empty: an entity batch result is matched to its work item by the "
        "work item's completionToken only");
  }
  return core::EntityResultCommand{req.completiontoken(), req};
}

}  // namespace taskhub::api
