#include "server/storage/azure/azure_rows.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/storage/azure/azure_layout.h"

namespace taskhub::storage::azrows {
namespace al = azlayout;
using azure::TableEntity;
using azure::TableValue;

namespace {

class Builder {
 public:
  Builder(int partition_count, RowSource* src) : n_(partition_count), src_(src) {}

  std::string Pk(const std::string& instance_id) const {
    return al::PartitionKey(al::PartitionOf(instance_id, n_));
  }

  void Put(const std::string& pk, const std::string& rk, std::string data,
           std::map<std::string, TableValue> props = {}) {
    RowWrite& w = t_.rows[{pk, rk}];
    w = RowWrite{};
    w.entity.partition_key = pk;
    w.entity.row_key = rk;
    w.entity.props = std::move(props);
    w.data = std::move(data);
  }
  void Delete(const std::string& pk, const std::string& rk) {
    RowWrite& w = t_.rows[{pk, rk}];
    w = RowWrite{};
    w.del = true;
    w.entity.partition_key = pk;
    w.entity.row_key = rk;
  }

  // Deletes every row of `pk` starting with one of `prefixes`: the stored ones, and
  // forgets the writes of this WriteSet to such rows.
  absl::Status DeletePrefixes(const std::string& pk, const std::vector<std::string>& prefixes) {
    for (const auto& p : prefixes) {
      auto it = t_.rows.lower_bound({pk, p});
      auto end = t_.rows.lower_bound({pk, al::RangeEnd(p)});
      t_.rows.erase(it, end);
    }
    ASSIGN_OR_RETURN(std::vector<StoredRow> stored, src_->ListRows(pk, prefixes));
    for (const auto& r : stored) {
      Delete(pk, r.row_key);
      if (!r.blob.empty()) t_.garbage_blobs.push_back(r.blob);
    }
    return absl::OkStatus();
  }
  // The blob of stored row `rk`, if any, becomes garbage once this commit succeeds.
  absl::Status Replaced(const std::string& pk, const std::string& rk) {
    ASSIGN_OR_RETURN(std::string blob, src_->BlobOf(pk, rk));
    if (!blob.empty()) t_.garbage_blobs.push_back(blob);
    return absl::OkStatus();
  }

  // A put of an a:/t:/m: row of `seq` in partition `p`.
  void NoteSeqPut(char kind, uint64_t seq, int p) {
    pending_[{kind, seq}] = p;
    t_.seq_changes.push_back({kind, seq, p});
  }
  // The delete of the a:/t:/m: row `rk` of `seq`.
  void SeqDelete(char kind, uint64_t seq, const std::string& rk) {
    auto pend = pending_.find({kind, seq});
    if (pend != pending_.end() && pend->second >= 0) {
      t_.rows.erase({al::PartitionKey(pend->second), rk});
    }
    const int stored = stored_gone_.count({kind, seq}) ? -1 : src_->SeqPartition(kind, seq);
    if (stored >= 0) {
      Delete(al::PartitionKey(stored), rk);
      Forget(al::PartitionKey(stored), rk);
    }
    stored_gone_.insert({kind, seq});
    pending_[{kind, seq}] = -1;
    t_.seq_changes.push_back({kind, seq, -1});
  }

  // The stored row (pk, rk) is deleted: its known blob becomes garbage.
  void Forget(const std::string& pk, const std::string& rk) {
    if (std::string blob = src_->KnownBlob(pk, rk); !blob.empty()) {
      t_.garbage_blobs.push_back(std::move(blob));
    }
  }

  absl::Status Add(const WriteOp& op);
  Translation Take() { return std::move(t_); }

 private:
  const int n_;
  RowSource* src_;
  Translation t_;
  std::map<std::pair<char, uint64_t>, int> pending_;
  std::set<std::pair<char, uint64_t>> stored_gone_;
};

std::map<std::string, TableValue> IndexProps(const store::InstanceRecord& r) {
  const IndexedFields f = IndexedFields::Of(r);
  return {{"Id", TableValue::String(r.instance_id())},
          {"Status", TableValue::Int64(f.status)},
          {"CreatedUs", TableValue::Int64(f.created_us)},
          {"CompletedUs", TableValue::Int64(f.completed_us)}};
}

absl::Status Builder::Add(const WriteOp& op) {
  if (auto* p = std::get_if<PutInstance>(&op)) {
    const std::string& id = p->record.instance_id();
    const std::string pk = Pk(id);
    const IndexedFields now = IndexedFields::Of(p->record);
    std::string data = p->record.SerializeAsString();
    if (p->previous && p->previous->created_us != now.created_us) {
      Delete(pk, al::CreatedRow(p->previous->created_us, id));
    }
    if (data.size() <= al::kIndexCopyMax) {
      Put(pk, al::CreatedRow(now.created_us, id), data, IndexProps(p->record));
    } else {
      auto props = IndexProps(p->record);
      props["NoCopy"] = TableValue::Bool(true);
      Put(pk, al::CreatedRow(now.created_us, id), "", std::move(props));
    }
    // A big record's blob is replaced by a new one (1 read; small records need none).
    if (p->previous && data.size() > al::kInlineMax) {
      RETURN_IF_ERROR(Replaced(pk, al::InstanceRow(id)));
    }
    Put(pk, al::InstanceRow(id), std::move(data), IndexProps(p->record));
  } else if (auto* d = std::get_if<DeleteInstance>(&op)) {
    const std::string pk = Pk(d->instance_id);
    RETURN_IF_ERROR(
        DeletePrefixes(pk, {al::HistoryPrefix(d->instance_id), al::InboxPrefix(d->instance_id)}));
    RETURN_IF_ERROR(Replaced(pk, al::InstanceRow(d->instance_id)));
    Delete(pk, al::InstanceRow(d->instance_id));
    Delete(pk, al::CreatedRow(d->previous.created_us, d->instance_id));
  } else if (auto* a = std::get_if<AppendHistory>(&op)) {
    HistoryChunk chunk;
    for (const auto& e : a->events) *chunk.add_events() = e;
    Put(Pk(a->instance_id), al::HistoryRow(a->instance_id, a->first_index),
        chunk.SerializeAsString());
  } else if (auto* c = std::get_if<ClearHistory>(&op)) {
    RETURN_IF_ERROR(DeletePrefixes(Pk(c->instance_id), {al::HistoryPrefix(c->instance_id)}));
  } else if (auto* pi = std::get_if<PutInbox>(&op)) {
    Put(Pk(pi->instance_id), al::InboxRow(pi->instance_id, pi->seq), pi->event.SerializeAsString(),
        {{"Id", TableValue::String(pi->instance_id)}});
  } else if (auto* di = std::get_if<DeleteInbox>(&op)) {
    Delete(Pk(di->instance_id), al::InboxRow(di->instance_id, di->seq));
    Forget(Pk(di->instance_id), al::InboxRow(di->instance_id, di->seq));
  } else if (auto* pa = std::get_if<PutActivity>(&op)) {
    const int part = al::PartitionOf(pa->task.instance_id(), n_);
    Put(al::PartitionKey(part), al::ActivityRow(pa->seq), pa->task.SerializeAsString());
    NoteSeqPut('a', pa->seq, part);
  } else if (auto* da = std::get_if<DeleteActivity>(&op)) {
    SeqDelete('a', da->seq, al::ActivityRow(da->seq));
  } else if (auto* pt = std::get_if<PutTimer>(&op)) {
    const int part = al::PartitionOf(pt->timer.instance_id(), n_);
    Put(al::PartitionKey(part), al::TimerRow(pt->fire_us, pt->seq), pt->timer.SerializeAsString());
    NoteSeqPut('t', pt->seq, part);
  } else if (auto* dt = std::get_if<DeleteTimer>(&op)) {
    SeqDelete('t', dt->seq, al::TimerRow(dt->fire_us, dt->seq));
  } else if (auto* pm = std::get_if<PutMessage>(&op)) {
    const int part = al::PartitionOf(pm->message.target(), n_);
    Put(al::PartitionKey(part), al::MessageRow(pm->seq), pm->message.SerializeAsString());
    NoteSeqPut('m', pm->seq, part);
  } else if (auto* dm = std::get_if<DeleteMessage>(&op)) {
    SeqDelete('m', dm->seq, al::MessageRow(dm->seq));
  } else if (auto* pn = std::get_if<PutNotification>(&op)) {
    Put(Pk(pn->notification.instance_id()), al::NotificationRow(pn->seq),
        pn->notification.SerializeAsString());
  } else if (auto* dn = std::get_if<DeleteNotification>(&op)) {
    Delete(Pk(dn->instance_id), al::NotificationRow(dn->seq));
  } else if (std::holds_alternative<DeleteEverything>(op)) {
    t_.rows.clear();
    t_.seq_changes.clear();
    t_.garbage_blobs.clear();  // the backend deletes every data blob
    pending_.clear();
    ASSIGN_OR_RETURN(std::vector<RowId> all, src_->ListAll());
    for (const auto& [pk, rk] : all) Delete(pk, rk);
    t_.delete_everything = true;
    // Every stored a:/t:/m: row is deleted now: later deletes of them find nothing.
    for (const auto& [pk, rk] : all) {
      if (rk.size() < 2 || rk[1] != ':') continue;
      const char kind = rk[0];
      if (kind == 'a' || kind == 'm') {
        if (auto seq = al::ParseNum(std::string_view(rk).substr(2)))
          stored_gone_.insert({kind, *seq});
      } else if (kind == 't' && rk.size() == 2 + 20 + 1 + 20) {
        if (auto seq = al::ParseNum(std::string_view(rk).substr(23)))
          stored_gone_.insert({kind, *seq});
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Translation> Translate(const WriteSet& ws, int partition_count, RowSource* src) {
  Builder b(partition_count, src);
  for (const auto& op : ws.ops) RETURN_IF_ERROR(b.Add(op));
  return b.Take();
}

void SetData(TableEntity* e, const std::string& data) {
  size_t k = 0;
  for (size_t off = 0; off < data.size() || off == 0; off += al::kChunk, ++k) {
    e->props[absl::StrCat("D", k)] = TableValue::Binary(data.substr(off, al::kChunk));
    if (data.empty()) break;
  }
}

absl::StatusOr<std::string> GetData(
    const TableEntity& e,
    const std::function<absl::StatusOr<std::string>(const std::string& blob)>& fetch) {
  auto blob = e.props.find("Blob");
  if (blob != e.props.end()) return fetch(blob->second.s);
  std::string out;
  for (int k = 0;; ++k) {
    auto it = e.props.find(absl::StrCat("D", k));
    if (it == e.props.end()) {
      if (k == 0) {
        return absl::DataLossError(
            absl::StrCat("row ", e.partition_key, "/", e.row_key, " of the task hub has no data"));
      }
      return out;
    }
    out += it->second.s;
  }
}

size_t WriteBytes(const RowWrite& w) {
  size_t n = 300 + w.entity.row_key.size() * 2 + w.data.size();
  for (const auto& [name, v] : w.entity.props) n += name.size() + 40 + v.s.size();
  return n;
}

bool TracksBlob(const std::string& row_key) {
  return row_key.size() > 2 && row_key[1] == ':' &&
         (row_key[0] == 'n' || row_key[0] == 'a' || row_key[0] == 't' || row_key[0] == 'm');
}

int64_t IntProp(const TableEntity& e, const std::string& name) {
  auto it = e.props.find(name);
  return it == e.props.end() ? 0 : it->second.i;
}
std::string StringProp(const TableEntity& e, const std::string& name) {
  auto it = e.props.find(name);
  return it == e.props.end() ? "" : it->second.s;
}

store::AzureLogRow ToLogRow(const RowWrite& w) {
  store::AzureLogRow r;
  r.set_partition_key(w.entity.partition_key);
  r.set_row_key(w.entity.row_key);
  r.set_delete_(w.del);
  for (const auto& [name, v] : w.entity.props) {
    auto* p = r.add_props();
    p->set_name(name);
    p->set_type(static_cast<int>(v.type));
    p->set_s(v.s);
    p->set_i(v.i);
  }
  return r;
}

RowWrite FromLogRow(const store::AzureLogRow& r) {
  RowWrite w;
  w.del = r.delete_();
  w.entity.partition_key = r.partition_key();
  w.entity.row_key = r.row_key();
  for (const auto& p : r.props()) {
    TableValue v;
    v.type = static_cast<TableValue::Type>(p.type());
    v.s = p.s();
    v.i = p.i();
    w.entity.props[p.name()] = std::move(v);
  }
  return w;
}

}  // namespace taskhub::storage::azrows
