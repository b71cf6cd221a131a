// Fuzz target: client requests (every management RPC the engine serves) applied in
// order to a fresh engine on the in-memory backend. Input: fuzz.ClientInput.
#include <cstdio>

#include "server/storage/memory/memory_backend.h"
#include "tests/fuzz/engine_harness.h"
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/proto_mutator.h"

TASKHUB_FUZZ_PROTO_MUTATOR(taskhub::fuzz::ClientInput)

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  taskhub::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  taskhub::fuzz::ClientInput in;
  if (!taskhub::fuzz::ParseInput(data, size, &in) || in.calls_size() > 64) return -1;
  taskhub::storage::MemoryBackend backend;
  taskhub::fuzz::EngineHarness h(&backend);
  if (h.engine() == nullptr) __builtin_trap();  // an empty store always recovers
  for (const auto& c : in.calls()) h.Apply(c);
  // Whatever the engine wrote, an engine recovers from it.
  if (!h.Restart()) {
    fprintf(stderr, "recovery failed: %s\n", h.create_status().ToString().c_str());
    __builtin_trap();
  }
  return 0;
}
