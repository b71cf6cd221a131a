#include "tests/fuzz/fuzz_common.h"

#include "google/protobuf/stubs/logging.h"
#include "server/common/logging.h"

namespace taskhub::fuzz {

void QuietLogs() {
  for (const char* s : {"engine", "storage", "api", "daemon"}) {
    Logger(s)->set_level(spdlog::level::off);
  }
  (void)SetLogLevel("off");
  // Inputs with invalid UTF-8 in string fields fail to parse, as on the wire; do not
  // log each one.
  google::protobuf::SetLogHandler(nullptr);
}

}  // namespace taskhub::fuzz
