#include "tools/taskhub/entity_client.h"

#include <chrono>
#include <cstdint>
#include <random>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpcpp/grpcpp.h"
#include "proto/grpc_status.h"
#include "proto/timestamp_util.h"
#include "taskhub/channel.h"

namespace taskhub::cli {
namespace {

// Per unary call, as the SDK client.
constexpr absl::Duration kRpcTimeout = absl::Seconds(30);
// Bounds a server that keeps answering with new continuation tokens.
constexpr int kMaxPages = 1000000;

void SetDeadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(absl::ToInt64Milliseconds(kRpcTimeout)));
}

}  // namespace

absl::StatusOr<std::string> EntityId(absl::string_view name, absl::string_view key) {
  if (name.empty()) return absl::InvalidArgumentError("entity name must not be empty");
  if (name.find('@') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("entity name '", name, "' must not contain '@'"));
  }
  return absl::StrCat("@", absl::AsciiStrToLower(name), "@", key);
}

EntityIdParts SplitEntityId(absl::string_view id) {
  if (id.size() < 2 || id[0] != '@') return {"", std::string(id)};
  const size_t sep = id.find('@', 1);
  if (sep == absl::string_view::npos) return {"", std::string(id)};
  return {std::string(id.substr(1, sep - 1)), std::string(id.substr(sep + 1))};
}

std::string EntityIdPrefix(absl::string_view prefix) {
  std::string p =
      !prefix.empty() && prefix[0] == '@' ? std::string(prefix) : absl::StrCat("@", prefix);
  const size_t sep = p.find('@', 1);
  const size_t name_end = sep == std::string::npos ? p.size() : sep;
  for (size_t i = 0; i < name_end; ++i) p[i] = absl::ascii_tolower(p[i]);
  return p;
}

std::string NewRequestId() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  uint64_t hi = gen(), lo = gen();
  hi = (hi & ~0xF000ULL) | 0x4000ULL;                  // version 4
  lo = (lo & ~(0xC000ULL << 48)) | (0x8000ULL << 48);  // RFC 4122 variant
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF,
                         lo >> 48, lo & 0xFFFFFFFFFFFFULL);
}

absl::StatusOr<absl::Duration> ParseNonNegativeDuration(absl::string_view text,
                                                        absl::string_view flag) {
  absl::Duration d;
  if (!absl::ParseDuration(absl::StripAsciiWhitespace(text), &d) || d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": '", text, "' is not a duration (e.g. 30s, 5m, 1h30m, 250ms)"));
  }
  if (d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": must not be negative"));
  }
  return d;
}

EntityInfo EntityInfo::FromProto(const ::EntityMetadata& m) {
  EntityInfo e;
  e.instance_id = m.instanceid();
  e.last_modified = FromTimestamp(m.lastmodifiedtime());
  e.backlog_queue_size = m.backlogqueuesize();
  if (m.has_lockedby() && !m.lockedby().value().empty()) e.locked_by = m.lockedby().value();
  if (m.has_serializedstate()) e.state = m.serializedstate().value();
  return e;
}

absl::StatusOr<std::unique_ptr<EntityClient>> EntityClient::Connect(const std::string& address,
                                                                    const TlsOptions& tls,
                                                                    const std::string& token) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);  // entity states can be large
  auto channel = NewChannel(address, tls, token, args);
  return std::unique_ptr<EntityClient>(new EntityClient(TaskHubSidecarService::NewStub(channel)));
}

EntityClient::EntityClient(std::unique_ptr<TaskHubSidecarService::Stub> stub)
    : stub_(std::move(stub)) {}

absl::Status EntityClient::Signal(const std::string& id, const std::string& operation,
                                  const std::optional<std::string>& input_json,
                                  const std::string& request_id, std::optional<absl::Time> at) {
  SignalEntityRequest req;
  req.set_instanceid(id);
  req.set_name(operation);
  if (input_json) req.mutable_input()->set_value(*input_json);
  req.set_requestid(request_id);
  if (at) *req.mutable_scheduledtime() = ToTimestamp(*at);
  *req.mutable_requesttime() = ToTimestamp(absl::Now());
  SignalEntityResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  return FromGrpc(stub_->SignalEntity(&ctx, req, &resp));
}

absl::StatusOr<std::optional<EntityInfo>> EntityClient::Get(const std::string& id,
                                                            bool include_state) {
  GetEntityRequest req;
  req.set_instanceid(id);
  req.set_includestate(include_state);
  GetEntityResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  if (absl::Status st = FromGrpc(stub_->GetEntity(&ctx, req, &resp)); !st.ok()) return st;
  if (!resp.exists()) return std::optional<EntityInfo>();
  return std::optional<EntityInfo>(EntityInfo::FromProto(resp.entity()));
}

absl::StatusOr<std::vector<EntityInfo>> EntityClient::QueryAll(const EntityListQuery& q) {
  std::vector<EntityInfo> all;
  std::string token;
  for (int page = 0; page < kMaxPages; ++page) {
    QueryEntitiesRequest req;
    EntityQuery* query = req.mutable_query();
    if (!q.id_prefix.empty()) query->mutable_instanceidstartswith()->set_value(q.id_prefix);
    if (q.modified_from) *query->mutable_lastmodifiedfrom() = ToTimestamp(*q.modified_from);
    if (q.modified_to) *query->mutable_lastmodifiedto() = ToTimestamp(*q.modified_to);
    query->set_includestate(q.include_state);
    query->set_includetransient(q.include_transient);
    if (q.page_size > 0) query->mutable_pagesize()->set_value(q.page_size);
    if (!token.empty()) query->mutable_continuationtoken()->set_value(token);
    QueryEntitiesResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    if (absl::Status st = FromGrpc(stub_->QueryEntities(&ctx, req, &resp)); !st.ok()) return st;
    for (const ::EntityMetadata& m : resp.entities()) all.push_back(EntityInfo::FromProto(m));
    const std::string next = resp.continuationtoken().value();
    if (next.empty() || next == token) return all;
    token = next;
  }
  return absl::InternalError("QueryEntities: the server kept returning continuation tokens");
}

absl::StatusOr<CleanCounts> EntityClient::Clean(bool remove_empty, bool release_orphaned_locks) {
  CleanCounts counts;
  std::string token;
  for (int page = 0; page < kMaxPages; ++page) {
    CleanEntityStorageRequest req;
    req.set_removeemptyentities(remove_empty);
    req.set_releaseorphanedlocks(release_orphaned_locks);
    if (!token.empty()) req.mutable_continuationtoken()->set_value(token);
    CleanEntityStorageResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    absl::Status st = FromGrpc(stub_->CleanEntityStorage(&ctx, req, &resp));
    if (!st.ok()) return st;
    counts.empty_entities_removed += resp.emptyentitiesremoved();
    counts.orphaned_locks_released += resp.orphanedlocksreleased();
    const std::string next = resp.continuationtoken().value();
    if (next.empty() || next == token) return counts;
    token = next;
  }
  return absl::InternalError("CleanEntityStorage: the server kept returning continuation tokens");
}

}  // namespace taskhub::cli
