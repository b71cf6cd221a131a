// The Azure backend's class, shared by its .cc files (open and commit in
// azure_backend.cc, batches and the log in azure_commit.cc, reads in azure_reads.cc).
// Internal: use OpenAzureBackend (azure_backend.h). Layout: azure_layout.h.
//
// Thread-safety: Commit calls are serialized by commit_mu_; mu_ guards the small
// shared state (meta ETags, seq maps, sticky status); reads take neither for I/O.
#ifndef TASKHUB_SERVER_STORAGE_AZURE_AZURE_BACKEND_IMPL_H_
#define TASKHUB_SERVER_STORAGE_AZURE_AZURE_BACKEND_IMPL_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "server/storage/azure/azure_backend.h"
#include "server/storage/azure/azure_rows.h"

namespace taskhub::storage {

// Runs fn(0..n-1) on n threads (inline when n == 1); the first error, if any.
absl::Status ForEachParallel(int n, const std::function<absl::Status(int)>& fn);

class AzureBackendImpl : public AzureBackend, private azrows::RowSource {
 public:
  AzureBackendImpl(AzureBackendOptions options, std::unique_ptr<azure::StorageClient> client);
  ~AzureBackendImpl() override;

  // Creates or checks the hub, takes the lease, fences, replays the log.
  absl::Status Open();

  absl::Status Commit(const WriteSet& ws) override;
  absl::StatusOr<std::optional<store::InstanceRecord>> GetInstance(
      const std::string& instance_id) override;
  absl::StatusOr<std::vector<HistoryEvent>> GetHistory(const std::string& instance_id) override;
  absl::StatusOr<RecoveryState> LoadRecoveryState() override;
  absl::StatusOr<InstancePage> QueryInstances(const InstanceFilter& filter) override;
  azure::TxCounts Counts() const override { return client_->Counts(); }
  void CollectStats(std::vector<StorageStat>* out) const override {
    const azure::TxCounts c = Counts();
    for (int k = 0; k < static_cast<int>(azure::TxKind::kCount); ++k) {
      out->push_back({"storage_transactions_total",
                      "Azure Storage transactions made, by kind.",
                      true,
                      {{"kind", azure::TxKindName(static_cast<azure::TxKind>(k))}},
                      static_cast<double>(c.n[k])});
    }
  }
  int partition_count() const override { return options_.partition_count; }

 private:
  // A ~meta row as this owner last wrote it.
  struct Meta {
    std::string etag;
    int64_t epoch = 0;
    int64_t max_seq = 0;
    int64_t applied = 0;  // AppliedLog (partitions), LastLog (the log)
  };

  // RowSource.
  absl::StatusOr<std::vector<azrows::StoredRow>> ListRows(
      const std::string& pk, const std::vector<std::string>& prefixes) override;
  absl::StatusOr<std::string> BlobOf(const std::string& pk, const std::string& rk) override;
  absl::StatusOr<std::vector<azrows::RowId>> ListAll() override;
  int SeqPartition(char kind, uint64_t seq) override;
  std::string KnownBlob(const std::string& pk, const std::string& rk) override;
  // Notes the data blobs of n:/a:/t:/m: rows (azrows::TracksBlob) read from storage.
  void NoteBlobs(const std::vector<azure::TableEntity>& rows);

  // --- open (azure_backend.cc)
  absl::Status CreateOrCheckHub();
  absl::Status TakeLease();
  void RenewLoop();
  absl::Status Fence(const std::string& pk);
  absl::Status LoadSeqMaps();

  // --- commit (azure_commit.cc)
  // Calls `fn` until it returns anything but UNAVAILABLE or max_retry_time passed.
  absl::Status Retrying(const std::function<absl::Status()>& fn);
  // Runs the entity-group transaction [Merge pk/~meta If-Match {meta_props}, ops...]
  // (retries, ambiguous outcomes and deletes of missing rows resolved; see the layout).
  absl::Status RunBatch(const std::string& pk, std::map<std::string, azure::TableValue> meta_props,
                        std::vector<azure::TableOp> ops);
  // Moves each put row's data into D properties or a data/ blob.
  absl::Status PlaceData(azrows::RowMap* rows);
  // Writes `rows` of one partition in batches; the last one sets AppliedLog = n (n > 0).
  absl::Status WritePartition(const std::string& pk, const std::vector<azrows::RowWrite>& rows,
                              uint64_t max_seq, uint64_t n);
  absl::Status CommitLog(const azrows::RowMap& rows, uint64_t max_seq);
  // Writes record `rec` to every partition that has not applied it (in parallel).
  absl::Status Materialize(const store::AzureLogRecord& rec, bool only_unapplied);
  absl::Status Replay();
  absl::Status Fenced(const std::string& pk, const azure::TableEntity& meta);
  Meta* MetaOf(const std::string& pk) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- reads (azure_reads.cc)
  absl::StatusOr<std::string> FetchBlob(const std::string& blob);
  absl::StatusOr<std::string> RowData(const azure::TableEntity& e);
  absl::StatusOr<std::vector<azure::TableEntity>> QueryRange(const std::string& pk,
                                                             const std::string& from,
                                                             const std::string& to,
                                                             const std::string& extra_filter = "");

  const AzureBackendOptions options_;
  const std::unique_ptr<azure::StorageClient> client_;
  const std::string table_, container_, lease_id_;

  absl::Mutex commit_mu_;  // serializes Commit (and Open's replay)
  absl::Mutex mu_;
  std::vector<Meta> metas_ ABSL_GUARDED_BY(mu_);  // per partition
  Meta log_meta_ ABSL_GUARDED_BY(mu_);
  // The row keys of the latest commit record (deleted by the next record's batch).
  std::vector<std::string> log_rows_ ABSL_GUARDED_BY(mu_);
  std::string log_blob_ ABSL_GUARDED_BY(mu_);                 // its spilled blob, if any
  std::map<uint64_t, int> seq_part_[3] ABSL_GUARDED_BY(mu_);  // a, t, m
  // Data blobs of stored n:/a:/t:/m: rows (written by us, or read at open/recovery).
  std::map<azrows::RowId, std::string> row_blobs_ ABSL_GUARDED_BY(mu_);
  absl::Status sticky_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread renewer_;
};

}  // namespace taskhub::storage

#endif  // TASKHUB_SERVER_STORAGE_AZURE_AZURE_BACKEND_IMPL_H_
