// Builders shared by the entity tests: request events, entity fixtures, and a tiny
// in-memory world that applies Transitions and delivers messages (for scenarios).
#ifndef TASKHUB_SERVER_CORE_ENTITY_TEST_SUPPORT_H_
#define TASKHUB_SERVER_CORE_ENTITY_TEST_SUPPORT_H_

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/core/entity.h"
#include "server/core/lifecycle_test_support.h"

namespace taskhub::core::testing {

inline HistoryEvent Sig(const std::string& req, const std::string& op = "add") {
  HistoryEvent e = NewEvent(kNow - absl::Minutes(1));
  e.mutable_entityoperationsignaled()->set_requestid(req);
  e.mutable_entityoperationsignaled()->set_operation(op);
  return e;
}

inline HistoryEvent Call(const std::string& owner, const std::string& req,
                         const std::string& exec = "") {
  HistoryEvent e = NewEvent(kNow - absl::Minutes(1));
  auto* c = e.mutable_entityoperationcalled();
  c->set_requestid(req);
  c->set_operation("get");
  c->mutable_parentinstanceid()->set_value(owner);
  if (!exec.empty()) c->mutable_parentexecutionid()->set_value(exec);
  return e;
}

inline HistoryEvent Lock(const std::string& owner, const std::string& section,
                         const std::vector<std::string>& set, int position = 0) {
  HistoryEvent e = NewEvent(kNow - absl::Minutes(1));
  auto* l = e.mutable_entitylockrequested();
  l->set_criticalsectionid(section);
  for (const auto& s : set) l->add_lockset(s);
  l->set_position(position);
  l->mutable_parentinstanceid()->set_value(owner);
  return e;
}

inline HistoryEvent Unlock(const std::string& owner, const std::string& section) {
  HistoryEvent e = NewEvent(kNow - absl::Minutes(1));
  e.mutable_entityunlocksent()->set_criticalsectionid(section);
  e.mutable_entityunlocksent()->mutable_parentinstanceid()->set_value(owner);
  return e;
}

// `e` as a confirmation in an orchestration's history (eventId = action id).
inline HistoryEvent Confirmed(HistoryEvent e, int id) {
  e.set_eventid(id);
  return e;
}

// An unlock confirmation naming its target.
inline HistoryEvent UnlockTo(const std::string& entity, const std::string& section,
                             const std::string& owner = "o") {
  HistoryEvent e = Unlock(owner, section);
  e.mutable_entityunlocksent()->mutable_targetinstanceid()->set_value(entity);
  return e;
}

// An entity record "@counter@k" (or `id`) with optional state and lock.
inline store::InstanceRecord EntityRec(const std::string& id = "@counter@k",
                                       std::optional<std::string> state = std::nullopt,
                                       const std::string& locked_by = "",
                                       const std::string& section = "") {
  store::InstanceRecord r;
  r.set_instance_id(id);
  r.set_name(EntityNameOf(id));
  r.set_status(ORCHESTRATION_STATUS_RUNNING);
  r.set_execution_id("ee");
  *r.mutable_created_time() = ToProto(kNow - absl::Hours(1));
  *r.mutable_last_updated_time() = r.created_time();
  auto* e = r.mutable_entity();
  if (state) e->mutable_state()->set_value(*state);
  e->set_locked_by(locked_by);
  e->set_lock_critical_section(section);
  return r;
}

inline void SetUpEntity(Fixture* f, store::InstanceRecord rec,
                        const std::vector<HistoryEvent>& queue) {
  f->record = std::move(rec);
  f->inbox.assign(queue.begin(), queue.end());
}

// Applies `t` to `f` the way the engine does (records, inbox ops; deletion).
inline void ApplyTo(const Transition& t, Fixture* f) {
  if (t.discard_existing) {
    f->record.reset();
    f->history.clear();
    f->inbox.clear();
  }
  if (t.record) f->record = *t.record;
  if (t.reset_history) f->history.clear();
  f->history.insert(f->history.end(), t.history_append.begin(), t.history_append.end());
  for (size_t i = 0; i < t.inbox_consumed && !f->inbox.empty(); ++i) f->inbox.pop_front();
  for (auto it = t.inbox_removed.rbegin(); it != t.inbox_removed.rend(); ++it) {
    f->inbox.erase(f->inbox.begin() + static_cast<long>(*it));
  }
  f->inbox.insert(f->inbox.begin(), t.inbox_front.begin(), t.inbox_front.end());
  f->inbox.insert(f->inbox.end(), t.inbox_append.begin(), t.inbox_append.end());
  if (t.became_terminal) f->inbox.clear();
}

// A kEvent message carrying request `ev` to entity `target`.
inline Message ToEntity(const std::string& target, HistoryEvent ev) {
  Message m;
  m.kind = Message::Kind::kEvent;
  m.target = target;
  m.event = std::move(ev);
  return m;
}

// A world of instances by id, with a FIFO of messages in flight.
struct World {
  std::map<std::string, Fixture> instances;
  std::deque<Message> in_flight;
  SequentialIdGenerator gen{"w"};

  Fixture& At(const std::string& id) { return instances[id]; }
  // Applies `t` to its instance and queues its outbox.
  void Apply(const Transition& t) {
    ApplyTo(t, &At(t.instance_id));
    for (const auto& m : t.outbox) in_flight.push_back(m);
    for (const auto& d : t.delayed) in_flight.push_back(d.message);
  }
  // Delivers the oldest message in flight; false when none.
  bool DeliverOne(absl::Time now) {
    if (in_flight.empty()) return false;
    Message m = in_flight.front();
    in_flight.pop_front();
    Apply(Receive(At(m.target).State(), m, now));
    return true;
  }
};

// A worker for Settle: fills the result of a batch of `ops` over `state` (absent: no
// state). The default answers every operation with success and keeps the state.
using BatchWorker = std::function<void(const std::optional<std::string>& state,
                                       const std::vector<HistoryEvent>& ops,
                                       EntityBatchResult* result)>;

inline void KeepState(const std::optional<std::string>& state,
                      const std::vector<HistoryEvent>& ops, EntityBatchResult* r) {
  for (size_t i = 0; i < ops.size(); ++i) r->add_results()->mutable_success();
  if (state) r->mutable_entitystate()->set_value(*state);
}

// Runs `entities` the way the engine does (server steps at once, batches completed by
// `worker` at once) and delivers messages in between, until nothing moves. Checks that
// no operation but the lock owner's calls runs on a locked entity.
inline void Settle(World* w, const std::vector<std::string>& entities, int* batches,
                   const BatchWorker& worker = KeepState) {
  for (int guard = 0; guard < 1000; ++guard) {
    bool progress = w->DeliverOne(kNow);
    for (const auto& id : entities) {
      Fixture& f = w->At(id);
      EntityStep step = NextEntityStep(f.State(), kNow, 100);
      if (step.kind == EntityStep::Kind::kServer) {
        w->Apply(step.server);
        progress = true;
      } else if (step.kind == EntityStep::Kind::kBatch) {
        std::vector<HistoryEvent> ops;
        for (size_t p : step.batch) {
          ops.push_back(*f.State().inbox[p]);
          const auto& e = f.record->entity();
          if (!e.locked_by().empty()) {
            ASSERT_TRUE(ops.back().has_entityoperationcalled());
            ASSERT_EQ(ops.back().entityoperationcalled().parentinstanceid().value(),
                      e.locked_by());
          }
        }
        EntityResultCommand cmd;
        const auto& e = f.record->entity();
        worker(e.has_state() ? std::optional<std::string>(e.state().value()) : std::nullopt,
               ops, &cmd.result);
        w->Apply(CompleteEntityBatch(f.State(), step.batch, ops, cmd, kNow,
                                     [&] { return w->gen.NewId(); }, Limits{}));
        ++*batches;
        progress = true;
      }
    }
    if (!progress) return;
  }
  FAIL() << "the world did not settle";
}

}  // namespace taskhub::core::testing

#endif  // TASKHUB_SERVER_CORE_ENTITY_TEST_SUPPORT_H_
