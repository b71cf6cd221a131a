// The storage seam of taskhubd. One narrow interface, implemented by the in-memory
// reference model (memory/), RocksDB (rocksdb/, the default) and, later, Azure Storage.
//
// Model: a task hub holds instance records, each instance's history (current
// execution) and inbox (pending events), activity tasks, and durable timers. The
// engine owns all dispatch state in memory and rebuilds it with LoadRecoveryState();
// the backend only stores. Writes are grouped into a WriteSet committed atomically
// and durably (WAL synced) by Commit(): either all its operations survive a crash
// or none do.
//
// Partitioning (for a replicated Azure Storage backend): every key an operation
// touches belongs to one instance or carries its instance id, so a backend may map
// instances to partitions (e.g. FNV-1a(instance id) % N) and a replica that owns a
// set of partitions (through leases) calls LoadRecoveryState(partitions) for them.
// Single-node backends have one partition, 0.
//
// Thread-safety: all methods may be called concurrently. Commit() calls from
// different threads may be grouped into one durable write (group commit).
#ifndef TASKHUB_SERVER_STORAGE_BACKEND_H_
#define TASKHUB_SERVER_STORAGE_BACKEND_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orchestrator_service.pb.h"
#include "taskhub_store.pb.h"

namespace taskhub::storage {

// The indexed fields of an instance as last stored (used to update indexes).
struct IndexedFields {
  OrchestrationStatus status = ORCHESTRATION_STATUS_RUNNING;
  int64_t created_us = 0;
  int64_t completed_us = 0;
  static IndexedFields Of(const store::InstanceRecord& rec);
  bool operator==(const IndexedFields& o) const {
    return status == o.status && created_us == o.created_us && completed_us == o.completed_us;
  }
};

// --- Write operations ------------------------------------------------------------
struct PutInstance {
  store::InstanceRecord record;
  std::optional<IndexedFields> previous;  // absent when the instance is new
};
// Deletes the record, its index entries, history and inbox.
struct DeleteInstance {
  std::string instance_id;
  IndexedFields previous;
};
// history[first_index + i] = events[i]. Backends may store the events of one
// append together (RocksDB: one key per append), so appends are episode-sized.
struct AppendHistory {
  std::string instance_id;
  uint64_t first_index;
  std::vector<HistoryEvent> events;
};
struct ClearHistory {
  std::string instance_id;
};
struct PutInbox {
  std::string instance_id;
  uint64_t seq;
  HistoryEvent event;
};
struct DeleteInbox {
  std::string instance_id;
  uint64_t seq;
};
struct PutActivity {
  uint64_t seq;
  store::ActivityTask task;
};
struct DeleteActivity {
  uint64_t seq;
};
struct PutTimer {
  int64_t fire_us;
  uint64_t seq;
  store::TimerRecord timer;
};
struct DeleteTimer {
  int64_t fire_us;
  uint64_t seq;
};
// A message to an instance of another engine partition (see store.OutboxMessage).
struct PutMessage {
  uint64_t seq;
  store::OutboxMessage message;
};
struct DeleteMessage {
  uint64_t seq;
};
// A lifecycle notification for one webhook (see store.Notification): put when the
// state change is written, put again (same seq) when dead-lettered or retried, deleted
// when delivered. Backends may place it by `notification.instance_id`.
struct PutNotification {
  uint64_t seq;
  store::Notification notification;
};
struct DeleteNotification {
  uint64_t seq;
  std::string instance_id;  // of the notification (backends may place rows by it)
};
// Removes everything in the task hub (DeleteTaskHub).
struct DeleteEverything {};

using WriteOp = std::variant<PutInstance, DeleteInstance, AppendHistory, ClearHistory,
                             PutInbox, DeleteInbox, PutActivity, DeleteActivity, PutTimer,
                             DeleteTimer, PutMessage, DeleteMessage, PutNotification,
                             DeleteNotification, DeleteEverything>;

// An ordered list of operations, committed atomically. `max_seq` is the largest
// sequence number the engine has handed out so far; backends persist it so
// LoadRecoveryState() can return a starting point above every stored key.
struct WriteSet {
  std::vector<WriteOp> ops;
  uint64_t max_seq = 0;
  bool empty() const { return ops.empty(); }
};

// --- Recovery ------------------------------------------------------------------
struct InboxItem {
  std::string instance_id;
  uint64_t seq;
  HistoryEvent event;
};
struct ActivityItem {
  uint64_t seq;
  store::ActivityTask task;
};
struct TimerItem {
  int64_t fire_us;
  uint64_t seq;
  store::TimerRecord timer;
};
struct MessageItem {
  uint64_t seq;
  store::OutboxMessage message;
};
struct NotificationItem {
  uint64_t seq;
  store::Notification notification;
};
struct RecoveryState {
  std::vector<store::InstanceRecord> live_instances;  // every non-terminal instance
  std::vector<InboxItem> inbox;                       // ordered by (instance, seq)
  std::vector<ActivityItem> activities;               // ordered by seq
  std::vector<TimerItem> timers;                      // ordered by (fire time, seq)
  std::vector<MessageItem> messages;                  // ordered by seq
  std::vector<NotificationItem> notifications;        // ordered by seq (dead ones too)
  uint64_t max_seq = 0;
};

// --- Queries -------------------------------------------------------------------
// Results are ordered by (created time, instance id), or by instance id when
// `id_prefix` is set. `continuation` is an opaque token from a previous page.
struct InstanceFilter {
  std::vector<OrchestrationStatus> statuses;  // empty = any
  std::optional<absl::Time> created_from, created_to;      // inclusive bounds
  std::optional<absl::Time> completed_from, completed_to;  // inclusive; terminal only
  std::string id_prefix;
  // false: orchestration instances only (ids not starting with '@'); true: entities
  // only (ids "@name@key"). Entities are queried by id prefix ("@" at least).
  bool entities = false;
  int page_size = 100;  // <= 0 means 100
  std::string continuation;
};
struct InstancePage {
  std::vector<store::InstanceRecord> records;
  std::string continuation;  // empty when there are no more results
};

// Stored instances by runtime status (orchestrations), and entities.
struct InstanceCounts {
  int64_t by_status[8] = {};  // indexed by OrchestrationStatus (0..7)
  int64_t entities = 0;
};

// One storage counter or gauge for /metrics (server/metrics renders it as
// taskhub_<name>, e.g. "storage_transactions_total" with label kind="table_read").
struct StorageStat {
  std::string name;
  std::string help;
  bool counter = true;  // else a gauge
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Atomically and durably applies `ws`. After an error the backend may refuse
  // further writes (sticky failure): callers must treat errors as fatal for the
  // write path. UNAVAILABLE for I/O errors, DATA_LOSS for corruption.
  virtual absl::Status Commit(const WriteSet& ws) = 0;

  // The record of `instance_id`, or std::nullopt when it does not exist.
  virtual absl::StatusOr<std::optional<store::InstanceRecord>> GetInstance(
      const std::string& instance_id) = 0;
  // The current execution's history, in order (empty if unknown).
  virtual absl::StatusOr<std::vector<HistoryEvent>> GetHistory(
      const std::string& instance_id) = 0;
  // Everything the engine needs to resume after a restart.
  virtual absl::StatusOr<RecoveryState> LoadRecoveryState() = 0;
  // One page of instances matching `filter`. INVALID_ARGUMENT for a bad token.
  virtual absl::StatusOr<InstancePage> QueryInstances(const InstanceFilter& filter) = 0;

  // Counts the stored instances by status (the engine reads it once at start-up to
  // seed its instance gauges, then keeps them current from its own writes). The
  // default pages through QueryInstances; a backend with a status index overrides it.
  virtual absl::StatusOr<InstanceCounts> CountInstances();
  // Appends the backend's own counters (cheap, no I/O; called at every scrape from
  // any thread). Default: none.
  virtual void CollectStats(std::vector<StorageStat>* out) const { (void)out; }
};

// Keeps `rec` iff it matches every condition of `f` except paging.
bool MatchesFilter(const store::InstanceRecord& rec, const InstanceFilter& f);

}  // namespace taskhub::storage


namespace taskhub::storage {
// Continuation tokens shared by all backends: "c<created_us>/<id>" when ordered by
// created time, "p<id>" when ordered by instance id (prefix queries).
std::string EncodeCreatedToken(int64_t created_us, const std::string& id);
std::string EncodePrefixToken(const std::string& id);
struct DecodedToken {
  bool by_prefix = false;
  int64_t created_us = 0;
  std::string id;
};
// INVALID_ARGUMENT when `token` was not produced by the Encode functions above.
absl::StatusOr<std::optional<DecodedToken>> DecodeToken(const std::string& token);
// DecodeToken(f.continuation), also INVALID_ARGUMENT when the token was issued for
// the other order (by id prefix vs. by created time) than `f` asks for.
absl::StatusOr<std::optional<DecodedToken>> DecodeQueryToken(const InstanceFilter& f);
}  // namespace taskhub::storage

#endif  // TASKHUB_SERVER_STORAGE_BACKEND_H_
