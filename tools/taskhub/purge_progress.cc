#include "tools/taskhub/purge_progress.h"

#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace taskhub::cli {
namespace {

constexpr absl::Duration kCallTimeout = absl::Seconds(1);
constexpr int kBarWidth = 24;

// How many instances `f` matches (terminal statuses only), by query pages.
absl::StatusOr<int64_t> CountMatching(Client& client, const PurgeFilter& f) {
  InstanceQuery q;
  q.statuses = f.statuses;
  if (q.statuses.empty()) {
    q.statuses = {ORCHESTRATION_STATUS_COMPLETED, ORCHESTRATION_STATUS_FAILED,
                  ORCHESTRATION_STATUS_TERMINATED, ORCHESTRATION_STATUS_CANCELED};
  }
  q.created_from = f.created_from;
  q.created_to = f.created_to;
  q.page_size = 1000;
  int64_t n = 0;
  while (true) {
    absl::StatusOr<InstancePage> page = client.QueryInstances(q);
    if (!page.ok()) return page.status();
    n += static_cast<int64_t>(page->instances.size());
    if (page->continuation_token.empty()) return n;
    q.continuation_token = page->continuation_token;
  }
}

}  // namespace

std::string Grouped(int64_t n) {
  std::string digits = absl::StrCat(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return n < 0 ? "-" + out : out;
}

std::string ProgressLine(int64_t done, int64_t total, absl::Duration elapsed) {
  const double secs = absl::ToDoubleSeconds(elapsed);
  const std::string rate =
      secs > 0 ? absl::StrCat(Grouped(static_cast<int64_t>(done / secs)), "/s") : "";
  if (total <= 0) return absl::StrCat("Purged ", Grouped(done), "  ", rate);
  const double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
  const int filled = static_cast<int>(frac * kBarWidth + 0.5);
  return absl::StrFormat("[%s%s] %3d%%  %s / %s  %s", std::string(filled, '#'),
                         std::string(kBarWidth - filled, '-'), static_cast<int>(frac * 100),
                         Grouped(done), Grouped(total), rate);
}

absl::StatusOr<PurgeOutcome> PurgeWithProgress(Client& client, PurgeFilter filter, bool show) {
  int64_t total = 0;
  if (show) {
    absl::StatusOr<int64_t> n = CountMatching(client, filter);
    if (n.ok()) total = *n;  // no count, no percentage: the purge itself still runs
  }
  filter.call_timeout = kCallTimeout;
  const absl::Time t0 = absl::Now();
  std::function<void(int64_t)> progress;
  if (show) {
    progress = [&](int64_t deleted) {
      std::cerr << "\r" << ProgressLine(deleted, std::max(total, deleted), absl::Now() - t0)
                << "\x1b[K" << std::flush;
    };
  }
  absl::StatusOr<int> n = client.PurgeBy(filter, progress);
  if (show) std::cerr << "\r\x1b[K" << std::flush;
  if (!n.ok()) return n.status();
  return PurgeOutcome{*n, absl::Now() - t0};
}

absl::StatusOr<absl::Duration> ParseAge(const std::string& text, const std::string& flag) {
  absl::string_view number = text;
  absl::Duration unit;
  if (absl::ConsumeSuffix(&number, "d")) {
    unit = absl::Hours(24);
  } else if (absl::ConsumeSuffix(&number, "h")) {
    unit = absl::Hours(1);
  } else if (absl::ConsumeSuffix(&number, "m")) {
    unit = absl::Minutes(1);
  } else if (absl::ConsumeSuffix(&number, "s")) {
    unit = absl::Seconds(1);
  } else {
    number = "";
  }
  double n = 0;
  if (number.empty() || !absl::SimpleAtod(number, &n) || !(n > 0) || n > 1e6) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": '", text, "' is not an age: a positive number with s, m, h or d (e.g. 7d)"));
  }
  return n * unit;
}

}  // namespace taskhub::cli
