// The CLI11 side of the configuration: flags, their environment variables and the
// --config file, with the precedence flags > environment > file > defaults (CLI11's
// own config-file support would let the file beat the environment), and the
// effective configuration for --print-config.
//
// Every configurable CLI11 option with a long name has a file key: the name without
// "--". A new flag needs nothing more; `->configurable(false)` keeps one out of files.
// Not thread-safe (start-up only).
#ifndef TASKHUB_SERVER_DAEMON_CONFIG_CLI_H_
#define TASKHUB_SERVER_DAEMON_CONFIG_CLI_H_

#include <map>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "server/daemon/config_file.h"

namespace taskhub::daemon {

// Where each flag's value came from, by key: "flag", "environment $NAME" or
// "config file <path in the file>"; a key not here has its default.
using Origins = std::map<std::string, std::string>;

struct ParsedArgs {
  Origins origins;
  std::vector<FileNote> notes;  // from the config file, to log once logging is set up
};

// Parses argv and the environment with `app`, then gives every configurable option
// that neither set the value of the file named by `config_option` (if set). Errors:
// a CLI11 parse error (or --help/--version) -> its text and *exit_code from
// CLI::App::exit; a file error -> "cannot start: --config ..." and exit code 2.
absl::Status ParseArgsEnvAndFile(CLI::App& app, int argc, char** argv,
                                 const CLI::Option* config_option, ParsedArgs* out, int* exit_code);

// The configurable options' keys, in definition order.
std::vector<std::string> ConfigKeys(const CLI::App& app);

// The effective configuration as YAML, readable back by --config: one `key: value`
// line per key with its origin as a comment. `resolved` replaces the value shown for
// a key (a value taskhubd resolved itself, e.g. the connection string from a
// variable). Secret keys (IsSecretKey) show "********" when set.
std::string PrintConfig(const CLI::App& app, const Origins& origins,
                        const std::map<std::string, std::string>& resolved);

}  // namespace taskhub::daemon

#endif  // TASKHUB_SERVER_DAEMON_CONFIG_CLI_H_
