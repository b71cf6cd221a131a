// Drives an engine from fuzz inputs: client calls and worker steps, each applied
// synchronously (the harness waits for the call's completion callback, so a call
// that never answers shows up as a libFuzzer timeout). Work items the engine pushes
// to the harness's stream are recorded and provide completion tokens.
// Not thread-safe: one harness per fuzz input, used from the fuzzer's thread.
#ifndef TASKHUB_TESTS_FUZZ_ENGINE_HARNESS_H_
#define TASKHUB_TESTS_FUZZ_ENGINE_HARNESS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "fuzz_input.pb.h"
#include "server/engine/engine.h"

namespace taskhub::fuzz {

// Records the work items sent to it (health pings excluded).
class RecordingSink : public engine::WorkItemSink {
 public:
  void Send(const WorkItem& item) override;
  void Close() override {}
  std::vector<WorkItem> Items();

 private:
  absl::Mutex mu_;
  std::vector<WorkItem> items_ ABSL_GUARDED_BY(mu_);
};

// Engine options small enough that caps and leases are reachable by fuzz inputs.
engine::EngineOptions FuzzEngineOptions();

class EngineHarness {
 public:
  // Creates an engine over `backend` (which must outlive the harness). engine()
  // is null when recovery failed (a clean error is fine for a fuzz input).
  explicit EngineHarness(storage::Backend* backend);
  ~EngineHarness();

  engine::Engine* engine() { return engine_.get(); }
  absl::Status create_status() const { return create_status_; }

  // Applies one client call and waits for its answer.
  void Apply(const ClientCall& call);
  // Applies one worker step (see WorkerStep in fuzz_input.proto).
  void Apply(const WorkerStep& step);
  // Opens (or re-opens) the harness's worker stream.
  void Connect(const GetWorkItemsRequest& req);
  // Waits until everything queued so far is durable.
  void Barrier();
  // Stops the engine and recovers a new one from the same backend; false (and no
  // engine) when recovery fails. The stream reconnects with its last request.
  bool Restart();

 private:
  // The work items of one kind received so far, in order (kEntityRequestV2: entity
  // work items of either format).
  std::vector<WorkItem> Received(WorkItem::RequestCase kind);

  void Create();
  void Disconnect();

  storage::Backend* const backend_;
  std::unique_ptr<engine::Engine> engine_;
  absl::Status create_status_;
  GetWorkItemsRequest stream_req_;
  std::string peer_;  // the connection of the current stream
  int connections_ = 0;
  std::unique_ptr<RecordingSink> sink_;
  std::vector<std::unique_ptr<RecordingSink>> old_sinks_;
  uint64_t stream_ = 0;
  bool connected_ = false;
};

}  // namespace taskhub::fuzz

#endif  // TASKHUB_TESTS_FUZZ_ENGINE_HARNESS_H_
