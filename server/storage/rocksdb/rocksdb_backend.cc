#include "server/storage/rocksdb/rocksdb_backend.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/db.h"
#include "rocksdb/table.h"
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
      : db_(std::move(db)), path_(options.path), min_free_(options.min_free_disk_bytes) {
    write_options_.sync = options.sync;
  }

  absl::Status Commit(const WriteSet& ws) override {
    {
      absl::MutexLock l(&mu_);
      RETURN_IF_ERROR(sticky_);
    }
    rocksdb::WriteBatch batch;
    std::string buf;
    for (const auto& op : ws.ops) RETURN_IF_ERROR(AddToBatch(op, &batch, &buf));
    batch.Put(keys::Meta("max_seq"), std::to_string(ws.max_seq));
    absl::Status st = CheckFreeSpace(path_, min_free_);
    if (st.ok()) st = FromRocks(db_->Write(write_options_, &batch), "commit");
    if (!st.ok()) {
      absl::MutexLock l(&mu_);
      sticky_ = st;
      Logger("storage")->critical("store write failed; refusing further writes: {}",
                                  st.ToString());
    }
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

 private:
  absl::Status AddToBatch(const WriteOp& op, rocksdb::WriteBatch* b, std::string* buf);

  // Calls fn(key, value) for every key starting with `prefix`, in order.
  template <typename Fn>
  absl::Status Scan(const std::string& prefix, Fn fn) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
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
};

void PutIndexes(rocksdb::WriteBatch* b, const std::string& id, const IndexedFields& f) {
  b->Put(keys::StatusIndex(f.status, f.created_us, id), "");
  b->Put(keys::CreatedIndex(f.created_us, id), "");
}
void DeleteIndexes(rocksdb::WriteBatch* b, const std::string& id, const IndexedFields& f) {
  b->Delete(keys::StatusIndex(f.status, f.created_us, id));
  b->Delete(keys::CreatedIndex(f.created_us, id));
}

absl::Status RocksDbBackend::AddToBatch(const WriteOp& op, rocksdb::WriteBatch* b,
                                        std::string* buf) {
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
    DeleteIndexes(b, d->instance_id, d->previous);
    b->Delete(keys::Instance(d->instance_id));
    const std::string h = keys::HistoryPrefix(d->instance_id);
    b->DeleteRange(h, keys::PrefixEnd(h));
    const std::string q = keys::InboxPrefix(d->instance_id);
    b->DeleteRange(q, keys::PrefixEnd(q));
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
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    const std::string prefix = keys::Instance(f.id_prefix);
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
  for (const auto& p : prefixes) {
    IndexCursor c{std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(rocksdb::ReadOptions())), p};
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
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
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
