// World: the end of a run. No new work and no faults: resume what is suspended,
// send "go" to every event instance, connect one healthy worker that answers
// everything, run all queued work and advance the clock to each next timer, until
// every instance is terminal. Then each instance must be in a state its kind and
// the operations applied to it allow.
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/core/history.h"
#include "tests/engine/wire_requests.h"
#include "tests/sim/sim_model.h"
#include "tests/sim/sim_world.h"

namespace taskhub::sim {
namespace wire = engine::testing::wire;
namespace {

constexpr int kMaxRounds = 3000;

}  // namespace

absl::Status World::Quiesce() {
  Log("quiesce: no new work, no faults");
  backend_.FailNextCommits(0);
  backend_.FailNextCommitsAfterApply(0);
  if (broken_ || engine_ == nullptr) Crash("a commit failed before the end");
  RETURN_IF_ERROR(violation_);
  for (size_t i = 0; i < conns_.size(); ++i) {
    if (conns_[i].connected) DisconnectConn(static_cast<int>(i));
  }
  held_.clear();
  Connect(1000, 1000);
  const int worker = static_cast<int>(conns_.size()) - 1;
  for (Tracked& t : tracked_) {
    ResumeRequest resume;
    resume.set_instanceid(t.id);
    wire::Resume(*engine_, resume, [](absl::Status) {});
    if (t.kind == "event") {
      const std::string data = absl::StrCat("ev", ++next_event_);
      t.go.push_back(data);
      RaiseEventRequest req;
      req.set_instanceid(t.id);
      req.set_name("go");
      req.mutable_input()->set_value(data);
      wire::RaiseEvent(*engine_, req, [](absl::Status) {});
    }
  }
  for (int round = 0; round < kMaxRounds; ++round) {
    bool progress = false;
    while (engine_->RunCommit()) progress = true;
    while (engine_->RunRead()) progress = true;
    while (!held_.empty()) {
      progress = true;
      if (held_.front().conn != worker || !held_.front().live) {
        held_.erase(held_.begin());
        continue;
      }
      Answer(0, false, false);
    }
    RETURN_IF_ERROR(CheckStep());
    if (progress) continue;
    bool all_terminal = true;
    for (const Tracked& t : tracked_) {
      auto rec = memory_.GetInstance(t.id);
      if (rec.ok() && rec->has_value() && !core::IsTerminal((*rec)->status())) {
        all_terminal = false;
      }
    }
    if (all_terminal) return absl::OkStatus();
    std::optional<absl::Time> next = engine_->NextTimer();
    if (!next) break;
    if (*next > clock_.Now()) clock_.Advance(*next - clock_.Now());
    ExpireLeases();
    engine_->RunDueTimers();
  }
  for (const Tracked& t : tracked_) {
    auto rec = memory_.GetInstance(t.id);
    if (rec.ok() && rec->has_value() && !core::IsTerminal((*rec)->status())) {
      return absl::InternalError(absl::StrCat(
          "after quiescing, '", t.id, "' (", t.kind, ") is still ",
          core::StatusName((*rec)->status()), " with ", (*rec)->history_size(),
          " history events: the system is stuck"));
    }
  }
  return absl::OkStatus();
}

absl::Status World::CheckFinal() {
  for (const Tracked& t : tracked_) {
    auto rec = memory_.GetInstance(t.id);
    if (!rec.ok()) return rec.status();
    auto fail = [&](absl::string_view why) {
      return absl::InternalError(absl::StrCat("final state of '", t.id, "' (", t.kind, "(",
                                              t.input, ")): ", why));
    };
    if (!rec->has_value()) {
      // A purge may delete it; a child may never have been created; a start that
      // was not acknowledged may be lost in a crash.
      if (t.purge_issued || t.is_child || !t.start_acked) continue;
      return fail("gone, but it was never purged");
    }
    const store::InstanceRecord& r = **rec;
    switch (r.status()) {
      case ORCHESTRATION_STATUS_COMPLETED: {
        ++stats_.completed;
        const std::string out = r.output().value();
        if (t.kind == "event") {
          if (std::find(t.go.begin(), t.go.end(), out) == t.go.end()) {
            return fail(absl::StrCat("completed with '", out, "', not the data of a go event"));
          }
        } else if (out != ExpectedOutput(t.kind, t.input)) {
          return fail(absl::StrCat("completed with '", out, "', expected '",
                                   *ExpectedOutput(t.kind, t.input), "'"));
        }
        break;
      }
      case ORCHESTRATION_STATUS_TERMINATED:
        ++stats_.terminated;
        if (!t.terminate_issued) return fail("TERMINATED, but nobody terminated it");
        break;
      case ORCHESTRATION_STATUS_FAILED:
        ++stats_.failed;
        if (!(t.kind == "child" && t.child_disturbed) &&
            !(t.kind == "fragile" && t.activity_failed)) {
          return fail(absl::StrCat("FAILED: ", r.failure_details().errortype(), ": ",
                                   r.failure_details().errormessage()));
        }
        break;
      default:
        return fail(absl::StrCat("ended ", core::StatusName(r.status())));
    }
  }
  return absl::OkStatus();
}

}  // namespace taskhub::sim
