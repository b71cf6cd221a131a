#include "tools/taskhub/instance_ops.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "tools/taskhub/statuses.h"

namespace taskhub::cli {
namespace {

// The longest single WaitForInstanceCompletion call; longer waits repeat it.
constexpr absl::Duration kWaitChunk = absl::Minutes(5);

}  // namespace

absl::Status InstanceNotFound(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("no orchestration instance with id '", id, "'"));
}

absl::StatusOr<OrchestrationMetadata> GetExisting(Client& client, const std::string& id,
                                                  bool fetch_payloads) {
  absl::StatusOr<std::optional<OrchestrationMetadata>> m = client.GetInstance(id, fetch_payloads);
  if (!m.ok()) return m.status();
  if (!m->has_value()) return InstanceNotFound(id);
  return **std::move(m);
}

absl::StatusOr<OrchestrationMetadata> WaitUntilDone(Client& client, const std::string& id,
                                                    std::optional<absl::Duration> timeout) {
  const absl::Time deadline = timeout ? absl::Now() + *timeout : absl::InfiniteFuture();
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    absl::StatusOr<std::optional<OrchestrationMetadata>> m =
        client.WaitForInstanceCompletion(id, std::min(left, kWaitChunk), true);
    if (m.ok()) {
      if (!m->has_value()) return InstanceNotFound(id);
      return **std::move(m);
    }
    if (m.status().code() != absl::StatusCode::kDeadlineExceeded) return m.status();
  }
  std::string now;
  if (auto m = client.GetInstance(id, false); m.ok() && m->has_value()) {
    now = absl::StrCat(" (it is ", StatusName((*m)->status), ")");
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "timed out after ", absl::FormatDuration(*timeout), " waiting for instance '", id, "'", now));
}

absl::StatusOr<std::optional<absl::Duration>> TimeoutFromSeconds(double seconds) {
  if (seconds < 0) return absl::InvalidArgumentError("--timeout must not be negative");
  if (seconds == 0) return std::optional<absl::Duration>();
  return std::optional<absl::Duration>(absl::Seconds(seconds));
}

}  // namespace taskhub::cli
