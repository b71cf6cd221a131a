// Fuzz target: worker responses (OrchestratorResponse with any actions, rewind
// histories included; ActivityResponse; abandons) for live instances, interleaved
// with client calls. A fake worker stream records the work items the engine sends,
// so responses can carry real (or stale) completion tokens. Input: fuzz.WorkerInput.
#include <cstdio>

#include "server/storage/memory/memory_backend.h"
#include "tests/fuzz/engine_harness.h"
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/proto_mutator.h"

TASKHUB_FUZZ_PROTO_MUTATOR(taskhub::fuzz::WorkerInput)

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  taskhub::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  taskhub::fuzz::WorkerInput in;
  if (!taskhub::fuzz::ParseInput(data, size, &in) || in.steps_size() > 64) return -1;
  taskhub::storage::MemoryBackend backend;
  taskhub::fuzz::EngineHarness h(&backend);
  if (h.engine() == nullptr) __builtin_trap();
  h.Connect(in.stream());
  taskhub::fuzz::ClientCall start;
  *start.mutable_start() = in.start();
  h.Apply(start);
  for (const auto& s : in.steps()) h.Apply(s);
  // Whatever the engine wrote, an engine recovers from it.
  if (!h.Restart()) {
    fprintf(stderr, "recovery failed: %s\n", h.create_status().ToString().c_str());
    __builtin_trap();
  }
  return 0;
}
