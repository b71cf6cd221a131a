// Engine: retention (EngineOptions::retention). A sweep runs the rules one after the
// other; each rule is a filter purge (PurgeJob, engine_purge.cc) of the instances in
// its status created and completed at least `age` ago, recursive (sub-orchestrations
// whose records name the purged parent go with it), rate-bounded, with no time
// budget. When the last rule is done the next sweep is scheduled one interval later
// (on the engine's clock, so tests with a fake clock drive it). Live instances are
// never purged: the filter holds terminal statuses only and Partition::DeleteFinished
// deletes nothing that is not finished. A store error ends the sweep (logged); the
// next one runs an interval later. Counts: EngineStats::retention_purged_instances.
#include <algorithm>
#include <memory>

#include "server/common/logging.h"
#include "server/core/history.h"
#include "server/engine/engine.h"
#include "server/engine/engine_purge.h"

namespace taskhub::engine {
namespace {

absl::Duration SweepInterval(const EngineOptions& o) {
  if (o.retention_interval > absl::ZeroDuration()) return o.retention_interval;
  absl::Duration smallest = absl::InfiniteDuration();
  for (const auto& r : o.retention) smallest = std::min(smallest, r.age);
  return std::clamp(smallest / 4, absl::Milliseconds(100), absl::Minutes(1));
}

}  // namespace

void Engine::ScheduleRetention(absl::Duration delay) {
  if (shutting_down()) return;
  timers_.Schedule(clock_->Now() + delay,
                   [this] { purger_.Post([this] { RetentionSweep(0); }); });
}

void Engine::RetentionSweep(size_t rule) {
  if (shutting_down()) return;
  if (rule >= options_.retention.size()) return ScheduleRetention(SweepInterval(options_));
  const EngineOptions::RetentionRule& r = options_.retention[rule];
  auto job = std::make_shared<PurgeJob>();
  job->retention = true;
  job->recursive = true;
  job->by_filter = true;
  job->rate = std::max(1, options_.retention_rate);
  // Slices of about a quarter second's worth: the rate bound stays smooth.
  job->slice = std::clamp<size_t>(static_cast<size_t>(job->rate / 4), 1, kPurgeSliceInstances);
  const absl::Time cutoff = clock_->Now() - r.age;
  job->filter.statuses = {r.status};
  job->filter.created_to = cutoff;  // created <= completed: bounds the index scan
  job->filter.completed_to = cutoff;
  job->filter.page_size = static_cast<int>(job->slice);
  const OrchestrationStatus status = r.status;
  job->done = [this, rule, status](absl::StatusOr<PurgeInstancesResponse> resp) {
    if (!resp.ok()) {
      if (!shutting_down()) {
        Logger("engine")->warn("retention: purging {} instances failed: {}",
                               core::StatusName(status), resp.status().ToString());
      }
      return ScheduleRetention(SweepInterval(options_));
    }
    if (resp->deletedinstancecount() > 0) {
      Logger("engine")->info("retention: purged {} {} instances ({} since start-up)",
                             resp->deletedinstancecount(), core::StatusName(status),
                             retention_purged_.load());
    }
    purger_.Post([this, rule] { RetentionSweep(rule + 1); });
  };
  StartPurge(std::move(job));
}

}  // namespace taskhub::engine
