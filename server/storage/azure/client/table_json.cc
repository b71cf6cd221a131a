// Table entity JSON (minimalmetadata) and entity paths.
#include "server/storage/azure/client/table_json.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "nlohmann/json.hpp"
#include "server/storage/azure/client/shared_key.h"

namespace taskhub::azure {
namespace {

using nlohmann::json;

constexpr char kType[] = "@odata.type";

absl::StatusOr<TableEntity> EntityFromObject(const json& o) {
  if (!o.is_object()) return absl::InternalError("table entity is not a JSON object");
  TableEntity e;
  for (auto it = o.begin(); it != o.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (k == "PartitionKey" && v.is_string()) {
      e.partition_key = v.get<std::string>();
      continue;
    }
    if (k == "RowKey" && v.is_string()) {
      e.row_key = v.get<std::string>();
      continue;
    }
    if (k == "odata.etag" && v.is_string()) {
      e.etag = v.get<std::string>();
      continue;
    }
    if (k == "Timestamp" || absl::StartsWith(k, "odata.") || absl::StrContains(k, kType)) continue;
    std::string type;
    if (auto t = o.find(k + kType); t != o.end() && t->is_string()) type = t->get<std::string>();
    TableValue tv;
    if (type == "Edm.Int64") {
      tv.type = TableValue::Type::kInt64;
      if (!v.is_string() || !absl::SimpleAtoi(v.get<std::string>(), &tv.i)) {
        return absl::InternalError(absl::StrCat("table entity: bad Edm.Int64 in ", k));
      }
    } else if (type == "Edm.Binary") {
      tv.type = TableValue::Type::kBinary;
      std::optional<std::string> bytes;
      if (v.is_string()) bytes = Base64Decode(v.get<std::string>());
      if (!bytes) return absl::InternalError(absl::StrCat("table entity: bad Edm.Binary in ", k));
      tv.s = std::move(*bytes);
    } else if (type == "Edm.Double" || v.is_number_float()) {
      tv.type = TableValue::Type::kDouble;
      if (v.is_number()) {
        tv.d = v.get<double>();
      } else if (v.is_string()) {
        const std::string& s = v.get_ref<const std::string&>();
        tv.d = s == "NaN" ? NAN : s == "-Infinity" ? -INFINITY : INFINITY;
      }
    } else if (v.is_string()) {
      tv.type = TableValue::Type::kString;  // also Edm.DateTime and Edm.Guid
      tv.s = v.get<std::string>();
    } else if (v.is_boolean()) {
      tv.type = TableValue::Type::kBool;
      tv.i = v.get<bool>() ? 1 : 0;
    } else if (v.is_number_integer()) {
      tv.type = TableValue::Type::kInt32;
      tv.i = v.get<int64_t>();
    } else {
      continue;  // null: absent
    }
    e.props[k] = std::move(tv);
  }
  return e;
}

}  // namespace

absl::StatusOr<std::string> EntityToJson(const TableEntity& e) {
  json o = json::object();
  o["PartitionKey"] = e.partition_key;
  o["RowKey"] = e.row_key;
  for (const auto& [k, v] : e.props) {
    switch (v.type) {
      case TableValue::Type::kString:
        o[k] = v.s;
        break;
      case TableValue::Type::kInt64:
        o[k] = std::to_string(v.i);
        o[k + kType] = "Edm.Int64";
        break;
      case TableValue::Type::kInt32:
        o[k] = static_cast<int32_t>(v.i);
        break;
      case TableValue::Type::kBool:
        o[k] = v.i != 0;
        break;
      case TableValue::Type::kDouble:
        if (std::isnan(v.d)) {
          o[k] = "NaN";
        } else if (std::isinf(v.d)) {
          o[k] = v.d > 0 ? "Infinity" : "-Infinity";
        } else {
          o[k] = v.d;
        }
        o[k + kType] = "Edm.Double";
        break;
      case TableValue::Type::kBinary:
        o[k] = Base64Encode(v.s);
        o[k + kType] = "Edm.Binary";
        break;
    }
  }
  try {
    return o.dump();
  } catch (const json::exception&) {
    return absl::InvalidArgumentError(absl::StrCat("table entity ", e.partition_key, "/", e.row_key,
                                                   ": a string is not valid UTF-8"));
  }
}

absl::StatusOr<TableEntity> EntityFromJson(const std::string& text) {
  json o = json::parse(text, nullptr, false);
  if (o.is_discarded()) return absl::InternalError("table entity: malformed JSON");
  return EntityFromObject(o);
}

absl::StatusOr<std::vector<TableEntity>> EntitiesFromJson(const std::string& text) {
  json o = json::parse(text, nullptr, false);
  if (o.is_discarded() || !o.is_object() || !o.contains("value") || !o["value"].is_array()) {
    return absl::InternalError("table query: malformed JSON answer");
  }
  std::vector<TableEntity> out;
  for (const json& item : o["value"]) {
    absl::StatusOr<TableEntity> e = EntityFromObject(item);
    if (!e.ok()) return e.status();
    out.push_back(std::move(*e));
  }
  return out;
}

std::string EntityPath(const std::string& table, const std::string& pk, const std::string& rk) {
  auto key = [](const std::string& k) {
    return PercentEncode(absl::StrReplaceAll(k, {{"'", "''"}}));
  };
  return absl::StrCat("/", table, "(PartitionKey='", key(pk), "',RowKey='", key(rk), "')");
}

const char* TableOpMethod(TableOpKind kind) {
  switch (kind) {
    case TableOpKind::kInsert:
      return "POST";
    case TableOpKind::kUpsertReplace:
    case TableOpKind::kUpdate:
      return "PUT";
    case TableOpKind::kUpsertMerge:
    case TableOpKind::kMerge:
      return "MERGE";
    case TableOpKind::kDelete:
      return "DELETE";
  }
  return "";
}

bool TableOpHasIfMatch(TableOpKind kind) {
  return kind == TableOpKind::kUpdate || kind == TableOpKind::kMerge ||
         kind == TableOpKind::kDelete;
}

}  // namespace taskhub::azure
