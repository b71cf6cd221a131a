// ParseConnectionString: the storage connection-string formats of
// ../shared/reference/azure-storage.md section 1. Messages never echo the key or SAS.
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/storage/azure/client/azure_client.h"
#include "server/storage/azure/client/shared_key.h"

namespace taskhub::azure {
namespace {

constexpr char kDevAccount[] = "devstoreaccount1";
constexpr char kDevKey[] =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

std::string TrimSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

absl::StatusOr<Account> ParseConnectionString(const std::string& connection_string) {
  std::map<std::string, std::string> kv;  // lower-cased keys
  int index = 0;
  for (absl::string_view part : absl::StrSplit(connection_string, ';', absl::SkipWhitespace())) {
    ++index;
    part = absl::StripAsciiWhitespace(part);
    size_t eq = part.find('=');
    if (eq == absl::string_view::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("storage connection string: segment ", index, " is not key=value"));
    }
    std::string key = absl::AsciiStrToLower(absl::StripAsciiWhitespace(part.substr(0, eq)));
    kv[key] = std::string(absl::StripAsciiWhitespace(part.substr(eq + 1)));
  }
  if (kv.empty()) return absl::InvalidArgumentError("storage connection string is empty");
  auto get = [&](const char* k) -> std::string {
    auto it = kv.find(k);
    return it == kv.end() ? "" : it->second;
  };

  Account a;
  if (absl::EqualsIgnoreCase(get("usedevelopmentstorage"), "true")) {
    std::string host = TrimSlash(get("developmentstorageproxyuri"));
    if (host.empty()) host = "http://127.0.0.1";
    a.name = kDevAccount;
    a.key = *Base64Decode(kDevKey);
    a.blob_endpoint = absl::StrCat(host, ":10000/", kDevAccount);
    a.queue_endpoint = absl::StrCat(host, ":10001/", kDevAccount);
    a.table_endpoint = absl::StrCat(host, ":10002/", kDevAccount);
    return a;
  }
  if (kv.count("usedevelopmentstorage")) {
    return absl::InvalidArgumentError(
        "storage connection string: UseDevelopmentStorage must be true");
  }

  a.name = get("accountname");
  std::string key = get("accountkey");
  a.sas = std::string(absl::StripPrefix(get("sharedaccesssignature"), "?"));
  if (!key.empty()) {
    auto decoded = Base64Decode(key);
    if (!decoded || decoded->empty()) {
      return absl::InvalidArgumentError(
          "storage connection string: AccountKey is not valid base64");
    }
    a.key = *decoded;
  }
  if (a.key.empty() && a.sas.empty()) {
    return absl::InvalidArgumentError(
        "storage connection string: missing AccountKey or SharedAccessSignature");
  }
  if (!a.key.empty() && a.name.empty()) {
    return absl::InvalidArgumentError("storage connection string: missing AccountName");
  }
  std::string protocol = get("defaultendpointsprotocol");
  if (protocol.empty()) protocol = "https";
  if (protocol != "http" && protocol != "https") {
    return absl::InvalidArgumentError(
        "storage connection string: DefaultEndpointsProtocol must be http or https");
  }
  std::string suffix = get("endpointsuffix");
  if (suffix.empty()) suffix = "core.windows.net";
  struct {
    const char* key;
    const char* service;
    std::string* out;
  } endpoints[] = {{"blobendpoint", "blob", &a.blob_endpoint},
                   {"queueendpoint", "queue", &a.queue_endpoint},
                   {"tableendpoint", "table", &a.table_endpoint}};
  for (auto& e : endpoints) {
    std::string explicit_endpoint = TrimSlash(get(e.key));
    if (!explicit_endpoint.empty()) {
      if (!absl::StartsWith(explicit_endpoint, "http://") &&
          !absl::StartsWith(explicit_endpoint, "https://")) {
        return absl::InvalidArgumentError(absl::StrCat("storage connection string: ", e.key,
                                                       " must start with http:// or https://"));
      }
      *e.out = explicit_endpoint;
    } else if (!a.name.empty()) {
      *e.out = absl::StrCat(protocol, "://", a.name, ".", e.service, ".", suffix);
    }
  }
  if (a.blob_endpoint.empty() && a.queue_endpoint.empty() && a.table_endpoint.empty()) {
    return absl::InvalidArgumentError(
        "storage connection string: missing AccountName or BlobEndpoint/QueueEndpoint/"
        "TableEndpoint");
  }
  return a;
}

}  // namespace taskhub::azure
