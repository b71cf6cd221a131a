// Shared by config_file.cc (the file, taskhubd's own keys) and config_host_json.cc
// (the host.json mapping); not for other users.
#ifndef TASKHUB_SERVER_DAEMON_CONFIG_FILE_INTERNAL_H_
#define TASKHUB_SERVER_DAEMON_CONFIG_FILE_INTERNAL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/daemon/config_file.h"
#include "yaml-cpp/yaml.h"

namespace taskhub::daemon::config_internal {

// Collects the settings and notes of one file.
class Builder {
 public:
  Builder(ConfigFile* out, const KnownKey& known, const GetEnv& getenv)
      : out_(out), known_(known), getenv_(getenv) {}
  // Sets flag `key` (replacing an earlier setting of it).
  void Set(const std::string& key, std::vector<std::string> values, const std::string& path);
  void Info(std::string text) { out_->notes.push_back({FileNote::kInfo, std::move(text)}); }
  void Warn(std::string text) { out_->notes.push_back({FileNote::kWarning, std::move(text)}); }
  // InvalidArgument "<file>: key '<path>': <text>".
  absl::Status Error(const std::string& path, const std::string& text) const;
  bool Known(const std::string& key) const { return known_(key); }
  std::optional<std::string> Env(const std::string& name) const { return getenv_(name); }

 private:
  ConfigFile* out_;
  const KnownKey& known_;
  const GetEnv& getenv_;
};

// "a.b" + "c" -> "a.b.c" ("" + "c" -> "c").
std::string JoinPath(const std::string& path, const std::string& key);
// The text of a scalar; an error naming `path` for a map, a list or a null.
absl::StatusOr<std::string> ScalarAt(const YAML::Node& node, const std::string& path,
                                     const Builder& b);
// taskhubd's own keys below `node` (a map): flag keys joined with "-" from `key_prefix`.
absl::Status AddOwnKeys(const YAML::Node& node, const std::string& key_prefix,
                        const std::string& path, Builder& b);
// The friendlier form of the notification flags (a top-level `notifications` map of
// taskhubd's own keys): `webhooks` is a list of SPEC strings or maps {url, events,
// secretFile, headers} joined into SPECs for --notification-webhook; any other key
// `fooBar` (or `foo-bar`) is --notification-foo-bar.
absl::Status AddNotificationKeys(const YAML::Node& node, const std::string& path, Builder& b);
// A Durable Functions host.json (config_host_json.cc).
absl::Status AddHostJson(const YAML::Node& root, Builder& b);

}  // namespace taskhub::daemon::config_internal

#endif  // TASKHUB_SERVER_DAEMON_CONFIG_FILE_INTERNAL_H_
