#include "server/storage/backend.h"

#include <algorithm>

#include "server/core/history.h"

namespace taskhub::storage {

IndexedFields IndexedFields::Of(const store::InstanceRecord& rec) {
  IndexedFields f;
  f.status = rec.status();
  f.created_us = core::ToMicros(core::FromProto(rec.created_time()));
  f.completed_us =
      rec.has_completed_time() ? core::ToMicros(core::FromProto(rec.completed_time())) : 0;
  return f;
}

bool MatchesFilter(const store::InstanceRecord& rec, const InstanceFilter& f) {
  if (!f.statuses.empty() &&
      std::find(f.statuses.begin(), f.statuses.end(), rec.status()) == f.statuses.end()) {
    return false;
  }
  if (!f.id_prefix.empty() && rec.instance_id().rfind(f.id_prefix, 0) != 0) return false;
  const absl::Time created = core::FromProto(rec.created_time());
  if (f.created_from && created < *f.created_from) return false;
  if (f.created_to && created > *f.created_to) return false;
  if (f.completed_from || f.completed_to) {
    if (!rec.has_completed_time()) return false;
    const absl::Time completed = core::FromProto(rec.completed_time());
    if (f.completed_from && completed < *f.completed_from) return false;
    if (f.completed_to && completed > *f.completed_to) return false;
  }
  return true;
}

}  // namespace taskhub::storage

namespace taskhub::storage {

std::string EncodeCreatedToken(int64_t created_us, const std::string& id) {
  return "c" + std::to_string(created_us) + "/" + id;
}
std::string EncodePrefixToken(const std::string& id) { return "p" + id; }

absl::StatusOr<std::optional<DecodedToken>> DecodeToken(const std::string& token) {
  if (token.empty()) return std::optional<DecodedToken>();
  DecodedToken d;
  if (token[0] == 'p') {
    d.by_prefix = true;
    d.id = token.substr(1);
    return std::optional<DecodedToken>(d);
  }
  const size_t slash = token.find('/');
  if (token[0] == 'c' && slash != std::string::npos && slash > 1) {
    const std::string num = token.substr(1, slash - 1);
    if (num.find_first_not_of("-0123456789") == std::string::npos) {
      d.created_us = std::stoll(num);
      d.id = token.substr(slash + 1);
      return std::optional<DecodedToken>(d);
    }
  }
  return absl::InvalidArgumentError(
      "continuationToken '" + token + "' is not a token returned by this server");
}

}  // namespace taskhub::storage
