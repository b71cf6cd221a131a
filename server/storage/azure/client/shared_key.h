// Shared Key signing for Azure Storage (pure functions, no I/O): the string-to-sign of
// the Blob/Queue and Table schemes, HMAC-SHA256, base64 and the percent-encoding used
// for URLs. Facts: ../shared/reference/azure-storage.md section 2.
//
// Thread-safety: every function is pure and thread-safe.
#ifndef TASKHUB_SERVER_STORAGE_AZURE_CLIENT_SHARED_KEY_H_
#define TASKHUB_SERVER_STORAGE_AZURE_CLIENT_SHARED_KEY_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace taskhub::azure {

using HeaderList = std::vector<std::pair<std::string, std::string>>;
using QueryList = std::vector<std::pair<std::string, std::string>>;  // decoded values

std::string Base64Encode(const std::string& bytes);
// nullopt when `text` is not valid base64.
std::optional<std::string> Base64Decode(const std::string& text);
// Base64(HMAC-SHA256(key, message)).
std::string HmacSha256Base64(const std::string& key, const std::string& message);

// Percent-encodes every byte but the unreserved ones (A-Z a-z 0-9 - _ . ~); with
// `keep_slash`, '/' stays as is (blob names).
std::string PercentEncode(const std::string& s, bool keep_slash = false);
// Decodes %XX (and '+' stays '+'); invalid escapes are kept verbatim.
std::string PercentDecode(const std::string& s);
// "name=value&..." with the values percent-encoded (names are constants such as
// "$filter", sent as is), in the given order.
std::string EncodeQuery(const QueryList& query);

// "Tue, 02 Jun 2026 10:00:00 GMT".
std::string Rfc1123(absl::Time t);
// Parses the format above; nullopt if malformed.
std::optional<absl::Time> ParseRfc1123(const std::string& s);

// Blob and Queue "SharedKey": the 12 standard fields, the canonicalized x-ms-*
// headers and the canonicalized resource. `path` is the request path exactly as sent
// (percent-encoded, starting with '/'); `query` holds the decoded parameters.
// `content_length` is the body size (an empty field when 0). Header names are matched
// case-insensitively.
std::string BlobQueueStringToSign(const std::string& method, const HeaderList& headers,
                                  size_t content_length, const std::string& account,
                                  const std::string& path, const QueryList& query);
// Table "SharedKey": VERB, Content-MD5, Content-Type, the x-ms-date value, and the
// resource with only ?comp= appended.
std::string TableStringToSign(const std::string& method, const HeaderList& headers,
                              const std::string& account, const std::string& path,
                              const QueryList& query);

}  // namespace taskhub::azure

#endif  // TASKHUB_SERVER_STORAGE_AZURE_CLIENT_SHARED_KEY_H_
