#include "server/storage/rocksdb/key_schema.h"

namespace taskhub::storage::keys {

void PutU64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (i * 8)) & 0xFF));
}
void PutI64(std::string* out, int64_t v) {
  PutU64(out, static_cast<uint64_t>(v) ^ (1ull << 63));
}
uint64_t GetU64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}
int64_t GetI64(std::string_view in) { return static_cast<int64_t>(GetU64(in) ^ (1ull << 63)); }

static std::string WithPrefix(Prefix p) { return std::string(1, static_cast<char>(p)); }

std::string Meta(std::string_view name) { return WithPrefix(kMeta) + std::string(name); }
std::string Instance(std::string_view id) { return WithPrefix(kInstance) + std::string(id); }
std::string HistoryPrefix(std::string_view id) {
  std::string k = WithPrefix(kHistory) + std::string(id);
  k.push_back('\0');
  return k;
}
std::string History(std::string_view id, uint64_t index) {
  std::string k = HistoryPrefix(id);
  PutU64(&k, index);
  return k;
}
std::string InboxPrefix(std::string_view id) {
  std::string k = WithPrefix(kInbox) + std::string(id);
  k.push_back('\0');
  return k;
}
std::string Inbox(std::string_view id, uint64_t seq) {
  std::string k = InboxPrefix(id);
  PutU64(&k, seq);
  return k;
}
std::string Activity(uint64_t seq) {
  std::string k = WithPrefix(kActivity);
  PutU64(&k, seq);
  return k;
}
std::string Message(uint64_t seq) {
  std::string k(1, kMessage);
  PutU64(&k, seq);
  return k;
}
std::string Notification(uint64_t seq) {
  std::string k(1, kNotification);
  PutU64(&k, seq);
  return k;
}

std::string Timer(int64_t fire_us, uint64_t seq) {
  std::string k = WithPrefix(kTimer);
  PutI64(&k, fire_us);
  PutU64(&k, seq);
  return k;
}
std::string StatusIndexPrefix(int status) {
  std::string k = WithPrefix(kStatusIndex);
  k.push_back(static_cast<char>(status));
  return k;
}
std::string StatusIndex(int status, int64_t created_us, std::string_view id) {
  std::string k = StatusIndexPrefix(status);
  PutI64(&k, created_us);
  k.append(id);
  return k;
}
std::string CreatedIndex(int64_t created_us, std::string_view id) {
  std::string k = WithPrefix(kCreatedIndex);
  PutI64(&k, created_us);
  k.append(id);
  return k;
}
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char c = static_cast<unsigned char>(prefix.back());
    if (c != 0xFF) {
      prefix.back() = static_cast<char>(c + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\xFF');
}

}  // namespace taskhub::storage::keys
