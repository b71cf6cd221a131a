#include "server/storage/memory/memory_backend.h"

#include <algorithm>

#include "server/common/status_macros.h"
#include "server/core/history.h"

namespace taskhub::storage {

void MemoryBackend::Apply(const WriteOp& op) {
  if (auto* p = std::get_if<PutInstance>(&op)) {
    instances_[p->record.instance_id()] = p->record;
  } else if (auto* d = std::get_if<DeleteInstance>(&op)) {
    instances_.erase(d->instance_id);
    history_.erase(d->instance_id);
    inbox_.erase(d->instance_id);
  } else if (auto* a = std::get_if<AppendHistory>(&op)) {
    auto& h = history_[a->instance_id];
    for (size_t i = 0; i < a->events.size(); ++i) h[a->first_index + i] = a->events[i];
  } else if (auto* c = std::get_if<ClearHistory>(&op)) {
    history_.erase(c->instance_id);
  } else if (auto* pi = std::get_if<PutInbox>(&op)) {
    inbox_[pi->instance_id][pi->seq] = pi->event;
  } else if (auto* di = std::get_if<DeleteInbox>(&op)) {
    auto it = inbox_.find(di->instance_id);
    if (it != inbox_.end()) {
      it->second.erase(di->seq);
      if (it->second.empty()) inbox_.erase(it);
    }
  } else if (auto* pa = std::get_if<PutActivity>(&op)) {
    activities_[pa->seq] = pa->task;
  } else if (auto* da = std::get_if<DeleteActivity>(&op)) {
    activities_.erase(da->seq);
  } else if (auto* pt = std::get_if<PutTimer>(&op)) {
    timers_[{pt->fire_us, pt->seq}] = pt->timer;
  } else if (auto* dt = std::get_if<DeleteTimer>(&op)) {
    timers_.erase({dt->fire_us, dt->seq});
  } else if (auto* pm = std::get_if<PutMessage>(&op)) {
    messages_[pm->seq] = pm->message;
  } else if (auto* dm = std::get_if<DeleteMessage>(&op)) {
    messages_.erase(dm->seq);
  } else if (auto* pn = std::get_if<PutNotification>(&op)) {
    notifications_[pn->seq] = pn->notification;
  } else if (auto* dn = std::get_if<DeleteNotification>(&op)) {
    notifications_.erase(dn->seq);
  } else if (std::holds_alternative<DeleteEverything>(op)) {
    messages_.clear();
    notifications_.clear();
    instances_.clear();
    history_.clear();
    inbox_.clear();
    activities_.clear();
    timers_.clear();
  }
}

absl::Status MemoryBackend::Commit(const WriteSet& ws) {
  absl::MutexLock l(&mu_);
  for (const auto& op : ws.ops) Apply(op);
  max_seq_ = std::max(max_seq_, ws.max_seq);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<store::InstanceRecord>> MemoryBackend::GetInstance(
    const std::string& instance_id) {
  absl::MutexLock l(&mu_);
  auto it = instances_.find(instance_id);
  if (it == instances_.end()) return std::optional<store::InstanceRecord>();
  return std::optional<store::InstanceRecord>(it->second);
}

absl::StatusOr<std::vector<HistoryEvent>> MemoryBackend::GetHistory(
    const std::string& instance_id) {
  absl::MutexLock l(&mu_);
  std::vector<HistoryEvent> out;
  auto it = history_.find(instance_id);
  if (it == history_.end()) return out;
  for (const auto& [idx, e] : it->second) out.push_back(e);
  return out;
}

absl::StatusOr<RecoveryState> MemoryBackend::LoadRecoveryState() {
  absl::MutexLock l(&mu_);
  RecoveryState s;
  for (const auto& [id, rec] : instances_) {
    if (!core::IsTerminal(rec.status())) s.live_instances.push_back(rec);
  }
  for (const auto& [id, events] : inbox_) {
    for (const auto& [seq, e] : events) s.inbox.push_back({id, seq, e});
  }
  for (const auto& [seq, t] : activities_) s.activities.push_back({seq, t});
  for (const auto& [key, t] : timers_) s.timers.push_back({key.first, key.second, t});
  for (const auto& [seq, m] : messages_) s.messages.push_back({seq, m});
  for (const auto& [seq, n] : notifications_) s.notifications.push_back({seq, n});
  s.max_seq = max_seq_;
  return s;
}

absl::StatusOr<InstancePage> MemoryBackend::QueryInstances(const InstanceFilter& f) {
  ASSIGN_OR_RETURN(std::optional<DecodedToken> token, DecodeQueryToken(f));
  const bool by_prefix = !f.id_prefix.empty();
  std::vector<store::InstanceRecord> matches;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [id, rec] : instances_) {
      if (MatchesFilter(rec, f)) matches.push_back(rec);
    }
  }
  auto key = [](const store::InstanceRecord& r) {
    return std::make_pair(IndexedFields::Of(r).created_us, r.instance_id());
  };
  if (!by_prefix) {
    std::sort(matches.begin(), matches.end(),
              [&](const auto& a, const auto& b) { return key(a) < key(b); });
  }
  const size_t page = f.page_size <= 0 ? 100 : static_cast<size_t>(f.page_size);
  InstancePage out;
  for (const auto& rec : matches) {
    if (token) {
      const bool after = by_prefix ? rec.instance_id() > token->id
                                   : key(rec) > std::make_pair(token->created_us, token->id);
      if (!after) continue;
    }
    if (out.records.size() == page) {
      const auto& last = out.records.back();
      out.continuation = by_prefix ? EncodePrefixToken(last.instance_id())
                                   : EncodeCreatedToken(key(last).first, last.instance_id());
      break;
    }
    out.records.push_back(rec);
  }
  return out;
}

}  // namespace taskhub::storage
