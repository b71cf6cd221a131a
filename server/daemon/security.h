// The daemon's transport and call security from its Config: gRPC server credentials
// (plaintext, TLS, or mutual TLS) and the optional bearer-token Authorizer.
// Read once at start-up (the Authorizer re-reads its file on Reload()).
#ifndef TASKHUB_SERVER_DAEMON_SECURITY_H_
#define TASKHUB_SERVER_DAEMON_SECURITY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"
#include "server/api/auth.h"
#include "server/daemon/config.h"

namespace taskhub::daemon {

// Insecure credentials without --tls-cert; TLS with it; TLS that requires and
// verifies a client certificate with --tls-client-ca. Unreadable or unparsable PEM
// files are an error naming the flag and the path.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const Config& config);

// The token checker of --auth-tokens, or null when the flag is not set (no auth).
absl::StatusOr<std::unique_ptr<auth::Authorizer>> AuthorizerFor(const Config& config);

// Logs one line saying how the port is secured, and a warning when a non-loopback
// address is served without TLS or without tokens.
void LogSecurity(const Config& config);

}  // namespace taskhub::daemon

#endif  // TASKHUB_SERVER_DAEMON_SECURITY_H_
