// Engine: the lifecycle-notification outbox (lifecycle_sink.h): recovery hand-off and
// the sink's own writes.
#include "server/engine/engine.h"
#include "server/engine/lifecycle_sink.h"

namespace taskhub::engine {

void Engine::RecoverNotifications(storage::RecoveryState& st) {
  if (options_.lifecycle_sink == nullptr || st.notifications.empty()) return;
  options_.lifecycle_sink->Recovered(std::move(st.notifications));
}

void Engine::CommitNotificationRows(storage::WriteSet ws, Done done) {
  // Seqs of the rows were handed out earlier: max_seq only keeps the store's mark.
  ws.max_seq = seq_.load();
  commits_.Submit(std::move(ws), std::move(done));
}

}  // namespace taskhub::engine
