// Partition: the lifecycle-notification outbox rows of a record write (see
// lifecycle_sink.h), written in the same batch as the record.
#include "server/engine/lifecycle_sink.h"
#include "server/engine/partition.h"
#include "server/engine/partition_internal.h"

namespace taskhub::engine {

void Partition::NoteLifecycle(Batch& b, const Live& live) {
  LifecycleSink* sink = ctx_.options->lifecycle_sink;
  if (sink == nullptr) return;
  std::optional<OrchestrationStatus> before;
  if (live.stored) before = live.stored->status;
  if (before && *before == live.rec.status()) return;
  for (store::Notification& row : sink->Rows(live.rec, before, ctx_.clock->Now())) {
    const uint64_t seq = NextSeq();
    b.ws.ops.push_back(storage::PutNotification{seq, row});
    b.notifications.push_back({seq, std::move(row)});
  }
}

void Partition::NotifyCommitted(Batch& b) {
  if (b.notifications.empty()) return;
  ctx_.options->lifecycle_sink->Committed(std::move(b.notifications));
}

}  // namespace taskhub::engine
