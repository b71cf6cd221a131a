#include "tools/taskhub/time_parse.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace taskhub::cli {

absl::StatusOr<absl::Time> ParseTime(absl::string_view text, absl::string_view flag) {
  std::string s(absl::StripAsciiWhitespace(text));
  if (absl::AsciiStrToLower(s) == "now") return absl::Now();
  if (s.size() > 10 && s[10] == ' ') s[10] = 'T';
  // Formats with an explicit offset first; then the same without one, read as UTC.
  static constexpr const char* kFormats[] = {
      "%Y-%m-%dT%H:%M:%E*S%Ez", "%Y-%m-%dT%H:%M%Ez", "%Y-%m-%dT%H:%M:%E*S",
      "%Y-%m-%dT%H:%M",         "%Y-%m-%d",
  };
  for (const char* format : kFormats) {
    absl::Time t;
    std::string err;
    if (absl::ParseTime(format, s, absl::UTCTimeZone(), &t, &err)) return t;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(flag, ": '", text,
                   "' is not an ISO 8601 time (e.g. 2024-05-01, 2024-05-01T12:30:00Z, "
                   "2024-05-01T14:30:00+02:00)"));
}

std::string IsoTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

}  // namespace taskhub::cli
