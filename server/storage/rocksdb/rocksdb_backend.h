// The RocksDB backend (the default). Every Commit() is one WriteBatch written with
// sync=true (WAL fsync'd before returning). A failed write makes the backend
// sticky-failed: later commits return the same error instead of pretending success
// (UNAVAILABLE for I/O errors). Before each write the free space of the store's file
// system is checked: below `min_free_disk_bytes` the commit is refused with
// RESOURCE_EXHAUSTED (also sticky), because the Debian librocksdb is built with
// assertions and aborts on some writes after a full disk.
// Corruption found at open (CURRENT, MANIFEST, a WAL record that is not the torn tail
// of an unacknowledged write) fails the open with DATA_LOSS instead of dropping data.
// Destroying the backend (a clean stop) flushes the memtables: start-up then replays no
// WAL (after a crash it replays at most a write buffer's worth).
// RocksDB's info log goes to the "rocksdb" spdlog logger, not a LOG file.
// Purges (DeleteInstance) point-delete the instance's keys (no range tombstone per
// instance: RocksDB's reads slow down with their number) and a background thread
// compacts the deleted index ranges (see `compact_after_deletes`), so a scan of an
// index does not step over the tombstones of earlier purges for long.
// Thread-safe.
#ifndef TASKHUB_SERVER_STORAGE_ROCKSDB_ROCKSDB_BACKEND_H_
#define TASKHUB_SERVER_STORAGE_ROCKSDB_ROCKSDB_BACKEND_H_

#include <memory>
#include <string>

#include "server/storage/backend.h"

namespace rocksdb {
class Env;
}

namespace taskhub::storage {

struct RocksDbOptions {
  std::string path;
  bool sync = true;  // fsync the WAL on every commit (never off in production)
  size_t block_cache_bytes = 64 << 20;
  uint64_t min_free_disk_bytes = 0;  // refuse writes below this much free space (0: never)
  rocksdb::Env* env = nullptr;       // tests inject faults here; null: the default Env
  size_t write_buffer_bytes = 0;     // memtable size before a flush (0: RocksDB's 64 MiB)
  // After this many instances were deleted (purges; then after as many as were deleted
  // before), a background thread compacts the index ranges they were deleted from
  // (0: never).
  size_t compact_after_deletes = 20000;
};

// Opens (creating if needed) the store at `options.path`. FAILED_PRECONDITION if the
// directory holds a store of another format version or another process holds it
// (RocksDB's LOCK file); DATA_LOSS if the store is corrupt; RESOURCE_EXHAUSTED if its
// file system has less than `min_free_disk_bytes` free. Messages name the path and
// say what to do.
absl::StatusOr<std::unique_ptr<Backend>> OpenRocksDbBackend(const RocksDbOptions& options);

}  // namespace taskhub::storage

#endif  // TASKHUB_SERVER_STORAGE_ROCKSDB_ROCKSDB_BACKEND_H_
