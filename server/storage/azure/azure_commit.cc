// Commit: the fast path, the log path, materialization and replay. The argument for
// why this is atomic and durable is in azure_layout.h.
#include <random>
#include <set>

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

absl::Status ForEachParallel(int n, const std::function<absl::Status(int)>& fn) {
  if (n == 1) return fn(0);
  std::vector<absl::Status> results(n);
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (int i = 0; i < n; ++i) threads.emplace_back([&, i] { results[i] = fn(i); });
  for (auto& t : threads) t.join();
  for (auto& st : results) RETURN_IF_ERROR(st);
  return absl::OkStatus();
}

namespace {
std::string RandomHex() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[20];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}
TableOp ToOp(const azrows::RowWrite& w) {
  if (w.del) {
    TableEntity keys;
    keys.partition_key = w.entity.partition_key;
    keys.row_key = w.entity.row_key;
    return TableOp{TableOpKind::kDelete, std::move(keys), "*"};
  }
  return TableOp{TableOpKind::kUpsertReplace, w.entity, ""};
}
}  // namespace

AzureBackendImpl::Meta* AzureBackendImpl::MetaOf(const std::string& pk) {
  if (pk == al::kLogPk) return &log_meta_;
  return &metas_[al::ParsePartitionKey(pk)];
}

absl::Status AzureBackendImpl::Retrying(const std::function<absl::Status()>& fn) {
  const absl::Time deadline = absl::Now() + options_.max_retry_time;
  absl::Duration backoff = absl::Milliseconds(200);
  while (true) {
    absl::Status st = fn();
    if (st.code() != absl::StatusCode::kUnavailable || absl::Now() >= deadline) return st;
    Logger("storage")->warn("Azure Storage unavailable, retrying: {}", st.ToString());
    absl::SleepFor(std::min(backoff, deadline - absl::Now()));
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
}

absl::Status AzureBackendImpl::Fenced(const std::string& pk, const TableEntity& meta) {
  return absl::FailedPreconditionError(
      absl::StrCat("task hub ", options_.task_hub, " is owned by '",
                   azrows::StringProp(meta, "Owner"), "' now (partition ", pk, ", epoch ",
                   azrows::IntProp(meta, "Epoch"), "); this taskhubd no longer writes to it"));
}

absl::Status AzureBackendImpl::RunBatch(const std::string& pk,
                                        std::map<std::string, TableValue> meta_props,
                                        std::vector<TableOp> ops) {
  TableOp meta{TableOpKind::kMerge, TableEntity{pk, al::kMetaRow, std::move(meta_props), ""}, ""};
  ops.insert(ops.begin(), std::move(meta));
  return Retrying([&]() -> absl::Status {
    while (true) {
      int64_t epoch;
      {
        absl::MutexLock l(&mu_);
        ops[0].if_match = MetaOf(pk)->etag;
        epoch = MetaOf(pk)->epoch;
      }
      auto done = client_->tables().Batch(table_, ops);
      if (done.ok()) {
        absl::MutexLock l(&mu_);
        MetaOf(pk)->etag = (*done)[0];
        return absl::OkStatus();
      }
      const absl::Status& st = done.status();
      const int index = azure::FailedBatchIndex(st);
      if (st.code() == absl::StatusCode::kNotFound && index > 0 &&
          ops[index].kind == TableOpKind::kDelete) {
        ops.erase(ops.begin() + index);  // already gone: that delete is done
        continue;
      }
      if (st.code() == absl::StatusCode::kFailedPrecondition && index <= 0) {
        // ~meta changed under us: our own earlier attempt (its answer lost), or fenced.
        ASSIGN_OR_RETURN(TableEntity now, client_->tables().Get(table_, pk, al::kMetaRow));
        if (azrows::IntProp(now, "Epoch") != epoch) return Fenced(pk, now);
        Logger("storage")->info("batch on {} was applied by an earlier attempt", pk);
        absl::MutexLock l(&mu_);
        MetaOf(pk)->etag = now.etag;
        return absl::OkStatus();
      }
      return st;
    }
  });
}

absl::Status AzureBackendImpl::PlaceData(azrows::RowMap* rows) {
  std::vector<azrows::RowWrite*> big;
  for (auto& [id, w] : *rows) {
    if (w.del || w.entity.props.count("NoCopy")) continue;
    if (w.data.size() > al::kInlineMax) {
      big.push_back(&w);
    } else {
      azrows::SetData(&w.entity, w.data);
      w.data.clear();
    }
  }
  for (auto* w : big) {
    const std::string name = absl::StrCat("data/", w->entity.partition_key, "/", RandomHex());
    RETURN_IF_ERROR(
        Retrying([&] { return client_->blobs().Put(container_, name, w->data).status(); }));
    w->entity.props["Blob"] = TableValue::String(name);
    w->data.clear();
  }
  return absl::OkStatus();
}

absl::Status AzureBackendImpl::WritePartition(const std::string& pk,
                                              const std::vector<azrows::RowWrite>& rows,
                                              uint64_t max_seq, uint64_t n) {
  int64_t seq_now;
  {
    absl::MutexLock l(&mu_);
    seq_now = std::max<int64_t>(MetaOf(pk)->max_seq, static_cast<int64_t>(max_seq));
  }
  size_t i = 0;
  do {
    std::vector<TableOp> ops;
    size_t bytes = 0;
    for (; i < rows.size() && ops.size() < al::kMaxBatchOps; ++i) {
      const size_t b = azrows::WriteBytes(rows[i]);
      if (!ops.empty() && bytes + b > al::kMaxBatchBytes) break;
      bytes += b;
      ops.push_back(ToOp(rows[i]));
    }
    std::map<std::string, TableValue> meta{{"MaxSeq", TableValue::Int64(seq_now)}};
    const bool last = i == rows.size();
    if (last && n > 0) meta["AppliedLog"] = TableValue::Int64(static_cast<int64_t>(n));
    RETURN_IF_ERROR(RunBatch(pk, std::move(meta), std::move(ops)));
  } while (i < rows.size());
  absl::MutexLock l(&mu_);
  MetaOf(pk)->max_seq = seq_now;
  if (n > 0) MetaOf(pk)->applied = static_cast<int64_t>(n);
  return absl::OkStatus();
}

absl::Status AzureBackendImpl::Materialize(const store::AzureLogRecord& rec, bool only_unapplied) {
  std::map<std::string, std::vector<azrows::RowWrite>> by_pk;
  for (const auto& r : rec.rows()) by_pk[r.partition_key()].push_back(azrows::FromLogRow(r));
  std::vector<std::string> pks;
  for (const auto& [pk, rows] : by_pk) {
    if (al::ParsePartitionKey(pk) < 0 || al::ParsePartitionKey(pk) >= options_.partition_count) {
      return absl::DataLossError(absl::StrCat("commit record ", rec.n(), " names partition ", pk));
    }
    absl::MutexLock l(&mu_);
    if (only_unapplied && MetaOf(pk)->applied >= static_cast<int64_t>(rec.n())) continue;
    pks.push_back(pk);
  }
  if (only_unapplied && !pks.empty()) {
    Logger("storage")->info("replaying commit record {} on {} partition(s) that lack it", rec.n(),
                            pks.size());
  }
  return ForEachParallel(static_cast<int>(pks.size()), [&](int i) {
    return WritePartition(pks[i], by_pk.at(pks[i]), rec.max_seq(), rec.n());
  });
}

absl::Status AzureBackendImpl::CommitLog(const azrows::RowMap& rows, uint64_t max_seq) {
  store::AzureLogRecord rec;
  std::vector<std::string> old_rows;
  std::string old_blob, new_blob;
  {
    absl::MutexLock l(&mu_);
    rec.set_n(static_cast<uint64_t>(log_meta_.applied) + 1);
    old_rows = log_rows_;
    old_blob = log_blob_;
  }
  rec.set_max_seq(max_seq);
  for (const auto& [id, w] : rows) *rec.add_rows() = azrows::ToLogRow(w);
  const std::string bytes = rec.SerializeAsString();
  std::vector<TableOp> ops;
  std::vector<std::string> new_rows;
  if (bytes.size() > al::kLogInlineMax) {
    const std::string name = absl::StrCat("log/", al::Num(rec.n()), "-", RandomHex());
    RETURN_IF_ERROR(
        Retrying([&] { return client_->blobs().Put(container_, name, bytes).status(); }));
    new_blob = name;
    TableEntity e{al::kLogPk, al::LogRow(rec.n(), 0), {{"Blob", TableValue::String(name)}}, ""};
    ops.push_back(TableOp{TableOpKind::kUpsertReplace, std::move(e), ""});
  } else {
    for (size_t off = 0, k = 0; off < bytes.size() || off == 0; off += al::kLogRowBytes, ++k) {
      TableEntity e{al::kLogPk, al::LogRow(rec.n(), static_cast<int>(k)), {}, ""};
      azrows::SetData(&e, bytes.substr(off, al::kLogRowBytes));
      ops.push_back(TableOp{TableOpKind::kUpsertReplace, std::move(e), ""});
      if (bytes.empty()) break;
    }
  }
  for (const auto& op : ops) new_rows.push_back(op.entity.row_key);
  for (const auto& rk : old_rows) {
    ops.push_back(TableOp{TableOpKind::kDelete, TableEntity{al::kLogPk, rk, {}, ""}, "*"});
  }
  // The commit point.
  RETURN_IF_ERROR(RunBatch(al::kLogPk, {{"LastLog", TableValue::Int64(rec.n())}}, std::move(ops)));
  {
    absl::MutexLock l(&mu_);
    log_meta_.applied = static_cast<int64_t>(rec.n());
    log_rows_ = std::move(new_rows);
    log_blob_ = new_blob;
  }
  // The previous record's rows are gone with the batch above; its blob is garbage.
  if (!old_blob.empty()) (void)client_->blobs().Delete(container_, old_blob);
  return Materialize(rec, /*only_unapplied=*/false);
}

absl::Status AzureBackendImpl::Replay() {
  absl::MutexLock c(&commit_mu_);
  ASSIGN_OR_RETURN(std::vector<TableEntity> rows, QueryRange(al::kLogPk, "0", ":"));
  int64_t last;
  {
    absl::MutexLock l(&mu_);
    last = log_meta_.applied;
    log_rows_.clear();
    log_blob_.clear();
    for (const auto& e : rows) {
      log_rows_.push_back(e.row_key);
      if (!azrows::StringProp(e, "Blob").empty()) log_blob_ = azrows::StringProp(e, "Blob");
    }
  }
  std::string bytes;
  for (const auto& e : rows) {
    auto n = al::ParseNum(std::string_view(e.row_key).substr(0, 20));
    if (!n || static_cast<int64_t>(*n) != last) {
      return absl::DataLossError(absl::StrCat("unexpected commit log row ", e.row_key,
                                              " (the last record is ", last, ")"));
    }
    ASSIGN_OR_RETURN(std::string part, RowData(e));
    bytes += part;
  }
  if (rows.empty()) return absl::OkStatus();
  store::AzureLogRecord rec;
  if (!rec.ParseFromString(bytes) || static_cast<int64_t>(rec.n()) != last) {
    return absl::DataLossError(
        absl::StrCat("commit record ", last, " of task hub ", options_.task_hub, " is corrupt"));
  }
  return Materialize(rec, /*only_unapplied=*/true);
}

absl::Status AzureBackendImpl::Commit(const WriteSet& ws) {
  absl::MutexLock c(&commit_mu_);
  {
    absl::MutexLock l(&mu_);
    RETURN_IF_ERROR(sticky_);
  }
  // Reads first (stored rows of cleared/deleted instances, DeleteEverything's blobs),
  // retried through outages like the writes: nothing is written yet.
  azrows::Translation tr;
  std::vector<std::string> old_blobs;
  RETURN_IF_ERROR(Retrying([&]() -> absl::Status {
    ASSIGN_OR_RETURN(tr, azrows::Translate(ws, options_.partition_count, this));
    if (tr.delete_everything) {
      ASSIGN_OR_RETURN(old_blobs, client_->blobs().List(container_, "data/"));
    }
    return absl::OkStatus();
  }));
  RETURN_IF_ERROR(PlaceData(&tr.rows));
  // What row_blobs_ learns if the commit succeeds ("" = the row has no blob now).
  std::vector<std::pair<azrows::RowId, std::string>> blob_updates;
  for (const auto& [id, w] : tr.rows) {
    if (azrows::TracksBlob(id.second)) {
      blob_updates.emplace_back(id, w.del ? "" : azrows::StringProp(w.entity, "Blob"));
    }
  }
  std::set<std::string> pks;
  size_t bytes = 0;
  for (const auto& [id, w] : tr.rows) {
    pks.insert(id.first);
    bytes += azrows::WriteBytes(w);
  }
  absl::Status st;
  if (tr.rows.empty()) {
    int64_t known = 0;
    {
      absl::MutexLock l(&mu_);
      for (const auto& m : metas_) known = std::max(known, m.max_seq);
    }
    if (static_cast<int64_t>(ws.max_seq) > known) {
      st = WritePartition(al::PartitionKey(0), {}, ws.max_seq, 0);
    }
  } else if (!tr.delete_everything && pks.size() == 1 && tr.rows.size() <= al::kMaxBatchOps &&
             bytes <= al::kMaxBatchBytes) {
    std::vector<azrows::RowWrite> rows;
    for (auto& [id, w] : tr.rows) rows.push_back(std::move(w));
    st = WritePartition(*pks.begin(), rows, ws.max_seq, 0);
  } else {
    st = CommitLog(tr.rows, ws.max_seq);
  }
  {
    absl::MutexLock l(&mu_);
    if (!st.ok()) {
      sticky_ = st;
      Logger("storage")->critical("Azure Storage commit failed; refusing further writes: {}",
                                  st.ToString());
      return st;
    }
    if (tr.delete_everything) {
      for (auto& m : seq_part_) m.clear();
      row_blobs_.clear();
    }
    for (auto& [id, blob] : blob_updates) {
      if (blob.empty()) {
        row_blobs_.erase(id);
      } else {
        row_blobs_[id] = std::move(blob);
      }
    }
    for (const auto& ch : tr.seq_changes) {
      auto& m = seq_part_[ch.kind == 'a' ? 0 : ch.kind == 't' ? 1 : 2];
      if (ch.partition < 0) {
        m.erase(ch.seq);
      } else {
        m[ch.seq] = ch.partition;
      }
    }
  }
  // The data blobs of the rows this commit removed (best effort: garbage else).
  for (const auto& b : old_blobs) (void)client_->blobs().Delete(container_, b);
  for (const auto& b : tr.garbage_blobs) (void)client_->blobs().Delete(container_, b);
  return absl::OkStatus();
}

std::string AzureBackendImpl::KnownBlob(const std::string& pk, const std::string& rk) {
  absl::MutexLock l(&mu_);
  auto it = row_blobs_.find({pk, rk});
  return it == row_blobs_.end() ? "" : it->second;
}

void AzureBackendImpl::NoteBlobs(const std::vector<TableEntity>& rows) {
  absl::MutexLock l(&mu_);
  for (const auto& e : rows) {
    const std::string blob = azrows::StringProp(e, "Blob");
    if (!blob.empty() && azrows::TracksBlob(e.row_key)) {
      row_blobs_[{e.partition_key, e.row_key}] = blob;
    }
  }
}

int AzureBackendImpl::SeqPartition(char kind, uint64_t seq) {
  absl::MutexLock l(&mu_);
  const auto& m = seq_part_[kind == 'a' ? 0 : kind == 't' ? 1 : 2];
  auto it = m.find(seq);
  return it == m.end() ? -1 : it->second;
}

}  // namespace taskhub::storage
