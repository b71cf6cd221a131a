// JSON payloads given on the command line (inline or @file) and payloads shown
// in JSON output.
#ifndef TASKHUB_TOOLS_TASKHUB_PAYLOAD_H_
#define TASKHUB_TOOLS_TASKHUB_PAYLOAD_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace taskhub::cli {

// Reads a JSON argument: `arg` itself, or the contents of the file named after a
// leading '@' ("@-" reads standard input). Returns the text (surrounding
// whitespace removed) after checking that it is one JSON value.
// InvalidArgumentError naming `what` when the file cannot be read or the text is
// not JSON.
absl::StatusOr<std::string> ReadJsonArgument(absl::string_view arg, absl::string_view what);

// A stored payload (JSON text) as a JSON value for output; text that is not JSON
// becomes a JSON string holding it.
nlohmann::json PayloadToJson(const std::string& payload);

// Parses "key=value" tags (the value may contain '='); InvalidArgumentError when
// one has no '=' or an empty key.
absl::StatusOr<std::map<std::string, std::string>> ParseTags(const std::vector<std::string>& texts);

}  // namespace taskhub::cli

#endif  // TASKHUB_TOOLS_TASKHUB_PAYLOAD_H_
