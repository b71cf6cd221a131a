#include "tools/taskhub/payload.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace taskhub::cli {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view what) {
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": cannot read file '", path, "': ", std::strerror(errno)));
  }
  text << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": error reading file '", path, "'"));
  }
  return text.str();
}

}  // namespace

absl::StatusOr<std::string> ReadJsonArgument(absl::string_view arg, absl::string_view what) {
  std::string text(arg);
  std::string source = "the value";
  if (absl::StartsWith(arg, "@")) {
    const std::string path(arg.substr(1));
    absl::StatusOr<std::string> contents = ReadFile(path, what);
    if (!contents.ok()) return contents.status();
    text = *std::move(contents);
    source = path == "-" ? "standard input" : absl::StrCat("file '", path, "'");
  }
  text = std::string(absl::StripAsciiWhitespace(text));
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    std::string hint;
    const bool bare_word = !text.empty() && std::string("{[\"").find(text[0]) == std::string::npos;
    if (!absl::StartsWith(arg, "@") && bare_word) {
      hint = absl::StrCat(" (a string must be quoted, e.g. '\"", text, "\"')");
    }
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", source, " is not valid JSON", hint));
  }
  return text;
}

nlohmann::json PayloadToJson(const std::string& payload) {
  nlohmann::json parsed = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return payload;
  return parsed;
}

absl::StatusOr<std::map<std::string, std::string>> ParseTags(
    const std::vector<std::string>& texts) {
  std::map<std::string, std::string> tags;
  for (const std::string& t : texts) {
    const size_t eq = t.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tag: '", t, "' is not of the form key=value"));
    }
    tags[t.substr(0, eq)] = t.substr(eq + 1);
  }
  return tags;
}

}  // namespace taskhub::cli
