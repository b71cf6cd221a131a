// Reading a taskhubd configuration file (`--config FILE`): YAML or JSON, in one of
// two shapes, told apart by the top-level keys:
//
// - taskhubd's own: every key is a flag's long name without "--" (`listen: ...`,
//   `data-dir: ...`); nested maps join their keys with "-" (`azure: {lease-seconds: 30}`
//   is `azure-lease-seconds: 30`); a list gives a repeatable flag several values. A
//   top-level `notifications` map is the friendlier form of the --notification-*
//   flags (webhooks as maps joined into SPECs; config_file_internal.h).
// - a Durable Functions host.json (a top-level "version" or "extensions" key):
//   `extensions.durableTask` maps onto flags (table in config_host_json.cc), the
//   other sections are noted and ignored; a top-level `taskhub` section may hold
//   taskhubd's own keys as above (they win over the mapped ones).
//
// Only the file is read here: which keys exist is the caller's (CLI11's) knowledge,
// passed in as `known`; values stay strings and are converted and checked by the
// flag they set. Errors (unreadable file, bad YAML/JSON, a map or list where a value
// is expected, a host.json value of the wrong type, an unsupported storage provider)
// are InvalidArgument naming the file and the key. Unknown keys are warnings, not
// errors. Thread-compatible (no shared state).
#ifndef TASKHUB_SERVER_DAEMON_CONFIG_FILE_H_
#define TASKHUB_SERVER_DAEMON_CONFIG_FILE_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace taskhub::daemon {

// One flag set by the file.
struct FileSetting {
  std::string key;                  // the flag's long name without "--"
  std::vector<std::string> values;  // one, or several for a list
  std::string path;                 // where in the file, e.g. "extensions.durableTask.hubName"
};

// Something the operator should know about the file (logged at start-up).
struct FileNote {
  enum Level { kInfo, kWarning };
  Level level = kInfo;
  std::string text;
};

struct ConfigFile {
  std::string name;  // the path given to --config
  bool host_json = false;
  std::vector<FileSetting> settings;  // one per key, in file order (a later path wins)
  std::vector<FileNote> notes;
};

// True when `key` is a configurable flag's long name.
using KnownKey = std::function<bool(absl::string_view key)>;
// The value of an environment variable, or nullopt (host.json "%NAME%" references).
using GetEnv = std::function<std::optional<std::string>(const std::string& name)>;

// Parses `text` (the contents of the file `name`).
absl::StatusOr<ConfigFile> ParseConfigText(absl::string_view text, const std::string& name,
                                           const KnownKey& known, const GetEnv& getenv);
// Reads and parses the file at `path`, with the process environment.
absl::StatusOr<ConfigFile> LoadConfigFile(const std::string& path, const KnownKey& known);

// True for keys whose values are secrets, masked by --print-config: a last part of
// "connection-string", "secret", "password" or "token" (e.g. "azure-storage-connection-
// string", "webhook-secret"); not "auth-tokens", a file path.
bool IsSecretKey(absl::string_view key);

}  // namespace taskhub::daemon

#endif  // TASKHUB_SERVER_DAEMON_CONFIG_FILE_H_
