// Identifier generation, injected so tests can make ids deterministic. Thread-safe.
#ifndef TASKHUB_SERVER_COMMON_IDS_H_
#define TASKHUB_SERVER_COMMON_IDS_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/random/random.h"

namespace taskhub {

class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  // A new unique id: 32 lower-case hex digits (a random UUID without dashes).
  virtual std::string NewId() = 0;
  static IdGenerator* Random();
};

// Deterministic ids "<prefix>-<n>" for tests.
class SequentialIdGenerator : public IdGenerator {
 public:
  explicit SequentialIdGenerator(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string NewId() override {
    return prefix_ + "-" + std::to_string(next_.fetch_add(1) + 1);
  }

 private:
  std::string prefix_;
  std::atomic<uint64_t> next_{0};
};

}  // namespace taskhub

#endif  // TASKHUB_SERVER_COMMON_IDS_H_
