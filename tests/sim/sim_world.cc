// World: the engine's lifecycle (create, crash, recover), the worker streams, the
// dispatch invariant and the per-step check. The workload is in sim_workload.cc,
// the end of a run in sim_quiesce.cc.
#include "tests/sim/sim_world.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/core/history.h"

namespace taskhub::sim {
namespace {

constexpr size_t kLogLines = 80;

// A worker stream: hands every work item to the world.
class SimSink : public engine::WorkItemSink {
 public:
  SimSink(World* world, int conn) : world_(world), conn_(conn) {}
  void Send(const WorkItem& item) override { world_->OnWorkItem(conn_, item); }
  void Close() override {}

 private:
  World* const world_;
  const int conn_;
};

std::string Describe(const WorkItem& item) {
  if (item.has_orchestratorrequest()) {
    const auto& r = item.orchestratorrequest();
    return absl::StrCat("episode of ", r.instanceid(), " (", r.pastevents_size(), "+",
                        r.newevents_size(), " events)");
  }
  const auto& a = item.activityrequest();
  return absl::StrCat("activity ", a.orchestrationinstance().instanceid(), "/",
                      a.orchestrationinstance().executionid().value(), " task ", a.taskid());
}

// Partitions when the engine has them (EngineOptions::partitions); engines without
// them ignore the request.
template <typename Options>
auto SetPartitions(Options& o, int n, int) -> decltype(o.partitions = n, void()) {
  o.partitions = n;
}
template <typename Options>
void SetPartitions(Options&, int, long) {}

}  // namespace

World::World(uint64_t seed, int steps, bool verbose)
    : seed_(seed),
      steps_(steps),
      verbose_(verbose),
      rng_(seed),
      clock_(absl::FromUnixSeconds(1'700'000'000)) {
  options_.manual_scheduling = true;
  options_.orchestration_lease = absl::Seconds(30);
  options_.activity_lease = absl::Seconds(20);
  options_.abandon_delay = absl::Seconds(1);
  options_.max_abandon_delay = absl::Seconds(8);
  options_.health_ping_interval = absl::Seconds(30);
  options_.max_wait = absl::Seconds(60);
  options_.history_cache_events = 40;  // small: histories are evicted and reloaded
  SetPartitions(options_, 1 + static_cast<int>(seed % 3), 0);
  options_.on_store_failure = [this](const absl::Status& st) {
    broken_ = true;
    Log(absl::StrCat("  store failure: ", st.ToString()));
  };
}

World::~World() {
  if (engine_ != nullptr) {
    engine_->CrashForTesting();
    engine_.reset();
  }
}

void World::Log(std::string line) {
  if (verbose_) std::printf("    %s\n", line.c_str());
  log_.push_back(std::move(line));
  if (log_.size() > kLogLines) log_.pop_front();
}

void World::CreateEngine() {
  ++incarnation_;
  // A different token seed per incarnation: tokens from before a crash must not
  // match the new engine's.
  options_.token_seed = seed_ * 1'000'003 + static_cast<uint64_t>(incarnation_);
  absl::StatusOr<std::unique_ptr<engine::Engine>> e =
      engine::Engine::Create(&backend_, &clock_, &ids_, options_);
  if (!e.ok()) {
    if (violation_.ok()) {
      violation_ = absl::InternalError(
          absl::StrCat("recovery from the committed state failed: ", e.status().ToString()));
    }
    return;
  }
  engine_ = std::move(*e);
  broken_ = false;
  crash_in_ = -1;
}

std::unique_ptr<engine::WorkItemSink> World::MakeSink(int conn) {
  return std::make_unique<SimSink>(this, conn);
}

void World::Crash(const std::string& why) {
  Log(absl::StrCat("  crash (", why, ") and recover, incarnation ", incarnation_ + 1));
  ++stats_.crashes;
  engine_->CrashForTesting();
  engine_.reset();
  for (auto& c : conns_) c.connected = false;
  for (auto& h : held_) h.live = false;
  CreateEngine();
  absl::StatusOr<Snapshot> snap = TakeSnapshot(memory_);
  absl::Status st = snap.ok() ? checker_.CheckAfterCrash(*snap) : snap.status();
  if (!st.ok() && snap.ok() && !strict_) {
    ++stats_.lost_immediate_acks;
    Log(absl::StrCat("  KNOWN ENGINE BUG (SIM_STRICT=1 fails on it): ", st.message()));
  } else if (!st.ok() && violation_.ok()) {
    violation_ = st;
  }
}

void World::OnWorkItem(int conn, const WorkItem& item) {
  if (item.has_healthping()) return;
  ++stats_.work_items;
  Held h;
  h.conn = conn;
  h.incarnation = incarnation_;
  h.step = step_;
  h.item = item;
  h.sent = clock_.Now();
  Log(absl::StrCat("  -> conn ", conn, ": ", Describe(item)));
  if (absl::Status st = CheckOneDelivery(h); !st.ok() && violation_.ok()) violation_ = st;
  held_.push_back(std::move(h));
}

absl::Status World::CheckOneDelivery(const Held& fresh) {
  if (fresh.item.has_orchestratorrequest()) {
    // A scheduled start: its first episode not before its time.
    for (const auto& e : fresh.item.orchestratorrequest().newevents()) {
      if (!e.has_executionstarted() || !e.executionstarted().has_scheduledstarttimestamp()) {
        continue;
      }
      const absl::Time at = core::FromProto(e.executionstarted().scheduledstarttimestamp());
      if (fresh.sent < at) {
        return absl::InternalError(absl::StrCat(
            Describe(fresh.item), " dispatched ", absl::FormatDuration(at - fresh.sent),
            " before its scheduled start time"));
      }
    }
  }
  for (const Held& h : held_) {
    if (!h.live) continue;
    bool same = false;
    if (fresh.item.has_orchestratorrequest() && h.item.has_orchestratorrequest()) {
      same = fresh.item.orchestratorrequest().instanceid() ==
             h.item.orchestratorrequest().instanceid();
    } else if (fresh.item.has_activityrequest() && h.item.has_activityrequest()) {
      const auto& a = fresh.item.activityrequest();
      const auto& b = h.item.activityrequest();
      same = a.orchestrationinstance().instanceid() == b.orchestrationinstance().instanceid() &&
             a.orchestrationinstance().executionid().value() ==
                 b.orchestrationinstance().executionid().value() &&
             a.taskid() == b.taskid();
    }
    if (same) {
      return absl::InternalError(absl::StrCat(
          "two live deliveries of one work item: ", Describe(fresh.item), " sent to conn ",
          fresh.conn, " while conn ", h.conn, " holds the one sent at step ", h.step,
          " (its stream is connected, its lease not expired, not answered or abandoned)"));
    }
  }
  return absl::OkStatus();
}

void World::ExpireLeases() {
  const absl::Time now = clock_.Now();
  for (Held& h : held_) {
    const absl::Duration lease = h.item.has_orchestratorrequest() ? options_.orchestration_lease
                                                                  : options_.activity_lease;
    if (h.live && lease > absl::ZeroDuration() && h.sent + lease <= now) h.live = false;
  }
}

void World::MarkStale(const std::string& instance_id) {
  for (Held& h : held_) {
    if (h.item.has_orchestratorrequest() &&
        h.item.orchestratorrequest().instanceid() == instance_id) {
      h.live = false;
    }
  }
}

std::string World::CommittedExecution(const std::string& id) {
  auto rec = memory_.GetInstance(id);
  if (!rec.ok() || !rec->has_value()) return "";
  return (*rec)->execution_id();
}

absl::Status World::CheckStep() {
  RETURN_IF_ERROR(violation_);
  ASSIGN_OR_RETURN(Snapshot snap, TakeSnapshot(memory_));
  return checker_.Check(snap);
}

absl::Status World::Run() {
  CreateEngine();
  RETURN_IF_ERROR(violation_);
  for (step_ = 1; step_ <= steps_; ++step_) {
    Step();
    ++stats_.steps;
    if (broken_ && crash_in_ < 0) crash_in_ = static_cast<int>(Rand(4));
    if (crash_in_ == 0) {
      Crash("after a failed commit");
    } else if (crash_in_ > 0) {
      --crash_in_;
    }
    RETURN_IF_ERROR(CheckStep());
  }
  RETURN_IF_ERROR(Quiesce());
  return CheckFinal();
}

}  // namespace taskhub::sim
