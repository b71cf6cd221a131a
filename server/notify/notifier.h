// The notifier: delivers lifecycle notifications from the durable outbox to webhooks.
//
// Guarantees:
// - Durable: the engine writes a row per (event, webhook) in the same commit as the
//   state change (LifecycleSink::Rows); a crash loses none (Recovered re-queues them).
// - At least once: a row is deleted only after its webhook answered 2xx; a crash
//   between the answer and the delete redelivers (same CloudEvent id and body).
// - Ordered per (webhook, instance): the next event of an instance is posted only
//   after the previous one was delivered or dead-lettered. Different instances and
//   webhooks do not wait for each other.
// - Retried with exponential back-off (initial_backoff * 2^(attempt-1), capped at
//   max_backoff) until max_attempts or max_age (from the state change) is reached;
//   then the row is rewritten with dead=true: the dead-letter list (Failed()), which
//   Retry() puts back into delivery. Attempt counts are kept in memory only: a restart
//   starts a pending row's count again.
// - Pushed, not polled: Committed() hands the rows of each durable commit to the
//   delivery threads; nothing scans the store after start-up.
//
// Thread-safety: every public method may be called from any thread. Delivery runs on
// `delivery_threads` threads of its own; HTTP calls are made with no lock held.
#ifndef TASKHUB_SERVER_NOTIFY_NOTIFIER_H_
#define TASKHUB_SERVER_NOTIFY_NOTIFIER_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/ids.h"
#include "server/engine/lifecycle_sink.h"
#include "server/notify/webhook.h"
#include "server/storage/azure/client/azure_client.h"

namespace taskhub::notify {

struct NotifierOptions {
  std::vector<Webhook> webhooks;
  std::string source = "taskhubd";  // CloudEvents `source`
  int max_attempts = 12;
  absl::Duration max_age = absl::Hours(24);
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Minutes(5);
  absl::Duration request_timeout = absl::Seconds(10);
  int delivery_threads = 2;
  size_t max_reason_bytes = 2048;  // failure messages and termination outputs are cut
};

// What Failed() lists: a dead-lettered row.
struct FailedNotification {
  uint64_t seq = 0;  // the operator's id for Retry()
  store::Notification notification;
};

class Notifier : public engine::LifecycleSink {
 public:
  // Writes outbox updates (Engine::CommitNotificationRows); `done` may run on any thread.
  using CommitFn =
      std::function<void(storage::WriteSet ws, std::function<void(absl::Status)> done)>;

  Notifier(NotifierOptions options, std::shared_ptr<azure::HttpTransport> http, IdGenerator* ids);
  ~Notifier() override;  // Stop()s

  // Starts delivery (rows recovered or committed before are delivered from now on).
  void Start(CommitFn commit);
  // Stops the delivery threads (an HTTP call in progress finishes first). Idempotent.
  void Stop();

  // --- engine::LifecycleSink ---
  std::vector<store::Notification> Rows(const store::InstanceRecord& rec,
                                        std::optional<OrchestrationStatus> before,
                                        absl::Time now) override;
  void Committed(std::vector<storage::NotificationItem> rows) override;
  void Recovered(std::vector<storage::NotificationItem> rows) override;

  // --- the operator's dead-letter list ---
  std::vector<FailedNotification> Failed();
  // Puts dead-lettered row `seq` (nullopt: all of them) back into delivery with a
  // fresh attempt count. Returns how many; NOT_FOUND for an unknown seq.
  absl::StatusOr<int> Retry(std::optional<uint64_t> seq);

  struct Counts {
    uint64_t delivered = 0, failed_attempts = 0, dead_lettered = 0;
    size_t pending = 0, dead = 0;
  };
  Counts Stats();
  bool enabled() const { return !options_.webhooks.empty(); }

 private:
  struct Entry {
    uint64_t seq = 0;
    store::Notification n;
    absl::Time next_attempt = absl::InfinitePast();
    int attempts = 0;
  };
  struct Queue {
    std::deque<Entry> entries;            // by seq
    bool in_flight = false;               // its head is being posted
    std::optional<absl::Time> scheduled;  // its entry in schedule_ (head's next attempt)
  };
  using QueueKey = std::pair<std::string, std::string>;  // (webhook URL, instance id)

  // Keeps schedule_ in step with `q`'s head: scheduled when it has one not in flight;
  // drops an empty idle queue. May invalidate `q`.
  void Reschedule(const QueueKey& key, Queue& q) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // One row per webhook that wants event `name` of `rec` (one event id for all).
  void AddRows(const store::InstanceRecord& rec, const std::string& name, absl::Time now,
               std::vector<store::Notification>* out);
  void Enqueue(uint64_t seq, store::Notification n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run();
  // A ready queue head (marked in flight), or nullopt; sets *wake to the next due time.
  std::optional<QueueKey> TakeReady(absl::Time now, absl::Time* wake)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One HTTP attempt; OK on a 2xx answer.
  absl::Status Post(const store::Notification& n);
  void Finish(const QueueKey& key, absl::Status result) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Write(storage::WriteOp op, const char* what);
  const Webhook* WebhookFor(const std::string& url) const;
  absl::Duration Backoff(int attempts) const;

  const NotifierOptions options_;
  const std::shared_ptr<azure::HttpTransport> http_;
  IdGenerator* const ids_;
  CommitFn commit_;

  absl::Mutex mu_;
  absl::CondVar cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::map<QueueKey, Queue> queues_ ABSL_GUARDED_BY(mu_);
  // The queues with a head to post, by its next attempt (no scan of all queues).
  std::set<std::pair<absl::Time, QueueKey>> schedule_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, store::Notification> dead_ ABSL_GUARDED_BY(mu_);
  Counts counts_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

}  // namespace taskhub::notify

#endif  // TASKHUB_SERVER_NOTIFY_NOTIFIER_H_
