#include "server/daemon/retention_flag.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace taskhub::daemon {
namespace {

absl::StatusOr<OrchestrationStatus> TerminalStatus(std::string name) {
  absl::AsciiStrToLower(&name);
  if (name == "completed") return ORCHESTRATION_STATUS_COMPLETED;
  if (name == "failed") return ORCHESTRATION_STATUS_FAILED;
  if (name == "terminated") return ORCHESTRATION_STATUS_TERMINATED;
  if (name == "canceled" || name == "cancelled") return ORCHESTRATION_STATUS_CANCELED;
  return absl::InvalidArgumentError(absl::StrCat(
      "'", name, "' is not a finished status (completed, failed, terminated, canceled)"));
}

absl::StatusOr<absl::Duration> Age(absl::string_view text) {
  absl::Duration unit;
  absl::string_view number = text;
  if (absl::ConsumeSuffix(&number, "d")) {
    unit = absl::Hours(24);
  } else if (absl::ConsumeSuffix(&number, "h")) {
    unit = absl::Hours(1);
  } else if (absl::ConsumeSuffix(&number, "m")) {
    unit = absl::Minutes(1);
  } else if (absl::ConsumeSuffix(&number, "s")) {
    unit = absl::Seconds(1);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("age '", text, "' needs a unit: s, m, h or d (e.g. 7d)"));
  }
  double n = 0;
  if (!absl::SimpleAtod(number, &n) || !(n > 0) || n > 1e6) {
    return absl::InvalidArgumentError(
        absl::StrCat("age '", text, "' is not a positive number with a unit (e.g. 7d)"));
  }
  return n * unit;
}

}  // namespace

absl::StatusOr<std::vector<engine::EngineOptions::RetentionRule>> ParseRetention(
    const std::string& value) {
  std::vector<engine::EngineOptions::RetentionRule> rules;
  for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
    part = absl::StripAsciiWhitespace(part);
    std::vector<std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    if (kv.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", part, "' is not STATUS=AGE (e.g. completed=7d)"));
    }
    absl::StatusOr<OrchestrationStatus> status =
        TerminalStatus(std::string(absl::StripAsciiWhitespace(kv[0])));
    if (!status.ok()) return status.status();
    absl::StatusOr<absl::Duration> age = Age(absl::StripAsciiWhitespace(kv[1]));
    if (!age.ok()) return age.status();
    for (const auto& r : rules) {
      if (r.status == *status) {
        return absl::InvalidArgumentError(absl::StrCat("'", kv[0], "' is given twice"));
      }
    }
    rules.push_back({*status, *age});
  }
  return rules;
}

}  // namespace taskhub::daemon
