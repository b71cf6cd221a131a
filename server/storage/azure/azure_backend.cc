// Open: the hub's resources, its lease, fencing, the seq maps. See azure_layout.h.
#include <unistd.h>

#include <cctype>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/storage/azure/azure_backend_impl.h"
#include "server/storage/azure/azure_layout.h"

namespace taskhub::storage {
namespace al = azlayout;
using azure::TableEntity;
using azure::TableOp;
using azure::TableOpKind;
using azure::TableValue;

namespace {
azure::BlobConditions CreateOnly() {
  azure::BlobConditions c;
  c.if_none_match = "*";
  return c;
}
}  // namespace

absl::Status ValidateAzureTaskHubName(const std::string& task_hub) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("task hub name '", task_hub, "' is not valid for Azure Storage: ", why,
                     " (3-45 ASCII letters and digits, starting with a letter)"));
  };
  if (task_hub.size() < 3 || task_hub.size() > 45) return bad("wrong length");
  if (!std::isalpha(static_cast<unsigned char>(task_hub[0])))
    return bad("it must start with a letter");
  for (char c : task_hub) {
    if (static_cast<unsigned char>(c) > 127) return bad("it contains a non-ASCII character");
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      return bad(absl::StrCat("character '", std::string(1, c), "' is not allowed"));
    }
  }
  return absl::OkStatus();
}

AzureBackendImpl::AzureBackendImpl(AzureBackendOptions options,
                                   std::unique_ptr<azure::StorageClient> client)
    : options_(std::move(options)),
      client_(std::move(client)),
      table_(al::TableName(options_.task_hub)),
      container_(al::ContainerName(options_.task_hub)),
      lease_id_(al::LeaseIdFor(options_.owner_id)) {
  absl::MutexLock l(&mu_);
  metas_.resize(options_.partition_count);
}

AzureBackendImpl::~AzureBackendImpl() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  if (renewer_.joinable()) {
    renewer_.join();
    // Lets the next owner (or our restart) in at once. Best effort.
    (void)client_->blobs().ReleaseLease(container_, "lease", lease_id_);
  }
}

absl::Status AzureBackendImpl::CreateOrCheckHub() {
  auto check = [&](const std::string& json) -> absl::Status {
    const size_t at = json.find("\"partitionCount\":");
    int count = 0;
    if (at == std::string::npos) {
      return absl::DataLossError(absl::StrCat("taskhub.json of task hub ", options_.task_hub,
                                              " has no partitionCount: ", json));
    }
    size_t end = at + 17;
    while (end < json.size() && std::isdigit(static_cast<unsigned char>(json[end]))) ++end;
    if (!absl::SimpleAtoi(json.substr(at + 17, end - at - 17), &count)) {
      return absl::DataLossError(absl::StrCat("bad taskhub.json: ", json));
    }
    if (count != options_.partition_count) {
      return absl::FailedPreconditionError(
          absl::StrCat("task hub ", options_.task_hub, " was created with ", count,
                       " partitions; this taskhubd was started with --partition-count ",
                       options_.partition_count, " (the count cannot change: use ", count,
                       " or another task hub)"));
    }
    return absl::OkStatus();
  };
  auto got = client_->blobs().Get(container_, "taskhub.json");
  if (got.ok()) return check(got->body);
  if (got.status().code() != absl::StatusCode::kNotFound) return got.status();
  // A new hub (or one whose creation was cut short): the json is written last.
  RETURN_IF_ERROR(client_->blobs().CreateContainerIfNotExists(container_));
  RETURN_IF_ERROR(client_->tables().CreateTableIfNotExists(table_));
  auto lease = client_->blobs().Put(container_, "lease", "", CreateOnly());
  if (!lease.ok() && lease.status().code() != absl::StatusCode::kAlreadyExists &&
      lease.status().code() != absl::StatusCode::kFailedPrecondition) {
    return lease.status();
  }
  const std::string json =
      absl::StrCat("{\"partitionCount\":", options_.partition_count, ",\"createdAt\":\"",
                   absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone()),
                   "\",\"format\":", al::kFormat, "}");
  auto put = client_->blobs().Put(container_, "taskhub.json", json, CreateOnly());
  if (put.ok()) {
    Logger("storage")->info("created task hub {} ({} partitions) in Azure Storage",
                            options_.task_hub, options_.partition_count);
    return absl::OkStatus();
  }
  if (put.status().code() != absl::StatusCode::kAlreadyExists &&
      put.status().code() != absl::StatusCode::kFailedPrecondition) {
    return put.status();
  }
  ASSIGN_OR_RETURN(azure::BlobData again, client_->blobs().Get(container_, "taskhub.json"));
  return check(again.body);
}

absl::Status AzureBackendImpl::TakeLease() {
  const absl::Time deadline = absl::Now() + options_.lease_wait;
  bool logged = false;
  while (true) {
    auto got =
        client_->blobs().AcquireLease(container_, "lease", options_.lease_duration, lease_id_);
    if (got.ok()) return absl::OkStatus();
    if (got.status().code() == absl::StatusCode::kNotFound) {
      auto put = client_->blobs().Put(container_, "lease", "", CreateOnly());
      if (!put.ok() && put.status().code() != absl::StatusCode::kAlreadyExists &&
          put.status().code() != absl::StatusCode::kFailedPrecondition) {
        return put.status();
      }
      continue;
    }
    if (got.status().code() != absl::StatusCode::kAlreadyExists) return got.status();
    if (absl::Now() >= deadline) {
      return absl::FailedPreconditionError(absl::StrCat(
          "task hub ", options_.task_hub, " is leased by another owner (not '", options_.owner_id,
          "') for more than ", absl::FormatDuration(options_.lease_wait),
          ": another taskhubd runs on it; stop it, or use another --task-hub"));
    }
    if (!logged) {
      Logger("storage")->warn("task hub {} is leased by another owner; waiting up to {}",
                              options_.task_hub, absl::FormatDuration(options_.lease_wait));
      logged = true;
    }
    absl::SleepFor(std::min(absl::Seconds(1), options_.lease_wait / 10));
  }
}

void AzureBackendImpl::RenewLoop() {
  const absl::Duration every = options_.lease_duration / 3;
  while (true) {
    {
      absl::MutexLock l(&mu_);
      auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stop), every)) return;
    }
    absl::Status st = client_->blobs().RenewLease(container_, "lease", lease_id_);
    if (!st.ok()) {
      // Expired (e.g. a long outage): take it again if nobody else did. Writes stay
      // safe either way: they are fenced by the ~meta ETags, not by the lease.
      auto again =
          client_->blobs().AcquireLease(container_, "lease", options_.lease_duration, lease_id_);
      if (!again.ok()) {
        Logger("storage")->error("cannot renew the lease of task hub {}: {}", options_.task_hub,
                                 again.status().ToString());
      }
    }
  }
}

// Claims ~meta of `pk`: Owner = us, Epoch + 1 (If-Match), so every older owner's
// next batch fails.
absl::Status AzureBackendImpl::Fence(const std::string& pk) {
  return Retrying([&]() -> absl::Status {
    for (int attempt = 0; attempt < 20; ++attempt) {
      auto got = client_->tables().Get(table_, pk, al::kMetaRow);
      TableEntity e;
      e.partition_key = pk;
      e.row_key = al::kMetaRow;
      e.props["Owner"] = TableValue::String(options_.owner_id);
      absl::StatusOr<std::string> etag;
      Meta m;
      if (got.status().code() == absl::StatusCode::kNotFound) {
        m.epoch = 1;
        e.props["Epoch"] = TableValue::Int64(1);
        e.props["MaxSeq"] = TableValue::Int64(0);
        e.props["AppliedLog"] = TableValue::Int64(0);
        etag = client_->tables().Execute(table_, TableOp{TableOpKind::kInsert, e, ""});
      } else {
        RETURN_IF_ERROR(got.status());
        m.epoch = azrows::IntProp(*got, "Epoch") + 1;
        m.max_seq = azrows::IntProp(*got, "MaxSeq");
        m.applied = azrows::IntProp(*got, pk == al::kLogPk ? "LastLog" : "AppliedLog");
        e.props["Epoch"] = TableValue::Int64(m.epoch);
        etag = client_->tables().Execute(table_, TableOp{TableOpKind::kMerge, e, got->etag});
      }
      if (etag.ok()) {
        m.etag = *etag;
        absl::MutexLock l(&mu_);
        *MetaOf(pk) = m;
        return absl::OkStatus();
      }
      const auto code = etag.status().code();
      if (code != absl::StatusCode::kAlreadyExists &&
          code != absl::StatusCode::kFailedPrecondition) {
        return etag.status();
      }
      // Raced with another open (or our own lost answer): read again.
    }
    return absl::AbortedError(absl::StrCat("cannot claim partition ", pk, " of task hub ",
                                           options_.task_hub, ": it keeps changing"));
  });
}

absl::Status AzureBackendImpl::LoadSeqMaps() {
  std::vector<std::map<uint64_t, int>> maps[3];
  for (auto& m : maps) m.resize(options_.partition_count);
  RETURN_IF_ERROR(ForEachParallel(options_.partition_count, [&](int p) -> absl::Status {
    const std::string pk = al::PartitionKey(p);
    const char kinds[3] = {'a', 't', 'm'};
    for (int k = 0; k < 3; ++k) {
      const std::string from = std::string(1, kinds[k]) + ":";
      ASSIGN_OR_RETURN(std::vector<azrows::StoredRow> rows, ListRows(pk, {from}));
      for (const auto& row : rows) {
        const std::string& rk = row.row_key;
        // a:<seq>, m:<seq>, t:<fire>:<seq>: the seq is the last 20 characters.
        if (rk.size() < 22) continue;
        if (auto seq = al::ParseNum(std::string_view(rk).substr(rk.size() - 20))) {
          maps[k][p][*seq] = p;
        }
        if (!row.blob.empty()) {
          absl::MutexLock l(&mu_);
          row_blobs_[{pk, rk}] = row.blob;
        }
      }
    }
    return absl::OkStatus();
  }));
  absl::MutexLock l(&mu_);
  for (int k = 0; k < 3; ++k) {
    seq_part_[k].clear();
    for (auto& m : maps[k]) seq_part_[k].insert(m.begin(), m.end());
  }
  return absl::OkStatus();
}

absl::Status AzureBackendImpl::Open() {
  RETURN_IF_ERROR(CreateOrCheckHub());
  RETURN_IF_ERROR(TakeLease());
  renewer_ = std::thread([this] { RenewLoop(); });
  RETURN_IF_ERROR(Fence(al::kLogPk));
  RETURN_IF_ERROR(
      ForEachParallel(options_.partition_count, [&](int p) { return Fence(al::PartitionKey(p)); }));
  RETURN_IF_ERROR(Replay());
  RETURN_IF_ERROR(LoadSeqMaps());
  Logger("storage")->info("opened task hub {} in Azure Storage as owner {} ({} partitions)",
                          options_.task_hub, options_.owner_id, options_.partition_count);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<AzureBackend>> OpenAzureBackend(const AzureBackendOptions& o) {
  RETURN_IF_ERROR(ValidateAzureTaskHubName(o.task_hub));
  if (o.partition_count < 1 || o.partition_count > 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("partition count ", o.partition_count, " is out of range (1-16)"));
  }
  if (o.lease_duration < absl::Seconds(15) || o.lease_duration > absl::Seconds(60)) {
    return absl::InvalidArgumentError("the lease duration must be 15-60 s");
  }
  ASSIGN_OR_RETURN(azure::Account account, azure::ParseConnectionString(o.connection_string));
  AzureBackendOptions opts = o;
  if (opts.owner_id.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    opts.owner_id = host[0] ? host : "taskhubd";
  }
  auto client = std::make_unique<azure::StorageClient>(std::move(account), opts.transport);
  auto backend = std::make_unique<AzureBackendImpl>(std::move(opts), std::move(client));
  RETURN_IF_ERROR(backend->Open());
  return std::unique_ptr<AzureBackend>(std::move(backend));
}

}  // namespace taskhub::storage
