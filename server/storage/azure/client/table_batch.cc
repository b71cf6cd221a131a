// Entity-group transactions: the multipart $batch body, its response parser and
// TableClient::Batch.
#include <random>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "server/storage/azure/client/client_core.h"
#include "server/storage/azure/client/table_json.h"

namespace taskhub::azure {
namespace {

constexpr size_t kMaxBatchOps = 100;
constexpr size_t kMaxBatchBytes = 4 * 1024 * 1024;

std::string RandomHex() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return absl::StrFormat("%016x%016x", gen(), gen());
}

// The boundary parameter of a multipart Content-Type, or "".
std::string BoundaryOf(const std::string& content_type) {
  for (absl::string_view p : absl::StrSplit(content_type, ';')) {
    p = absl::StripAsciiWhitespace(p);
    if (absl::StartsWithIgnoreCase(p, "boundary=")) {
      std::string b(p.substr(9));
      if (b.size() >= 2 && b.front() == '"' && b.back() == '"') b = b.substr(1, b.size() - 2);
      return b;
    }
  }
  return "";
}

// Splits "headers<blank line>rest" at the first empty line (CRLF or LF).
void SplitHead(const std::string& s, std::string* head, std::string* rest) {
  size_t crlf = s.find("\r\n\r\n"), lf = s.find("\n\n");
  if (crlf != std::string::npos && (lf == std::string::npos || crlf <= lf)) {
    *head = s.substr(0, crlf);
    *rest = s.substr(crlf + 4);
  } else if (lf != std::string::npos) {
    *head = s.substr(0, lf);
    *rest = s.substr(lf + 2);
  } else {
    *head = s;
    rest->clear();
  }
}

std::map<std::string, std::string> ParseHeaders(const std::string& head, std::string* first_line) {
  std::map<std::string, std::string> out;
  bool first = true;
  for (absl::string_view line : absl::StrSplit(head, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (first && first_line != nullptr) {
      *first_line = std::string(line);
      first = false;
      continue;
    }
    first = false;
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    out[absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon)))] =
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return out;
}

// The parts between "--boundary" delimiters (preamble and epilogue dropped).
std::vector<std::string> SplitParts(const std::string& body, const std::string& boundary) {
  std::vector<std::string> parts;
  const std::string delim = "--" + boundary;
  size_t pos = body.find(delim);
  while (pos != std::string::npos) {
    size_t start = pos + delim.size();
    if (body.compare(start, 2, "--") == 0) break;  // closing delimiter
    size_t next = body.find(delim, start);
    std::string part =
        body.substr(start, next == std::string::npos ? std::string::npos : next - start);
    while (!part.empty() && (part.front() == '\r' || part.front() == '\n')) part.erase(0, 1);
    if (absl::EndsWith(part, "\r\n"))
      part.resize(part.size() - 2);
    else if (absl::EndsWith(part, "\n"))
      part.resize(part.size() - 1);
    parts.push_back(std::move(part));
    pos = next;
  }
  return parts;
}

absl::Status ParseParts(const std::string& content_type, const std::string& body, int depth,
                        std::vector<BatchPart>* out) {
  std::string boundary = BoundaryOf(content_type);
  if (boundary.empty() || depth > 2) {
    return absl::InternalError("table batch: response without a multipart boundary");
  }
  for (const std::string& part : SplitParts(body, boundary)) {
    std::string head, rest;
    SplitHead(part, &head, &rest);
    auto headers = ParseHeaders(head, nullptr);
    std::string type = headers["content-type"];
    if (absl::StartsWithIgnoreCase(type, "multipart/mixed")) {
      if (absl::Status s = ParseParts(type, rest, depth + 1, out); !s.ok()) return s;
      continue;
    }
    // application/http: "HTTP/1.1 204 No Content", headers, blank line, body.
    std::string http_head, http_body, status_line;
    SplitHead(rest, &http_head, &http_body);
    BatchPart p;
    p.headers = ParseHeaders(http_head, &status_line);
    std::vector<std::string> words = absl::StrSplit(status_line, ' ');
    if (words.size() < 2 || !absl::StartsWith(words[0], "HTTP/") ||
        !absl::SimpleAtoi(words[1], &p.status)) {
      return absl::InternalError("table batch: malformed response part");
    }
    p.body = std::move(http_body);
    out->push_back(std::move(p));
  }
  return absl::OkStatus();
}

// The 0-based index at the start of a batch error message ("1:The specified..."), or -1.
int IndexFromError(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("odata.error")) return -1;
  const auto& e = j["odata.error"];
  if (!e.is_object() || !e.contains("message") || !e["message"].is_object()) return -1;
  const auto& v = e["message"]["value"];
  if (!v.is_string()) return -1;
  std::string s = v.get<std::string>();
  int index = -1;
  size_t colon = s.find(':');
  if (colon == std::string::npos || !absl::SimpleAtoi(s.substr(0, colon), &index)) return -1;
  return index;
}

}  // namespace

absl::StatusOr<std::string> BuildBatchBody(const std::string& table_url, const std::string& table,
                                           const std::vector<TableOp>& ops,
                                           const std::string& batch_boundary,
                                           const std::string& changeset_boundary) {
  std::string b =
      absl::StrCat("--", batch_boundary,
                   "\r\nContent-Type: multipart/mixed; boundary=", changeset_boundary, "\r\n\r\n");
  for (size_t i = 0; i < ops.size(); ++i) {
    const TableOp& op = ops[i];
    const TableEntity& e = op.entity;
    std::string url = op.kind == TableOpKind::kInsert
                          ? absl::StrCat(table_url, "/", table)
                          : table_url + EntityPath(table, e.partition_key, e.row_key);
    absl::StrAppend(
        &b, "--", changeset_boundary,
        "\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n",
        TableOpMethod(op.kind), " ", url, " HTTP/1.1\r\nContent-ID: ", i + 1,
        "\r\nAccept: application/json;odata=minimalmetadata\r\n"
        "DataServiceVersion: 3.0;\r\n");
    if (TableOpHasIfMatch(op.kind)) {
      absl::StrAppend(&b, "If-Match: ", op.if_match.empty() ? "*" : op.if_match, "\r\n");
    }
    if (op.kind == TableOpKind::kDelete) {
      b += "\r\n";
      continue;
    }
    absl::StatusOr<std::string> json = EntityToJson(e);
    if (!json.ok()) return json.status();
    if (op.kind == TableOpKind::kInsert) b += "Prefer: return-no-content\r\n";
    absl::StrAppend(&b, "Content-Type: application/json\r\n\r\n", *json, "\r\n");
  }
  absl::StrAppend(&b, "--", changeset_boundary, "--\r\n--", batch_boundary, "--\r\n");
  return b;
}

absl::StatusOr<std::vector<BatchPart>> ParseBatchResponse(const std::string& content_type,
                                                          const std::string& body) {
  std::vector<BatchPart> parts;
  if (absl::Status s = ParseParts(content_type, body, 0, &parts); !s.ok()) return s;
  return parts;
}

absl::StatusOr<std::vector<std::string>> TableClient::Batch(const std::string& table,
                                                            const std::vector<TableOp>& ops) {
  if (ops.empty()) return std::vector<std::string>{};
  const std::string& pk = ops[0].entity.partition_key;
  std::string resource = absl::StrCat("table ", table, " pk='", pk, "' (", ops.size(), " ops)");
  if (ops.size() > kMaxBatchOps) {
    return absl::InvalidArgumentError(
        absl::StrCat("Table Batch ", resource, ": more than ", kMaxBatchOps, " operations"));
  }
  std::set<std::string> rows;
  for (const TableOp& op : ops) {
    if (op.entity.partition_key != pk) {
      return absl::InvalidArgumentError(absl::StrCat("Table Batch ", resource,
                                                     ": operations on different PartitionKeys ('",
                                                     op.entity.partition_key, "')"));
    }
    if (!rows.insert(op.entity.row_key).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("Table Batch ", resource, ": row '", op.entity.row_key, "' appears twice"));
    }
  }
  const std::string batch = "batch_" + RandomHex(), changeset = "changeset_" + RandomHex();
  absl::StatusOr<std::string> body =
      BuildBatchBody(core_->Url(Service::kTable, ""), table, ops, batch, changeset);
  if (!body.ok()) return body.status();
  if (body->size() > kMaxBatchBytes) {
    return absl::InvalidArgumentError(absl::StrCat("Table Batch ", resource, ": ", body->size(),
                                                   " bytes exceed the 4 MiB limit"));
  }
  Call c;
  c.service = Service::kTable;
  c.kind = TxKind::kTableBatch;
  c.op = "Table Batch";
  c.resource = resource;
  c.method = "POST";
  c.path = "/$batch";
  c.headers = {{"Content-Type", "multipart/mixed; boundary=" + batch},
               {"Accept", "application/json;odata=minimalmetadata"},
               {"DataServiceVersion", "3.0;"},
               {"MaxDataServiceVersion", "3.0;NetFx"}};
  c.body = std::move(*body);
  absl::StatusOr<HttpResponse> r = core_->Do(c);
  if (!r.ok()) return r.status();
  absl::StatusOr<std::vector<BatchPart>> parts =
      ParseBatchResponse(r->headers["content-type"], r->body);
  if (!parts.ok()) return parts.status();
  for (const BatchPart& p : *parts) {
    if (p.status >= 200 && p.status < 300) continue;
    int index = IndexFromError(p.body);
    std::string where = resource;
    if (index >= 0 && index < static_cast<int>(ops.size())) {
      absl::StrAppend(&where, " op ", index, " rk='", ops[index].entity.row_key, "'");
    }
    HttpResponse inner{p.status, p.headers, p.body};
    return WithBatchIndex(StatusFromResponse("Table Batch", where, inner), index);
  }
  if (parts->size() != ops.size()) {
    return absl::InternalError(absl::StrCat("Table Batch ", resource, ": ", parts->size(),
                                            " response parts for ", ops.size(), " operations"));
  }
  std::vector<std::string> etags;
  for (size_t i = 0; i < ops.size(); ++i) {
    auto it = (*parts)[i].headers.find("etag");
    etags.push_back(
        ops[i].kind == TableOpKind::kDelete || it == (*parts)[i].headers.end() ? "" : it->second);
  }
  return etags;
}

}  // namespace taskhub::azure
