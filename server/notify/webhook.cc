#include "server/notify/webhook.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace taskhub::notify {

const std::vector<std::string>& EventNames() {
  static const auto* names = new std::vector<std::string>{"Started",    "Completed", "Failed",
                                                          "Terminated", "Suspended", "Resumed"};
  return *names;
}

namespace {

absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--notification-webhook: cannot read secret-file ", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (absl::EndsWith(s, "\r\n")) {
    s.resize(s.size() - 2);
  } else if (absl::EndsWith(s, "\n")) {
    s.pop_back();
  }
  if (s.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--notification-webhook: secret-file ", path, " is empty"));
  }
  return s;
}

absl::Status Bad(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--notification-webhook: ", what));
}

}  // namespace

absl::StatusOr<Webhook> ParseWebhookSpec(absl::string_view spec) {
  Webhook w;
  for (absl::string_view part : absl::StrSplit(spec, ',', absl::SkipWhitespace())) {
    part = absl::StripAsciiWhitespace(part);
    const size_t eq = part.find('=');
    if (eq == absl::string_view::npos) {
      return Bad(absl::StrCat("'", part,
                              "' is not key=value (keys: url, events, secret-file, "
                              "secret, header)"));
    }
    const absl::string_view key = part.substr(0, eq), value = part.substr(eq + 1);
    if (key == "url") {
      if (!absl::StartsWith(value, "http://") && !absl::StartsWith(value, "https://")) {
        return Bad(absl::StrCat("url '", value, "' must start with http:// or https://"));
      }
      w.url = std::string(value);
    } else if (key == "events") {
      for (absl::string_view e : absl::StrSplit(value, '|', absl::SkipWhitespace())) {
        std::string name(absl::StripAsciiWhitespace(e));
        if (absl::StartsWith(name, kTypePrefix)) name = name.substr(sizeof(kTypePrefix) - 1);
        bool known = false;
        for (const auto& n : EventNames()) known |= absl::EqualsIgnoreCase(n, name);
        if (!known) {
          return Bad(absl::StrCat("unknown event '", name,
                                  "' (known: ", absl::StrJoin(EventNames(), "|"), ")"));
        }
        for (const auto& n : EventNames()) {
          if (absl::EqualsIgnoreCase(n, name)) w.events.insert(n);
        }
      }
    } else if (key == "secret-file") {
      absl::StatusOr<std::string> s = ReadSecretFile(std::string(value));
      if (!s.ok()) return s.status();
      w.secret = *std::move(s);
    } else if (key == "secret") {
      w.secret = std::string(value);
    } else if (key == "header") {
      const size_t colon = value.find(':');
      if (colon == absl::string_view::npos || colon == 0) {
        return Bad(absl::StrCat("header '", value, "' is not Name:Value"));
      }
      w.headers.emplace_back(std::string(absl::StripAsciiWhitespace(value.substr(0, colon))),
                             std::string(absl::StripAsciiWhitespace(value.substr(colon + 1))));
    } else {
      return Bad(
          absl::StrCat("unknown key '", key, "' (keys: url, events, secret-file, secret, header)"));
    }
  }
  if (w.url.empty()) return Bad("url=... is required");
  return w;
}

std::vector<std::string> EventNamesFor(std::optional<OrchestrationStatus> before,
                                       OrchestrationStatus after) {
  if (before && *before == after) return {};
  const bool was_pending = !before || *before == ORCHESTRATION_STATUS_PENDING;
  switch (after) {
    case ORCHESTRATION_STATUS_RUNNING:
      if (before && *before == ORCHESTRATION_STATUS_SUSPENDED) return {"Resumed"};
      return {"Started"};
    case ORCHESTRATION_STATUS_SUSPENDED:
      return {"Suspended"};
    case ORCHESTRATION_STATUS_COMPLETED:
      if (was_pending) return {"Started", "Completed"};
      return {"Completed"};
    case ORCHESTRATION_STATUS_FAILED:
      if (was_pending) return {"Started", "Failed"};
      return {"Failed"};
    case ORCHESTRATION_STATUS_TERMINATED:
      return {"Terminated"};
    default:
      return {};
  }
}

}  // namespace taskhub::notify
