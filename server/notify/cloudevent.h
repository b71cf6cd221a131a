// The wire form of a lifecycle notification: a CloudEvents 1.0 event in structured
// JSON mode (Content-Type: application/cloudevents+json), and its HMAC-SHA256
// signature. Pure; thread-safe.
//
// Event: {"specversion":"1.0", "id":<unique per event>, "source":<source>,
//   "type":"taskhub.orchestration.<Started|Completed|Failed|Terminated|Suspended|Resumed>",
//   "subject":<instance id>, "time":<RFC 3339 UTC>, "datacontenttype":"application/json",
//   ["traceparent":<W3C traceparent of the instance>,]
//   "data":{"instanceId", "executionId", "name", "runtimeStatus" (e.g. "Completed"),
//           "reason" (failure message / termination output; may be absent),
//           "createdTime", "completedTime" (terminal only), "eventTime"}}
//
// Signature header (only when the webhook has a secret):
//   X-Taskhub-Signature-256: sha256=<lower-case hex HMAC-SHA256(secret, raw body bytes)>
// Receivers recompute it over the exact bytes received and compare in constant time.
// Redeliveries carry the same id and body (at-least-once: deduplicate by id).
#ifndef TASKHUB_SERVER_NOTIFY_CLOUDEVENT_H_
#define TASKHUB_SERVER_NOTIFY_CLOUDEVENT_H_

#include <string>

#include "taskhub_store.pb.h"

namespace taskhub::notify {

inline constexpr char kSignatureHeader[] = "X-Taskhub-Signature-256";
inline constexpr char kContentType[] = "application/cloudevents+json";

// The CloudEvent JSON body of `n`; `source` is the CloudEvents source URI reference
// (e.g. "taskhubd/<task hub>").
std::string CloudEventJson(const store::Notification& n, const std::string& source);
// "sha256=<hex>" of HMAC-SHA256(secret, body).
std::string Signature(const std::string& secret, const std::string& body);
// The short runtime status name ("Running", "Completed", ...).
std::string StatusName(int status);

}  // namespace taskhub::notify

#endif  // TASKHUB_SERVER_NOTIFY_CLOUDEVENT_H_
