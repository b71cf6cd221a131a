#include "tests/fuzz/fuzz_common.h"

#include "server/common/logging.h"

namespace taskhub::fuzz {

void QuietLogs() {
  for (const char* s : {"engine", "storage", "api", "daemon"}) {
    Logger(s)->set_level(spdlog::level::off);
  }
  (void)SetLogLevel("off");
}

}  // namespace taskhub::fuzz
