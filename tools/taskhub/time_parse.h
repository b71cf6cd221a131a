// ISO 8601 timestamps for the taskhub CLI: parsing what users type and the one
// format every output uses (UTC, millisecond precision, "Z" suffix).
#ifndef TASKHUB_TOOLS_TASKHUB_TIME_PARSE_H_
#define TASKHUB_TOOLS_TASKHUB_TIME_PARSE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace taskhub::cli {

// Parses an ISO 8601 / RFC 3339 time:
//   2024-05-01                      (midnight UTC)
//   2024-05-01T12:30 / 2024-05-01T12:30:05[.123]   (UTC when no offset is given)
//   2024-05-01T12:30:05Z / 2024-05-01T12:30:05.5+02:00
// A space may replace the "T". The word "now" is the current time.
// InvalidArgumentError naming `flag` when the text is none of these.
absl::StatusOr<absl::Time> ParseTime(absl::string_view text, absl::string_view flag);

// Formats `t` as 2024-05-01T12:30:05.123Z.
std::string IsoTime(absl::Time t);

}  // namespace taskhub::cli

#endif  // TASKHUB_TOOLS_TASKHUB_TIME_PARSE_H_
