// Purge by filter with progress for people: the purge runs in server calls of about
// a second each (resumed while the server answers isComplete=false); on a terminal
// (stderr), a bar with the count, the percentage of the matching instances (counted
// first, by query pages of ids) and the rate is redrawn after each call.
// Not thread-safe (one CLI command).
#ifndef TASKHUB_TOOLS_TASKHUB_PURGE_PROGRESS_H_
#define TASKHUB_TOOLS_TASKHUB_PURGE_PROGRESS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "taskhub/taskhub.h"

namespace taskhub::cli {

struct PurgeOutcome {
  int64_t deleted = 0;
  absl::Duration elapsed;
};

// `show`: draw the bar on stderr (the caller decides: a terminal, not --json).
absl::StatusOr<PurgeOutcome> PurgeWithProgress(Client& client, PurgeFilter filter, bool show);

// "[#########-----------]  45%  450,000 / 1,000,000  25,300/s" (total <= 0: no bar).
std::string ProgressLine(int64_t done, int64_t total, absl::Duration elapsed);

// 1234567 -> "1,234,567".
std::string Grouped(int64_t n);

// "AGE" of --older-than: a positive number with s, m, h or d ("7d", "1.5h").
absl::StatusOr<absl::Duration> ParseAge(const std::string& text, const std::string& flag);

}  // namespace taskhub::cli

#endif  // TASKHUB_TOOLS_TASKHUB_PURGE_PROGRESS_H_
