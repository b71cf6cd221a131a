// TableClient: tables, point reads, single operations and queries (batches are in
// table_batch.cc).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "nlohmann/json.hpp"
#include "server/storage/azure/client/client_core.h"
#include "server/storage/azure/client/table_json.h"

namespace taskhub::azure {
namespace {

Call TableCall(TxKind kind, std::string op, std::string resource, std::string method,
               std::string path) {
  Call c;
  c.service = Service::kTable;
  c.kind = kind;
  c.op = std::move(op);
  c.resource = std::move(resource);
  c.method = std::move(method);
  c.path = std::move(path);
  c.headers = {{"Accept", "application/json;odata=minimalmetadata"},
               {"DataServiceVersion", "3.0;NetFx"},
               {"MaxDataServiceVersion", "3.0;NetFx"}};
  return c;
}

std::string RowName(const std::string& table, const std::string& pk, const std::string& rk) {
  return absl::StrCat("table ", table, " pk='", pk, "' rk='", rk, "'");
}

const char* OpName(TableOpKind kind) {
  switch (kind) {
    case TableOpKind::kInsert:
      return "Table Insert";
    case TableOpKind::kUpsertReplace:
      return "Table InsertOrReplace";
    case TableOpKind::kUpsertMerge:
      return "Table InsertOrMerge";
    case TableOpKind::kUpdate:
      return "Table Update";
    case TableOpKind::kMerge:
      return "Table Merge";
    case TableOpKind::kDelete:
      return "Table Delete";
  }
  return "Table ?";
}

}  // namespace

TableValue TableValue::String(std::string v) {
  TableValue t;
  t.type = Type::kString;
  t.s = std::move(v);
  return t;
}
TableValue TableValue::Int64(int64_t v) {
  TableValue t;
  t.type = Type::kInt64;
  t.i = v;
  return t;
}
TableValue TableValue::Binary(std::string bytes) {
  TableValue t;
  t.type = Type::kBinary;
  t.s = std::move(bytes);
  return t;
}
TableValue TableValue::Bool(bool v) {
  TableValue t;
  t.type = Type::kBool;
  t.i = v ? 1 : 0;
  return t;
}

std::string ODataQuote(const std::string& s) {
  return absl::StrCat("'", absl::StrReplaceAll(s, {{"'", "''"}}), "'");
}

absl::Status TableClient::CreateTableIfNotExists(const std::string& table) {
  Call c = TableCall(TxKind::kTableWrite, "Create table", "table " + table, "POST", "/Tables");
  c.headers.emplace_back("Content-Type", "application/json");
  c.headers.emplace_back("Prefer", "return-no-content");
  c.body = nlohmann::json{{"TableName", table}}.dump();
  return IgnoreAlreadyExists(core_->Do(c).status());
}

absl::Status TableClient::DeleteTable(const std::string& table) {
  return core_
      ->Do(TableCall(TxKind::kTableWrite, "Delete table", "table " + table, "DELETE",
                     absl::StrCat("/Tables('", table, "')")))
      .status();
}

absl::StatusOr<TableEntity> TableClient::Get(const std::string& table, const std::string& pk,
                                             const std::string& rk) {
  absl::StatusOr<HttpResponse> r = core_->Do(TableCall(
      TxKind::kTableRead, "Table Get", RowName(table, pk, rk), "GET", EntityPath(table, pk, rk)));
  if (!r.ok()) return r.status();
  absl::StatusOr<TableEntity> e = EntityFromJson(r->body);
  if (!e.ok()) return e.status();
  if (std::string etag = HeaderOf(*r, "etag"); !etag.empty()) e->etag = etag;
  return e;
}

absl::StatusOr<std::string> TableClient::Execute(const std::string& table, const TableOp& op) {
  const TableEntity& e = op.entity;
  std::string path =
      op.kind == TableOpKind::kInsert ? "/" + table : EntityPath(table, e.partition_key, e.row_key);
  Call c = TableCall(TxKind::kTableWrite, OpName(op.kind),
                     RowName(table, e.partition_key, e.row_key), TableOpMethod(op.kind), path);
  if (op.kind != TableOpKind::kDelete) {
    absl::StatusOr<std::string> body = EntityToJson(e);
    if (!body.ok()) return body.status();
    c.body = std::move(*body);
    c.headers.emplace_back("Content-Type", "application/json");
  }
  if (op.kind == TableOpKind::kInsert) c.headers.emplace_back("Prefer", "return-no-content");
  if (TableOpHasIfMatch(op.kind)) {
    c.headers.emplace_back("If-Match", op.if_match.empty() ? "*" : op.if_match);
  }
  absl::StatusOr<HttpResponse> r = core_->Do(c);
  if (!r.ok()) return r.status();
  return op.kind == TableOpKind::kDelete ? "" : HeaderOf(*r, "etag");
}

absl::StatusOr<QueryPage> TableClient::Query(const std::string& table, const QueryOptions& q,
                                             const std::string& next_pk,
                                             const std::string& next_rk) {
  Call c = TableCall(TxKind::kTableRead, "Table Query",
                     absl::StrCat("table ", table, " filter ", q.filter), "GET",
                     absl::StrCat("/", table, "()"));
  if (!q.filter.empty()) c.query.emplace_back("$filter", q.filter);
  if (!q.select.empty()) c.query.emplace_back("$select", absl::StrJoin(q.select, ","));
  c.query.emplace_back("$top", std::to_string(q.top > 0 && q.top <= 1000 ? q.top : 1000));
  if (!next_pk.empty()) c.query.emplace_back("NextPartitionKey", next_pk);
  if (!next_rk.empty()) c.query.emplace_back("NextRowKey", next_rk);
  absl::StatusOr<HttpResponse> r = core_->Do(c);
  if (!r.ok()) return r.status();
  absl::StatusOr<std::vector<TableEntity>> entities = EntitiesFromJson(r->body);
  if (!entities.ok()) return entities.status();
  QueryPage page;
  page.entities = std::move(*entities);
  page.next_partition_key = HeaderOf(*r, "x-ms-continuation-nextpartitionkey");
  page.next_row_key = HeaderOf(*r, "x-ms-continuation-nextrowkey");
  return page;
}

absl::StatusOr<std::vector<TableEntity>> TableClient::QueryAll(const std::string& table,
                                                               const QueryOptions& q) {
  std::vector<TableEntity> out;
  std::string pk, rk;
  do {
    absl::StatusOr<QueryPage> page = Query(table, q, pk, rk);
    if (!page.ok()) return page.status();
    for (TableEntity& e : page->entities) out.push_back(std::move(e));
    pk = page->next_partition_key;
    rk = page->next_row_key;
  } while (!pk.empty() || !rk.empty());
  return out;
}

}  // namespace taskhub::azure
