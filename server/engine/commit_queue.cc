#include "server/engine/commit_queue.h"

#include "server/common/logging.h"

namespace taskhub::engine {

CommitQueue::CommitQueue(storage::Backend* backend,
                         std::function<void(const absl::Status&)> on_failure)
    : backend_(backend), on_failure_(std::move(on_failure)), thread_([this] { Run(); }) {}

CommitQueue::~CommitQueue() { Stop(); }

void CommitQueue::Submit(storage::WriteSet ws, After after) {
  absl::MutexLock l(&mu_);
  if (stopping_) {
    // Run outside the lock would be nicer, but callers never hold our lock.
    mu_.Unlock();
    after(absl::UnavailableError("the server is shutting down"));
    mu_.Lock();
    return;
  }
  ++submissions_;
  queue_.push_back({std::move(ws), std::move(after)});
}

void CommitQueue::Stop() {
  {
    absl::MutexLock l(&mu_);
    if (stopping_) {
      if (!thread_.joinable()) return;
    }
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
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
    absl::Status sticky;
    {
      absl::MutexLock l(&mu_);
      mu_.Await(absl::Condition(
          +[](CommitQueue* q) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return !q->queue_.empty() || q->stopping_;
          },
          this));
      if (queue_.empty() && stopping_) return;
      items.swap(queue_);
      sticky = sticky_;
    }
    absl::Status st = sticky;
    if (st.ok()) {
      storage::WriteSet merged;
      for (auto& it : items) {
        merged.max_seq = std::max(merged.max_seq, it.ws.max_seq);
        for (auto& op : it.ws.ops) merged.ops.push_back(std::move(op));
      }
      if (!merged.empty()) {
        st = backend_->Commit(merged);
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
    for (auto& it : items) it.after(st);
  }
}

}  // namespace taskhub::engine
