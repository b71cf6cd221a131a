// Percent-encoding and query strings (RFC 3986), for the HTTP server and the URLs the
// management API hands out. Pure functions; thread-safe.
#ifndef TASKHUB_SERVER_HTTP_URL_H_
#define TASKHUB_SERVER_HTTP_URL_H_

#include <map>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace taskhub::http {

// Decodes %XX escapes (and '+' as a space when `plus_is_space`). nullopt for a '%'
// not followed by two hex digits.
std::optional<std::string> PercentDecode(absl::string_view s, bool plus_is_space);

// Escapes every byte except the unreserved ones (A-Z a-z 0-9 - . _ ~).
std::string PercentEncode(absl::string_view s);

// "a=1&b=x%20y&c" -> {a:1, b:"x y", c:""}; the first value of a repeated key wins.
// nullopt on bad percent-encoding.
std::optional<std::map<std::string, std::string>> ParseQuery(absl::string_view query);

}  // namespace taskhub::http

#endif  // TASKHUB_SERVER_HTTP_URL_H_
