// Lifecycle-notification webhooks: their configuration (the --notification-webhook
// flag value) and which lifecycle event a status change is. Pure; thread-compatible.
//
// Flag syntax (one flag per webhook, repeatable), comma-separated key=value pairs:
//   url=http://host:port/path              required (http or https)
//   events=Started|Completed|Failed|...    optional; default: every type
//   secret-file=/path                      optional; HMAC-SHA256 key (file content,
//                                          one trailing newline stripped)
//   secret=TEXT                            optional; the key inline (prefer secret-file)
//   header=Name:Value                      optional, repeatable; sent with every POST
// A value may not contain ','; use secret-file for secrets with commas.
#ifndef TASKHUB_SERVER_NOTIFY_WEBHOOK_H_
#define TASKHUB_SERVER_NOTIFY_WEBHOOK_H_

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "orchestrator_service.pb.h"

namespace taskhub::notify {

// The CloudEvents `type` prefix; the short names below follow it.
inline constexpr char kTypePrefix[] = "taskhub.orchestration.";
// Every short event name, in lifecycle order.
const std::vector<std::string>& EventNames();

struct Webhook {
  std::string url;
  std::set<std::string> events;  // short names; empty = every type
  std::vector<std::pair<std::string, std::string>> headers;
  std::string secret;  // empty: unsigned
  bool Wants(const std::string& short_name) const {
    return events.empty() || events.count(short_name) > 0;
  }
};

// Parses one flag value (syntax above); reads secret-file. INVALID_ARGUMENT naming
// the bad part (never echoing a secret).
absl::StatusOr<Webhook> ParseWebhookSpec(absl::string_view spec);

// The short event names, in order, of a status change of an orchestration (not an
// entity) from `before` (nullopt: a new record) to `after`; empty when it reports none:
//   -> RUNNING from SUSPENDED: Resumed; -> RUNNING otherwise: Started;
//   -> SUSPENDED: Suspended; -> COMPLETED / FAILED / TERMINATED: the same name, preceded
//   by Started when the instance was PENDING and ran (COMPLETED or FAILED in its first
//   episode; a PENDING instance terminated never ran).
std::vector<std::string> EventNamesFor(std::optional<OrchestrationStatus> before,
                                       OrchestrationStatus after);

}  // namespace taskhub::notify

#endif  // TASKHUB_SERVER_NOTIFY_WEBHOOK_H_
