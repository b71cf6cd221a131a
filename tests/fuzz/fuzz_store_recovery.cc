// Fuzz target: stored records and keys decoded from bytes. A RocksDB store is
// written with exactly the input's key-value pairs (typed records serialized, or raw
// bytes), then opened by the RocksDB backend, recovered by an engine (which decodes
// every key and record of the recovery scan) and read through client calls. A
// corrupt store must give a clean error, never a crash. Input: fuzz.StoreInput.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "rocksdb/db.h"
#include "server/storage/rocksdb/key_schema.h"
#include "server/storage/rocksdb/rocksdb_backend.h"
#include "tests/fuzz/engine_harness.h"
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/proto_mutator.h"

namespace taskhub::fuzz {
namespace {

std::string* store_dir = nullptr;

void RemoveStore() {
  if (store_dir != nullptr) std::filesystem::remove_all(*store_dir);
}

std::string ValueOf(const StoredPair& p) {
  switch (p.typed_case()) {
    case StoredPair::kInstance:
      return p.instance().SerializeAsString();
    case StoredPair::kHistory:
      return p.history().SerializeAsString();
    case StoredPair::kInbox:
      return p.inbox().SerializeAsString();
    case StoredPair::kActivity:
      return p.activity().SerializeAsString();
    case StoredPair::kTimer:
      return p.timer().SerializeAsString();
    case StoredPair::TYPED_NOT_SET:
      break;
  }
  return p.value();
}

// Writes the pairs into a fresh store at `dir`.
void WriteStore(const std::string& dir, const StoreInput& in) {
  std::filesystem::remove_all(dir);
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(o, dir, &raw).ok()) abort();
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteBatch b;
  if (!in.no_format()) b.Put(storage::keys::Meta("format"), storage::keys::kFormatVersion);
  for (const auto& p : in.pairs()) b.Put(p.key(), ValueOf(p));
  if (!db->Write(rocksdb::WriteOptions(), &b).ok()) abort();
  if (!db->Close().ok()) abort();
}

}  // namespace
}  // namespace taskhub::fuzz

TASKHUB_FUZZ_PROTO_MUTATOR(taskhub::fuzz::StoreInput)

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  taskhub::fuzz::QuietLogs();
  const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  std::string tmpl = std::string(base) + "/taskhub-fuzz-store-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) abort();
  taskhub::fuzz::store_dir = new std::string(tmpl);
  atexit(taskhub::fuzz::RemoveStore);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace taskhub;
  fuzz::StoreInput in;
  if (!fuzz::ParseInput(data, size, &in) || in.pairs_size() > 64 || in.calls_size() > 16) {
    return -1;
  }
  const std::string dir = *fuzz::store_dir + "/db";
  fuzz::WriteStore(dir, in);
  storage::RocksDbOptions o;
  o.path = dir;
  o.sync = false;
  auto backend = storage::OpenRocksDbBackend(o);
  if (!backend.ok()) return 0;
  fuzz::EngineHarness h(backend->get());
  if (h.engine() == nullptr) return 0;  // recovery refused the store: fine
  h.Connect(GetWorkItemsRequest());
  h.Barrier();
  for (const auto& c : in.calls()) h.Apply(c);
  return 0;
}
