#include "server/common/logging.h"

#include "absl/strings/str_cat.h"
#include "spdlog/sinks/stdout_color_sinks.h"

namespace taskhub {

std::shared_ptr<spdlog::logger> Logger(const std::string& subsystem) {
  static std::mutex mu;
  std::lock_guard<std::mutex> l(mu);
  if (auto existing = spdlog::get(subsystem)) return existing;
  auto logger = spdlog::stderr_color_mt(subsystem);
  logger->set_level(spdlog::get_level());
  return logger;
}

absl::Status SetLogLevel(const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(
        absl::StrCat("log level '", level,
                     "' is not one of trace, debug, info, warn, error, critical, off"));
  }
  spdlog::set_level(lvl);
  spdlog::apply_all([lvl](std::shared_ptr<spdlog::logger> l) { l->set_level(lvl); });
  return absl::OkStatus();
}

}  // namespace taskhub
