#include "tools/taskhub/exit_codes.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace taskhub::cli {

ExitCode ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return kExitUsage;
    case absl::StatusCode::kNotFound:
      return kExitNotFound;
    case absl::StatusCode::kUnavailable:
      return kExitUnreachable;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
      return kExitWrongState;
    case absl::StatusCode::kDeadlineExceeded:
      return kExitTimeout;
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return kExitDenied;
    default:
      return kExitServerError;
  }
}

namespace {

// A short reason for an UNAVAILABLE status; gRPC's own text lists resolver and
// subchannel details that mean nothing to an operator.
std::string UnreachableReason(absl::string_view message) {
  const std::string lower = absl::AsciiStrToLower(message);
  if (absl::StrContains(lower, "connection refused")) return "connection refused";
  if (absl::StrContains(lower, "ssl") || absl::StrContains(lower, "handshake") ||
      absl::StrContains(lower, "tls")) {
    return "TLS handshake failed: check --tls-ca, --tls-cert/--tls-key and whether the "
           "server uses TLS";
  }
  if (absl::StrContains(lower, "dns resolution failed") ||
      absl::StrContains(lower, "name or service not known")) {
    return "host name not found";
  }
  if (absl::StrContains(lower, "timeout") || absl::StrContains(lower, "timed out")) {
    return "connection timed out";
  }
  if (absl::StrContains(lower, "shutting down") || absl::StrContains(lower, "shutdown")) {
    return "the server is shutting down";
  }
  return "the server is unavailable";
}

}  // namespace

std::string ErrorText(const absl::Status& status, const std::string& address) {
  if (status.code() == absl::StatusCode::kUnavailable) {
    return absl::StrCat("cannot reach taskhubd at ", address, " (",
                        UnreachableReason(status.message()), ")");
  }
  if (status.message().empty()) {
    return absl::AsciiStrToLower(absl::StatusCodeToString(status.code()));
  }
  return std::string(status.message());
}

std::string ExitCodeHelp() {
  return "Exit codes:\n"
         "  0  success\n"
         "  1  other server error (or a declined confirmation)\n"
         "  2  usage error: bad flags, unreadable input file, invalid JSON, a request the\n"
         "     server rejected as invalid\n"
         "  3  not found (unknown instance)\n"
         "  4  server unreachable (not running, connection refused)\n"
         "  5  wrong state (e.g. rewind of an instance that did not fail; id already in use)\n"
         "  6  timed out (e.g. wait --timeout ran out)\n"
         "  7  not allowed: token missing or unknown (UNAUTHENTICATED) or its role may not do\n"
         "     this (PERMISSION_DENIED)\n";
}

}  // namespace taskhub::cli
