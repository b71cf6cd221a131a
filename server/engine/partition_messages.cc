// Partition: messages to instances of other partitions (the outbox path, see
// RemoteMessage in partition.h).
#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/core/history.h"
#include "server/core/validation.h"
#include "server/engine/partition.h"
#include "server/engine/partition_internal.h"

namespace taskhub::engine {

namespace {
using Kind = core::Message::Kind;
store::OutboxMessage::Kind KindToStore(Kind k) {
  switch (k) {
    case Kind::kEvent:
      return store::OutboxMessage::EVENT;
    case Kind::kTerminate:
      return store::OutboxMessage::TERMINATE;
    case Kind::kStartChild:
      return store::OutboxMessage::START_CHILD;
    case Kind::kRewindChild:
      return store::OutboxMessage::REWIND_CHILD;
    case Kind::kLockGranted:
      return store::OutboxMessage::LOCK_GRANTED;
  }
  return store::OutboxMessage::EVENT;
}
Kind KindFromStore(store::OutboxMessage::Kind k) {
  switch (k) {
    case store::OutboxMessage::TERMINATE:
      return Kind::kTerminate;
    case store::OutboxMessage::START_CHILD:
      return Kind::kStartChild;
    case store::OutboxMessage::REWIND_CHILD:
      return Kind::kRewindChild;
    case store::OutboxMessage::LOCK_GRANTED:
      return Kind::kLockGranted;
    default:
      return Kind::kEvent;
  }
}
// A stored message this server could have written (the store may be damaged).
absl::Status CheckStored(const store::OutboxMessage& m) {
  // Entity ids ("@name@key") are targets too.
  if (absl::Status st = core::ValidateIdText("message target", m.target()); !st.ok()) {
    return st;
  }
  if ((m.kind() == store::OutboxMessage::START_CHILD ||
       m.kind() == store::OutboxMessage::REWIND_CHILD) &&
      (m.child_record().instance_id() != m.target() ||
       core::IsTerminal(m.child_record().status()))) {
    return absl::DataLossError("child record does not match the message's target");
  }
  return absl::OkStatus();
}
bool NeedsLookup(const store::OutboxMessage& m) {
  return m.kind() == store::OutboxMessage::START_CHILD ||
         m.kind() == store::OutboxMessage::REWIND_CHILD;
}
}  // namespace

store::OutboxMessage Partition::ToStore(const core::Message& m) {
  store::OutboxMessage out;
  out.set_kind(KindToStore(m.kind));
  out.set_target(m.target);
  out.set_expected_execution(m.expected_execution_id);
  *out.mutable_event() = m.event;
  if (m.kind == Kind::kStartChild || m.kind == Kind::kRewindChild) {
    *out.mutable_child_record() = m.child.record;
    *out.mutable_child_start() = m.child.start;
  }
  for (const auto& e : m.lock_set) out.add_lock_set(e);
  return out;
}

core::Message Partition::FromStore(const store::OutboxMessage& m) {
  core::Message out;
  out.kind = KindFromStore(m.kind());
  out.target = m.target();
  out.expected_execution_id = m.expected_execution();
  out.event = m.event();
  out.child.record = m.child_record();
  out.child.start = m.child_start();
  out.lock_set.assign(m.lock_set().begin(), m.lock_set().end());
  return out;
}

void Partition::Outbox(Batch& b, const core::Message& m) {
  RemoteMessage r{NextSeq(), ToStore(m)};
  b.ws.ops.push_back(storage::PutMessage{r.seq, r.message});
  b.outbox.push_back(std::move(r));
}

void Partition::Deliver(std::vector<RemoteMessage> msgs) {
  absl::MutexLock l(&mu_);
  if (shutting_down_) return;  // recovery delivers them again
  std::vector<std::string> ids;
  for (const auto& r : msgs) {
    if (NeedsLookup(r.message)) ids.push_back(r.message.target());
  }
  Prefetched prefetched = Prefetch(ids);
  Batch b;
  for (const auto& r : msgs) {
    // Taken: the message goes in the same write as what receiving it does.
    b.ws.ops.push_back(storage::DeleteMessage{r.seq});
    if (absl::Status st = CheckStored(r.message); !st.ok()) {
      Logger("engine")->error("dropping stored message {}: {}", r.seq, st.ToString());
      continue;
    }
    core::Message m = FromStore(r.message);
    Send(b, m, prefetched);
  }
  Submit(std::move(b));
  PumpLocked();
}

}  // namespace taskhub::engine
