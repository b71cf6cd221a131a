#include "server/notify/cloudevent.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace taskhub::notify {
namespace {

std::string Rfc3339(const google::protobuf::Timestamp& ts) {
  const absl::Time t = absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

}  // namespace

std::string StatusName(int status) {
  switch (status) {
    case ORCHESTRATION_STATUS_RUNNING:
      return "Running";
    case ORCHESTRATION_STATUS_COMPLETED:
      return "Completed";
    case ORCHESTRATION_STATUS_CONTINUED_AS_NEW:
      return "ContinuedAsNew";
    case ORCHESTRATION_STATUS_FAILED:
      return "Failed";
    case ORCHESTRATION_STATUS_CANCELED:
      return "Canceled";
    case ORCHESTRATION_STATUS_TERMINATED:
      return "Terminated";
    case ORCHESTRATION_STATUS_PENDING:
      return "Pending";
    case ORCHESTRATION_STATUS_SUSPENDED:
      return "Suspended";
    default:
      return "Unknown";
  }
}

std::string CloudEventJson(const store::Notification& n, const std::string& source) {
  nlohmann::ordered_json data = {
      {"instanceId", n.instance_id()},
      {"executionId", n.execution_id()},
      {"name", n.name()},
      {"runtimeStatus", StatusName(n.runtime_status())},
  };
  if (!n.reason().empty()) data["reason"] = n.reason();
  if (n.has_created_time()) data["createdTime"] = Rfc3339(n.created_time());
  if (n.has_completed_time()) data["completedTime"] = Rfc3339(n.completed_time());
  data["eventTime"] = Rfc3339(n.time());
  nlohmann::ordered_json ev = {
      {"specversion", "1.0"},
      {"id", n.event_id()},
      {"source", source},
      {"type", n.type()},
      {"subject", n.instance_id()},
      {"time", Rfc3339(n.time())},
      {"datacontenttype", "application/json"},
  };
  if (!n.trace_parent().empty()) ev["traceparent"] = n.trace_parent();
  ev["data"] = std::move(data);
  // Invalid UTF-8 (ids and names are validated, reasons may not be) is replaced.
  return ev.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Signature(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  return "sha256=" +
         absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), len));
}

}  // namespace taskhub::notify
