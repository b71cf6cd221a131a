#include "taskhub/client.h"

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "orchestrator_service.grpc.pb.h"
#include "proto/grpc_status.h"
#include "proto/timestamp_util.h"
#include "sdk/src/sdk_util.h"
#include "taskhub/channel.h"

namespace taskhub {

FailureDetails FailureDetails::FromProto(const TaskFailureDetails& f) {
  FailureDetails d;
  d.error_type = f.errortype();
  d.message = f.errormessage();
  if (f.has_stacktrace()) d.stack_trace = f.stacktrace().value();
  if (f.has_innerfailure()) d.inner = std::make_shared<FailureDetails>(FromProto(f.innerfailure()));
  return d;
}

RuntimeStatus ToRuntimeStatus(OrchestrationStatus status) {
  switch (status) {
    case ORCHESTRATION_STATUS_RUNNING:
      return RuntimeStatus::kRunning;
    case ORCHESTRATION_STATUS_COMPLETED:
      return RuntimeStatus::kCompleted;
    case ORCHESTRATION_STATUS_CONTINUED_AS_NEW:
      return RuntimeStatus::kContinuedAsNew;
    case ORCHESTRATION_STATUS_FAILED:
      return RuntimeStatus::kFailed;
    case ORCHESTRATION_STATUS_CANCELED:
      return RuntimeStatus::kCanceled;
    case ORCHESTRATION_STATUS_TERMINATED:
      return RuntimeStatus::kTerminated;
    case ORCHESTRATION_STATUS_SUSPENDED:
      return RuntimeStatus::kSuspended;
    default:
      return RuntimeStatus::kPending;
  }
}

OrchestrationStatus ToProto(RuntimeStatus status) {
  switch (status) {
    case RuntimeStatus::kRunning:
      return ORCHESTRATION_STATUS_RUNNING;
    case RuntimeStatus::kCompleted:
      return ORCHESTRATION_STATUS_COMPLETED;
    case RuntimeStatus::kContinuedAsNew:
      return ORCHESTRATION_STATUS_CONTINUED_AS_NEW;
    case RuntimeStatus::kFailed:
      return ORCHESTRATION_STATUS_FAILED;
    case RuntimeStatus::kCanceled:
      return ORCHESTRATION_STATUS_CANCELED;
    case RuntimeStatus::kTerminated:
      return ORCHESTRATION_STATUS_TERMINATED;
    case RuntimeStatus::kSuspended:
      return ORCHESTRATION_STATUS_SUSPENDED;
    case RuntimeStatus::kPending:
      break;
  }
  return ORCHESTRATION_STATUS_PENDING;
}

const char* ToString(RuntimeStatus status) {
  switch (status) {
    case RuntimeStatus::kRunning:
      return "RUNNING";
    case RuntimeStatus::kCompleted:
      return "COMPLETED";
    case RuntimeStatus::kContinuedAsNew:
      return "CONTINUED_AS_NEW";
    case RuntimeStatus::kFailed:
      return "FAILED";
    case RuntimeStatus::kCanceled:
      return "CANCELED";
    case RuntimeStatus::kTerminated:
      return "TERMINATED";
    case RuntimeStatus::kSuspended:
      return "SUSPENDED";
    case RuntimeStatus::kPending:
      break;
  }
  return "PENDING";
}

bool IsTerminal(RuntimeStatus status) {
  return status == RuntimeStatus::kCompleted || status == RuntimeStatus::kFailed ||
         status == RuntimeStatus::kTerminated;
}

void to_json(nlohmann::json& j, const Json& v) { j = v.value; }

OrchestrationMetadata OrchestrationMetadata::FromProto(const OrchestrationState& s) {
  OrchestrationMetadata m;
  m.instance_id = s.instanceid();
  m.name = s.name();
  m.version = s.version().value();
  m.status = s.orchestrationstatus();
  m.runtime_status = ToRuntimeStatus(m.status);
  m.created_at = FromTimestamp(s.createdtimestamp());
  m.last_updated_at = FromTimestamp(s.lastupdatedtimestamp());
  if (s.has_completedtimestamp()) m.completed_at = FromTimestamp(s.completedtimestamp());
  if (s.has_scheduledstarttimestamp())
    m.scheduled_start_at = FromTimestamp(s.scheduledstarttimestamp());
  if (s.has_input()) m.input = s.input().value();
  if (s.has_output()) m.output = s.output().value();
  if (s.has_customstatus()) m.custom_status = s.customstatus().value();
  if (s.has_failuredetails()) m.failure = FailureDetails::FromProto(s.failuredetails());
  m.execution_id = s.executionid().value();
  m.parent_instance_id = s.parentinstanceid().value();
  for (const auto& [k, v] : s.tags()) m.tags[k] = v;
  return m;
}

struct Client::Impl {
  ClientOptions options;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<TaskHubSidecarService::Stub> stub;

  // Runs one unary call with a deadline; converts its status.
  template <typename Req, typename Resp, typename Method>
  absl::Status Call(Method method, const Req& req, Resp* resp,
                    std::optional<absl::Duration> timeout = std::nullopt) {
    grpc::ClientContext ctx;
    const absl::Duration t = timeout.value_or(options.rpc_timeout);
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::milliseconds(absl::ToInt64Milliseconds(t)));
    return FromGrpc((stub.get()->*method)(&ctx, req, resp));
  }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  if (options.address.empty()) return absl::InvalidArgumentError("address must not be empty");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  impl->channel = NewChannel(options.address, options.tls, options.token, args);
  impl->stub = TaskHubSidecarService::NewStub(impl->channel);
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

absl::StatusOr<std::string> Client::ScheduleNewOrchestration(
    const std::string& name, const std::optional<std::string>& input_json,
    const StartOptions& options) {
  CreateInstanceRequest req;
  req.set_instanceid(options.instance_id);
  req.set_name(name);
  if (input_json) req.mutable_input()->set_value(*input_json);
  if (!options.version.empty()) req.mutable_version()->set_value(options.version);
  if (options.start_at) *req.mutable_scheduledstarttimestamp() = ToTimestamp(*options.start_at);
  for (const auto& [k, v] : options.tags) (*req.mutable_tags())[k] = v;
  if (options.replaceable_statuses) {
    auto* p = req.mutable_orchestrationidreusepolicy();
    for (auto s : *options.replaceable_statuses) p->add_replaceablestatus(s);
  }
  CreateInstanceResponse resp;
  if (auto st = impl_->Call(&TaskHubSidecarService::Stub::StartInstance, req, &resp); !st.ok()) {
    return st;
  }
  return resp.instanceid();
}

namespace {
absl::StatusOr<std::optional<OrchestrationMetadata>> ToMetadata(absl::Status st,
                                                                const GetInstanceResponse& r) {
  if (!st.ok()) return st;
  if (!r.exists()) return std::optional<OrchestrationMetadata>();
  return std::optional<OrchestrationMetadata>(
      OrchestrationMetadata::FromProto(r.orchestrationstate()));
}
}  // namespace

absl::StatusOr<std::optional<OrchestrationMetadata>> Client::GetInstance(const std::string& id,
                                                                         bool fetch_payloads) {
  GetInstanceRequest req;
  req.set_instanceid(id);
  req.set_getinputsandoutputs(fetch_payloads);
  GetInstanceResponse resp;
  return ToMetadata(impl_->Call(&TaskHubSidecarService::Stub::GetInstance, req, &resp), resp);
}

absl::StatusOr<std::optional<OrchestrationMetadata>> Client::WaitForInstanceStart(
    const std::string& id, absl::Duration timeout, bool fetch_payloads) {
  GetInstanceRequest req;
  req.set_instanceid(id);
  req.set_getinputsandoutputs(fetch_payloads);
  GetInstanceResponse resp;
  return ToMetadata(
      impl_->Call(&TaskHubSidecarService::Stub::WaitForInstanceStart, req, &resp, timeout), resp);
}

absl::StatusOr<std::optional<OrchestrationMetadata>> Client::WaitForInstanceCompletion(
    const std::string& id, absl::Duration timeout, bool fetch_payloads) {
  GetInstanceRequest req;
  req.set_instanceid(id);
  req.set_getinputsandoutputs(fetch_payloads);
  GetInstanceResponse resp;
  return ToMetadata(
      impl_->Call(&TaskHubSidecarService::Stub::WaitForInstanceCompletion, req, &resp, timeout),
      resp);
}

absl::Status Client::RaiseEvent(const std::string& id, const std::string& event_name,
                                const std::optional<std::string>& data_json) {
  RaiseEventRequest req;
  req.set_instanceid(id);
  req.set_name(event_name);
  if (data_json) req.mutable_input()->set_value(*data_json);
  RaiseEventResponse resp;
  return impl_->Call(&TaskHubSidecarService::Stub::RaiseEvent, req, &resp);
}

absl::Status Client::Terminate(const std::string& id, const std::optional<std::string>& output,
                               bool recursive) {
  TerminateRequest req;
  req.set_instanceid(id);
  if (output) req.mutable_output()->set_value(*output);
  req.set_recursive(recursive);
  TerminateResponse resp;
  return impl_->Call(&TaskHubSidecarService::Stub::TerminateInstance, req, &resp);
}

absl::Status Client::Suspend(const std::string& id, const std::string& reason) {
  SuspendRequest req;
  req.set_instanceid(id);
  if (!reason.empty()) req.mutable_reason()->set_value(reason);
  SuspendResponse resp;
  return impl_->Call(&TaskHubSidecarService::Stub::SuspendInstance, req, &resp);
}

absl::Status Client::Resume(const std::string& id, const std::string& reason) {
  ResumeRequest req;
  req.set_instanceid(id);
  if (!reason.empty()) req.mutable_reason()->set_value(reason);
  ResumeResponse resp;
  return impl_->Call(&TaskHubSidecarService::Stub::ResumeInstance, req, &resp);
}

absl::Status Client::Rewind(const std::string& id, const std::string& reason) {
  RewindInstanceRequest req;
  req.set_instanceid(id);
  if (!reason.empty()) req.mutable_reason()->set_value(reason);
  RewindInstanceResponse resp;
  return impl_->Call(&TaskHubSidecarService::Stub::RewindInstance, req, &resp);
}

absl::StatusOr<std::string> Client::Restart(const std::string& id, bool new_instance_id) {
  RestartInstanceRequest req;
  req.set_instanceid(id);
  req.set_restartwithnewinstanceid(new_instance_id);
  RestartInstanceResponse resp;
  if (auto st = impl_->Call(&TaskHubSidecarService::Stub::RestartInstance, req, &resp); !st.ok()) {
    return st;
  }
  return resp.instanceid();
}

absl::StatusOr<InstancePage> Client::QueryInstances(const InstanceQuery& q) {
  QueryInstancesRequest req;
  auto* query = req.mutable_query();
  for (auto s : q.statuses) query->add_runtimestatus(s);
  if (q.created_from) *query->mutable_createdtimefrom() = ToTimestamp(*q.created_from);
  if (q.created_to) *query->mutable_createdtimeto() = ToTimestamp(*q.created_to);
  if (!q.instance_id_prefix.empty())
    query->mutable_instanceidprefix()->set_value(q.instance_id_prefix);
  query->set_maxinstancecount(q.page_size);
  if (!q.continuation_token.empty()) {
    query->mutable_continuationtoken()->set_value(q.continuation_token);
  }
  query->set_fetchinputsandoutputs(q.fetch_payloads);
  QueryInstancesResponse resp;
  if (auto st = impl_->Call(&TaskHubSidecarService::Stub::QueryInstances, req, &resp); !st.ok()) {
    return st;
  }
  InstancePage page;
  for (const auto& s : resp.orchestrationstate()) {
    page.instances.push_back(OrchestrationMetadata::FromProto(s));
  }
  page.continuation_token = resp.continuationtoken().value();
  return page;
}

absl::StatusOr<std::vector<OrchestrationMetadata>> Client::QueryAllInstances(InstanceQuery q) {
  std::vector<OrchestrationMetadata> all;
  while (true) {
    absl::StatusOr<InstancePage> page = QueryInstances(q);
    if (!page.ok()) return page.status();
    for (auto& m : page->instances) all.push_back(std::move(m));
    if (page->continuation_token.empty() || page->continuation_token == q.continuation_token) {
      return all;
    }
    q.continuation_token = page->continuation_token;
  }
}

absl::StatusOr<int> Client::Purge(const std::string& id, bool recursive) {
  PurgeInstancesRequest req;
  req.set_instanceid(id);
  req.set_recursive(recursive);
  PurgeInstancesResponse resp;
  if (auto st = impl_->Call(&TaskHubSidecarService::Stub::PurgeInstances, req, &resp); !st.ok()) {
    return st;
  }
  return resp.deletedinstancecount();
}

absl::StatusOr<int> Client::PurgeBy(const PurgeFilter& filter,
                                    const std::function<void(int64_t deleted)>& progress) {
  PurgeInstancesRequest req;
  auto* f = req.mutable_purgeinstancefilter();
  if (filter.call_timeout > absl::ZeroDuration()) {
    const int64_t ns = absl::ToInt64Nanoseconds(filter.call_timeout);
    f->mutable_timeout()->set_seconds(ns / 1000000000);
    f->mutable_timeout()->set_nanos(static_cast<int32_t>(ns % 1000000000));
  }
  if (filter.created_from) *f->mutable_createdtimefrom() = ToTimestamp(*filter.created_from);
  if (filter.created_to) *f->mutable_createdtimeto() = ToTimestamp(*filter.created_to);
  for (auto s : filter.statuses) f->add_runtimestatus(s);
  int total = 0;
  while (true) {
    PurgeInstancesResponse resp;
    if (auto st =
            impl_->Call(&TaskHubSidecarService::Stub::PurgeInstances, req, &resp, absl::Minutes(2));
        !st.ok()) {
      return st;
    }
    total += resp.deletedinstancecount();
    if (progress) progress(total);
    if (!resp.has_iscomplete() || resp.iscomplete().value()) return total;
  }
}

absl::StatusOr<std::vector<HistoryEvent>> Client::GetHistory(const std::string& id) {
  StreamInstanceHistoryRequest req;
  req.set_instanceid(id);
  grpc::ClientContext ctx;
  ctx.set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::milliseconds(absl::ToInt64Milliseconds(impl_->options.rpc_timeout)));
  auto reader = impl_->stub->StreamInstanceHistory(&ctx, req);
  std::vector<HistoryEvent> events;
  HistoryChunk chunk;
  while (reader->Read(&chunk)) {
    for (auto& e : *chunk.mutable_events()) events.push_back(std::move(e));
  }
  if (absl::Status st = FromGrpc(reader->Finish()); !st.ok()) return st;
  return events;
}

absl::Status Client::CreateTaskHub(bool recreate_if_exists) {
  CreateTaskHubRequest req;
  req.set_recreateifexists(recreate_if_exists);
  CreateTaskHubResponse resp;
  return impl_->Call(&TaskHubSidecarService::Stub::CreateTaskHub, req, &resp);
}

absl::Status Client::DeleteTaskHub() {
  DeleteTaskHubRequest req;
  DeleteTaskHubResponse resp;
  return impl_->Call(&TaskHubSidecarService::Stub::DeleteTaskHub, req, &resp);
}

EntityMetadata EntityMetadata::FromProto(const ::EntityMetadata& m) {
  EntityMetadata out;
  out.instance_id = m.instanceid();
  if (auto id = EntityInstanceId::Parse(m.instanceid()); id.ok()) out.id = *id;
  if (m.has_lastmodifiedtime()) out.last_modified = FromTimestamp(m.lastmodifiedtime());
  out.backlog_queue_size = m.backlogqueuesize();
  out.locked_by = m.lockedby().value();
  if (m.has_serializedstate()) out.state = m.serializedstate().value();
  return out;
}

absl::Status Client::SignalEntity(const EntityInstanceId& entity, const std::string& operation,
                                  const std::optional<std::string>& input_json,
                                  std::optional<absl::Time> at, const std::string& request_id) {
  SignalEntityRequest req;
  req.set_instanceid(entity.ToString());
  req.set_name(operation);
  if (input_json) req.mutable_input()->set_value(*input_json);
  req.set_requestid(request_id.empty() ? internal::RandomUuid() : request_id);
  if (at) *req.mutable_scheduledtime() = ToTimestamp(*at);
  *req.mutable_requesttime() = ToTimestamp(absl::Now());
  SignalEntityResponse resp;
  return impl_->Call(&TaskHubSidecarService::Stub::SignalEntity, req, &resp);
}

absl::StatusOr<std::optional<EntityMetadata>> Client::GetEntityMetadata(
    const EntityInstanceId& entity, bool include_state) {
  GetEntityRequest req;
  req.set_instanceid(entity.ToString());
  req.set_includestate(include_state);
  GetEntityResponse resp;
  if (auto st = impl_->Call(&TaskHubSidecarService::Stub::GetEntity, req, &resp); !st.ok()) {
    return st;
  }
  if (!resp.exists()) return std::optional<EntityMetadata>();
  return std::optional<EntityMetadata>(EntityMetadata::FromProto(resp.entity()));
}

absl::StatusOr<EntityPage> Client::QueryEntities(const EntityQuery& q) {
  QueryEntitiesRequest req;
  auto* query = req.mutable_query();
  if (!q.instance_id_prefix.empty()) {
    query->mutable_instanceidstartswith()->set_value(q.instance_id_prefix);
  }
  if (q.last_modified_from) *query->mutable_lastmodifiedfrom() = ToTimestamp(*q.last_modified_from);
  if (q.last_modified_to) *query->mutable_lastmodifiedto() = ToTimestamp(*q.last_modified_to);
  query->set_includestate(q.include_state);
  query->set_includetransient(q.include_transient);
  if (q.page_size > 0) query->mutable_pagesize()->set_value(q.page_size);
  if (!q.continuation_token.empty()) {
    query->mutable_continuationtoken()->set_value(q.continuation_token);
  }
  QueryEntitiesResponse resp;
  if (auto st = impl_->Call(&TaskHubSidecarService::Stub::QueryEntities, req, &resp); !st.ok()) {
    return st;
  }
  EntityPage page;
  for (const auto& m : resp.entities()) page.entities.push_back(EntityMetadata::FromProto(m));
  page.continuation_token = resp.continuationtoken().value();
  return page;
}

absl::StatusOr<std::vector<EntityMetadata>> Client::QueryAllEntities(EntityQuery q) {
  std::vector<EntityMetadata> all;
  while (true) {
    absl::StatusOr<EntityPage> page = QueryEntities(q);
    if (!page.ok()) return page.status();
    for (auto& m : page->entities) all.push_back(std::move(m));
    if (page->continuation_token.empty() || page->continuation_token == q.continuation_token) {
      return all;
    }
    q.continuation_token = page->continuation_token;
  }
}

absl::StatusOr<CleanEntityStorageResult> Client::CleanEntityStorage(bool remove_empty_entities,
                                                                    bool release_orphaned_locks) {
  CleanEntityStorageRequest req;
  req.set_removeemptyentities(remove_empty_entities);
  req.set_releaseorphanedlocks(release_orphaned_locks);
  CleanEntityStorageResult total;
  while (true) {
    CleanEntityStorageResponse resp;
    if (auto st = impl_->Call(&TaskHubSidecarService::Stub::CleanEntityStorage, req, &resp,
                              absl::Minutes(2));
        !st.ok()) {
      return st;
    }
    total.empty_entities_removed += resp.emptyentitiesremoved();
    total.orphaned_locks_released += resp.orphanedlocksreleased();
    if (!resp.has_continuationtoken() || resp.continuationtoken().value().empty() ||
        resp.continuationtoken().value() == req.continuationtoken().value()) {
      return total;
    }
    *req.mutable_continuationtoken() = resp.continuationtoken();
  }
}

absl::Status Client::Ping() {
  google::protobuf::Empty req, resp;
  return impl_->Call(&TaskHubSidecarService::Stub::Hello, req, &resp, absl::Seconds(5));
}

}  // namespace taskhub
