// Worker: connects to a Durable Task sidecar server (Hello, then a GetWorkItems
// stream), runs the registered orchestrators, activities and entity batches
// (both work-item formats, entity.h) with bounded
// concurrency, and returns each result with its completion token. It sends
// work-item filters for what it registered (so workers in other languages can
// share the task hub), ignores health pings, reconnects with exponential back-off
// when the stream ends, and on Stop() abandons work it has not started and waits
// for work in progress.
//
// Thread-safe. Orchestrators run one at a time per work item on pool threads.
#ifndef TASKHUB_SDK_WORKER_H_
#define TASKHUB_SDK_WORKER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "taskhub/connection.h"
#include "taskhub/registry.h"

namespace taskhub {

struct WorkerOptions {
  std::string address = "localhost:4001";
  int max_concurrent_orchestrations = 16;
  int max_concurrent_activities = 16;
  int max_concurrent_entities = 16;  // entity batches in progress (each runs one entity)
  bool use_work_item_filters = true;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(15);
  std::string token = {};  // non-empty: sent as `authorization: Bearer <token>` on every call
  TlsOptions tls = {};     // TLS / mutual TLS (connection.h); default plaintext
};

class Worker {
 public:
  Worker(Registry registry, WorkerOptions options = {});
  ~Worker();  // Stop()s
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the background connection. Returns at once; connecting is retried.
  absl::Status Start();
  // Graceful stop: closes the stream, abandons queued work items, waits for
  // running ones to finish and report. Idempotent.
  void Stop();
  // True while a GetWorkItems stream is open.
  bool connected() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace taskhub

#endif  // TASKHUB_SDK_WORKER_H_
