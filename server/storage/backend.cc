#include "server/storage/backend.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "server/common/status_macros.h"
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
  const bool entity = !rec.instance_id().empty() && rec.instance_id()[0] == '@';
  if (entity != f.entities) return false;
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

absl::StatusOr<InstanceCounts> Backend::CountInstances() {
  InstanceCounts counts;
  for (bool entities : {false, true}) {
    InstanceFilter f;
    f.entities = entities;
    if (entities) f.id_prefix = "@";
    f.page_size = 1000;
    do {
      absl::StatusOr<InstancePage> page = QueryInstances(f);
      if (!page.ok()) return page.status();
      for (const auto& rec : page->records) {
        if (entities) {
          ++counts.entities;
        } else if (rec.status() >= 0 && rec.status() < 8) {
          ++counts.by_status[rec.status()];
        }
      }
      f.continuation = page->continuation;
    } while (!f.continuation.empty());
  }
  return counts;
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
    // SimpleAtoi, not std::stoll: a crafted token must get an error, never an
    // exception (out_of_range on 20 digits used to abort the daemon).
    const absl::string_view num = absl::string_view(token).substr(1, slash - 1);
    int64_t created_us = 0;
    if (num.find_first_not_of("-0123456789") == absl::string_view::npos &&
        absl::SimpleAtoi(num, &created_us)) {
      d.created_us = created_us;
      d.id = token.substr(slash + 1);
      return std::optional<DecodedToken>(d);
    }
  }
  return absl::InvalidArgumentError(
      "continuationToken '" + token + "' is not a token returned by this server");
}

absl::StatusOr<std::optional<DecodedToken>> DecodeQueryToken(const InstanceFilter& f) {
  ASSIGN_OR_RETURN(std::optional<DecodedToken> token, DecodeToken(f.continuation));
  if (token && token->by_prefix != !f.id_prefix.empty()) {
    return absl::InvalidArgumentError("continuationToken belongs to a different query");
  }
  return token;
}

}  // namespace taskhub::storage
