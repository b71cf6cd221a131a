#include "server/engine/commit_queue.h"

#include <chrono>

#include "server/common/logging.h"

namespace taskhub::engine {

CommitQueue::CommitQueue(storage::Backend* backend,
                         std::function<void(const absl::Status&)> on_failure, bool manual,
                         EngineMetrics* metrics)
    : backend_(backend), on_failure_(std::move(on_failure)), manual_(manual), metrics_(metrics) {
  if (!manual_) thread_ = std::thread([this] { Run(); });
}

CommitQueue::~CommitQueue() { Stop(); }

void CommitQueue::Submit(storage::WriteSet ws, After after, bool read_barrier) {
  {
    absl::MutexLock l(&mu_);
    if (!stopping_) {
      ++submissions_;
      const bool counted = read_barrier && !ws.empty();
      if (counted) ++barrier_writes_;
      queue_.push_back({std::move(ws), std::move(after), counted});
      return;
    }
  }
  after(absl::UnavailableError("the server is shutting down"));
}

void CommitQueue::ReadBarrier(After after) {
  absl::Status now;
  {
    absl::MutexLock l(&mu_);
    if (!stopping_ && barrier_writes_ > 0) {
      ++submissions_;
      queue_.push_back({storage::WriteSet{}, std::move(after), false});
      return;
    }
    now = stopping_ ? absl::UnavailableError("the server is shutting down") : sticky_;
  }
  after(now);
}

void CommitQueue::Stop() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  if (manual_) {
    // What callbacks submit from now on fails at once, so this ends.
    while (true) {
      std::deque<Item> items;
      {
        absl::MutexLock l(&mu_);
        if (queue_.empty()) break;
        items.swap(queue_);
      }
      CommitGroup(items);
    }
  }
}

void CommitQueue::Abandon() {
  std::deque<Item> dropped;
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  if (thread_.joinable()) thread_.join();
  {
    absl::MutexLock l(&mu_);
    for (const auto& it : dropped) barrier_writes_ -= it.counted ? 1 : 0;
  }
  for (auto& it : dropped) it.after(absl::UnavailableError("the server crashed (simulated)"));
}

bool CommitQueue::RunOnce() {
  if (!manual_) return false;
  std::deque<Item> items;
  {
    absl::MutexLock l(&mu_);
    if (queue_.empty()) return false;
    items.swap(queue_);
  }
  CommitGroup(items);
  return true;
}

uint64_t CommitQueue::commits() const {
  absl::MutexLock l(&mu_);
  return commits_;
}
uint64_t CommitQueue::submissions() const {
  absl::MutexLock l(&mu_);
  return submissions_;
}

void CommitQueue::Run() {
  while (true) {
    std::deque<Item> items;
    {
      absl::MutexLock l(&mu_);
      mu_.Await(absl::Condition(
          +[](CommitQueue* q)
               ABSL_NO_THREAD_SAFETY_ANALYSIS { return !q->queue_.empty() || q->stopping_; },
          this));
      if (queue_.empty() && stopping_) return;
      items.swap(queue_);
    }
    CommitGroup(items);
  }
}

void CommitQueue::CommitGroup(std::deque<Item>& items) {
  absl::Status st;
  {
    absl::MutexLock l(&mu_);
    st = sticky_;
  }
  if (st.ok()) {
    storage::WriteSet merged;
    size_t writes = 0;
    for (auto& it : items) {
      writes += it.ws.empty() ? 0 : 1;
      merged.max_seq = std::max(merged.max_seq, it.ws.max_seq);
      for (auto& op : it.ws.ops) merged.ops.push_back(std::move(op));
    }
    if (!merged.empty()) {
      const auto start = std::chrono::steady_clock::now();
      st = backend_->Commit(merged);
      if (metrics_ != nullptr) {
        metrics_->commit_seconds.Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        metrics_->commit_group_size.Observe(static_cast<double>(writes));
        if (st.ok()) {
          metrics_->ApplyCommitted(merged);
        } else {
          metrics_->commit_failures.fetch_add(1);
        }
      }
      {
        absl::MutexLock l(&mu_);
        ++commits_;
        if (!st.ok()) sticky_ = st;
      }
      if (!st.ok()) {
        Logger("engine")->critical(
            "commit failed; refusing every write from now on (restart taskhubd once the "
            "cause is fixed): {}",
            st.ToString());
        if (on_failure_) on_failure_(st);
      }
    }
  }
  {
    // Durable (or failed for good: a barrier then answers the sticky error at once).
    absl::MutexLock l(&mu_);
    for (const auto& it : items) barrier_writes_ -= it.counted ? 1 : 0;
  }
  for (auto& it : items) it.after(st);
}

void PostAfterDurable(CommitQueue* commits, Executor* reader,
                      absl::AnyInvocable<void(absl::Status)> fn) {
  commits->ReadBarrier([reader, fn = std::move(fn)](absl::Status st) mutable {
    reader->Post([fn = std::move(fn), st]() mutable { fn(st); });
  });
}

}  // namespace taskhub::engine
