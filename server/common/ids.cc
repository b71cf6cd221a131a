#include "server/common/ids.h"

#include <cstdio>

namespace taskhub {
namespace {
class RandomIdGenerator : public IdGenerator {
 public:
  std::string NewId() override {
    uint64_t hi, lo;
    {
      absl::MutexLock l(&mu_);
      hi = absl::Uniform<uint64_t>(bitgen_);
      lo = absl::Uniform<uint64_t>(bitgen_);
    }
    hi = (hi & ~0xF000ull) | 0x4000ull;  // version 4
    lo = (lo & ~(3ull << 62)) | (2ull << 62);  // RFC 4122 variant
    char buf[33];
    std::snprintf(buf, sizeof(buf), "%016llx%016llx",
                  static_cast<unsigned long long>(hi),
                  static_cast<unsigned long long>(lo));
    return buf;
  }

 private:
  absl::Mutex mu_;
  absl::BitGen bitgen_;
};
}  // namespace

IdGenerator* IdGenerator::Random() {
  static RandomIdGenerator* gen = new RandomIdGenerator();
  return gen;
}

}  // namespace taskhub
