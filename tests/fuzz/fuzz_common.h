// Shared set-up of the fuzz targets: quiet logs, bounded input sizes.
#ifndef TASKHUB_TESTS_FUZZ_FUZZ_COMMON_H_
#define TASKHUB_TESTS_FUZZ_FUZZ_COMMON_H_

#include <cstddef>
#include <cstdint>

namespace taskhub::fuzz {

// Turns logging off (an engine logs at start-up; that would dominate a run).
void QuietLogs();

// Parses `data` into `msg`; false when it does not parse.
template <typename Msg>
bool ParseInput(const uint8_t* data, size_t size, Msg* msg) {
  return msg->ParseFromArray(data, static_cast<int>(size));
}

}  // namespace taskhub::fuzz

#endif  // TASKHUB_TESTS_FUZZ_FUZZ_COMMON_H_
