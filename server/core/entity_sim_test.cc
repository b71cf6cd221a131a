// A seeded random simulation of critical sections through the real core functions:
// orchestrations lock random sets of entities (CompleteEpisode), call every entity of
// their set inside the section, then unlock and complete; or they are terminated at a
// random point (TerminateNow), or continue as new while acquiring the lock (so a grant
// may reach an execution that never asked for it). Some orchestrations call entities
// without a critical section (their calls must wait while another holds the entity).
// Messages are delivered in a random order that keeps only the order per (sender,
// target); entity batches stay in flight for a random while and complete fully, partly
// (the rest re-runs later) or with a batch-level failure.
// Guarantees checked: a lock grant finds every entity of the set locked by its owner;
// while an entity is locked, only its owner's calls run; a live lock holder's call runs
// only while its entity is locked by it; in the end nothing is locked, queued or in
// flight and every orchestration finished (no deadlock, no leaked lock).
#include <map>
#include <random>
#include <set>

#include "gtest/gtest.h"
#include "server/core/entity.h"
#include "server/core/entity_test_support.h"

namespace taskhub::core {
namespace {

using namespace taskhub::core::testing;  // NOLINT

OrchestratorAction LockSet(int id, const std::string& section, std::vector<std::string> set) {
  OrchestratorAction a;
  a.set_id(id);
  auto* l = a.mutable_sendentitymessage()->mutable_entitylockrequested();
  l->set_criticalsectionid(section);
  for (const auto& e : set) l->add_lockset(e);
  return a;
}

OrchestratorAction CallOp(int id, const std::string& request, const std::string& target) {
  OrchestratorAction a;
  a.set_id(id);
  auto* c = a.mutable_sendentitymessage()->mutable_entityoperationcalled();
  c->set_requestid(request);
  c->set_operation("add");
  c->mutable_targetinstanceid()->set_value(target);
  return a;
}

OrchestratorAction UnlockOp(int id, const std::string& section, const std::string& target) {
  OrchestratorAction a;
  a.set_id(id);
  a.mutable_sendentitymessage()->mutable_entityunlocksent()->set_criticalsectionid(section);
  a.mutable_sendentitymessage()->mutable_entityunlocksent()->mutable_targetinstanceid()->set_value(
      target);
  return a;
}

struct Sim {
  explicit Sim(uint32_t seed) : rng(seed) {}

  std::mt19937 rng;
  std::map<std::string, Fixture> instances;
  struct InFlight {
    std::string sender;
    Message m;
  };
  std::vector<InFlight> in_flight;
  struct Batch {
    std::vector<size_t> positions;
    std::vector<HistoryEvent> ops;
  };
  std::map<std::string, Batch> batches;  // per entity, in flight
  std::map<std::string, std::vector<std::string>> sets;  // per orchestration
  std::map<std::string, int> phase;  // 0 start, 1 wait grant, 2 wait replies, 3 done
  std::set<std::string> plain;  // orchestrations that call without locking
  std::map<std::string, std::string> section;  // the current execution's critical section
  int continued = 0;
  std::vector<std::string> entities, orchestrations;
  SequentialIdGenerator gen{"sim"};
  int calls_run = 0, terminated = 0;

  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); }
  bool Chance(int percent) { return static_cast<int>(Pick(100)) < percent; }

  void Apply(const Transition& t) {
    ApplyTo(t, &instances[t.instance_id]);
    for (const auto& m : t.outbox) in_flight.push_back({t.instance_id, m});
    for (const auto& d : t.delayed) in_flight.push_back({t.instance_id, d.message});
  }

  // Delivers a random message that has no earlier one from the same sender to the same
  // target in flight.
  bool DeliverRandom() {
    if (in_flight.empty()) return false;
    size_t i = Pick(in_flight.size());
    for (size_t j = 0; j < i; ++j) {
      if (in_flight[j].sender == in_flight[i].sender &&
          in_flight[j].m.target == in_flight[i].m.target) {
        i = j;
        break;
      }
    }
    Message m = in_flight[i].m;
    in_flight.erase(in_flight.begin() + static_cast<long>(i));
    Fixture& f = instances[m.target];
    if (m.kind == Message::Kind::kLockGranted && f.record && !IsTerminal(f.record->status()) &&
        m.event.entitylockgranted().criticalsectionid() == section[m.target]) {
      for (const auto& e : sets[m.target]) {
        if (!instances[e].record) {
          ADD_FAILURE() << "granted, but " << e << " does not exist";
          continue;
        }
        const auto& data = instances[e].record->entity();
        EXPECT_EQ(data.locked_by(), m.target) << "granted without the lock on " << e;
        EXPECT_EQ(data.lock_critical_section(), section[m.target]);
      }
    }
    Apply(Receive(f.State(), m, kNow));
    return true;
  }

  // One step of entity `id`: complete its batch in flight, or start the next step.
  bool StepEntity(const std::string& id) {
    Fixture& f = instances[id];
    if (auto it = batches.find(id); it != batches.end()) {
      if (!Chance(50)) return false;  // still running
      EntityResultCommand cmd;
      int value = f.record->entity().has_state() ? std::stoi(f.record->entity().state().value())
                                                 : 0;
      // The worker runs all operations, or only the first few (the rest are re-run in a
      // later batch), or fails the whole batch (every call gets the failure).
      const size_t n = it->second.ops.size();
      const size_t ran = Chance(70) ? n : 1 + Pick(n);
      for (size_t i = 0; i < ran; ++i) {
        ++value;
        cmd.result.add_results()->mutable_success()->mutable_result()->set_value(
            std::to_string(value));
      }
      cmd.result.mutable_entitystate()->set_value(std::to_string(value));
      if (Chance(10)) cmd.result.mutable_failuredetails()->set_errortype("Framework");
      Transition t = CompleteEntityBatch(f.State(), it->second.positions, it->second.ops, cmd,
                                         kNow, [&] { return gen.NewId(); }, Limits{});
      EXPECT_TRUE(t.reply.ok()) << t.reply;
      batches.erase(it);
      Apply(t);
      return true;
    }
    EntityStep step = NextEntityStep(f.State(), kNow, 1 + Pick(3));
    if (step.kind == EntityStep::Kind::kServer) {
      Apply(step.server);
      return true;
    }
    if (step.kind != EntityStep::Kind::kBatch) return false;
    Batch b;
    b.positions = step.batch;
    const auto& data = f.record->entity();
    for (size_t p : step.batch) {
      b.ops.push_back(*f.State().inbox[p]);
      const HistoryEvent& op = b.ops.back();
      EXPECT_TRUE(op.has_entityoperationcalled());
      const std::string& caller = op.entityoperationcalled().parentinstanceid().value();
      if (!data.locked_by().empty()) {
        EXPECT_EQ(caller, data.locked_by()) << id << " ran another's call while locked";
      }
      const auto& o = instances[caller].record;
      if (o && !IsTerminal(o->status()) && plain.count(caller) == 0) {
        EXPECT_EQ(data.locked_by(), caller) << id << " ran a live caller's call unlocked";
      }
      ++calls_run;
    }
    batches[id] = std::move(b);
    return true;
  }

  void Episode(const std::string& id, const std::vector<OrchestratorAction>& actions) {
    Fixture& o = instances[id];
    std::vector<HistoryEvent> dispatched = {Ev(HistoryEvent::kOrchestratorStarted)};
    dispatched.insert(dispatched.end(), o.inbox.begin(), o.inbox.end());
    EpisodeResultCommand cmd;
    cmd.instance_id = id;
    for (const auto& a : actions) *cmd.response.add_actions() = a;
    Transition t = CompleteEpisode(o.State(), dispatched, o.inbox.size(), cmd, kNow,
                                   [&] { return gen.NewId(); }, Limits{});
    EXPECT_TRUE(t.reply.ok()) << t.reply;
    Apply(t);
  }

  std::vector<OrchestratorAction> Calls(const std::string& id,
                                        const std::vector<std::string>& set) {
    std::vector<OrchestratorAction> calls;
    for (size_t k = 0; k < set.size(); ++k) {
      calls.push_back(
          CallOp(static_cast<int>(1 + k), id + "-call-" + std::to_string(k), set[k]));
    }
    return calls;
  }

  size_t Count(const Fixture& o, HistoryEvent::EventTypeCase kind) {
    size_t n = 0;
    for (const auto& e : o.history) n += e.eventType_case() == kind;
    for (const auto& e : o.inbox) n += e.eventType_case() == kind;
    return n;
  }

  // One step of orchestration `id` (its worker answers at once).
  bool StepOrchestration(const std::string& id) {
    Fixture& o = instances[id];
    if (IsTerminal(o.record->status())) return false;
    if (Chance(2)) {  // terminated at a random point
      o.inbox.push_back(Ev(HistoryEvent::kExecutionTerminated));
      Apply(TerminateNow(o.State(), kNow));
      ++terminated;
      return true;
    }
    const std::vector<std::string>& set = sets[id];
    switch (phase[id]) {
      case 0:
        if (plain.count(id) != 0) {
          // No critical section: the calls must wait while others hold the entities.
          Episode(id, Calls(id, set));
          phase[id] = 2;
          return true;
        }
        section[id] = "cs-" + gen.NewId();
        Episode(id, {LockSet(0, section[id], set)});
        phase[id] = 1;
        return true;
      case 1: {
        if (Chance(3)) {
          // Continue as new while the lock is being acquired: the grant may reach the new
          // execution, which never asked for it.
          OrchestratorAction can;
          can.set_id(50);
          can.mutable_completeorchestration()->set_orchestrationstatus(
              ORCHESTRATION_STATUS_CONTINUED_AS_NEW);
          Episode(id, {can});
          section[id].clear();  // the new execution has no section yet
          phase[id] = 0;
          ++continued;
          return true;
        }
        if (Count(o, HistoryEvent::kEntityLockGranted) == 0) return false;
        Episode(id, Calls(id, set));
        phase[id] = 2;
        return true;
      }
      case 2: {
        if (Count(o, HistoryEvent::kEntityOperationCompleted) +
                Count(o, HistoryEvent::kEntityOperationFailed) <
            set.size()) {
          return false;
        }
        std::vector<OrchestratorAction> end;
        int next = 100;
        // Sometimes the SDK unlocks (as PY does on leaving the section); sometimes the
        // orchestration just ends and the server releases the locks.
        if (plain.count(id) == 0 && Chance(50)) {
          for (const auto& e : set) end.push_back(UnlockOp(next++, section[id], e));
        }
        OrchestratorAction done;
        done.set_id(next);
        done.mutable_completeorchestration()->set_orchestrationstatus(
            ORCHESTRATION_STATUS_COMPLETED);
        end.push_back(done);
        Episode(id, end);
        phase[id] = 3;
        return true;
      }
    }
    return false;
  }

  void Run(size_t n_entities, size_t n_orchestrations) {
    for (size_t i = 0; i < n_entities; ++i) {
      entities.push_back("@e@" + std::to_string(i));
      instances[entities.back()];  // created by the first message
    }
    for (size_t i = 0; i < n_orchestrations; ++i) {
      const std::string id = "o" + std::to_string(i);
      orchestrations.push_back(id);
      Fixture& o = instances[id];
      o.record = Rec(id, ORCHESTRATION_STATUS_RUNNING, id + "-e");
      o.history = {Ev(HistoryEvent::kOrchestratorStarted), Ev(HistoryEvent::kExecutionStarted)};
      std::set<std::string> set;
      const size_t size = 1 + Pick(n_entities);
      while (set.size() < size) set.insert(entities[Pick(n_entities)]);
      sets[id].assign(set.begin(), set.end());  // sorted, like the server's lock set
      if (Chance(30)) plain.insert(id);
    }
    for (int guard = 0; guard < 100000; ++guard) {
      bool progress = false;
      for (int k = 0; k < 3; ++k) progress |= DeliverRandom();
      progress |= StepEntity(entities[Pick(entities.size())]);
      progress |= StepOrchestration(orchestrations[Pick(orchestrations.size())]);
      if (!progress && in_flight.empty() && batches.empty() && Quiet()) return;
    }
    ADD_FAILURE() << "no progress: a deadlock or a leaked lock";
  }

  // Nothing left to do anywhere.
  bool Quiet() {
    for (const auto& id : orchestrations) {
      if (!IsTerminal(instances[id].record->status())) return false;
    }
    for (const auto& id : entities) {
      if (NextEntityStep(instances[id].State(), kNow, 100).kind != EntityStep::Kind::kIdle) {
        return false;
      }
    }
    return true;
  }
};

TEST(EntityLockSimulation, RandomSchedulesNeverDeadlockOrLeak) {
  int total_calls = 0, total_terminated = 0, total_continued = 0, completed = 0;
  for (uint32_t seed = 1; seed <= 1000; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    Sim sim(seed);
    sim.Run(2 + seed % 5, 3 + seed % 7);  // 2..6 entities, 3..9 orchestrations
    for (const auto& id : sim.entities) {
      const Fixture& f = sim.instances[id];
      if (!f.record) continue;  // deleted: nothing held, nothing queued
      EXPECT_EQ(f.record->entity().locked_by(), "") << id << " still locked";
      EXPECT_TRUE(f.inbox.empty()) << id << " still has " << f.inbox.size() << " requests";
    }
    EXPECT_TRUE(sim.in_flight.empty());
    total_calls += sim.calls_run;
    total_terminated += sim.terminated;
    total_continued += sim.continued;
    for (const auto& id : sim.orchestrations) {
      completed += sim.instances[id].record->status() == ORCHESTRATION_STATUS_COMPLETED;
    }
    if (::testing::Test::HasFailure()) return;  // one seed's story is enough
  }
  // The schedules did exercise the protocol: most sections completed, some owners were
  // terminated in the middle.
  EXPECT_GT(completed, 1000);
  EXPECT_GT(total_terminated, 0);
  EXPECT_GT(total_continued, 0);
  EXPECT_GT(total_calls, completed);
}

}  // namespace
}  // namespace taskhub::core
