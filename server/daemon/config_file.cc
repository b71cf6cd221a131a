#include "server/daemon/config_file.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/daemon/config_file_internal.h"
#include "yaml-cpp/yaml.h"

namespace taskhub::daemon {
namespace config_internal {

void Builder::Set(const std::string& key, std::vector<std::string> values,
                  const std::string& path) {
  for (auto it = out_->settings.begin(); it != out_->settings.end(); ++it) {
    if (it->key == key) {
      out_->settings.erase(it);
      break;
    }
  }
  out_->settings.push_back({key, std::move(values), path});
}

absl::Status Builder::Error(const std::string& path, const std::string& text) const {
  return absl::InvalidArgumentError(absl::StrCat(out_->name, ": key '", path, "': ", text));
}

std::string JoinPath(const std::string& path, const std::string& key) {
  return path.empty() ? key : absl::StrCat(path, ".", key);
}

absl::StatusOr<std::string> ScalarAt(const YAML::Node& node, const std::string& path,
                                     const Builder& b) {
  if (node.IsScalar()) return node.Scalar();
  if (node.IsMap()) return b.Error(path, "expected a value, got a map");
  if (node.IsSequence()) return b.Error(path, "expected a value, got a list");
  return b.Error(path, "has no value");
}

absl::Status AddOwnKeys(const YAML::Node& node, const std::string& key_prefix,
                        const std::string& path, Builder& b) {
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) return b.Error(path, "a key must be a name");
    const std::string name = it->first.Scalar();
    const std::string key = key_prefix.empty() ? name : absl::StrCat(key_prefix, "-", name);
    const std::string at = JoinPath(path, name);
    const YAML::Node value = it->second;  // a handle (the iterator's is a temporary)
    if (key_prefix.empty() && name == "notifications" && value.IsMap()) {
      if (absl::Status st = AddNotificationKeys(value, at, b); !st.ok()) return st;
      continue;
    }
    if (value.IsMap()) {
      if (b.Known(key)) return b.Error(at, "expected a value, got a map");
      if (absl::Status st = AddOwnKeys(value, key, at, b); !st.ok()) return st;
      continue;
    }
    if (!b.Known(key)) {
      b.Warn(absl::StrCat(at, ": unknown key (no flag --", key, "); ignored"));
      continue;
    }
    // An empty list sets nothing (what --print-config writes for a list flag left empty).
    if (value.IsSequence() && value.size() == 0) continue;
    std::vector<std::string> values;
    if (value.IsSequence()) {
      for (size_t i = 0; i < value.size(); ++i) {
        absl::StatusOr<std::string> v = ScalarAt(value[i], absl::StrCat(at, "[", i, "]"), b);
        if (!v.ok()) return v.status();
        values.push_back(*std::move(v));
      }
    } else {
      absl::StatusOr<std::string> v = ScalarAt(value, at, b);
      if (!v.ok()) return v.status();
      values.push_back(*std::move(v));
    }
    b.Set(key, std::move(values), at);
  }
  return absl::OkStatus();
}

namespace {

// "maxAttempts" -> "max-attempts" ("max-attempts" stays).
std::string Kebab(const std::string& name) {
  std::string out;
  for (const char c : name) {
    if (c >= 'A' && c <= 'Z') {
      if (!out.empty()) out += '-';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

// One webhook: a SPEC string as it is, or a map joined into one.
absl::StatusOr<std::string> WebhookSpec(const YAML::Node& item, const std::string& at, Builder& b) {
  if (!item.IsMap()) return ScalarAt(item, at, b);
  std::vector<std::string> parts;
  for (auto it = item.begin(); it != item.end(); ++it) {
    const std::string name = it->first.Scalar();
    const std::string field = JoinPath(at, name);
    const YAML::Node v = it->second;  // a handle
    if (name == "headers") {
      if (!v.IsMap()) return b.Error(field, "expected a map of header names to values");
      for (auto h = v.begin(); h != v.end(); ++h) {
        absl::StatusOr<std::string> hv = ScalarAt(h->second, JoinPath(field, h->first.Scalar()), b);
        if (!hv.ok()) return hv.status();
        parts.push_back(absl::StrCat("header=", h->first.Scalar(), ":", *hv));
      }
    } else if (name == "events" && v.IsSequence()) {
      std::vector<std::string> events;
      for (size_t i = 0; i < v.size(); ++i) {
        absl::StatusOr<std::string> e = ScalarAt(v[i], absl::StrCat(field, "[", i, "]"), b);
        if (!e.ok()) return e.status();
        events.push_back(*std::move(e));
      }
      parts.push_back(absl::StrCat("events=", absl::StrJoin(events, "|")));
    } else {
      absl::StatusOr<std::string> text = ScalarAt(v, field, b);
      if (!text.ok()) return text.status();
      parts.push_back(absl::StrCat(Kebab(name), "=", *text));
    }
  }
  return absl::StrJoin(parts, ",");
}

}  // namespace

absl::Status AddNotificationKeys(const YAML::Node& node, const std::string& path, Builder& b) {
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string name = it->first.Scalar();
    const std::string at = JoinPath(path, name);
    const YAML::Node value = it->second;  // a handle
    const std::string key =
        name == "webhooks" ? "notification-webhook" : absl::StrCat("notification-", Kebab(name));
    if (!b.Known(key)) {
      b.Warn(absl::StrCat(at, ": unknown key (no flag --", key, "); ignored"));
      continue;
    }
    std::vector<std::string> values;
    if (name == "webhooks" && value.IsSequence()) {
      for (size_t i = 0; i < value.size(); ++i) {
        absl::StatusOr<std::string> spec = WebhookSpec(value[i], absl::StrCat(at, "[", i, "]"), b);
        if (!spec.ok()) return spec.status();
        values.push_back(*std::move(spec));
      }
    } else {
      absl::StatusOr<std::string> v =
          name == "webhooks" ? WebhookSpec(value, at, b) : ScalarAt(value, at, b);
      if (!v.ok()) return v.status();
      values.push_back(*std::move(v));
    }
    b.Set(key, std::move(values), at);
  }
  return absl::OkStatus();
}

}  // namespace config_internal

namespace ci = config_internal;

absl::StatusOr<ConfigFile> ParseConfigText(absl::string_view text, const std::string& name,
                                           const KnownKey& known, const GetEnv& getenv) {
  ConfigFile out;
  out.name = name;
  YAML::Node root;
  try {  // yaml-cpp's exceptions end here
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": not valid YAML or JSON: line ",
                                                   e.mark.line + 1, ", column ", e.mark.column + 1,
                                                   ": ", e.msg));
  }
  ci::Builder b(&out, known, getenv);
  if (root.IsNull()) {
    b.Info("the file is empty");
    return out;
  }
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": expected a map of keys to values at the top level"));
  }
  out.host_json = root["version"].IsDefined() || root["extensions"].IsDefined();
  absl::Status st = out.host_json ? ci::AddHostJson(root, b) : ci::AddOwnKeys(root, "", "", b);
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<ConfigFile> LoadConfigFile(const std::string& path, const KnownKey& known) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot read it: ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseConfigText(text.str(), path, known,
                         [](const std::string& var) -> std::optional<std::string> {
                           const char* v = std::getenv(var.c_str());
                           if (v == nullptr) return std::nullopt;
                           return std::string(v);
                         });
}

bool IsSecretKey(absl::string_view key) {
  if (absl::EndsWith(key, "connection-string")) return true;
  const size_t dash = key.rfind('-');
  const absl::string_view last = dash == absl::string_view::npos ? key : key.substr(dash + 1);
  return last == "secret" || last == "password" || last == "token";
}

}  // namespace taskhub::daemon
