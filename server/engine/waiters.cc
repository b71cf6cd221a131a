#include "server/engine/waiters.h"

#include "absl/strings/str_cat.h"
#include "server/core/history.h"
#include "server/core/orchestration.h"

namespace taskhub::engine {

GetInstanceResponse StateResponse(const store::InstanceRecord& rec, bool payloads) {
  GetInstanceResponse r;
  r.set_exists(true);
  *r.mutable_orchestrationstate() = core::ToOrchestrationState(rec, payloads);
  return r;
}

bool Waiters::Waiter::Satisfied(const store::InstanceRecord& rec) const {
  return completion ? core::IsTerminal(rec.status()) : rec.status() != ORCHESTRATION_STATUS_PENDING;
}

uint64_t Waiters::Add(const std::string& id, bool completion, bool payloads, Done done,
                      absl::Duration wait) {
  auto w = std::make_unique<Waiter>();
  w->id = id;
  w->completion = completion;
  w->payloads = payloads;
  w->done = std::move(done);
  uint64_t handle;
  {
    absl::MutexLock l(&mu_);
    handle = w->handle = ++next_;
    by_id_.emplace(id, handle);
    by_handle_[handle] = std::move(w);
  }
  const bool capped = wait >= max_wait_;
  const absl::Duration limit = capped ? max_wait_ : wait;
  const uint64_t timer = timers_->Schedule(clock_->Now() + limit, [this, handle, limit, capped] {
    End(handle, absl::DeadlineExceededError(absl::StrCat(
                    capped ? "the server-side wait limit of " : "the requested wait of ",
                    absl::FormatDuration(limit), " was reached; call again to keep waiting")));
  });
  absl::MutexLock l(&mu_);
  auto it = by_handle_.find(handle);
  if (it != by_handle_.end()) {
    it->second->cap_timer = timer;
  } else {
    timers_->Cancel(timer);  // already fired
  }
  return handle;
}

std::unique_ptr<Waiters::Waiter> Waiters::Take(uint64_t handle) {
  auto it = by_handle_.find(handle);
  if (it == by_handle_.end()) return nullptr;
  std::unique_ptr<Waiter> w = std::move(it->second);
  by_handle_.erase(it);
  auto [b, e] = by_id_.equal_range(w->id);
  for (auto i = b; i != e; ++i) {
    if (i->second == handle) {
      by_id_.erase(i);
      break;
    }
  }
  return w;
}

void Waiters::Fire(std::unique_ptr<Waiter> w, absl::StatusOr<GetInstanceResponse> r) {
  timers_->Cancel(w->cap_timer);
  if (w->done) w->done(std::move(r));
}

void Waiters::Check(uint64_t handle,
                    const absl::StatusOr<std::optional<store::InstanceRecord>>& rec) {
  std::unique_ptr<Waiter> w;
  {
    absl::MutexLock l(&mu_);
    auto it = by_handle_.find(handle);
    if (it == by_handle_.end()) return;
    if (rec.ok() && rec->has_value() && !it->second->Satisfied(**rec)) return;
    w = Take(handle);
  }
  if (!rec.ok()) return Fire(std::move(w), rec.status());
  if (!rec->has_value()) return Fire(std::move(w), GetInstanceResponse());
  const bool payloads = w->payloads;
  Fire(std::move(w), StateResponse(**rec, payloads));
}

void Waiters::End(uint64_t handle, absl::Status status) {
  std::unique_ptr<Waiter> w;
  {
    absl::MutexLock l(&mu_);
    w = Take(handle);
  }
  if (w) Fire(std::move(w), std::move(status));
}

void Waiters::Notify(const store::InstanceRecord& rec) {
  std::vector<std::unique_ptr<Waiter>> fire;
  {
    absl::MutexLock l(&mu_);
    auto [b, e] = by_id_.equal_range(rec.instance_id());
    std::vector<uint64_t> handles;
    for (auto it = b; it != e; ++it) {
      if (by_handle_[it->second]->Satisfied(rec)) handles.push_back(it->second);
    }
    for (uint64_t h : handles) fire.push_back(Take(h));
  }
  for (auto& w : fire) {
    const bool payloads = w->payloads;
    Fire(std::move(w), StateResponse(rec, payloads));
  }
}

void Waiters::FailAll(const absl::Status& status) {
  std::vector<std::unique_ptr<Waiter>> fire;
  {
    absl::MutexLock l(&mu_);
    for (auto& [h, w] : by_handle_) fire.push_back(std::move(w));
    by_handle_.clear();
    by_id_.clear();
  }
  for (auto& w : fire) Fire(std::move(w), status);
}

size_t Waiters::size() {
  absl::MutexLock l(&mu_);
  return by_handle_.size();
}

}  // namespace taskhub::engine
