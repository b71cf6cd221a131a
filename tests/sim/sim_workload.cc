// World: the seeded workload. Every step is chosen by the seed; client and worker
// calls only queue work in the engine, which runs when the workload picks RunCommit,
// RunRead or RunDueTimers (so the seed also chooses the interleaving).
#include <initializer_list>
#include <memory>

#include "absl/strings/str_cat.h"
#include "server/core/history.h"
#include "tests/engine/wire_requests.h"
#include "tests/sim/sim_model.h"
#include "tests/sim/sim_world.h"

namespace taskhub::sim {
namespace wire = engine::testing::wire;
namespace {

constexpr size_t kMaxInstances = 10;  // top-level instances per run
constexpr size_t kMaxHeld = 40;       // work items the workers hold at most

bool Allowed(const absl::Status& st, std::initializer_list<absl::StatusCode> codes) {
  if (st.ok()) return true;
  for (auto c : codes) {
    if (st.code() == c) return true;
  }
  return false;
}

}  // namespace

World::Tracked* World::PickTracked() {
  if (tracked_.empty()) return nullptr;
  return &tracked_[Rand(tracked_.size())];
}

World::Tracked* World::FindTracked(const std::string& id) {
  for (auto& t : tracked_) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

void World::Step() {
  if (engine_ == nullptr) return;
  const uint64_t r = Rand(1000);
  // Weights in per mille; the rest of the range runs commits.
  if (r < 60) {
    StartOne();
  } else if (r < 130) {
    RaiseOne(Chance(40));
  } else if (r < 160) {
    TerminateOne();
  } else if (r < 190) {
    SuspendOrResume(true);
  } else if (r < 220) {
    SuspendOrResume(false);
  } else if (r < 240) {
    PurgeOne();
  } else if (r < 260) {
    RestartOne();
  } else if (r < 290) {
    ReadOne();
  } else if (r < 350) {
    const absl::Duration steps[] = {absl::Milliseconds(100), absl::Seconds(1), absl::Seconds(5),
                                    absl::Seconds(25)};
    const absl::Duration d = steps[Rand(4)];
    clock_.Advance(d);
    Log(absl::StrCat(step_, ": advance the clock by ", absl::FormatDuration(d)));
  } else if (r < 410) {
    ExpireLeases();
    const size_t n = engine_->RunDueTimers();
    timers_run_at_ = clock_.Now();
    Log(absl::StrCat(step_, ": RunDueTimers ran ", n));
  } else if (r < 450) {
    Log(absl::StrCat(step_, ": RunRead ", engine_->RunRead() ? "ran one" : "(none)"));
  } else if (r < 480) {
    Connect(1 + static_cast<int>(Rand(3)), 1 + static_cast<int>(Rand(4)));
  } else if (r < 500) {
    Disconnect();
  } else if (r < 700) {
    AnswerOne(false, false);
  } else if (r < 730) {
    AnswerOne(false, true);
  } else if (r < 770) {
    AnswerOne(true, false);
  } else if (r < 780) {
    InjectCommitFailure();
  } else if (r < 790) {
    Log(absl::StrCat(step_, ": crash"));
    Crash("injected");
  } else if (r < 805 && rewind_) {
    RewindOne();
  } else {
    const bool ran = engine_->RunCommit();
    Log(absl::StrCat(step_, ": RunCommit ", ran ? "committed" : "(nothing queued)"));
  }
}

void World::StartOne() {
  if (tracked_.size() >= 2 * kMaxInstances) return RaiseOne(false);
  Tracked t;
  t.kind = Kinds()[Rand(Kinds().size())];
  t.id = absl::StrCat("i", ++next_instance_);
  t.input = InputFor(t.kind, 1 + static_cast<int>(Rand(3)));
  CreateInstanceRequest req;
  req.set_instanceid(t.id);
  req.set_name(t.kind);
  req.mutable_input()->set_value(t.input);
  std::string when;
  if (Chance(20)) {  // a scheduled start: no episode before that time
    const absl::Time at = clock_.Now() + absl::Seconds(1 + static_cast<int64_t>(Rand(20)));
    *req.mutable_scheduledstarttimestamp() = core::ToProto(at);
    when = absl::StrCat(" not before +", absl::FormatDuration(at - clock_.Now()));
  }
  Log(absl::StrCat(step_, ": start ", t.id, " ", t.kind, "(", t.input, ")", when));
  ++stats_.instances;
  const std::string id = t.id;
  const bool child = t.kind == "child";
  tracked_.push_back(std::move(t));
  if (child) {  // its sub-orchestration, once created, is checked too
    Tracked c;
    c.id = id + ":0000";
    c.kind = "fragile";
    c.input = tracked_.back().input;
    c.is_child = true;
    tracked_.push_back(std::move(c));
  }
  wire::StartInstance(*engine_, req, [this, id](absl::StatusOr<std::string> r) {
    Log(absl::StrCat("  start ", id, ": ", r.ok() ? "OK" : r.status().ToString()));
    if (r.ok()) FindTracked(id)->start_acked = true;
    if (!Allowed(r.status(), {absl::StatusCode::kUnavailable}) && violation_.ok()) {
      violation_ = absl::InternalError(absl::StrCat("start ", id, ": ", r.status().ToString()));
    }
  });
}

void World::RaiseOne(bool go) {
  Tracked* t = PickTracked();
  if (t == nullptr) return;
  const std::string id = t->id;
  const std::string name = go ? "go" : "noise";
  const std::string data = absl::StrCat("ev", ++next_event_);
  if (go) t->go.push_back(data);
  RaiseEventRequest req;
  req.set_instanceid(id);
  req.set_name(name);
  req.mutable_input()->set_value(data);
  Log(absl::StrCat(step_, ": raise ", name, " ", data, " to ", id));
  // An answer given inside the call was not a committed write (the instance is
  // finished, or the call was refused).
  auto in_call = std::make_shared<bool>(true);
  // The execution the event is checked against: the committed one when it is raised.
  // (At the answer the store may already hold a newer execution, e.g. when the event
  // was consumed by an episode that continued-as-new, committed in the same group.)
  // A finished instance ignores the event; a rewind committed after it makes the same
  // execution live again without it: such an event is not checked ("" never matches).
  auto committed = memory_.GetInstance(id);
  const bool finished =
      committed.ok() && committed->has_value() && core::IsTerminal((*committed)->status());
  const std::string exec = finished ? "" : CommittedExecution(id);
  wire::RaiseEvent(*engine_, req, [this, id, name, data, in_call, exec](absl::Status st) {
    Log(absl::StrCat("  raise ", data, ": ", st.ToString(), *in_call ? " (at once)" : ""));
    if (st.ok() && !*in_call) checker_.AddAckedEvent({id, exec, name, data});
    if (st.ok() && *in_call) checker_.AddImmediateAck({id, exec, name, data});
    if (!Allowed(st, {absl::StatusCode::kUnavailable, absl::StatusCode::kNotFound}) &&
        violation_.ok()) {
      violation_ = absl::InternalError(absl::StrCat("raise to ", id, ": ", st.ToString()));
    }
  });
  *in_call = false;
}

void World::TerminateOne() {
  Tracked* t = PickTracked();
  if (t == nullptr) return;
  const std::string id = t->id;
  const bool recursive = Chance(50);
  t->terminate_issued = true;
  if (t->is_child) {
    if (Tracked* parent = FindTracked(id.substr(0, id.find(':')))) parent->child_disturbed = true;
  } else if (recursive && t->kind == "child") {
    if (Tracked* c = FindTracked(id + ":0000")) c->terminate_issued = true;
  }
  // The engine releases an episode in flight at once: its completion is stale.
  MarkStale(id);
  TerminateRequest req;
  req.set_instanceid(id);
  req.set_recursive(recursive);
  req.mutable_output()->set_value(absl::StrCat("terminated at step ", step_));
  Log(absl::StrCat(step_, ": terminate ", id, recursive ? " recursively" : ""));
  wire::Terminate(*engine_, req, [this, id](absl::Status st) {
    Log(absl::StrCat("  terminate ", id, ": ", st.ToString()));
    if (!Allowed(st, {absl::StatusCode::kUnavailable, absl::StatusCode::kNotFound}) &&
        violation_.ok()) {
      violation_ = absl::InternalError(absl::StrCat("terminate ", id, ": ", st.ToString()));
    }
  });
}

void World::SuspendOrResume(bool suspend) {
  Tracked* t = PickTracked();
  if (t == nullptr) return;
  const std::string id = t->id;
  Log(absl::StrCat(step_, ": ", suspend ? "suspend " : "resume ", id));
  auto done = [this, id, suspend](absl::Status st) {
    Log(absl::StrCat("  ", suspend ? "suspend " : "resume ", id, ": ", st.ToString()));
    if (!Allowed(st, {absl::StatusCode::kUnavailable, absl::StatusCode::kNotFound,
                      absl::StatusCode::kFailedPrecondition}) &&
        violation_.ok()) {
      violation_ = absl::InternalError(absl::StrCat("suspend/resume ", id, ": ", st.ToString()));
    }
  };
  if (suspend) {
    SuspendRequest req;
    req.set_instanceid(id);
    wire::Suspend(*engine_, req, done);
  } else {
    ResumeRequest req;
    req.set_instanceid(id);
    wire::Resume(*engine_, req, done);
  }
}

void World::PurgeOne() {
  Tracked* t = PickTracked();
  if (t == nullptr) return;
  auto rec = memory_.GetInstance(t->id);
  if (!rec.ok() || !rec->has_value() || !core::IsTerminal((*rec)->status())) return;
  const std::string id = t->id;
  const bool recursive = Chance(50);
  t->purge_issued = true;
  checker_.AllowReset(id);
  if (recursive) {
    if (Tracked* c = FindTracked(id + ":0000")) c->purge_issued = true;
  }
  PurgeInstancesRequest req;
  req.set_instanceid(id);
  req.set_recursive(recursive);
  Log(absl::StrCat(step_, ": purge ", id, recursive ? " recursively" : ""));
  wire::Purge(*engine_, req, [this, id](absl::StatusOr<PurgeInstancesResponse> r) {
    Log(absl::StrCat("  purge ", id, ": ",
                     r.ok() ? absl::StrCat("deleted ", r->deletedinstancecount())
                            : r.status().ToString()));
    if (r.ok()) stats_.purged += r->deletedinstancecount();
    checker_.ResetDone(id);
    if (!Allowed(r.status(), {absl::StatusCode::kUnavailable}) && violation_.ok()) {
      violation_ = absl::InternalError(absl::StrCat("purge ", id, ": ", r.status().ToString()));
    }
  });
}

void World::RestartOne() {
  Tracked* t = PickTracked();
  if (t == nullptr || t->is_child) return;
  auto rec = memory_.GetInstance(t->id);
  if (!rec.ok() || !rec->has_value() || !core::IsTerminal((*rec)->status())) return;
  const std::string id = t->id;
  checker_.AllowReset(id);
  t->child_disturbed = true;  // its new child may collide with the old one
  RestartInstanceRequest req;
  req.set_instanceid(id);
  Log(absl::StrCat(step_, ": restart ", id));
  wire::Restart(*engine_, req, [this, id](absl::StatusOr<std::string> r) {
    Log(absl::StrCat("  restart ", id, ": ", r.ok() ? "OK" : r.status().ToString()));
    checker_.ResetDone(id);
    if (!Allowed(r.status(), {absl::StatusCode::kUnavailable, absl::StatusCode::kNotFound,
                              absl::StatusCode::kFailedPrecondition}) &&
        violation_.ok()) {
      violation_ = absl::InternalError(absl::StrCat("restart ", id, ": ", r.status().ToString()));
    }
  });
}

void World::RewindOne() {
  // One of the FAILED instances (few of all, so pick among them).
  std::vector<std::string> failed;
  for (const Tracked& t : tracked_) {
    auto rec = memory_.GetInstance(t.id);
    if (rec.ok() && rec->has_value() && (*rec)->status() == ORCHESTRATION_STATUS_FAILED) {
      failed.push_back(t.id);
    }
  }
  if (failed.empty()) return;
  const std::string id = failed[Rand(failed.size())];
  checker_.AllowReset(id);
  if (Tracked* c = FindTracked(id + ":0000")) checker_.AllowReset(c->id);  // rewound with it
  RewindInstanceRequest req;
  req.set_instanceid(id);
  Log(absl::StrCat(step_, ": rewind ", id));
  wire::Rewind(*engine_, req, [this, id](absl::Status st) {
    Log(absl::StrCat("  rewind ", id, ": ", st.ToString()));
    checker_.ResetDone(id);
    if (FindTracked(id + ":0000") != nullptr) checker_.ResetDone(id + ":0000");
    if (!Allowed(st, {absl::StatusCode::kUnavailable, absl::StatusCode::kNotFound,
                      absl::StatusCode::kFailedPrecondition}) &&
        violation_.ok()) {
      violation_ = absl::InternalError(absl::StrCat("rewind ", id, ": ", st.ToString()));
    }
  });
}

void World::ReadOne() {
  Tracked* t = PickTracked();
  if (t == nullptr) return;
  const std::string id = t->id;
  if (Chance(50)) {
    Log(absl::StrCat(step_, ": get ", id));
    engine_->GetInstance(id, true, [this, id](absl::StatusOr<GetInstanceResponse> r) {
      // A read runs after everything queued before it is durable: it sees the store.
      std::string committed;
      auto rec = memory_.GetInstance(id);
      if (rec.ok() && rec->has_value()) committed = core::StatusName((*rec)->status());
      std::string seen;
      if (r.ok() && r->exists()) {
        seen = core::StatusName(r->orchestrationstate().orchestrationstatus());
      }
      Log(absl::StrCat("  get ", id, ": ", r.ok() ? seen : r.status().ToString()));
      if (r.ok() && seen != committed && violation_.ok()) {
        violation_ = absl::InternalError(
            absl::StrCat("get ", id, " returned '", seen, "', the store holds '", committed, "'"));
      }
    });
  } else {
    Log(absl::StrCat(step_, ": wait for the completion of ", id));
    engine_->WaitForInstance(id, true, false, [this, id](absl::StatusOr<GetInstanceResponse> r) {
      Log(absl::StrCat("  wait ", id, ": ", r.ok() ? "answered" : r.status().ToString()));
      if (r.ok() && r->exists() &&
          !core::IsTerminal(r->orchestrationstate().orchestrationstatus()) && violation_.ok()) {
        violation_ = absl::InternalError(absl::StrCat("wait for the completion of ", id,
                                                      " answered a non-terminal state"));
      }
    });
  }
}

void World::Connect(int max_orch, int max_act) {
  const int idx = static_cast<int>(conns_.size());
  Conn c;
  c.incarnation = incarnation_;
  c.connected = true;
  c.sink = MakeSink(idx);
  conns_.push_back(std::move(c));
  GetWorkItemsRequest req;
  req.set_maxconcurrentorchestrationworkitems(max_orch);
  req.set_maxconcurrentactivityworkitems(max_act);
  Log(absl::StrCat(step_, ": worker conn ", idx, " connects (", max_orch, " orch, ", max_act,
                   " act)"));
  conns_[idx].stream =
      wire::AddStream(*engine_, conns_[idx].sink.get(), req, absl::StrCat("sim:", idx));
}

void World::Disconnect() {
  std::vector<int> open;
  for (size_t i = 0; i < conns_.size(); ++i) {
    if (conns_[i].connected) open.push_back(static_cast<int>(i));
  }
  if (open.empty()) return;
  DisconnectConn(open[Rand(open.size())]);
}

void World::DisconnectConn(int idx) {
  Log(absl::StrCat(step_, ": worker conn ", idx, " disconnects"));
  conns_[idx].connected = false;
  for (Held& h : held_) {
    if (h.conn == idx) h.live = false;
  }
  engine_->RemoveStream(conns_[idx].stream);
}

void World::AnswerOne(bool fail, bool abandon) {
  if (held_.empty()) return;
  // Mostly live items; sometimes a stale one (late answer after a disconnect, crash,
  // lease expiry or abandon), which must change nothing.
  Answer(Rand(held_.size()), fail, abandon);
  while (held_.size() > kMaxHeld) held_.erase(held_.begin());
}

void World::Answer(size_t index, bool fail, bool abandon) {
  Held h = std::move(held_[index]);
  held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(index));
  if (!h.live) ++stats_.stale_answers;
  const std::string token = h.item.completiontoken();
  const std::string peer = absl::StrCat("sim:", h.conn);
  const std::string what =
      absl::StrCat(h.item.has_orchestratorrequest() ? "episode of " : "activity of ",
                   h.item.has_orchestratorrequest()
                       ? h.item.orchestratorrequest().instanceid()
                       : h.item.activityrequest().orchestrationinstance().instanceid(),
                   " from step ", h.step, h.live ? "" : " (stale)");
  auto done = [this, what, live = h.live](absl::Status st) {
    Log(absl::StrCat("  answer ", what, ": ", st.ToString()));
    // A stale answer for a purged instance may be refused as naming no instance.
    const bool ok = Allowed(st, {absl::StatusCode::kUnavailable}) ||
                    (!live && st.code() == absl::StatusCode::kInvalidArgument);
    if (!ok && violation_.ok()) {
      violation_ = absl::InternalError(absl::StrCat("answer ", what, ": ", st.ToString()));
    }
  };
  if (abandon) {
    Log(absl::StrCat(step_, ": abandon ", what));
    if (h.item.has_orchestratorrequest()) {
      wire::AbandonOrchestration(*engine_, token, done);
    } else {
      wire::AbandonActivity(*engine_, token, done);
    }
    // Sometimes keep it, to answer late with its (now stale) token.
    if (Chance(30)) {
      h.live = false;
      held_.push_back(std::move(h));
    }
    return;
  }
  if (h.item.has_orchestratorrequest()) {
    OrchestratorResponse resp = Decide(h.item.orchestratorrequest());
    resp.set_completiontoken(token);
    Log(absl::StrCat(step_, ": complete ", what, " with ", resp.actions_size(), " actions"));
    wire::CompleteOrchestration(*engine_, resp, peer, done);
  } else {
    ActivityResponse resp = RunActivity(h.item.activityrequest(), fail);
    if (fail) {
      const std::string& id = h.item.activityrequest().orchestrationinstance().instanceid();
      if (Tracked* t = FindTracked(id)) {
        t->activity_failed = true;
        if (t->is_child) {
          if (Tracked* parent = FindTracked(id.substr(0, id.find(':')))) {
            parent->child_disturbed = true;
          }
        }
      }
    }
    resp.set_completiontoken(token);
    Log(absl::StrCat(step_, fail ? ": fail " : ": complete ", what));
    wire::CompleteActivity(*engine_, resp, peer, done);
  }
}

void World::InjectCommitFailure() {
  if (broken_) return;
  ++stats_.failed_commits;
  if (Chance(50)) {
    Log(absl::StrCat(step_, ": the next commit fails"));
    backend_.FailNextCommits(1);
  } else {
    Log(absl::StrCat(step_, ": the next commit is applied, then reported failed"));
    backend_.FailNextCommitsAfterApply(1);
  }
}

}  // namespace taskhub::sim
