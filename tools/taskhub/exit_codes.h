// Exit codes of the taskhub CLI and the mapping from a failed operation's status
// to one of them. The table is part of the CLI's contract (see README.md).
#ifndef TASKHUB_TOOLS_TASKHUB_EXIT_CODES_H_
#define TASKHUB_TOOLS_TASKHUB_EXIT_CODES_H_

#include <string>

#include "absl/status/status.h"

namespace taskhub::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitServerError = 1,  // any other server error; a declined confirmation
  kExitUsage = 2,        // bad flags, unreadable input file, invalid JSON, INVALID_ARGUMENT
  kExitNotFound = 3,     // NOT_FOUND (unknown instance)
  kExitUnreachable = 4,  // UNAVAILABLE (server not running, connection refused)
  kExitWrongState = 5,   // FAILED_PRECONDITION, ALREADY_EXISTS
  kExitTimeout = 6,      // DEADLINE_EXCEEDED (a wait ran out of time)
  kExitDenied = 7,       // UNAUTHENTICATED, PERMISSION_DENIED (token missing, unknown, or role)
};

// The exit code for `status` (kExitOk when it is OK).
ExitCode ExitCodeFor(const absl::Status& status);

// The one-line text printed after "error: " for a failed `status`: the server's
// message, never gRPC internals. `address` names the server for connection errors.
std::string ErrorText(const absl::Status& status, const std::string& address);

// The --help footer listing the exit codes.
std::string ExitCodeHelp();

}  // namespace taskhub::cli

#endif  // TASKHUB_TOOLS_TASKHUB_EXIT_CODES_H_
