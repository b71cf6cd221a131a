// One named spdlog logger per subsystem ("engine", "storage", "api", "daemon").
#ifndef TASKHUB_SERVER_COMMON_LOGGING_H_
#define TASKHUB_SERVER_COMMON_LOGGING_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "spdlog/spdlog.h"

namespace taskhub {

// Returns the logger for `subsystem`, creating it (stderr sink) on first use.
// Thread-safe.
std::shared_ptr<spdlog::logger> Logger(const std::string& subsystem);

// Sets the level of every logger: trace, debug, info, warn, error, critical, off.
absl::Status SetLogLevel(const std::string& level);

}  // namespace taskhub

#endif  // TASKHUB_SERVER_COMMON_LOGGING_H_
