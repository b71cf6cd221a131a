// Engine: purge (by id, by batch, by filter; optionally recursive), as bounded work.
//
// A purge is a PurgeJob advanced one slice at a time on the purger thread (its own,
// so reads on the reader thread never wait for a slice). A slice deletes at most
// `job->slice` instances in one commit (thousands per WAL sync); the commit's
// callback posts the next slice (after a pause when the job has a rate bound:
// retention). Another request's commit waits behind at most one slice's write.
// Cost: a filter page reads the index from where the last one stopped (the
// continuation) and the store compacts the ranges purges delete from, so a slice
// costs the same however many instances were purged before. Recursive purges walk the sub-orchestration
// tree with an explicit work list (no recursion, so no stack depth limit); a child
// is purged only if its record names the purged instance as its parent.
#include <algorithm>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/core/history.h"
#include "server/core/validation.h"
#include "server/engine/engine.h"
#include "server/engine/engine_purge.h"
#include "server/engine/partition.h"

namespace taskhub::engine {
void Engine::Purge(const core::PurgeCommand& cmd, DoneWith<PurgeInstancesResponse> done) {
  auto job = std::make_shared<PurgeJob>();
  job->recursive = cmd.recursive;
  if (cmd.by_filter) {
    if (cmd.nothing_matches) {  // only running statuses requested: nothing may be purged
      PurgeInstancesResponse resp;
      resp.mutable_iscomplete()->set_value(true);
      return done(resp);
    }
    job->by_filter = true;
    job->filter.statuses = cmd.statuses;
    if (job->filter.statuses.empty()) job->filter.statuses = core::TerminalStatuses();
    job->filter.created_from = cmd.created_from;
    job->filter.created_to = cmd.created_to;
    job->filter.page_size = static_cast<int>(job->slice);
    // The client chooses the time budget, capped by the server.
    absl::Duration budget = options_.max_purge_time;
    if (cmd.timeout && *cmd.timeout > absl::ZeroDuration()) {
      budget = std::min(budget, *cmd.timeout);
    }
    job->deadline = clock_->Now() + budget;
  } else {
    job->ids = cmd.instance_ids;
  }
  job->done = std::move(done);
  StartPurge(std::move(job));
}

void Engine::StartPurge(std::shared_ptr<PurgeJob> job) {
  PostAfterDurable(&commits_, &purger_, [this, job](absl::Status st) mutable {
    if (!st.ok()) return FinishPurge(job, st, false);
    PurgeSlice(std::move(job));
  });
}

void Engine::FinishPurge(std::shared_ptr<PurgeJob> job, absl::Status st, bool complete) {
  if (!st.ok()) return job->done(st);
  PurgeInstancesResponse resp;
  resp.set_deletedinstancecount(static_cast<int32_t>(job->deleted));
  resp.mutable_iscomplete()->set_value(complete);
  job->done(resp);
}

void Engine::PurgeSlice(std::shared_ptr<PurgeJob> job) {
  // 1. Refill the work list with roots when the tree walk is done.
  if (job->todo.empty()) {
    job->seen.clear();  // roots are distinct; keeps memory bounded by one tree
    if (job->by_filter) {
      if (job->filter_done) return FinishPurge(job, absl::OkStatus(), true);
      // At least one page per call, so every call makes progress.
      if (job->pages > 0 && clock_->Now() >= job->deadline) {
        return FinishPurge(job, absl::OkStatus(), false);
      }
      ++job->pages;
      absl::StatusOr<storage::InstancePage> page = backend_->QueryInstances(job->filter);
      if (!page.ok()) return FinishPurge(job, page.status(), false);
      for (auto& rec : page->records) job->todo.emplace_back(rec.instance_id(), "");
      job->filter.continuation = page->continuation;
      job->filter_done = page->continuation.empty();
    } else {
      while (job->next_id < job->ids.size() && job->todo.size() < job->slice) {
        job->todo.emplace_back(job->ids[job->next_id++], "");
      }
      if (job->todo.empty()) return FinishPurge(job, absl::OkStatus(), true);
    }
    std::reverse(job->todo.begin(), job->todo.end());  // visit roots in order
  }
  // 2. Take up to one slice of candidates; read their histories without mu_ (a
  // terminal instance's history does not change; the record is checked again below).
  struct Candidate {
    std::string id, parent;
    std::vector<std::string> children;
  };
  std::vector<Candidate> slice;
  while (!job->todo.empty() && slice.size() < job->slice) {
    auto [id, parent] = std::move(job->todo.back());
    job->todo.pop_back();
    if (!job->seen.insert(id).second) continue;
    Candidate c{std::move(id), std::move(parent), {}};
    if (job->recursive) {
      absl::StatusOr<std::vector<HistoryEvent>> history = backend_->GetHistory(c.id);
      if (!history.ok()) return FinishPurge(job, history.status(), false);
      c.children = core::AllChildren(*history);
    }
    slice.push_back(std::move(c));
  }
  // 3. Delete the finished ones in one commit (the partition reads their records
  // without its lock); the commit posts the next slice.
  if (shutting_down()) {
    return FinishPurge(job, absl::UnavailableError("the server is shutting down"), false);
  }
  if (slice.empty()) {
    purger_.Post([this, job] { PurgeSlice(job); });
    return;
  }
  // Grouped by partition; the next slice starts when every group's commit is done.
  std::map<Partition*, std::vector<std::pair<std::string, std::string>>> groups;
  auto children = std::make_shared<std::map<std::string, std::vector<std::string>>>();
  for (auto& c : slice) {
    groups[&PartitionOf(c.id)].emplace_back(c.id, c.parent);
    (*children)[c.id] = std::move(c.children);
  }
  struct Join {
    size_t left;
    absl::Status status;
    std::vector<store::InstanceRecord> deleted;
    absl::Mutex mu;
  };
  auto join = std::make_shared<Join>();
  join->left = groups.size();
  for (auto& [p, ids] : groups) {
    p->DeleteFinished(std::move(ids), [this, job, children,
                                       join](absl::StatusOr<std::vector<store::InstanceRecord>> r) {
      {
        absl::MutexLock l(&join->mu);
        if (!r.ok()) {
          join->status.Update(r.status());
        } else {
          for (auto& rec : *r) join->deleted.push_back(std::move(rec));
        }
        if (--join->left > 0) return;
      }
      if (!join->status.ok()) return FinishPurge(job, join->status, false);
      const size_t n = join->deleted.size();
      job->deleted += static_cast<int64_t>(n);
      purged_ += n;
      if (job->retention) retention_purged_ += n;
      for (const auto& rec : join->deleted) {
        for (auto& child : (*children)[rec.instance_id()]) {
          job->todo.emplace_back(std::move(child), rec.instance_id());
        }
      }
      if (job->rate <= 0 || n == 0) {
        purger_.Post([this, job] { PurgeSlice(job); });
        return;
      }
      // Rate bound: n instances took their share of n / rate seconds.
      timers_.Schedule(clock_->Now() + absl::Seconds(static_cast<double>(n) / job->rate),
                       [this, job] { purger_.Post([this, job] { PurgeSlice(job); }); });
    });
  }
}

}  // namespace taskhub::engine
