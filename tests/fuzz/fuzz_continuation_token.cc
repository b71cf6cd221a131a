// Fuzz target: continuation tokens (QueryInstances' continuationToken and
// ListInstanceIds' lastInstanceKey) decoded and used by both backends. The memory and
// RocksDB backends hold the same instances; a query must get the same answer (same
// error code, or same page and next token) from both.
// Input: byte 0 = query shape flags, byte 1 = page size, the rest = the token.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "server/core/history.h"
#include "server/storage/memory/memory_backend.h"
#include "server/storage/rocksdb/rocksdb_backend.h"
#include "tests/fuzz/fuzz_common.h"

namespace taskhub::fuzz {
namespace {

using storage::Backend;

struct Stores {
  std::string dir;
  storage::MemoryBackend memory;
  std::unique_ptr<Backend> rocks;
};

Stores* stores = nullptr;

void RemoveStore() {
  if (stores != nullptr) {
    stores->rocks.reset();
    std::filesystem::remove_all(stores->dir);
  }
}

// The same instances in both backends: ids sharing prefixes, equal created times,
// every status, terminal ones with completion times.
void Populate() {
  const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  std::string tmpl = std::string(base) + "/taskhub-fuzz-token-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) abort();
  stores = new Stores;
  stores->dir = tmpl;
  storage::RocksDbOptions o;
  o.path = tmpl;
  o.sync = false;
  auto r = storage::OpenRocksDbBackend(o);
  if (!r.ok()) abort();
  stores->rocks = std::move(*r);
  atexit(RemoveStore);
  storage::WriteSet ws;
  const char* ids[] = {"a", "a1", "a10", "a2", "ab", "b", "b/1", "c", "c\xc3\xbf", "p", "pa", "zz"};
  int n = 0;
  for (const char* id : ids) {
    store::InstanceRecord rec;
    rec.set_instance_id(id);
    rec.set_name("orch");
    const int status = n % 8;  // RUNNING .. PENDING, SUSPENDED
    rec.set_status(static_cast<OrchestrationStatus>(status));
    const absl::Time created = absl::FromUnixSeconds(1'700'000'000 + (n / 3));
    *rec.mutable_created_time() = core::ToProto(created);
    if (status == 1 || status == 3 || status == 4 || status == 5) {  // terminal
      *rec.mutable_completed_time() = core::ToProto(created + absl::Seconds(n));
    }
    ws.ops.push_back(storage::PutInstance{rec, std::nullopt});
    ++n;
  }
  ws.max_seq = 1;
  if (!stores->memory.Commit(ws).ok() || !stores->rocks->Commit(ws).ok()) abort();
}

storage::InstanceFilter FilterOf(uint8_t flags, uint8_t page) {
  storage::InstanceFilter f;
  if (flags & 1) f.id_prefix = (flags & 2) ? "a" : "p";
  if (flags & 4) f.statuses = {ORCHESTRATION_STATUS_RUNNING, ORCHESTRATION_STATUS_COMPLETED};
  if (flags & 8) {  // ListInstanceIds: terminal statuses and completion bounds
    f.statuses = {ORCHESTRATION_STATUS_COMPLETED, ORCHESTRATION_STATUS_FAILED,
                  ORCHESTRATION_STATUS_TERMINATED, ORCHESTRATION_STATUS_CANCELED};
    f.completed_from = absl::FromUnixSeconds(1'700'000'001);
  }
  if (flags & 16) f.created_from = absl::FromUnixSeconds(1'700'000'001);
  if (flags & 32) f.created_to = absl::FromUnixSeconds(1'700'000'002);
  if (flags & 64) f.completed_to = absl::FromUnixSeconds(1'700'000'010);
  f.page_size = static_cast<int8_t>(page);  // negative and 0 included
  return f;
}

std::string Describe(const absl::StatusOr<storage::InstancePage>& p) {
  if (!p.ok()) return "error " + std::to_string(static_cast<int>(p.status().code()));
  std::string s;
  for (const auto& r : p->records) s += r.instance_id() + ",";
  return s + " next=" + p->continuation;
}

}  // namespace
}  // namespace taskhub::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  taskhub::fuzz::QuietLogs();
  taskhub::fuzz::Populate();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace taskhub;
  if (size < 2 || size > 512) return -1;
  const std::string token(reinterpret_cast<const char*>(data) + 2, size - 2);
  (void)storage::DecodeToken(token);
  storage::InstanceFilter f = fuzz::FilterOf(data[0], data[1]);
  f.continuation = token;
  const std::string mem = fuzz::Describe(fuzz::stores->memory.QueryInstances(f));
  const std::string rocks = fuzz::Describe(fuzz::stores->rocks->QueryInstances(f));
  if (mem != rocks) {
    fprintf(stderr, "backends disagree:\n  memory:  %s\n  rocksdb: %s\n", mem.c_str(),
            rocks.c_str());
    __builtin_trap();
  }
  return 0;
}
