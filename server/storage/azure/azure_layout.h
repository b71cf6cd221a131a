// The Azure Storage layout of a task hub, format 1, and why every acknowledged
// Commit is atomic and durable. The one place that documents it (as key_schema.h
// does for RocksDB); azure_backend.cc implements it.
//
// RESOURCES of task hub H (h = lower-case H; H is 3-45 letters/digits, see
// ValidateAzureTaskHubName):
//   table     {H}Store             every row below
//   container {h}-taskhub          blobs:
//     taskhub.json                 {"partitionCount":N,"createdAt":"..","format":1}, written
//                                  with If-None-Match:* as the last step of creating the hub;
//                                  an open with another partition count fails
//     lease                        the hub lease (one owner at a time); lease id = a GUID made
//                                  from FNV-1a(owner id), so a restart of the same owner
//                                  re-acquires at once, another owner waits for the expiry
//     log/<n>-<rand>               a commit record too big for table rows (spilled)
//     data/<pk>/<rand>             the data of a row bigger than kInlineMax
//   No queues in single-replica mode: the engine dispatches from memory, so an idle hub
//   costs only the lease renewals.
//
// PARTITIONS: an instance's partition is FNV-1a-32(UTF-8 id) % N (as Durable Task's
// Azure Storage provider). PartitionKey "p00".."p15" holds every row of the instances of
// that partition; PartitionKey "log" holds the commit log.
//
// ROW KEYS (numbers: 20 decimal digits; signed times biased by 2^63 first; <eid> is
// EscapeId(id), below):
//   ~meta                 Owner (String), Epoch, MaxSeq, AppliedLog (Int64)      [pNN]
//   i:<eid>               the InstanceRecord; props Id, Status, CreatedUs, CompletedUs
//   c:<created>:<eid>     created-time index: Id, Status, CompletedUs and, when it is at
//                         most kIndexCopyMax bytes, a copy of the record (queries then
//                         need no point reads)
//   h:<eid>:<first>       one AppendHistory: a HistoryChunk of events first..first+k-1
//   n:<eid>:<seq>         an inbox event (HistoryEvent)
//   a:<seq>               an ActivityTask      (partition of task.instance_id)
//   t:<fire>:<seq>        a TimerRecord        (partition of timer.instance_id)
//   m:<seq>               an OutboxMessage     (partition of message.target)
//   o:<seq>               a Notification       (partition of notification.instance_id;
//                         small: the notifier caps its text fields, so never a blob)
//   The backend keeps seq -> partition of a:/t:/m: rows in memory (loaded at open) to
//   turn DeleteActivity/DeleteTimer/DeleteMessage into row keys.
//   ~meta                 Owner, Epoch, LastLog (Int64)                          [log]
//   <n>:<k>               chunk k of commit record n (store.AzureLogRecord bytes)  [log]
// Row data (serialized proto) is in Binary properties D0..D<k> (kChunk bytes each);
// data bigger than kInlineMax goes to blob data/<pk>/<rand> (property Blob), written
// before the batch that references it (an unreferenced blob is garbage, never state).
// After a successful commit the blobs of the rows it deleted or replaced are deleted:
// history and inbox rows found by ClearHistory/DeleteInstance, big instance records (one
// point read first), n:/a:/t:/m: rows deleted one by one (their blob names are kept in
// memory from our writes, the open's seq scan and LoadRecoveryState), everything on
// DeleteEverything. A crash between commit and blob delete leaves garbage only.
//
// EscapeId maps every byte of the id to one key character or a 3-character code
// "<lead><2 upper-case hex digits>", so that escaped ids sort exactly like the raw ids
// (byte order) and escape(prefix) is a prefix of escape(id):
//   plain: 0-9 < = @ A-Z [ ^ _ ` a-z { | } and '-'
//   "!XX" for 0x00-0x2C, ".XX" for 0x2E-0x2F, ";XX" for 0x3A-0x3B, ">XX" for 0x3E-0x3F,
//   "]XX" for 0x5C-0x5D, "~XX" for 0x7E-0xFF.
// Each lead lies inside the byte range it codes, so codes sort where the bytes do; no
// key holds / \ # ? % ' or control characters, and ':' (the separator) never occurs in
// an <eid>. An escaped id longer than kMaxEidChars (only ids with many non-ASCII
// characters: ids are <= 256 bytes) becomes its first kHashedPrefixChars characters,
// "~H" and 32 hex digits of SHA-256(id); the row's Id property holds the raw id. The keys
// of such ids sort by hash among ids sharing those first characters (a "run"); queries
// read a run whole and sort it by Id, and a token inside a run restarts at the run, so
// answers keep RocksDB's order. Prefix scans use the shortened prefix and check the Id.
//
// COMMIT (serialized): the WriteSet becomes row writes (upsert-replace or delete; the
// last write of a row wins; ClearHistory and DeleteInstance list the instance's h:/n:
// rows with one query). Then:
// 1. Fast path: all rows in ONE partition P and <= kMaxBatchOps rows and
//    <= kMaxBatchBytes: one entity-group transaction [Merge P/~meta If-Match:<etag>
//    {MaxSeq}, rows...]. Atomic (all or nothing) and durable when Azure answers: one
//    storage transaction.
// 2. Log path (several partitions, too many rows, DeleteEverything): the row writes
//    become commit record n (store.AzureLogRecord), written in PK "log" in ONE batch
//    [Merge log/~meta If-Match {LastLog:n}, chunk rows of n (or a reference to blob
//    log/<n>-<rand> written first), deletes of record n-1's rows]. That batch is the
//    commit point: before it nothing of n exists, after it n is durable. Then every
//    partition P of n is materialized (partitions in parallel): batches of <= 99 rows,
//    each with [Merge P/~meta If-Match] (fencing), the last also setting AppliedLog=n.
//    Materialization is idempotent (upserts; a delete answered 404 is dropped and the
//    batch retried), and Commit returns only after it, so reads see every acknowledged
//    write. Record n-1 (and its blob) is deleted only with record n's commit batch, when
//    n-1 is applied everywhere, so at most one record is ever present.
// 3. Open (after fencing, below) reads log/~meta and the log rows: a record n still
//    present is re-materialized on every partition with AppliedLog < n before Open
//    returns. A partition with AppliedLog >= n already holds n and every later fast-path
//    write, so replay never undoes a later commit (fast-path commits on P happen only
//    after n was applied everywhere: commits are serialized and a failed one is sticky).
// Reads during a log-path Commit may see part of it (a read is not a snapshot); they
// never see a state that a crash could lose.
//
// FENCING: Open takes the lease blob, then writes Owner and Epoch+1 into every ~meta row
// (an update with If-Match). Every batch afterwards carries that row's ETag; a 412 on
// ~meta means it changed since our last write: the row is re-read; the same Epoch means
// it was our own batch whose answer got lost (only this owner writes with this Epoch and
// it has one batch per partition in flight at a time; the batch is all or nothing and
// the ~meta merge is its first op, so the retry fails on it), so it is done; another Epoch
// means a newer owner fenced us: sticky FAILED_PRECONDITION "task hub H is owned by
// <owner> now". Transport errors, 5xx, 408 and 429 are retried with back-off for up to
// max_retry_time, then Commit fails sticky UNAVAILABLE; reads just fail UNAVAILABLE.
#ifndef TASKHUB_SERVER_STORAGE_AZURE_AZURE_LAYOUT_H_
#define TASKHUB_SERVER_STORAGE_AZURE_AZURE_LAYOUT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace taskhub::storage::azlayout {

inline constexpr int kFormat = 1;
inline constexpr size_t kMaxEidChars = 440;
inline constexpr size_t kHashedPrefixChars = 400;
inline constexpr size_t kChunk = 60 * 1024;               // bytes per Binary property
inline constexpr size_t kInlineMax = 4 * kChunk;          // row data kept in the table
inline constexpr size_t kIndexCopyMax = 16 * 1024;        // record copies in c: rows
inline constexpr size_t kMaxBatchOps = 99;                // + the ~meta merge = 100
inline constexpr size_t kMaxBatchBytes = 2600 * 1024;     // raw bytes (base64 adds 1/3)
inline constexpr size_t kLogRowBytes = 6 * kChunk;        // log record bytes per row
inline constexpr size_t kLogInlineMax = 2 * 1024 * 1024;  // bigger records go to a blob

inline constexpr char kMetaRow[] = "~meta";
inline constexpr char kLogPk[] = "log";

std::string TableName(const std::string& hub);      // {H}Store
std::string ContainerName(const std::string& hub);  // {h}-taskhub

uint32_t Fnv1a32(std::string_view s);
int PartitionOf(std::string_view instance_id, int partition_count);
std::string PartitionKey(int partition);  // "p07"
// -1 when `pk` is not a partition key.
int ParsePartitionKey(std::string_view pk);

std::string EscapeId(std::string_view id);
// The escaped id as used in keys (EscapeId, or its hashed form when too long).
std::string KeyId(std::string_view id);
// The key prefix that every KeyId(x) with x starting with `prefix` starts with.
std::string KeyIdPrefix(std::string_view prefix);

std::string Num(uint64_t v);       // 20 digits
std::string SignedNum(int64_t v);  // biased by 2^63, 20 digits
std::optional<uint64_t> ParseNum(std::string_view s);
std::optional<int64_t> ParseSignedNum(std::string_view s);

std::string InstanceRow(std::string_view id);
std::string CreatedRow(int64_t created_us, std::string_view id);
std::string HistoryPrefix(std::string_view id);
std::string HistoryRow(std::string_view id, uint64_t first_index);
std::string InboxPrefix(std::string_view id);
std::string InboxRow(std::string_view id, uint64_t seq);
std::string ActivityRow(uint64_t seq);
std::string TimerRow(int64_t fire_us, uint64_t seq);
std::string MessageRow(uint64_t seq);
std::string NotificationRow(uint64_t seq);
std::string LogRow(uint64_t n, int chunk);
// The smallest string greater than every string starting with `prefix` (a key range
// end for $filter: RowKey ge prefix and RowKey lt RangeEnd(prefix)).
std::string RangeEnd(std::string_view prefix);

// Lease id (GUID form) derived from the owner id.
std::string LeaseIdFor(std::string_view owner_id);

}  // namespace taskhub::storage::azlayout

#endif  // TASKHUB_SERVER_STORAGE_AZURE_AZURE_LAYOUT_H_
