#include "tools/taskhub/entity_ids.h"

#include <cstdint>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace taskhub::cli {

absl::StatusOr<std::string> EntityId(absl::string_view name, absl::string_view key) {
  if (name.empty()) return absl::InvalidArgumentError("entity name must not be empty");
  if (name.find('@') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("entity name '", name, "' must not contain '@'"));
  }
  return absl::StrCat("@", absl::AsciiStrToLower(name), "@", key);
}

EntityIdParts SplitEntityId(absl::string_view id) {
  if (id.size() < 2 || id[0] != '@') return {"", std::string(id)};
  const size_t sep = id.find('@', 1);
  if (sep == absl::string_view::npos) return {"", std::string(id)};
  return {std::string(id.substr(1, sep - 1)), std::string(id.substr(sep + 1))};
}

std::string EntityIdPrefix(absl::string_view prefix) {
  std::string p =
      !prefix.empty() && prefix[0] == '@' ? std::string(prefix) : absl::StrCat("@", prefix);
  const size_t sep = p.find('@', 1);
  const size_t name_end = sep == std::string::npos ? p.size() : sep;
  for (size_t i = 0; i < name_end; ++i) p[i] = absl::ascii_tolower(p[i]);
  return p;
}

std::string NewRequestId() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  uint64_t hi = gen(), lo = gen();
  hi = (hi & ~0xF000ULL) | 0x4000ULL;                  // version 4
  lo = (lo & ~(0xC000ULL << 48)) | (0x8000ULL << 48);  // RFC 4122 variant
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF,
                         lo >> 48, lo & 0xFFFFFFFFFFFFULL);
}

absl::StatusOr<absl::Duration> ParseNonNegativeDuration(absl::string_view text,
                                                        absl::string_view flag) {
  absl::Duration d;
  if (!absl::ParseDuration(absl::StripAsciiWhitespace(text), &d) || d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": '", text, "' is not a duration (e.g. 30s, 5m, 1h30m, 250ms)"));
  }
  if (d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": must not be negative"));
  }
  return d;
}

}  // namespace taskhub::cli
