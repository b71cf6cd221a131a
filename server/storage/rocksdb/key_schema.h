// The RocksDB key layout of taskhubd, format version 1. All integers are encoded
// big-endian so that byte order equals numeric order; signed times are biased by
// 2^63. Instance ids never contain '\0' (validation rejects control characters).
//
//   0x00 "format"                                   -> "1"  (format version)
//   0x00 "max_seq"                                  -> decimal highest sequence number
//   0x01 <id>                                       -> store.InstanceRecord
//   0x02 <id> 0x00 <u64 first index>                -> HistoryChunk: events first..first+n-1
//                                                      of the current execution (one per append)
//   0x03 <id> 0x00 <u64 seq>                        -> HistoryEvent (inbox)
//   0x04 <u64 seq>                                  -> store.ActivityTask
//   0x05 <i64 fire_us> <u64 seq>                    -> store.TimerRecord
//   0x06 <u8 status> <i64 created_us> <id>          -> ""  (status index)
//   0x07 <i64 created_us> <id>                      -> ""  (created-time index)
//   0x08 <u64 seq>                                  -> store.OutboxMessage (between partitions)
//   0x09 <u64 seq>                                  -> store.Notification (lifecycle outbox)
#ifndef TASKHUB_SERVER_STORAGE_ROCKSDB_KEY_SCHEMA_H_
#define TASKHUB_SERVER_STORAGE_ROCKSDB_KEY_SCHEMA_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace taskhub::storage::keys {

inline constexpr char kFormatVersion[] = "1";

enum Prefix : char {
  kMeta = 0x00,
  kInstance = 0x01,
  kHistory = 0x02,
  kInbox = 0x03,
  kActivity = 0x04,
  kTimer = 0x05,
  kStatusIndex = 0x06,
  kCreatedIndex = 0x07,
  kMessage = 0x08,
  kNotification = 0x09,
};

void PutU64(std::string* out, uint64_t v);
void PutI64(std::string* out, int64_t v);
uint64_t GetU64(std::string_view in);
int64_t GetI64(std::string_view in);

std::string Meta(std::string_view name);
std::string Instance(std::string_view id);
std::string HistoryPrefix(std::string_view id);  // all history keys of `id` start so
std::string History(std::string_view id, uint64_t index);
std::string InboxPrefix(std::string_view id);
std::string Inbox(std::string_view id, uint64_t seq);
std::string Activity(uint64_t seq);
std::string Timer(int64_t fire_us, uint64_t seq);
std::string Message(uint64_t seq);
std::string Notification(uint64_t seq);
std::string StatusIndexPrefix(int status);
std::string StatusIndex(int status, int64_t created_us, std::string_view id);
std::string CreatedIndex(int64_t created_us, std::string_view id);
// The smallest key greater than every key starting with `prefix`.
std::string PrefixEnd(std::string prefix);

}  // namespace taskhub::storage::keys

#endif  // TASKHUB_SERVER_STORAGE_ROCKSDB_KEY_SCHEMA_H_
