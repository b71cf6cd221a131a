// The seam between the engine and lifecycle notifications (server/notify/): the
// engine writes the notification outbox rows a sink asks for in the same commit as
// the instance record change they report, and hands them to the sink once that commit
// is durable (no polling). The sink delivers and later deletes or rewrites the rows
// through Engine::CommitNotificationRows.
//
// Thread-safety: implementations are called concurrently from partition threads and
// the committer thread; no method may block or call back into the engine.
#ifndef TASKHUB_SERVER_ENGINE_LIFECYCLE_SINK_H_
#define TASKHUB_SERVER_ENGINE_LIFECYCLE_SINK_H_

#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "server/storage/backend.h"

namespace taskhub::engine {

class LifecycleSink {
 public:
  virtual ~LifecycleSink() = default;
  // The outbox rows to write with the record `rec` whose stored status was `before`
  // (nullopt: the record is new). Called under a partition lock. Empty: nothing.
  virtual std::vector<store::Notification> Rows(const store::InstanceRecord& rec,
                                                std::optional<OrchestrationStatus> before,
                                                absl::Time now) = 0;
  // The rows of one commit (with their seqs), once it is durable, in commit order.
  virtual void Committed(std::vector<storage::NotificationItem> rows) = 0;
  // The rows found in the store at start-up (before any Committed call).
  virtual void Recovered(std::vector<storage::NotificationItem> rows) = 0;
};

}  // namespace taskhub::engine

#endif  // TASKHUB_SERVER_ENGINE_LIFECYCLE_SINK_H_
