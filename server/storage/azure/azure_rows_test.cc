// WriteSet -> Azure row writes, without storage: the last write of a row wins, prefix
// deletes cover stored rows and this WriteSet's own rows, seq-keyed rows find their
// partition, DeleteEverything, and row data / log rows round-trip.
#include "server/storage/azure/azure_rows.h"

#include "gtest/gtest.h"
#include "server/core/history.h"
#include "server/storage/azure/azure_layout.h"

namespace taskhub::storage::azrows {
namespace {
namespace al = azlayout;

class FakeSource : public RowSource {
 public:
  std::map<RowId, bool> stored;  // rows "in storage"
  std::map<RowId, std::string> blobs;
  std::map<std::pair<char, uint64_t>, int> seqs;
  absl::StatusOr<std::vector<StoredRow>> ListRows(
      const std::string& pk, const std::vector<std::string>& prefixes) override {
    std::vector<StoredRow> out;
    for (const auto& [id, unused] : stored) {
      for (const auto& p : prefixes) {
        if (id.first == pk && id.second.rfind(p, 0) == 0) out.push_back({id.second, blobs[id]});
      }
    }
    return out;
  }
  absl::StatusOr<std::string> BlobOf(const std::string& pk, const std::string& rk) override {
    return blobs[{pk, rk}];
  }
  absl::StatusOr<std::vector<RowId>> ListAll() override {
    std::vector<RowId> out;
    for (const auto& [id, unused] : stored) out.push_back(id);
    return out;
  }
  std::string KnownBlob(const std::string& pk, const std::string& rk) override {
    return blobs[{pk, rk}];
  }
  int SeqPartition(char kind, uint64_t seq) override {
    auto it = seqs.find({kind, seq});
    return it == seqs.end() ? -1 : it->second;
  }
};

HistoryEvent Ev(const std::string& name) {
  HistoryEvent e = core::NewEvent(absl::FromUnixSeconds(1));
  e.mutable_eventraised()->set_name(name);
  return e;
}

std::string Pk(const std::string& id) { return al::PartitionKey(al::PartitionOf(id, 4)); }

TEST(AzureRows, ClearHistoryThenAppendKeepsOnlyTheNewRows) {
  FakeSource src;
  src.stored[{Pk("a"), al::HistoryRow("a", 0)}] = true;
  src.stored[{Pk("a"), al::HistoryRow("a", 1)}] = true;
  src.stored[{Pk("a0"), al::HistoryRow("a0", 0)}] = true;  // shares the prefix "a"
  WriteSet ws;
  ws.ops.push_back(AppendHistory{"a", 2, {Ev("x")}});
  ws.ops.push_back(ClearHistory{"a"});
  ws.ops.push_back(AppendHistory{"a", 0, {Ev("new")}});
  auto t = Translate(ws, 4, &src);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->rows.size(), 2u);
  EXPECT_FALSE(t->rows.at({Pk("a"), al::HistoryRow("a", 0)}).del);
  EXPECT_TRUE(t->rows.at({Pk("a"), al::HistoryRow("a", 1)}).del);
  // Row 2 was only written by this WriteSet: forgotten, not deleted (no 404).
  EXPECT_EQ(t->rows.count({Pk("a"), al::HistoryRow("a", 2)}), 0u);
}

TEST(AzureRows, DeleteInstanceRemovesRecordIndexHistoryAndInbox) {
  FakeSource src;
  const std::string pk = Pk("gone");
  src.stored[{pk, al::HistoryRow("gone", 0)}] = true;
  src.stored[{pk, al::InboxRow("gone", 5)}] = true;
  src.stored[{pk, al::InboxRow("gone2", 6)}] = true;
  store::InstanceRecord r;
  r.set_instance_id("gone");
  WriteSet ws;
  ws.ops.push_back(PutInbox{"gone", 7, Ev("late")});
  ws.ops.push_back(DeleteInstance{"gone", IndexedFields::Of(r)});
  auto t = Translate(ws, 4, &src);
  ASSERT_TRUE(t.ok());
  std::set<std::string> deleted;
  for (const auto& [id, w] : t->rows) {
    EXPECT_TRUE(w.del) << id.second;
    deleted.insert(id.second);
  }
  EXPECT_EQ(deleted, (std::set<std::string>{al::InstanceRow("gone"), al::CreatedRow(0, "gone"),
                                            al::HistoryRow("gone", 0), al::InboxRow("gone", 5)}));
}

TEST(AzureRows, SeqRowsFindTheirPartition) {
  FakeSource src;
  src.seqs[{'a', 11}] = 2;
  store::ActivityTask task;
  task.set_instance_id("abc");  // partition 3 of 4
  WriteSet ws;
  ws.ops.push_back(DeleteActivity{11});     // stored in p02
  ws.ops.push_back(PutActivity{12, task});  // new in p03
  ws.ops.push_back(PutActivity{13, task});
  ws.ops.push_back(DeleteActivity{13});  // put and deleted here: nothing to write
  ws.ops.push_back(DeleteActivity{99});  // unknown: nothing to write
  auto t = Translate(ws, 4, &src);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->rows.size(), 2u);
  EXPECT_TRUE(t->rows.at({"p02", al::ActivityRow(11)}).del);
  EXPECT_FALSE(t->rows.at({"p03", al::ActivityRow(12)}).del);
  ASSERT_EQ(t->seq_changes.size(), 5u);
  EXPECT_EQ(t->seq_changes[1].partition, 3);
  EXPECT_EQ(t->seq_changes[3].partition, -1);
}

TEST(AzureRows, DeleteEverythingDeletesStoredRowsAndKeepsLaterWrites) {
  FakeSource src;
  src.stored[{"p00", al::InstanceRow("x")}] = true;
  src.stored[{"p01", al::MessageRow(4)}] = true;
  src.seqs[{'m', 4}] = 1;
  store::InstanceRecord r;
  r.set_instance_id("abc");
  WriteSet ws;
  ws.ops.push_back(PutInbox{"y", 1, Ev("dropped")});
  ws.ops.push_back(DeleteEverything{});
  ws.ops.push_back(DeleteMessage{4});  // already deleted above
  ws.ops.push_back(PutInstance{r, std::nullopt});
  auto t = Translate(ws, 4, &src);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->delete_everything);
  EXPECT_TRUE(t->rows.at({"p00", al::InstanceRow("x")}).del);
  EXPECT_TRUE(t->rows.at({"p01", al::MessageRow(4)}).del);
  EXPECT_FALSE(t->rows.at({"p03", al::InstanceRow("abc")}).del);
  EXPECT_EQ(t->rows.count({Pk("y"), al::InboxRow("y", 1)}), 0u);
  EXPECT_EQ(t->rows.size(), 4u);  // + the created index of abc
}

TEST(AzureRows, DataAndLogRowsRoundTrip) {
  for (size_t size : {size_t{0}, size_t{1}, al::kChunk, al::kChunk + 1, 3 * al::kChunk + 7}) {
    std::string data(size, 'q');
    for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>(i * 7);
    RowWrite w;
    w.entity.partition_key = "p01";
    w.entity.row_key = "i:x";
    w.entity.props["Id"] = azure::TableValue::String("x");
    SetData(&w.entity, data);
    RowWrite back = FromLogRow(ToLogRow(w));
    EXPECT_EQ(back.entity.row_key, "i:x");
    EXPECT_EQ(StringProp(back.entity, "Id"), "x");
    auto got = GetData(back.entity, [](const std::string&) -> absl::StatusOr<std::string> {
      return absl::InternalError("no blob expected");
    });
    ASSERT_TRUE(got.ok()) << size;
    EXPECT_EQ(*got, data) << size;
  }
  azure::TableEntity blob_row;
  blob_row.props["Blob"] = azure::TableValue::String("data/p01/abc");
  auto got = GetData(
      blob_row, [](const std::string& b) -> absl::StatusOr<std::string> { return "from " + b; });
  EXPECT_EQ(*got, "from data/p01/abc");
  EXPECT_EQ(GetData(azure::TableEntity{}, nullptr).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace taskhub::storage::azrows
