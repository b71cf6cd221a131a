// Reads: point reads, history, recovery state and instance queries (merged over the
// partitions in the order RocksDB answers in). See azure_layout.h.
#include <algorithm>
#include <deque>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/status_macros.h"
#include "server/core/history.h"
#include "server/storage/azure/azure_backend_impl.h"
#include "server/storage/azure/azure_layout.h"

namespace taskhub::storage {
namespace al = azlayout;
using azure::ODataQuote;
using azure::TableEntity;

namespace {

std::string RangeFilter(const std::string& pk, const std::string& from, const std::string& to) {
  return absl::StrCat("PartitionKey eq ", ODataQuote(pk), " and RowKey ge ", ODataQuote(from),
                      " and RowKey lt ", ODataQuote(to));
}

template <typename Msg>
absl::Status ParseRow(const std::string& bytes, const TableEntity& e, Msg* out) {
  if (!out->ParseFromString(bytes)) {
    return absl::DataLossError(
        absl::StrCat("corrupt row ", e.partition_key, "/", e.row_key, " in the task hub"));
  }
  return absl::OkStatus();
}

std::string StatusFilter(const std::vector<OrchestrationStatus>& statuses) {
  if (statuses.empty()) return "";
  std::vector<std::string> parts;
  for (auto s : statuses) parts.push_back(absl::StrCat("Status eq ", static_cast<int>(s), "L"));
  return absl::StrCat("(", absl::StrJoin(parts, " or "), ")");
}

}  // namespace

absl::StatusOr<std::string> AzureBackendImpl::FetchBlob(const std::string& blob) {
  ASSIGN_OR_RETURN(azure::BlobData d, client_->blobs().Get(container_, blob));
  return std::move(d.body);
}

absl::StatusOr<std::string> AzureBackendImpl::RowData(const TableEntity& e) {
  return azrows::GetData(e, [this](const std::string& b) { return FetchBlob(b); });
}

absl::StatusOr<std::vector<TableEntity>> AzureBackendImpl::QueryRange(
    const std::string& pk, const std::string& from, const std::string& to,
    const std::string& extra_filter) {
  azure::QueryOptions q;
  q.filter = RangeFilter(pk, from, to);
  if (!extra_filter.empty()) absl::StrAppend(&q.filter, " and ", extra_filter);
  return client_->tables().QueryAll(table_, q);
}

absl::StatusOr<std::vector<azrows::StoredRow>> AzureBackendImpl::ListRows(
    const std::string& pk, const std::vector<std::string>& prefixes) {
  azure::QueryOptions q;
  std::vector<std::string> ranges;
  for (const auto& p : prefixes) {
    ranges.push_back(absl::StrCat("(RowKey ge ", ODataQuote(p), " and RowKey lt ",
                                  ODataQuote(al::RangeEnd(p)), ")"));
  }
  q.filter = absl::StrCat("PartitionKey eq ", ODataQuote(pk), " and (",
                          absl::StrJoin(ranges, " or "), ")");
  q.select = {"RowKey", "Blob"};
  ASSIGN_OR_RETURN(std::vector<TableEntity> rows, client_->tables().QueryAll(table_, q));
  std::vector<azrows::StoredRow> out;
  for (auto& e : rows) out.push_back({std::move(e.row_key), azrows::StringProp(e, "Blob")});
  return out;
}

absl::StatusOr<std::string> AzureBackendImpl::BlobOf(const std::string& pk, const std::string& rk) {
  auto got = client_->tables().Get(table_, pk, rk);
  if (got.status().code() == absl::StatusCode::kNotFound) return std::string();
  RETURN_IF_ERROR(got.status());
  return azrows::StringProp(*got, "Blob");
}

absl::StatusOr<std::vector<azrows::RowId>> AzureBackendImpl::ListAll() {
  std::vector<azrows::RowId> out;
  for (int p = 0; p < options_.partition_count; ++p) {
    azure::QueryOptions q;
    q.filter = absl::StrCat("PartitionKey eq ", ODataQuote(al::PartitionKey(p)));
    q.select = {"RowKey"};
    ASSIGN_OR_RETURN(std::vector<TableEntity> rows, client_->tables().QueryAll(table_, q));
    for (auto& e : rows) {
      if (e.row_key != al::kMetaRow) out.emplace_back(al::PartitionKey(p), std::move(e.row_key));
    }
  }
  return out;
}

absl::StatusOr<std::optional<store::InstanceRecord>> AzureBackendImpl::GetInstance(
    const std::string& id) {
  const std::string pk = al::PartitionKey(al::PartitionOf(id, options_.partition_count));
  auto got = client_->tables().Get(table_, pk, al::InstanceRow(id));
  if (got.status().code() == absl::StatusCode::kNotFound) {
    return std::optional<store::InstanceRecord>();
  }
  RETURN_IF_ERROR(got.status());
  if (azrows::StringProp(*got, "Id") != id) return std::optional<store::InstanceRecord>();
  ASSIGN_OR_RETURN(std::string bytes, RowData(*got));
  store::InstanceRecord rec;
  RETURN_IF_ERROR(ParseRow(bytes, *got, &rec));
  return std::optional<store::InstanceRecord>(std::move(rec));
}

absl::StatusOr<std::vector<HistoryEvent>> AzureBackendImpl::GetHistory(const std::string& id) {
  const std::string pk = al::PartitionKey(al::PartitionOf(id, options_.partition_count));
  const std::string prefix = al::HistoryPrefix(id);
  ASSIGN_OR_RETURN(std::vector<TableEntity> rows, QueryRange(pk, prefix, al::RangeEnd(prefix)));
  std::vector<HistoryEvent> out;
  for (const auto& e : rows) {
    ASSIGN_OR_RETURN(std::string bytes, RowData(e));
    HistoryChunk chunk;
    RETURN_IF_ERROR(ParseRow(bytes, e, &chunk));
    for (auto& ev : *chunk.mutable_events()) out.push_back(std::move(ev));
  }
  return out;
}

absl::StatusOr<RecoveryState> AzureBackendImpl::LoadRecoveryState() {
  const int n = options_.partition_count;
  std::vector<RecoveryState> parts(n);
  const std::string live =
      StatusFilter({ORCHESTRATION_STATUS_RUNNING, ORCHESTRATION_STATUS_CONTINUED_AS_NEW,
                    ORCHESTRATION_STATUS_PENDING, ORCHESTRATION_STATUS_SUSPENDED});
  RETURN_IF_ERROR(ForEachParallel(n, [&](int p) -> absl::Status {
    const std::string pk = al::PartitionKey(p);
    RecoveryState& s = parts[p];
    ASSIGN_OR_RETURN(auto inst, QueryRange(pk, "i:", "i;", live));
    for (const auto& e : inst) {
      ASSIGN_OR_RETURN(std::string bytes, RowData(e));
      store::InstanceRecord rec;
      RETURN_IF_ERROR(ParseRow(bytes, e, &rec));
      s.live_instances.push_back(std::move(rec));
    }
    ASSIGN_OR_RETURN(auto inbox, QueryRange(pk, "n:", "n;"));
    NoteBlobs(inbox);
    for (const auto& e : inbox) {
      InboxItem item;
      item.instance_id = azrows::StringProp(e, "Id");
      auto seq = al::ParseNum(std::string_view(e.row_key).substr(e.row_key.size() - 20));
      if (!seq) return absl::DataLossError("corrupt inbox row key " + e.row_key);
      item.seq = *seq;
      ASSIGN_OR_RETURN(std::string bytes, RowData(e));
      RETURN_IF_ERROR(ParseRow(bytes, e, &item.event));
      s.inbox.push_back(std::move(item));
    }
    ASSIGN_OR_RETURN(auto acts, QueryRange(pk, "a:", "a;"));
    for (const auto& e : acts) {
      ActivityItem item;
      auto seq = al::ParseNum(std::string_view(e.row_key).substr(2));
      if (!seq) return absl::DataLossError("corrupt activity row key " + e.row_key);
      item.seq = *seq;
      ASSIGN_OR_RETURN(std::string bytes, RowData(e));
      RETURN_IF_ERROR(ParseRow(bytes, e, &item.task));
      s.activities.push_back(std::move(item));
    }
    ASSIGN_OR_RETURN(auto timers, QueryRange(pk, "t:", "t;"));
    for (const auto& e : timers) {
      TimerItem item;
      if (e.row_key.size() != 43) return absl::DataLossError("corrupt timer row key " + e.row_key);
      auto fire = al::ParseSignedNum(std::string_view(e.row_key).substr(2, 20));
      auto seq = al::ParseNum(std::string_view(e.row_key).substr(23));
      if (!fire || !seq) return absl::DataLossError("corrupt timer row key " + e.row_key);
      item.fire_us = *fire;
      item.seq = *seq;
      ASSIGN_OR_RETURN(std::string bytes, RowData(e));
      RETURN_IF_ERROR(ParseRow(bytes, e, &item.timer));
      s.timers.push_back(std::move(item));
    }
    ASSIGN_OR_RETURN(auto msgs, QueryRange(pk, "m:", "m;"));
    for (const auto& e : msgs) {
      MessageItem item;
      auto seq = al::ParseNum(std::string_view(e.row_key).substr(2));
      if (!seq) return absl::DataLossError("corrupt message row key " + e.row_key);
      item.seq = *seq;
      ASSIGN_OR_RETURN(std::string bytes, RowData(e));
      RETURN_IF_ERROR(ParseRow(bytes, e, &item.message));
      s.messages.push_back(std::move(item));
    }
    ASSIGN_OR_RETURN(auto notes, QueryRange(pk, "o:", "o;"));
    for (const auto& e : notes) {
      NotificationItem item;
      auto seq = al::ParseNum(std::string_view(e.row_key).substr(2));
      if (!seq) return absl::DataLossError("corrupt notification row key " + e.row_key);
      item.seq = *seq;
      ASSIGN_OR_RETURN(std::string bytes, RowData(e));
      RETURN_IF_ERROR(ParseRow(bytes, e, &item.notification));
      s.notifications.push_back(std::move(item));
    }
    return absl::OkStatus();
  }));
  RecoveryState out;
  for (auto& s : parts) {
    for (auto& x : s.live_instances) out.live_instances.push_back(std::move(x));
    for (auto& x : s.inbox) out.inbox.push_back(std::move(x));
    for (auto& x : s.activities) out.activities.push_back(std::move(x));
    for (auto& x : s.timers) out.timers.push_back(std::move(x));
    for (auto& x : s.messages) out.messages.push_back(std::move(x));
    for (auto& x : s.notifications) out.notifications.push_back(std::move(x));
  }
  std::sort(out.live_instances.begin(), out.live_instances.end(),
            [](const auto& a, const auto& b) { return a.instance_id() < b.instance_id(); });
  std::sort(out.inbox.begin(), out.inbox.end(), [](const auto& a, const auto& b) {
    return std::tie(a.instance_id, a.seq) < std::tie(b.instance_id, b.seq);
  });
  std::sort(out.activities.begin(), out.activities.end(),
            [](const auto& a, const auto& b) { return a.seq < b.seq; });
  std::sort(out.timers.begin(), out.timers.end(), [](const auto& a, const auto& b) {
    return std::tie(a.fire_us, a.seq) < std::tie(b.fire_us, b.seq);
  });
  std::sort(out.messages.begin(), out.messages.end(),
            [](const auto& a, const auto& b) { return a.seq < b.seq; });
  std::sort(out.notifications.begin(), out.notifications.end(),
            [](const auto& a, const auto& b) { return a.seq < b.seq; });
  absl::MutexLock l(&mu_);
  for (const auto& m : metas_) {
    out.max_seq = std::max(out.max_seq, static_cast<uint64_t>(std::max<int64_t>(m.max_seq, 0)));
  }
  return out;
}

absl::StatusOr<InstancePage> AzureBackendImpl::QueryInstances(const InstanceFilter& f) {
  ASSIGN_OR_RETURN(std::optional<DecodedToken> token, DecodeQueryToken(f));
  const bool by_prefix = !f.id_prefix.empty();
  const size_t page = f.page_size <= 0 ? 100 : static_cast<size_t>(f.page_size);
  // One sorted stream per partition: i: rows by id, or c: rows by (created, id).
  struct Stream {
    azure::QueryOptions q;
    std::deque<TableEntity> buf;
    std::string npk, nrk;
    bool done = false;
  };
  std::vector<Stream> streams(options_.partition_count);
  std::string from, to;
  if (by_prefix) {
    from = "i:" + al::KeyIdPrefix(f.id_prefix);
    to = al::RangeEnd(from);
    if (token) {
      // A hashed id's run of keys (same shortened prefix, "~H", hash) is not in id order:
      // start at the run's beginning; ids up to the token are skipped below.
      std::string at = "i:" + al::KeyId(token->id);
      if (const size_t h = at.find("~H"); h != std::string::npos) at.resize(h);
      from = std::max(from, at);
    }
  } else {
    int64_t start_us = f.created_from ? core::ToMicros(*f.created_from) : INT64_MIN;
    if (token) start_us = std::max(start_us, token->created_us);
    from = "c:" + al::SignedNum(start_us);
    to = f.created_to ? "c:" + al::SignedNum(core::ToMicros(*f.created_to)) + ";" : "c;";
  }
  const std::string status = StatusFilter(f.statuses);
  for (int p = 0; p < options_.partition_count; ++p) {
    Stream& s = streams[p];
    s.q.filter = RangeFilter(al::PartitionKey(p), from, to);
    if (!status.empty()) absl::StrAppend(&s.q.filter, " and ", status);
    s.q.top = static_cast<int>(std::min<size_t>(1000, page + 1));
  }
  auto key = [&](const TableEntity& e) {
    return std::make_pair(by_prefix ? 0 : azrows::IntProp(e, "CreatedUs"),
                          azrows::StringProp(e, "Id"));
  };
  // Key order is id order except inside a run of hashed ids (azure_layout.h): a buffer
  // is refilled only when empty and then holds whole runs, sorted by id.
  auto fill = [&](Stream& s) -> absl::Status {
    auto is_hashed = [](const TableEntity& e) { return e.row_key.find("~H") != std::string::npos; };
    bool any_hashed = false;
    while (s.buf.empty() && !s.done) {
      do {  // while the buffer ends inside a run of hashed ids, the run goes on
        ASSIGN_OR_RETURN(azure::QueryPage got, client_->tables().Query(table_, s.q, s.npk, s.nrk));
        for (auto& e : got.entities) {
          any_hashed = any_hashed || is_hashed(e);
          s.buf.push_back(std::move(e));
        }
        s.npk = got.next_partition_key;
        s.nrk = got.next_row_key;
        s.done = !got.more();
        s.q.top = 1000;
      } while (!s.done && !s.buf.empty() && is_hashed(s.buf.back()));
    }
    if (any_hashed) {
      std::stable_sort(s.buf.begin(), s.buf.end(),
                       [&](const auto& a, const auto& b) { return key(a) < key(b); });
    }
    return absl::OkStatus();
  };
  InstancePage out;
  while (true) {
    Stream* best = nullptr;
    for (auto& s : streams) {
      RETURN_IF_ERROR(fill(s));
      if (!s.buf.empty() && (best == nullptr || key(s.buf.front()) < key(best->buf.front()))) {
        best = &s;
      }
    }
    if (best == nullptr) break;
    TableEntity e = std::move(best->buf.front());
    best->buf.pop_front();
    const auto k = key(e);
    if (token) {
      const bool after =
          by_prefix ? k.second > token->id : k > std::make_pair(token->created_us, token->id);
      if (!after) continue;
    }
    store::InstanceRecord rec;
    if (e.props.count("NoCopy")) {
      ASSIGN_OR_RETURN(auto got, GetInstance(k.second));
      if (!got) continue;
      rec = std::move(*got);
    } else {
      ASSIGN_OR_RETURN(std::string bytes, RowData(e));
      RETURN_IF_ERROR(ParseRow(bytes, e, &rec));
    }
    if (!MatchesFilter(rec, f)) continue;
    if (out.records.size() == page) {
      const auto& last = out.records.back();
      out.continuation =
          by_prefix ? EncodePrefixToken(last.instance_id())
                    : EncodeCreatedToken(IndexedFields::Of(last).created_us, last.instance_id());
      break;
    }
    out.records.push_back(std::move(rec));
  }
  return out;
}

}  // namespace taskhub::storage
