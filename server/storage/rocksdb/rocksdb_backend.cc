#include "server/storage/rocksdb/rocksdb_backend.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <map>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/db.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/table_properties_collectors.h"
#include "rocksdb/write_batch.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/core/history.h"
#include "server/storage/rocksdb/key_schema.h"

namespace taskhub::storage {
namespace {

// The one place RocksDB errors become absl::Status. Messages say what to do.
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string rocks = s.ToString();
  const std::string msg = absl::StrCat(what, ": ", rocks);
  if (s.IsCorruption()) {
    return absl::DataLossError(absl::StrCat(
        msg, "; the store is damaged and taskhubd will not guess what was lost: restore the "
             "data dir from a backup"));
  }
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsInvalidArgument() || s.IsNotSupported()) return absl::FailedPreconditionError(msg);
  if (s.IsIOError() && absl::StrContains(rocks, "lock file")) {
    return absl::FailedPreconditionError(absl::StrCat(
        msg, "; another taskhubd (or process) holds this data dir: stop it or choose another "
             "--data-dir"));
  }
  if (s.IsIOError() && absl::StrContains(rocks, "Permission denied")) {
    return absl::UnavailableError(
        absl::StrCat(msg, "; check the owner and permissions of the data dir"));
  }
  return absl::UnavailableError(msg);
}

// RocksDB's info log, sent to spdlog instead of a LOG file in the data dir: the
// Debian librocksdb asserts when it writes its LOG again after a full disk.
class SpdLogger : public rocksdb::Logger {
 public:
  SpdLogger()
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL), log_(taskhub::Logger("rocksdb")) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char buf[1024];
    va_list copy;
    va_copy(copy, ap);
    const int n = std::vsnprintf(buf, sizeof(buf), format, copy);
    va_end(copy);
    if (n < 0) return;
    const std::string_view line(buf, std::min<size_t>(n, sizeof(buf) - 1));
    switch (level) {
      case rocksdb::InfoLogLevel::WARN_LEVEL:
        log_->warn("{}", line);
        break;
      case rocksdb::InfoLogLevel::ERROR_LEVEL:
      case rocksdb::InfoLogLevel::FATAL_LEVEL:
        log_->error("{}", line);
        break;
      default:
        log_->debug("{}", line);  // flushes, compactions, options: chatty
    }
  }

 private:
  std::shared_ptr<spdlog::logger> log_;
};

// RESOURCE_EXHAUSTED when the file system of `path` has less than `min_free` bytes
// available to us.
absl::Status CheckFreeSpace(const std::string& path, uint64_t min_free) {
  if (min_free == 0) return absl::OkStatus();
  struct statvfs vfs;
  if (statvfs(path.c_str(), &vfs) != 0) return absl::OkStatus();  // the write will tell
  const uint64_t free = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (free >= min_free) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "the file system of the data dir ", path, " has ", free >> 20, " MiB free, under the ",
      min_free >> 20, " MiB reserve (--min-free-disk-mb); writes are refused: free disk "
      "space, then restart taskhubd"));
}

template <typename Msg>
absl::Status Parse(const rocksdb::Slice& v, Msg* out, absl::string_view what) {
  if (!out->ParseFromArray(v.data(), static_cast<int>(v.size()))) {
    return absl::DataLossError(absl::StrCat("corrupt ", what, " record in the store"));
  }
  return absl::OkStatus();
}

// Keys are decoded by length: a key too short for its layout is corruption, not
// an out-of-bounds read.
absl::Status CorruptKey(absl::string_view what, const rocksdb::Slice& k) {
  return absl::DataLossError(absl::StrCat("corrupt ", what, " key in the store: '",
                                          absl::CHexEscape(absl::string_view(k.data(), k.size())),
                                          "'"));
}

class RocksDbBackend : public Backend {
 public:
  RocksDbBackend(std::unique_ptr<rocksdb::DB> db, const RocksDbOptions& options)
      : db_(std::move(db)),
        path_(options.path),
        min_free_(options.min_free_disk_bytes),
        compact_after_(options.compact_after_deletes),
        compactor_([this] { CompactLoop(); }) {
    write_options_.sync = options.sync;
  }
  ~RocksDbBackend() override {
    {
      absl::MutexLock l(&compact_mu_);
      stopping_ = true;
    }
    compactor_.join();
    // A clean stop flushes the memtables, so that the next start-up does not replay
    // up to a write buffer's worth of WAL. Not after a failed write (a full disk).
    bool healthy;
    {
      absl::MutexLock l(&mu_);
      healthy = sticky_.ok();
    }
    if (healthy) {
      rocksdb::Status s = db_->Flush(rocksdb::FlushOptions());
      if (!s.ok()) Logger("storage")->warn("flush at shutdown failed: {}", s.ToString());
    }
  }

  absl::Status Commit(const WriteSet& ws) override {
    {
      absl::MutexLock l(&mu_);
      RETURN_IF_ERROR(sticky_);
    }
    rocksdb::WriteBatch batch;
    std::string buf;
    // Instances whose history or inbox this WriteSet writes before it may delete them:
    // their deletion is a range deletion (the keys are not in the store yet).
    absl::flat_hash_set<std::string> written;
    DeletedRanges deleted;
    for (const auto& op : ws.ops) {
      if (auto* a = std::get_if<AppendHistory>(&op)) written.insert(a->instance_id);
      if (auto* pi = std::get_if<PutInbox>(&op)) written.insert(pi->instance_id);
      RETURN_IF_ERROR(AddToBatch(op, written, &batch, &buf, &deleted));
    }
    batch.Put(keys::Meta("max_seq"), std::to_string(ws.max_seq));
    absl::Status st = CheckFreeSpace(path_, min_free_);
    if (st.ok()) st = FromRocks(db_->Write(write_options_, &batch), "commit");
    if (st.ok()) written_bytes_.fetch_add(batch.GetDataSize(), std::memory_order_relaxed);
    if (!st.ok()) {
      absl::MutexLock l(&mu_);
      sticky_ = st;
      Logger("storage")->critical("store write failed; refusing further writes: {}",
                                  st.ToString());
      return st;
    }
    if (deleted.count > 0) NoteDeleted(deleted);
    return st;
  }

  absl::StatusOr<std::optional<store::InstanceRecord>> GetInstance(
      const std::string& id) override {
    std::string v;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), keys::Instance(id), &v);
    if (s.IsNotFound()) return std::optional<store::InstanceRecord>();
    RETURN_IF_ERROR(FromRocks(s, "read instance"));
    store::InstanceRecord rec;
    RETURN_IF_ERROR(Parse(v, &rec, "instance"));
    return std::optional<store::InstanceRecord>(std::move(rec));
  }

  absl::StatusOr<std::vector<HistoryEvent>> GetHistory(const std::string& id) override {
    std::vector<HistoryEvent> out;
    const std::string prefix = keys::HistoryPrefix(id);
    RETURN_IF_ERROR(Scan(prefix, [&](const rocksdb::Slice&, const rocksdb::Slice& v) {
      HistoryChunk chunk;
      RETURN_IF_ERROR(Parse(v, &chunk, "history"));
      for (auto& e : *chunk.mutable_events()) out.push_back(std::move(e));
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<RecoveryState> LoadRecoveryState() override {
    RecoveryState s;
    for (OrchestrationStatus st :
         {ORCHESTRATION_STATUS_RUNNING, ORCHESTRATION_STATUS_CONTINUED_AS_NEW,
          ORCHESTRATION_STATUS_PENDING, ORCHESTRATION_STATUS_SUSPENDED}) {
      std::vector<std::string> ids;
      const std::string prefix = keys::StatusIndexPrefix(st);
      RETURN_IF_ERROR(Scan(prefix, [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
        if (k.size() < prefix.size() + 8) return CorruptKey("status index", k);
        ids.emplace_back(k.data() + prefix.size() + 8, k.size() - prefix.size() - 8);
        return absl::OkStatus();
      }));
      for (const auto& id : ids) {
        ASSIGN_OR_RETURN(auto rec, GetInstance(id));
        if (rec) s.live_instances.push_back(std::move(*rec));
      }
    }
    const std::string inbox(1, keys::kInbox);
    RETURN_IF_ERROR(Scan(inbox, [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
      if (k.size() < 1 + 9) return CorruptKey("inbox", k);
      InboxItem item;
      item.instance_id.assign(k.data() + 1, k.size() - 1 - 9);
      item.seq = keys::GetU64(std::string_view(k.data() + k.size() - 8, 8));
      RETURN_IF_ERROR(Parse(v, &item.event, "inbox"));
      s.inbox.push_back(std::move(item));
      return absl::OkStatus();
    }));
    RETURN_IF_ERROR(Scan(std::string(1, keys::kActivity),
                         [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
                           if (k.size() != 1 + 8) return CorruptKey("activity", k);
                           ActivityItem item;
                           item.seq = keys::GetU64(std::string_view(k.data() + 1, 8));
                           RETURN_IF_ERROR(Parse(v, &item.task, "activity"));
                           s.activities.push_back(std::move(item));
                           return absl::OkStatus();
                         }));
    RETURN_IF_ERROR(Scan(std::string(1, keys::kTimer),
                         [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
                           if (k.size() != 1 + 16) return CorruptKey("timer", k);
                           TimerItem item;
                           item.fire_us = keys::GetI64(std::string_view(k.data() + 1, 8));
                           item.seq = keys::GetU64(std::string_view(k.data() + 9, 8));
                           RETURN_IF_ERROR(Parse(v, &item.timer, "timer"));
                           s.timers.push_back(std::move(item));
                           return absl::OkStatus();
                         }));
    RETURN_IF_ERROR(Scan(std::string(1, keys::kMessage),
                         [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
                           if (k.size() != 1 + 8) return CorruptKey("message", k);
                           MessageItem item;
                           item.seq = keys::GetU64(std::string_view(k.data() + 1, 8));
                           RETURN_IF_ERROR(Parse(v, &item.message, "message"));
                           s.messages.push_back(std::move(item));
                           return absl::OkStatus();
                         }));
    RETURN_IF_ERROR(Scan(std::string(1, keys::kNotification),
                         [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
                           if (k.size() != 1 + 8) return CorruptKey("notification", k);
                           NotificationItem item;
                           item.seq = keys::GetU64(std::string_view(k.data() + 1, 8));
                           RETURN_IF_ERROR(Parse(v, &item.notification, "notification"));
                           s.notifications.push_back(std::move(item));
                           return absl::OkStatus();
                         }));
    std::string v;
    rocksdb::Status st = db_->Get(rocksdb::ReadOptions(), keys::Meta("max_seq"), &v);
    if (st.ok() && !absl::SimpleAtoi(v, &s.max_seq)) {
      return absl::DataLossError(absl::StrCat("corrupt max_seq record in the store: '",
                                              absl::CHexEscape(v), "'"));
    }
    if (!st.ok() && !st.IsNotFound()) RETURN_IF_ERROR(FromRocks(st, "read max_seq"));
    return s;
  }

  absl::StatusOr<InstancePage> QueryInstances(const InstanceFilter& f) override;

  // Key-only scans of the status index.
  absl::StatusOr<InstanceCounts> CountInstances() override {
    InstanceCounts counts;
    for (int status = 0; status < 8; ++status) {
      const std::string prefix = keys::StatusIndexPrefix(status);
      RETURN_IF_ERROR(Scan(prefix, [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
        if (k.size() < prefix.size() + 8) return CorruptKey("status index", k);
        const bool entity = k.size() > prefix.size() + 8 && k[prefix.size() + 8] == '@';
        ++(entity ? counts.entities : counts.by_status[status]);
        return absl::OkStatus();
      }));
    }
    return counts;
  }

  void CollectStats(std::vector<StorageStat>* out) const override {
    out->push_back({"storage_written_bytes_total",
                    "Bytes of write batches committed to RocksDB.",
                    true,
                    {},
                    static_cast<double>(written_bytes_.load())});
    uint64_t v = 0;
    if (db_->GetIntProperty(rocksdb::DB::Properties::kLiveSstFilesSize, &v)) {
      out->push_back({"storage_live_sst_bytes",
                      "Size of the live RocksDB SST files.",
                      false,
                      {},
                      static_cast<double>(v)});
    }
    if (db_->GetIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &v)) {
      out->push_back({"storage_memtable_bytes",
                      "Size of the RocksDB memtables.",
                      false,
                      {},
                      static_cast<double>(v)});
    }
  }

 private:
  // The key ranges a commit deleted index and record keys in (for CompactLoop).
  struct DeletedRanges {
    size_t count = 0;  // instances deleted
    std::map<std::string, std::pair<std::string, std::string>> by_prefix;  // [first, last]
    void Add(const std::string& prefix, const std::string& key) {
      auto [it, fresh] = by_prefix.try_emplace(prefix, key, key);
      if (fresh) return;
      it->second.first = std::min(it->second.first, key);
      it->second.second = std::max(it->second.second, key);
    }
  };
  absl::Status AddToBatch(const WriteOp& op, const absl::flat_hash_set<std::string>& written,
                          rocksdb::WriteBatch* b, std::string* buf, DeletedRanges* deleted);
  // Point-deletes every stored key starting with `prefix` (a range deletion per
  // instance would leave range tombstones that every later read pays for).
  absl::Status DeleteStoredPrefix(const std::string& prefix, rocksdb::WriteBatch* b);
  // Records deleted ranges; wakes CompactLoop once max(compact_after_, every instance
  // deleted before the last compaction) were deleted since: a compaction rewrites the
  // level-0 files whatever the range, so their number grows with log(deleted) only.
  void NoteDeleted(const DeletedRanges& d);
  // The background thread: compacts the index ranges purges deleted in, so that index
  // scans (queries, the next purge, retention) do not step over their tombstones.
  void CompactLoop();

  // Calls fn(key, value) for every key starting with `prefix`, in order. The iterator
  // is bounded by the prefix: it never steps over deleted keys beyond it.
  template <typename Fn>
  absl::Status Scan(const std::string& prefix, Fn fn) {
    const std::string end = keys::PrefixEnd(prefix);
    rocksdb::Slice upper(end);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      RETURN_IF_ERROR(fn(it->key(), it->value()));
    }
    return FromRocks(it->status(), "scan");
  }

  std::unique_ptr<rocksdb::DB> db_;
  const std::string path_;
  const uint64_t min_free_;
  rocksdb::WriteOptions write_options_;
  absl::Mutex mu_;
  absl::Status sticky_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> written_bytes_{0};
  const size_t compact_after_;
  absl::Mutex compact_mu_;
  bool stopping_ ABSL_GUARDED_BY(compact_mu_) = false;
  DeletedRanges to_compact_ ABSL_GUARDED_BY(compact_mu_);
  size_t compacted_ ABSL_GUARDED_BY(compact_mu_) = 0;  // instances deleted before the last
  std::thread compactor_;  // last: started once every other member is constructed
};

absl::Status RocksDbBackend::DeleteStoredPrefix(const std::string& prefix,
                                                rocksdb::WriteBatch* b) {
  return Scan(prefix, [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
    b->Delete(k);
    return absl::OkStatus();
  });
}

void RocksDbBackend::NoteDeleted(const DeletedRanges& d) {
  absl::MutexLock l(&compact_mu_);
  to_compact_.count += d.count;
  for (const auto& [prefix, range] : d.by_prefix) {
    to_compact_.Add(prefix, range.first);
    to_compact_.Add(prefix, range.second);
  }
}

void RocksDbBackend::CompactLoop() {
  while (true) {
    DeletedRanges work;
    {
      absl::MutexLock l(&compact_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(compact_mu_) {
        return stopping_ || (compact_after_ > 0 &&
                             to_compact_.count >= std::max(compact_after_, compacted_));
      };
      compact_mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      std::swap(work, to_compact_);
      compacted_ += work.count;
    }
    const absl::Time t0 = absl::Now();
    for (const auto& [prefix, range] : work.by_prefix) {
      const std::string end = range.second + std::string(1, '\0');  // inclusive of the last
      rocksdb::Slice begin(range.first), limit(end);
      rocksdb::CompactRangeOptions co;
      co.exclusive_manual_compaction = false;
      rocksdb::Status s = db_->CompactRange(co, &begin, &limit);
      if (!s.ok()) {
        Logger("storage")->warn("compacting purged keys failed (reads may slow down): {}",
                                s.ToString());
      }
    }
    Logger("storage")->debug("compacted the keys of {} purged instances in {}", work.count,
                             absl::FormatDuration(absl::Now() - t0));
  }
}

void PutIndexes(rocksdb::WriteBatch* b, const std::string& id, const IndexedFields& f) {
  b->Put(keys::StatusIndex(f.status, f.created_us, id), "");
  b->Put(keys::CreatedIndex(f.created_us, id), "");
}
void DeleteIndexes(rocksdb::WriteBatch* b, const std::string& id, const IndexedFields& f) {
  b->Delete(keys::StatusIndex(f.status, f.created_us, id));
  b->Delete(keys::CreatedIndex(f.created_us, id));
}

absl::Status RocksDbBackend::AddToBatch(const WriteOp& op,
                                        const absl::flat_hash_set<std::string>& written,
                                        rocksdb::WriteBatch* b, std::string* buf,
                                        DeletedRanges* deleted) {
  buf->clear();
  if (auto* p = std::get_if<PutInstance>(&op)) {
    const std::string& id = p->record.instance_id();
    const IndexedFields now = IndexedFields::Of(p->record);
    if (!p->previous || !(*p->previous == now)) {
      if (p->previous) DeleteIndexes(b, id, *p->previous);
      PutIndexes(b, id, now);
    }
    p->record.SerializeToString(buf);
    b->Put(keys::Instance(id), *buf);
  } else if (auto* d = std::get_if<DeleteInstance>(&op)) {
    const std::string& id = d->instance_id;
    DeleteIndexes(b, id, d->previous);
    b->Delete(keys::Instance(id));
    ++deleted->count;
    deleted->Add(keys::StatusIndexPrefix(d->previous.status),
                 keys::StatusIndex(d->previous.status, d->previous.created_us, id));
    deleted->Add(std::string(1, keys::kCreatedIndex),
                 keys::CreatedIndex(d->previous.created_us, id));
    const std::string h = keys::HistoryPrefix(id);
    const std::string q = keys::InboxPrefix(id);
    if (written.contains(id)) {
      b->DeleteRange(h, keys::PrefixEnd(h));
      b->DeleteRange(q, keys::PrefixEnd(q));
    } else {
      RETURN_IF_ERROR(DeleteStoredPrefix(h, b));
      RETURN_IF_ERROR(DeleteStoredPrefix(q, b));
    }
  } else if (auto* a = std::get_if<AppendHistory>(&op)) {
    HistoryChunk chunk;
    for (const auto& e : a->events) *chunk.add_events() = e;
    chunk.SerializeToString(buf);
    b->Put(keys::History(a->instance_id, a->first_index), *buf);
  } else if (auto* c = std::get_if<ClearHistory>(&op)) {
    const std::string h = keys::HistoryPrefix(c->instance_id);
    b->DeleteRange(h, keys::PrefixEnd(h));
  } else if (auto* pi = std::get_if<PutInbox>(&op)) {
    pi->event.SerializeToString(buf);
    b->Put(keys::Inbox(pi->instance_id, pi->seq), *buf);
  } else if (auto* di = std::get_if<DeleteInbox>(&op)) {
    b->Delete(keys::Inbox(di->instance_id, di->seq));
  } else if (auto* pa = std::get_if<PutActivity>(&op)) {
    pa->task.SerializeToString(buf);
    b->Put(keys::Activity(pa->seq), *buf);
  } else if (auto* da = std::get_if<DeleteActivity>(&op)) {
    b->Delete(keys::Activity(da->seq));
  } else if (auto* pt = std::get_if<PutTimer>(&op)) {
    pt->timer.SerializeToString(buf);
    b->Put(keys::Timer(pt->fire_us, pt->seq), *buf);
  } else if (auto* dt = std::get_if<DeleteTimer>(&op)) {
    b->Delete(keys::Timer(dt->fire_us, dt->seq));
  } else if (auto* pm = std::get_if<PutMessage>(&op)) {
    pm->message.SerializeToString(buf);
    b->Put(keys::Message(pm->seq), *buf);
  } else if (auto* dm = std::get_if<DeleteMessage>(&op)) {
    b->Delete(keys::Message(dm->seq));
  } else if (auto* pn = std::get_if<PutNotification>(&op)) {
    pn->notification.SerializeToString(buf);
    b->Put(keys::Notification(pn->seq), *buf);
  } else if (auto* dn = std::get_if<DeleteNotification>(&op)) {
    b->Delete(keys::Notification(dn->seq));
  } else if (std::holds_alternative<DeleteEverything>(op)) {
    b->DeleteRange(std::string(1, keys::kInstance), std::string(1, '\x7F'));
  }
  return absl::OkStatus();
}

// One sorted source of (created_us, id) candidates: an index iterator.
struct IndexCursor {
  std::unique_ptr<rocksdb::Iterator> it;
  std::string prefix;  // the index prefix before <created_us><id>
  // Keys too short for <created_us> are skipped (they cannot be written by this server).
  bool Valid() {
    while (it->Valid() && it->key().starts_with(prefix) && it->key().size() < prefix.size() + 8) {
      it->Next();
    }
    return it->Valid() && it->key().starts_with(prefix);
  }
  int64_t created() const { return keys::GetI64(std::string_view(it->key().data() + prefix.size(), 8)); }
  std::string id() const {
    return std::string(it->key().data() + prefix.size() + 8, it->key().size() - prefix.size() - 8);
  }
};

absl::StatusOr<InstancePage> RocksDbBackend::QueryInstances(const InstanceFilter& f) {
  ASSIGN_OR_RETURN(std::optional<DecodedToken> token, DecodeQueryToken(f));
  const bool by_prefix = !f.id_prefix.empty();
  const size_t page = f.page_size <= 0 ? 100 : static_cast<size_t>(f.page_size);
  InstancePage out;
  auto emit = [&](store::InstanceRecord rec, std::string next_token) -> bool {
    if (out.records.size() == page) {
      out.continuation = std::move(next_token);
      return false;
    }
    out.records.push_back(std::move(rec));
    return true;
  };
  if (by_prefix) {
    const std::string prefix = keys::Instance(f.id_prefix);
    const std::string end = keys::PrefixEnd(prefix);
    rocksdb::Slice upper(end);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
    // The token is a position (ids after it); one not made by this query may point
    // before the prefix range: start no earlier than the range, as the model does.
    it->Seek(token ? std::max(keys::Instance(token->id), prefix) : prefix);
    if (token && it->Valid() && it->key() == keys::Instance(token->id)) it->Next();
    std::string last;
    for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
      store::InstanceRecord rec;
      RETURN_IF_ERROR(Parse(it->value(), &rec, "instance"));
      if (!MatchesFilter(rec, f)) continue;
      const std::string tok = out.records.empty() ? "" : EncodePrefixToken(out.records.back().instance_id());
      if (!emit(std::move(rec), tok)) break;
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "query"));
    return out;
  }
  // Merge the per-status index ranges (or the created-time index) in (created, id) order.
  std::vector<IndexCursor> cursors;
  std::vector<std::string> prefixes;
  if (f.statuses.empty()) {
    prefixes.push_back(std::string(1, keys::kCreatedIndex));
  } else {
    std::vector<OrchestrationStatus> sts = f.statuses;
    std::sort(sts.begin(), sts.end());
    sts.erase(std::unique(sts.begin(), sts.end()), sts.end());
    for (auto s : sts) prefixes.push_back(keys::StatusIndexPrefix(s));
  }
  int64_t start_us = f.created_from ? core::ToMicros(*f.created_from) : INT64_MIN;
  if (token) start_us = std::max(start_us, token->created_us);
  const int64_t end_us = f.created_to ? core::ToMicros(*f.created_to) : INT64_MAX;
  std::vector<std::string> ends;  // iterate_upper_bound slices point into it: sized first
  ends.reserve(prefixes.size());
  std::vector<rocksdb::Slice> uppers;
  uppers.reserve(prefixes.size());
  for (const auto& p : prefixes) {
    std::string end = p;
    keys::PutI64(&end, end_us);
    ends.push_back(keys::PrefixEnd(std::move(end)));  // past every id at created end_us
    uppers.emplace_back(ends.back());
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &uppers.back();
    IndexCursor c{std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(ro)), p};
    std::string seek = p;
    keys::PutI64(&seek, start_us);
    c.it->Seek(seek);
    cursors.push_back(std::move(c));
  }
  while (true) {
    IndexCursor* best = nullptr;
    for (auto& c : cursors) {
      if (!c.Valid()) continue;
      if (best == nullptr || std::make_pair(c.created(), c.id()) < std::make_pair(best->created(), best->id())) {
        best = &c;
      }
    }
    if (best == nullptr || best->created() > end_us) break;
    const int64_t created = best->created();
    const std::string id = best->id();
    best->it->Next();
    if (token && std::make_pair(created, id) <= std::make_pair(token->created_us, token->id)) continue;
    ASSIGN_OR_RETURN(auto rec, GetInstance(id));
    if (!rec || !MatchesFilter(*rec, f)) continue;
    const std::string tok = out.records.empty() ? "" : EncodeCreatedToken(
        IndexedFields::Of(out.records.back()).created_us, out.records.back().instance_id());
    if (!emit(std::move(*rec), tok)) break;
  }
  for (auto& c : cursors) RETURN_IF_ERROR(FromRocks(c.it->status(), "query"));
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> OpenRocksDbBackend(const RocksDbOptions& options) {
  rocksdb::Options opts;
  opts.create_if_missing = true;
  if (options.env != nullptr) opts.env = options.env;
  if (options.write_buffer_bytes != 0) opts.write_buffer_size = options.write_buffer_bytes;
  opts.info_log = std::make_shared<SpdLogger>();
  // Corruption stops the open (and reads) with an error instead of being skipped.
  opts.paranoid_checks = true;
  // A WAL record that fails its checksum, or is missing, stops recovery with an error
  // (point-in-time recovery, the default, would silently drop every later write,
  // acknowledged ones included). Only an incomplete record at the very end of a WAL,
  // which is a write cut short by a crash before it was synced and acknowledged, is
  // dropped.
  opts.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  RETURN_IF_ERROR(CheckFreeSpace(options.path, options.min_free_disk_bytes));
  opts.IncreaseParallelism(2);
  opts.compression = rocksdb::kNoCompression;
  // SST files written with many deletions (purges) are compacted soon, dropping the
  // tombstones that index scans would otherwise step over.
  opts.table_properties_collector_factories.emplace_back(
      rocksdb::NewCompactOnDeletionCollectorFactory(16384, 8192));
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  // Index blocks live in the block cache (bounded) instead of beside it, where they
  // grow with the size of the store (and so with the number of finished instances).
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(opts, options.path, &raw),
                            absl::StrCat("cannot open the store in --data-dir ", options.path)));
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string format;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), keys::Meta("format"), &format);
  if (s.IsNotFound()) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    RETURN_IF_ERROR(FromRocks(db->Put(wo, keys::Meta("format"), keys::kFormatVersion),
                              "write format version"));
  } else {
    RETURN_IF_ERROR(FromRocks(s, "read format version"));
    if (format != keys::kFormatVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat("the store at ", options.path, " has format version ", format,
                       "; this taskhubd reads version ", keys::kFormatVersion));
    }
  }
  return std::unique_ptr<Backend>(new RocksDbBackend(std::move(db), options));
}

}  // namespace taskhub::storage
