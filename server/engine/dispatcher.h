// The dispatcher: worker streams, their capacity per work-item kind, completion
// tokens and health pings. It knows nothing of instances: an owner (a partition)
// asks it to send a work item of some kind to a stream that accepts it, and gets the
// token back; every kind (orchestration episodes, activity tasks, entity batches)
// goes through the same Dispatch/Release/Owner calls.
//
// Tokens: 128 random bits per delivery (the owner of a token is recorded here, so a
// completion is routed by token alone); a token issued before a restart never matches.
//
// Thread-safety: thread-safe. Lock order: a partition's lock, then Dispatcher::mu_,
// then the TimerQueue's. The dispatcher never calls into a partition. Sinks are only
// touched under mu_, so after RemoveStream() returns the sink is never used again.
#ifndef TASKHUB_SERVER_ENGINE_DISPATCHER_H_
#define TASKHUB_SERVER_ENGINE_DISPATCHER_H_

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "orchestrator_service.pb.h"
#include "server/common/clock.h"
#include "server/engine/timer_queue.h"
#include "server/engine/work_item_filter.h"

namespace taskhub::engine {

// A worker's GetWorkItems stream, as the engine sees it. Implemented by the api
// layer. Thread-safe; Send() never blocks and may be called after Close().
class WorkItemSink {
 public:
  virtual ~WorkItemSink() = default;
  virtual void Send(const WorkItem& item) = 0;
  virtual void Close() = 0;  // end the stream with status OK (shutdown)
};

struct EngineMetrics;
enum class WorkOutcome : int;

enum class WorkKind : int { kOrchestration = 0, kActivity = 1, kEntity = 2 };
constexpr int kWorkKinds = 3;

// Who holds a token: the partition and the item within it (an instance id for
// episodes and entity batches, an activity task's sequence number for activities).
struct TokenOwner {
  WorkKind kind = WorkKind::kOrchestration;
  int partition = 0;
  std::string instance_id;
  uint64_t seq = 0;
  std::string token;  // the delivery's token (set by the dispatcher)
};

struct DispatcherOptions {
  int default_max_concurrent = 1000;  // per stream and kind, when the worker sends 0
  absl::Duration health_ping_interval = absl::Seconds(30);
  uint64_t token_seed = 0;  // 0: seeded from OS entropy
  EngineMetrics* metrics = nullptr;  // counts deliveries (engine_metrics.h); may be null
  // Most deliveries of each kind out at once over all streams (0 = no cap).
  int server_max[kWorkKinds] = {};
};

class Dispatcher {
 public:
  Dispatcher(TimerQueue* timers, Clock* clock, DispatcherOptions options);

  // Registers a stream; 0 (and the sink closed) after Shutdown().
  uint64_t AddStream(WorkItemSink* sink, const core::ConnectCommand& cmd, const std::string& peer);
  // Unregisters a stream and returns the owners of the work it held, which the
  // caller must release in their partitions. Idempotent.
  std::vector<TokenOwner> RemoveStream(uint64_t stream_id);

  // True when some stream has room for one more item of `kind` (and the server-wide
  // cap of the kind, if any, is not reached).
  bool HasRoom(WorkKind kind) const;
  // Picks the next stream, round robin, that has room for `kind` and whose filter
  // accepts (name, version) (for entities: the entity name; version unused); then `build` fills the work item (called under mu_, only
  // when a stream was found), the token is set and the item sent. Returns the token,
  // or nullopt when no stream can take it.
  std::optional<std::string> Dispatch(WorkKind kind, const std::string& name,
                                      const std::string& version, TokenOwner owner,
                                      absl::FunctionRef<void(WorkItem*)> build);
  // Frees the slot of a delivery (`outcome`: why, for the metrics; a completion also
  // records the delivery's duration); unknown tokens are ignored.
  void Release(const std::string& token, WorkOutcome outcome);
  std::optional<TokenOwner> Owner(const std::string& token) const;
  // True when the delivery `token` was sent on a stream from `peer` (non-empty).
  bool SentTo(const std::string& token, const std::string& peer) const;

  // Closes every sink and refuses new streams.
  void Shutdown();
  // Forgets every delivery (the task hub was deleted); streams stay connected.
  void ForgetAll();
  size_t streams() const;
  // Distinct peers (connections) among the streams; deliveries in flight by kind.
  size_t connections() const;
  size_t in_flight(WorkKind kind) const;

 private:
  struct Stream {
    uint64_t id = 0;
    WorkItemSink* sink = nullptr;
    WorkItemFilter filter;
    std::string peer;
    int max[kWorkKinds] = {};
    int used[kWorkKinds] = {};
    std::set<std::string> tokens;
    uint64_t ping_timer = 0;
  };
  struct Delivery {
    TokenOwner owner;
    uint64_t stream = 0;
    absl::Time sent;
  };
  void SchedulePing(uint64_t stream_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NewToken(WorkKind kind) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  TimerQueue* const timers_;
  Clock* const clock_;
  const DispatcherOptions options_;
  mutable absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::map<uint64_t, std::unique_ptr<Stream>> streams_ ABSL_GUARDED_BY(mu_);
  uint64_t next_stream_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t cursor_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, Delivery> deliveries_ ABSL_GUARDED_BY(mu_);
  int total_used_[kWorkKinds] ABSL_GUARDED_BY(mu_) = {};  // deliveries out, by kind
  std::optional<std::mt19937_64> seeded_ ABSL_GUARDED_BY(mu_);
  absl::BitGen entropy_ ABSL_GUARDED_BY(mu_);
};

}  // namespace taskhub::engine

#endif  // TASKHUB_SERVER_ENGINE_DISPATCHER_H_
