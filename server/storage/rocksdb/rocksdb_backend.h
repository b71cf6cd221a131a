// The RocksDB backend (the default). Every Commit() is one WriteBatch written with
// sync=true (WAL fsync'd before returning). A failed write makes the backend
// sticky-failed: later commits return the same error instead of pretending success.
// Thread-safe.
#ifndef TASKHUB_SERVER_STORAGE_ROCKSDB_ROCKSDB_BACKEND_H_
#define TASKHUB_SERVER_STORAGE_ROCKSDB_ROCKSDB_BACKEND_H_

#include <memory>
#include <string>

#include "server/storage/backend.h"

namespace taskhub::storage {

struct RocksDbOptions {
  std::string path;
  bool sync = true;  // fsync the WAL on every commit (never off in production)
  size_t block_cache_bytes = 64 << 20;
};

// Opens (creating if needed) the store at `options.path`. FAILED_PRECONDITION if the
// directory holds a store of another format version.
absl::StatusOr<std::unique_ptr<Backend>> OpenRocksDbBackend(const RocksDbOptions& options);

}  // namespace taskhub::storage

#endif  // TASKHUB_SERVER_STORAGE_ROCKSDB_ROCKSDB_BACKEND_H_
