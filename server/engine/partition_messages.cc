// Partition: messages to instances of other partitions (the outbox path). The
// sender's commit writes the message, in its durable form (one inbox event, see
// Encode), into the target's inbox; after the commit the target's partition decodes
// it and receives it (core::Receive) in a write of its own that also deletes it.
// Recovery hands messages that were never taken to Deliver again.
#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/engine/partition.h"
#include "server/engine/partition_internal.h"

namespace taskhub::engine {

namespace {
bool IsChildStart(const HistoryEvent& ev) {
  return ev.has_executionstarted() && ev.executionstarted().has_parentinstance();
}
// A rewind-child message carries the child's creation (name, version, input, parent,
// tags) in the executionRewound fields 5-9, which the events we deliver never set.
bool IsRewindChild(const HistoryEvent& ev) {
  return ev.has_executionrewound() && ev.executionrewound().has_parentinstance();
}
}  // namespace

bool Partition::IsMessage(const HistoryEvent& ev, const std::string* live_execution) {
  if (IsRewindChild(ev)) return true;
  // A live instance's own start event names its execution; a start for another one
  // is a child start that has not been taken yet.
  return IsChildStart(ev) &&
         (live_execution == nullptr ||
          ev.executionstarted().orchestrationinstance().executionid().value() != *live_execution);
}

HistoryEvent Partition::Encode(const core::Message& m) {
  using Kind = core::Message::Kind;
  switch (m.kind) {
    case Kind::kEvent:
    case Kind::kTerminate:
      return m.event;
    case Kind::kStartChild:
      return m.child.start;
    case Kind::kRewindChild: {
      HistoryEvent ev = m.event;
      auto* rw = ev.mutable_executionrewound();
      const store::InstanceRecord& c = m.child.record;
      rw->mutable_name()->set_value(c.name());
      if (c.has_version()) *rw->mutable_version() = c.version();
      if (c.has_input()) *rw->mutable_input() = c.input();
      *rw->mutable_parentinstance() = c.parent();
      for (const auto& [k, v] : c.tags()) (*rw->mutable_tags())[k] = v;
      return ev;
    }
  }
  return m.event;
}

core::Message Partition::Decode(const RemoteMessage& r) const {
  core::Message m;
  m.target = r.target;
  const HistoryEvent& ev = r.event;
  const absl::Time at = core::FromProto(ev.timestamp());
  if (IsChildStart(ev)) {
    const auto& es = ev.executionstarted();
    core::InstanceSpec spec;
    spec.instance_id = r.target;
    spec.name = es.name();
    if (es.has_version()) spec.version = es.version().value();
    if (es.has_input()) spec.input = es.input().value();
    spec.execution_id = es.orchestrationinstance().executionid().value();
    for (const auto& [k, v] : es.tags()) spec.tags[k] = v;
    spec.parent = es.parentinstance();
    m.kind = core::Message::Kind::kStartChild;
    m.child = core::BuildInstance(spec, at);
    m.child.start = ev;  // exactly as the parent's episode made it
    return m;
  }
  if (IsRewindChild(ev)) {
    const auto& rw = ev.executionrewound();
    core::InstanceSpec spec;
    spec.instance_id = r.target;
    spec.name = rw.name().value();
    if (rw.has_version()) spec.version = rw.version().value();
    if (rw.has_input()) spec.input = rw.input().value();
    spec.execution_id = ctx_.ids->NewId();
    for (const auto& [k, v] : rw.tags()) spec.tags[k] = v;
    spec.parent = rw.parentinstance();
    m.kind = core::Message::Kind::kRewindChild;
    m.child = core::BuildInstance(spec, at);
    core::SetExecutionId(m.child, spec.execution_id);
    m.event = ev;
    auto* e = m.event.mutable_executionrewound();
    e->clear_name();
    e->clear_version();
    e->clear_input();
    e->clear_parentinstance();
    e->clear_tags();
    return m;
  }
  m.kind =
      ev.has_executionterminated() ? core::Message::Kind::kTerminate : core::Message::Kind::kEvent;
  m.event = ev;
  m.expected_execution_id = r.expected_execution;
  return m;
}

void Partition::Outbox(Batch& b, const core::Message& m) {
  const uint64_t seq = NextSeq();
  HistoryEvent ev = Encode(m);
  b.ws.ops.push_back(storage::PutInbox{m.target, seq, ev});
  b.outbox.push_back(RemoteMessage{m.target, seq, std::move(ev), m.expected_execution_id});
}

void Partition::Deliver(std::vector<RemoteMessage> msgs) {
  absl::MutexLock l(&mu_);
  if (shutting_down_) return;  // recovery delivers them again
  std::vector<std::string> ids;
  for (const auto& r : msgs) {
    if (IsChildStart(r.event) || IsRewindChild(r.event)) ids.push_back(r.target);
  }
  Prefetched prefetched = Prefetch(ids);
  Batch b;
  for (const auto& r : msgs) {
    // The message is taken: its inbox entry goes, whatever the target does with it.
    b.ws.ops.push_back(storage::DeleteInbox{r.target, r.seq});
    Live* live = FindLive(r.target);
    if (IsChildStart(r.event) && !IsMessage(r.event, live ? &live->rec.execution_id() : nullptr)) {
      continue;  // already taken (the child runs that execution)
    }
    core::Message m = Decode(r);
    Send(b, m, prefetched);
  }
  Submit(std::move(b));
  PumpLocked();
}

}  // namespace taskhub::engine
