// Entity scheduling: what an entity runs next, critical sections (lock forwarding,
// grant, unlock, cancel), messages reaching entities, and the unlocks an ending
// orchestration owes.
#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/core/entity.h"
#include "server/core/entity_internal.h"
#include "server/core/history.h"
#include "server/core/lifecycle_internal.h"

namespace taskhub::core {

using internal::ForInstance;

namespace {

const std::string& UnlockOwner(const EntityUnlockSentEvent& u) {
  return u.parentinstanceid().value();
}

// True when lock request `lock` and unlock `unlock` name the same critical section (and
// the same owner, when the unlock names one).
bool SameSection(const EntityLockRequestedEvent& lock, const EntityUnlockSentEvent& unlock) {
  if (lock.criticalsectionid() != unlock.criticalsectionid()) return false;
  return !unlock.has_parentinstanceid() ||
         unlock.parentinstanceid().value() == lock.parentinstanceid().value();
}

// The position of the queued partner of inbox[i] (a lock request's unlock, or an unlock's
// lock request) for the same section; npos when none.
size_t QueuedPartner(const InstanceState& state, size_t i) {
  const HistoryEvent& ev = *state.inbox[i];
  for (size_t j = 0; j < state.inbox.size(); ++j) {
    if (j == i) continue;
    const HistoryEvent& other = *state.inbox[j];
    if (ev.has_entitylockrequested() && other.has_entityunlocksent() &&
        SameSection(ev.entitylockrequested(), other.entityunlocksent())) {
      return j;
    }
    if (ev.has_entityunlocksent() && other.has_entitylockrequested() &&
        SameSection(other.entitylockrequested(), ev.entityunlocksent())) {
      return j;
    }
  }
  return std::string::npos;
}

// A kServer step that removes the queued requests at `positions` and writes `rec`
// (deleting the entity when it is left empty).
EntityStep Server(const InstanceState& state, std::vector<size_t> positions,
                  store::InstanceRecord rec, absl::Time now, std::vector<Message> outbox = {}) {
  EntityStep step;
  step.kind = EntityStep::Kind::kServer;
  Transition& t = step.server;
  t.instance_id = rec.instance_id();
  std::sort(positions.begin(), positions.end());
  t.inbox_removed = positions;
  t.outbox = std::move(outbox);
  *rec.mutable_last_updated_time() = ToProto(now);
  internal::SetEntityRecordOrDelete(std::move(rec), state.inbox.size() - positions.size(), &t);
  return step;
}

// The lock request at inbox[i] and the unlock at inbox[j] (or the reverse) name the same
// section: the owner released it before the lock got here. Both are removed and the lock
// goes no further; the entities before this one in the set took the lock on the way
// (their own unlocks may have overtaken the request and been dropped as stray), so they
// are sent entityUnlockSent too (harmless where the owner's unlock already released them).
EntityStep Cancel(const InstanceState& state, size_t i, size_t j, absl::Time now) {
  const HistoryEvent& a = *state.inbox[i];
  const EntityLockRequestedEvent& req =
      a.has_entitylockrequested() ? a.entitylockrequested() : state.inbox[j]->entitylockrequested();
  std::vector<Message> out;
  for (int p = 0; p < req.position() && p < req.lockset_size(); ++p) {
    HistoryEvent unlock = NewEvent(now);
    auto* u = unlock.mutable_entityunlocksent();
    u->set_criticalsectionid(req.criticalsectionid());
    *u->mutable_parentinstanceid() = req.parentinstanceid();
    out.push_back(internal::EntityMessage(req.lockset(p), std::move(unlock)));
  }
  return Server(state, {i, j}, *state.record, now, std::move(out));
}

// Takes the lock for the request at the front (position 0) and passes it on: to the next
// entity of the set, or, from the last one, kLockGranted to the owner.
EntityStep TakeLock(const InstanceState& state, absl::Time now) {
  const EntityLockRequestedEvent& req = state.inbox[0]->entitylockrequested();
  store::InstanceRecord rec = *state.record;
  const std::string& owner = req.parentinstanceid().value();
  if (owner.empty()) return Server(state, {0}, std::move(rec), now);  // no owner: dropped
  rec.mutable_entity()->set_locked_by(owner);
  rec.mutable_entity()->set_lock_critical_section(req.criticalsectionid());
  std::vector<Message> out;
  const int next = req.position() + 1;
  if (next >= 1 && next < req.lockset_size()) {
    HistoryEvent fwd = NewEvent(now);
    *fwd.mutable_entitylockrequested() = req;
    fwd.mutable_entitylockrequested()->set_position(next);
    out.push_back(internal::EntityMessage(req.lockset(next), std::move(fwd)));
  } else {
    Message granted;
    granted.kind = Message::Kind::kLockGranted;
    granted.target = owner;
    granted.event = NewEvent(now);
    granted.event.mutable_entitylockgranted()->set_criticalsectionid(req.criticalsectionid());
    granted.lock_set.assign(req.lockset().begin(), req.lockset().end());
    out.push_back(std::move(granted));
  }
  return Server(state, {0}, std::move(rec), now, std::move(out));
}

EntityStep NextUnlocked(const InstanceState& state, absl::Time now, size_t max_batch) {
  const HistoryEvent& front = *state.inbox[0];
  if (internal::IsEntityOperation(front)) {
    EntityStep step;
    step.kind = EntityStep::Kind::kBatch;
    for (size_t i = 0; i < state.inbox.size() && step.batch.size() < max_batch; ++i) {
      if (!internal::IsEntityOperation(*state.inbox[i])) break;
      step.batch.push_back(i);
    }
    return step;
  }
  if (front.has_entitylockrequested() || front.has_entityunlocksent()) {
    // A lock request whose unlock is queued too was cancelled by its owner; an unlock
    // whose lock request is queued cancels it; a lock request takes the lock; any other
    // unlock at the front of an unlocked entity is stray.
    if (const size_t partner = QueuedPartner(state, 0); partner != std::string::npos) {
      return Cancel(state, 0, partner, now);
    }
    if (front.has_entitylockrequested()) return TakeLock(state, now);
  }
  return Server(state, {0}, *state.record, now);  // stray unlock, or not a request
}

EntityStep NextLocked(const InstanceState& state, absl::Time now, size_t max_batch) {
  const store::EntityData& e = state.record->entity();
  EntityStep batch;
  batch.kind = EntityStep::Kind::kBatch;
  for (size_t i = 0; i < state.inbox.size() && batch.batch.size() < max_batch; ++i) {
    const HistoryEvent& ev = *state.inbox[i];
    if (ev.has_entityoperationcalled() &&
        ev.entityoperationcalled().parentinstanceid().value() == e.locked_by()) {
      batch.batch.push_back(i);  // the owner's call
      continue;
    }
    if (ev.has_entityunlocksent()) {
      const auto& u = ev.entityunlocksent();
      const bool owners = u.criticalsectionid() == e.lock_critical_section() &&
                          (!u.has_parentinstanceid() || UnlockOwner(u) == e.locked_by());
      if (owners) {
        if (!batch.batch.empty()) return batch;  // the owner's calls before its unlock
        store::InstanceRecord rec = *state.record;
        rec.mutable_entity()->clear_locked_by();
        rec.mutable_entity()->clear_lock_critical_section();
        return Server(state, {i}, std::move(rec), now);
      }
      if (batch.batch.empty()) {
        // An unlock cancelling a lock request queued behind the lock: remove both.
        if (const size_t partner = QueuedPartner(state, i); partner != std::string::npos) {
          return Cancel(state, i, partner, now);
        }
      }
    }
    // Anything else waits for the lock to be released.
  }
  if (!batch.batch.empty()) return batch;
  return EntityStep{};
}

// True when `history` holds the confirmation of a lock request for `section`.
bool RequestedLock(const std::vector<HistoryEvent>& history, const std::string& section) {
  return std::any_of(history.begin(), history.end(), [&](const HistoryEvent& e) {
    return e.has_entitylockrequested() && e.entitylockrequested().criticalsectionid() == section;
  });
}

}  // namespace

EntityStep NextEntityStep(const InstanceState& state, absl::Time now, size_t max_batch) {
  if (!state.live() || !IsEntity(*state.record) || state.inbox.empty()) return EntityStep{};
  max_batch = std::max<size_t>(max_batch, 1);
  if (state.record->entity().locked_by().empty()) return NextUnlocked(state, now, max_batch);
  return NextLocked(state, now, max_batch);
}

namespace internal {

bool ReceiveEntityMessage(const InstanceState& state, const Message& m, absl::Time now,
                          Transition* t) {
  switch (m.kind) {
    case Message::Kind::kEvent:
    case Message::Kind::kTerminate:
      if (!IsEntityId(m.target)) return false;
      if (m.kind == Message::Kind::kEvent) {
        // Entities created by a message get an execution id derived from the time.
        *t = QueueAtEntity(state, m.target, m.event,
                           absl::StrCat("entity-", absl::Hex(ToMicros(now))), now);
      }
      return true;  // (terminations never reach entities)
    case Message::Kind::kLockGranted: {
      if (state.live() && !IsEntity(*state.record) &&
          (state.history == nullptr ||
           RequestedLock(*state.history, m.event.entitylockgranted().criticalsectionid()))) {
        t->inbox_append.push_back(m.event);
        return true;
      }
      // The owner is gone (finished, purged), or its current execution never asked for
      // this section (it continued as new meanwhile): release what it was granted.
      for (const std::string& entity : m.lock_set) {
        HistoryEvent unlock = NewEvent(now);
        auto* u = unlock.mutable_entityunlocksent();
        u->set_criticalsectionid(m.event.entitylockgranted().criticalsectionid());
        u->mutable_parentinstanceid()->set_value(m.target);
        t->outbox.push_back(EntityMessage(entity, std::move(unlock)));
      }
      return true;
    }
    case Message::Kind::kStartChild:
      // An entity's startNewOrchestration (no parent): a live instance keeps running.
      if (!m.child.record.has_parent() && state.live()) return true;
      return IsEntityId(m.target);  // never start an orchestration under an entity id
    case Message::Kind::kRewindChild:
      return IsEntityId(m.target);
  }
  return false;
}

}  // namespace internal

std::vector<Message> UnlockMessagesFor(const std::string& instance_id,
                                       const std::vector<HistoryEvent>& history,
                                       const std::vector<HistoryEvent>& appended, absl::Time now) {
  std::set<std::pair<std::string, std::string>> unlocked;  // (entity, section)
  auto note_unlocks = [&](const std::vector<HistoryEvent>& events) {
    for (const auto& e : events) {
      if (!e.has_entityunlocksent()) continue;
      unlocked.emplace(e.entityunlocksent().targetinstanceid().value(),
                       e.entityunlocksent().criticalsectionid());
    }
  };
  note_unlocks(history);
  note_unlocks(appended);
  std::vector<Message> out;
  auto add_unlocks = [&](const std::vector<HistoryEvent>& events) {
    for (const auto& e : events) {
      if (!e.has_entitylockrequested()) continue;
      const auto& req = e.entitylockrequested();
      for (const std::string& entity : req.lockset()) {
        if (!unlocked.emplace(entity, req.criticalsectionid()).second) continue;
        HistoryEvent unlock = NewEvent(now);
        auto* u = unlock.mutable_entityunlocksent();
        u->set_criticalsectionid(req.criticalsectionid());
        u->mutable_parentinstanceid()->set_value(instance_id);
        out.push_back(internal::EntityMessage(entity, std::move(unlock)));
      }
    }
  };
  add_unlocks(history);
  add_unlocks(appended);
  return out;
}

}  // namespace taskhub::core
