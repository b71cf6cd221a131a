#include "server/storage/azure/client/shared_key.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace taskhub::azure {
namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::string HeaderValue(const HeaderList& headers, const std::string& name) {
  for (const auto& [k, v] : headers) {
    if (absl::EqualsIgnoreCase(k, name)) return v;
  }
  return "";
}

// Collapses runs of whitespace to one space and trims (canonicalized headers).
std::string CollapseSpaces(const std::string& v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string Base64Encode(const std::string& bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += {kB64[v >> 18], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], kB64[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    out += {kB64[v >> 18], kB64[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += {kB64[v >> 18], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], '='};
  }
  return out;
}

std::optional<std::string> Base64Decode(const std::string& text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : text) {
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return std::nullopt;  // data after padding
    const char* p = (c == '\0') ? nullptr : std::strchr(kB64, c);
    if (p == nullptr) return std::nullopt;
    acc = (acc << 6) | uint32_t(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(char((acc >> bits) & 0xff));
    }
  }
  if (pad > 2 || (text.size() % 4) != 0) return std::nullopt;
  return out;
}

std::string HmacSha256Base64(const std::string& key, const std::string& message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &len);
  return Base64Encode(std::string(reinterpret_cast<char*>(digest), len));
}

std::string PercentEncode(const std::string& s, bool keep_slash) {
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string EncodeQuery(const QueryList& query) {
  std::string out;
  for (const auto& [k, v] : query) {
    if (!out.empty()) out += "&";
    absl::StrAppend(&out, k, "=", PercentEncode(v));  // names are ours ($filter)
  }
  return out;
}

std::string Rfc1123(absl::Time t) {
  absl::TimeZone utc = absl::UTCTimeZone();
  absl::CivilSecond c = absl::ToCivilSecond(t, utc);
  int wd = static_cast<int>(absl::GetWeekday(c));  // Monday = 0
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[(wd + 1) % 7],
                c.day(), kMonths[c.month() - 1], static_cast<int>(c.year()), c.hour(), c.minute(),
                c.second());
  return buf;
}

std::optional<absl::Time> ParseRfc1123(const std::string& s) {
  char wd[4] = {}, mon[4] = {};
  int day = 0, year = 0, h = 0, m = 0, sec = 0;
  if (std::sscanf(s.c_str(), "%3s, %d %3s %d %d:%d:%d GMT", wd, &day, mon, &year, &h, &m, &sec) !=
      7) {
    return std::nullopt;
  }
  for (int i = 0; i < 12; ++i) {
    if (std::string(mon) == kMonths[i]) {
      return absl::FromCivil(absl::CivilSecond(year, i + 1, day, h, m, sec), absl::UTCTimeZone());
    }
  }
  return std::nullopt;
}

std::string BlobQueueStringToSign(const std::string& method, const HeaderList& headers,
                                  size_t content_length, const std::string& account,
                                  const std::string& path, const QueryList& query) {
  std::string s = method + "\n";
  for (const char* h : {"Content-Encoding", "Content-Language"})
    s += HeaderValue(headers, h) + "\n";
  s += (content_length == 0 ? std::string() : std::to_string(content_length)) + "\n";
  for (const char* h : {"Content-MD5", "Content-Type", "Date", "If-Modified-Since", "If-Match",
                        "If-None-Match", "If-Unmodified-Since", "Range"}) {
    s += HeaderValue(headers, h) + "\n";
  }
  std::map<std::string, std::string> ms;
  for (const auto& [k, v] : headers) {
    std::string name = absl::AsciiStrToLower(k);
    if (absl::StartsWith(name, "x-ms-")) ms[name] = CollapseSpaces(v);
  }
  for (const auto& [k, v] : ms) absl::StrAppend(&s, k, ":", v, "\n");
  absl::StrAppend(&s, "/", account, path);
  std::map<std::string, std::vector<std::string>> params;
  for (const auto& [k, v] : query) params[absl::AsciiStrToLower(k)].push_back(v);
  for (auto& [k, vs] : params) {
    std::sort(vs.begin(), vs.end());
    absl::StrAppend(&s, "\n", k, ":", absl::StrJoin(vs, ","));
  }
  return s;
}

std::string TableStringToSign(const std::string& method, const HeaderList& headers,
                              const std::string& account, const std::string& path,
                              const QueryList& query) {
  std::string s = absl::StrCat(method, "\n", HeaderValue(headers, "Content-MD5"), "\n",
                               HeaderValue(headers, "Content-Type"), "\n",
                               HeaderValue(headers, "x-ms-date"), "\n/", account, path);
  for (const auto& [k, v] : query) {
    if (k == "comp") absl::StrAppend(&s, "?comp=", v);
  }
  return s;
}

}  // namespace taskhub::azure
