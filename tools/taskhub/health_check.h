// `taskhub health`: the standard gRPC health service (grpc.health.v1.Health/Check)
// of taskhubd, called through the small proto in proto/grpc/health/v1/.
#ifndef TASKHUB_TOOLS_TASKHUB_HEALTH_CHECK_H_
#define TASKHUB_TOOLS_TASKHUB_HEALTH_CHECK_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "taskhub/connection.h"

namespace taskhub::cli {

// Asks the server at `address` whether `service` ("" = the whole server) is
// serving. Returns SERVING, NOT_SERVING, UNKNOWN or SERVICE_UNKNOWN (the server
// answered NOT_FOUND: it does not know the service). A transport failure is
// returned as its status (UNAVAILABLE when unreachable, DEADLINE_EXCEEDED when
// no answer came within `timeout`).
// Uses TLS when `tls.on()`; the health service needs no token.
absl::StatusOr<std::string> CheckHealth(const std::string& address, const TlsOptions& tls,
                                        const std::string& service, absl::Duration timeout);

}  // namespace taskhub::cli

#endif  // TASKHUB_TOOLS_TASKHUB_HEALTH_CHECK_H_
