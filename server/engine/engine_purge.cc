// Engine: purge (by id, by batch, by filter; optionally recursive), as bounded work.
//
// A purge is a PurgeJob advanced one slice at a time on the reader thread. A slice
// deletes at most kSliceInstances instances in one commit; the commit's callback
// posts the next slice, so the reader thread is never blocked by a purge and reads
// posted meanwhile run between slices. Recursive purges walk the sub-orchestration
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
#include "server/engine/partition.h"

namespace taskhub::engine {
namespace {
constexpr size_t kSliceInstances = 100;  // instances deleted per slice (one commit)
constexpr int kFilterPage = 100;         // instances read per filter page
}  // namespace

struct Engine::PurgeJob {
  bool recursive = false;
  // Roots still to visit: from the request's ids, or from filter pages.
  std::vector<std::string> ids;
  size_t next_id = 0;
  bool by_filter = false;
  bool filter_done = false;
  int pages = 0;
  storage::InstanceFilter filter;
  absl::Time deadline = absl::InfiniteFuture();
  // The tree walk: (instance id, the parent its record must name; empty for roots).
  std::vector<std::pair<std::string, std::string>> todo;
  absl::flat_hash_set<std::string> seen;
  int64_t deleted = 0;
  DoneWith<PurgeInstancesResponse> done;
};

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
    job->filter.page_size = kFilterPage;
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
  AfterDurable([this, job](absl::Status st) mutable {
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
      while (job->next_id < job->ids.size() && job->todo.size() < kSliceInstances) {
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
  while (!job->todo.empty() && slice.size() < kSliceInstances) {
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
    reader_.Post([this, job] { PurgeSlice(job); });
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
      job->deleted += static_cast<int64_t>(join->deleted.size());
      for (const auto& rec : join->deleted) {
        for (auto& child : (*children)[rec.instance_id()]) {
          job->todo.emplace_back(std::move(child), rec.instance_id());
        }
      }
      reader_.Post([this, job] { PurgeSlice(job); });
    });
  }
}

}  // namespace taskhub::engine
