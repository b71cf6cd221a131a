#include "server/storage/azure/azure_layout.h"

#include <openssl/sha.h>

#include <cctype>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace taskhub::storage::azlayout {
namespace {

const char kHex[] = "0123456789ABCDEF";

// The lead character of the code for byte `b`, or 0 when `b` is kept as is.
char LeadOf(unsigned char b) {
  if (b <= 0x2C) return '!';
  if (b == 0x2D) return 0;  // '-'
  if (b <= 0x2F) return '.';
  if (b <= 0x39) return 0;  // digits
  if (b <= 0x3B) return ';';
  if (b <= 0x3D) return 0;  // < =
  if (b <= 0x3F) return '>';
  if (b <= 0x5B) return 0;  // @ A-Z [
  if (b <= 0x5D) return ']';
  if (b <= 0x7D) return 0;  // ^ _ ` a-z { | }
  return '~';
}

}  // namespace

std::string TableName(const std::string& hub) { return hub + "Store"; }
std::string ContainerName(const std::string& hub) {
  return absl::AsciiStrToLower(hub) + "-taskhub";
}

uint32_t Fnv1a32(std::string_view s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

int PartitionOf(std::string_view instance_id, int partition_count) {
  return static_cast<int>(Fnv1a32(instance_id) % static_cast<uint32_t>(partition_count));
}

std::string PartitionKey(int partition) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "p%02d", partition);
  return buf;
}

int ParsePartitionKey(std::string_view pk) {
  if (pk.size() != 3 || pk[0] != 'p' || !std::isdigit(static_cast<unsigned char>(pk[1])) ||
      !std::isdigit(static_cast<unsigned char>(pk[2]))) {
    return -1;
  }
  return (pk[1] - '0') * 10 + (pk[2] - '0');
}

std::string EscapeId(std::string_view id) {
  std::string out;
  out.reserve(id.size());
  for (unsigned char b : id) {
    const char lead = LeadOf(b);
    if (lead == 0) {
      out.push_back(static_cast<char>(b));
    } else {
      out.push_back(lead);
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
    }
  }
  return out;
}

namespace {
// The longest prefix of escaped `e` of at most `max` characters ending at a code
// boundary.
std::string CutAtBoundary(const std::string& e, size_t max) {
  size_t pos = 0;
  while (pos < e.size()) {
    // A code starts with a lead character; leads are never plain characters.
    const bool is_lead = e[pos] == '!' || e[pos] == '.' || e[pos] == ';' || e[pos] == '>' ||
                         e[pos] == ']' || e[pos] == '~';
    const size_t step = is_lead ? 3 : 1;
    if (pos + step > max) break;
    pos += step;
  }
  return e.substr(0, pos);
}
}  // namespace

std::string KeyId(std::string_view id) {
  std::string e = EscapeId(id);
  if (e.size() <= kMaxEidChars) return e;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(id.data()), id.size(), digest);
  std::string out = CutAtBoundary(e, kHashedPrefixChars) + "~H";
  for (int i = 0; i < 16; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

std::string KeyIdPrefix(std::string_view prefix) {
  std::string e = EscapeId(prefix);
  if (e.size() <= kHashedPrefixChars) return e;
  return CutAtBoundary(e, kHashedPrefixChars);
}

std::string Num(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(v));
  return buf;
}
std::string SignedNum(int64_t v) { return Num(static_cast<uint64_t>(v) ^ (1ull << 63)); }

std::optional<uint64_t> ParseNum(std::string_view s) {
  if (s.size() != 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}
std::optional<int64_t> ParseSignedNum(std::string_view s) {
  auto v = ParseNum(s);
  if (!v) return std::nullopt;
  return static_cast<int64_t>(*v ^ (1ull << 63));
}

std::string InstanceRow(std::string_view id) { return absl::StrCat("i:", KeyId(id)); }
std::string CreatedRow(int64_t created_us, std::string_view id) {
  return absl::StrCat("c:", SignedNum(created_us), ":", KeyId(id));
}
std::string HistoryPrefix(std::string_view id) { return absl::StrCat("h:", KeyId(id), ":"); }
std::string HistoryRow(std::string_view id, uint64_t first_index) {
  return absl::StrCat(HistoryPrefix(id), Num(first_index));
}
std::string InboxPrefix(std::string_view id) { return absl::StrCat("n:", KeyId(id), ":"); }
std::string InboxRow(std::string_view id, uint64_t seq) {
  return absl::StrCat(InboxPrefix(id), Num(seq));
}
std::string ActivityRow(uint64_t seq) { return absl::StrCat("a:", Num(seq)); }
std::string TimerRow(int64_t fire_us, uint64_t seq) {
  return absl::StrCat("t:", SignedNum(fire_us), ":", Num(seq));
}
std::string MessageRow(uint64_t seq) { return absl::StrCat("m:", Num(seq)); }
std::string NotificationRow(uint64_t seq) { return absl::StrCat("o:", Num(seq)); }
std::string LogRow(uint64_t n, int chunk) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04d", chunk);
  return absl::StrCat(Num(n), ":", buf);
}

std::string RangeEnd(std::string_view prefix) {
  // Keys only hold printable ASCII below 0x7F: one character above the last one ends
  // the range ('~' + 1 = DEL only appears in the filter literal, never in a key).
  std::string end(prefix);
  while (!end.empty() && end.back() == '\x7F') end.pop_back();
  if (end.empty()) return std::string(1, '\x7F');
  end.back() = static_cast<char>(end.back() + 1);
  return end;
}

std::string LeaseIdFor(std::string_view owner_id) {
  const std::string owner(owner_id);
  const uint32_t a = Fnv1a32(owner);
  const uint32_t b = Fnv1a32("taskhub:" + owner);
  const uint32_t c = Fnv1a32(owner + ":lease");
  const uint32_t d = Fnv1a32("l:" + owner + ":l");
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%04x%08x", a, b >> 16, b & 0xFFFF, c >> 16,
                c & 0xFFFF, d);
  return buf;
}

}  // namespace taskhub::storage::azlayout
