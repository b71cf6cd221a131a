// BlobClient: containers, block blobs (one-request upload), listing and leases.
#include "absl/strings/str_cat.h"
#include "server/storage/azure/client/client_core.h"
#include "server/storage/azure/client/xml.h"

namespace taskhub::azure {
namespace {

Call BlobCall(TxKind kind, std::string op, const std::string& container, const std::string& blob,
              std::string method) {
  Call c;
  c.service = Service::kBlob;
  c.kind = kind;
  c.op = std::move(op);
  c.resource =
      blob.empty() ? "container " + container : absl::StrCat("blob ", container, "/", blob);
  c.method = std::move(method);
  c.path = "/" + container;
  if (!blob.empty()) absl::StrAppend(&c.path, "/", PercentEncode(blob, /*keep_slash=*/true));
  return c;
}

void AddConditions(const BlobConditions& cond, Call* c) {
  if (!cond.if_match.empty()) c->headers.emplace_back("If-Match", cond.if_match);
  if (!cond.if_none_match.empty()) c->headers.emplace_back("If-None-Match", cond.if_none_match);
  if (!cond.lease_id.empty()) c->headers.emplace_back("x-ms-lease-id", cond.lease_id);
}

Call LeaseCall(const std::string& op, const std::string& container, const std::string& blob,
               const std::string& action) {
  Call c = BlobCall(TxKind::kBlobLease, op, container, blob, "PUT");
  c.query = {{"comp", "lease"}};
  c.headers.emplace_back("x-ms-lease-action", action);
  return c;
}

}  // namespace

absl::Status BlobClient::CreateContainerIfNotExists(const std::string& container) {
  Call c = BlobCall(TxKind::kBlobWrite, "Create container", container, "", "PUT");
  c.query = {{"restype", "container"}};
  return IgnoreAlreadyExists(core_->Do(c).status());
}

absl::Status BlobClient::DeleteContainer(const std::string& container) {
  Call c = BlobCall(TxKind::kBlobWrite, "Delete container", container, "", "DELETE");
  c.query = {{"restype", "container"}};
  return core_->Do(c).status();
}

absl::StatusOr<std::string> BlobClient::Put(const std::string& container, const std::string& blob,
                                            const std::string& body, const BlobConditions& cond) {
  Call c = BlobCall(TxKind::kBlobWrite, "Put blob", container, blob, "PUT");
  c.headers.emplace_back("Content-Type", "application/octet-stream");
  c.headers.emplace_back("x-ms-blob-type", "BlockBlob");
  AddConditions(cond, &c);
  c.body = body;
  absl::StatusOr<HttpResponse> r = core_->Do(c);
  if (!r.ok()) return r.status();
  return HeaderOf(*r, "etag");
}

absl::StatusOr<BlobData> BlobClient::Get(const std::string& container, const std::string& blob) {
  absl::StatusOr<HttpResponse> r =
      core_->Do(BlobCall(TxKind::kBlobRead, "Get blob", container, blob, "GET"));
  if (!r.ok()) return r.status();
  return BlobData{std::move(r->body), HeaderOf(*r, "etag")};
}

absl::Status BlobClient::Delete(const std::string& container, const std::string& blob,
                                const BlobConditions& cond) {
  Call c = BlobCall(TxKind::kBlobWrite, "Delete blob", container, blob, "DELETE");
  AddConditions(cond, &c);
  return core_->Do(c).status();
}

absl::StatusOr<std::vector<std::string>> BlobClient::List(const std::string& container,
                                                          const std::string& prefix) {
  std::vector<std::string> names;
  std::string marker;
  do {
    Call c = BlobCall(TxKind::kBlobRead, "List blobs", container, "", "GET");
    c.query = {{"restype", "container"}, {"comp", "list"}};
    if (!prefix.empty()) c.query.emplace_back("prefix", prefix);
    if (!marker.empty()) c.query.emplace_back("marker", marker);
    absl::StatusOr<HttpResponse> r = core_->Do(c);
    if (!r.ok()) return r.status();
    const std::string& x = r->body;
    for (size_t pos = x.find("<Blob>"); pos != std::string::npos; pos = x.find("<Blob>", pos + 1)) {
      size_t b = x.find("<Name>", pos), e = x.find("</Name>", pos);
      if (b == std::string::npos || e == std::string::npos || e < b) {
        return absl::InternalError("List blobs " + container + ": malformed XML answer");
      }
      names.push_back(XmlUnescape(x.substr(b + 6, e - b - 6)));
    }
    marker.clear();
    size_t b = x.find("<NextMarker>"), e = x.find("</NextMarker>");
    if (b != std::string::npos && e != std::string::npos && e > b) {
      marker = XmlUnescape(x.substr(b + 12, e - b - 12));
    }
  } while (!marker.empty());
  return names;
}

absl::StatusOr<std::string> BlobClient::AcquireLease(const std::string& container,
                                                     const std::string& blob,
                                                     absl::Duration duration,
                                                     const std::string& proposed_id) {
  Call c = LeaseCall("Acquire lease", container, blob, "acquire");
  int64_t seconds = duration < absl::ZeroDuration() ? -1 : absl::ToInt64Seconds(duration);
  c.headers.emplace_back("x-ms-lease-duration", std::to_string(seconds));
  if (!proposed_id.empty()) c.headers.emplace_back("x-ms-proposed-lease-id", proposed_id);
  absl::StatusOr<HttpResponse> r = core_->Do(c);
  if (!r.ok()) return r.status();
  return HeaderOf(*r, "x-ms-lease-id");
}

absl::Status BlobClient::RenewLease(const std::string& container, const std::string& blob,
                                    const std::string& lease_id) {
  Call c = LeaseCall("Renew lease", container, blob, "renew");
  c.headers.emplace_back("x-ms-lease-id", lease_id);
  return core_->Do(c).status();
}

absl::Status BlobClient::ReleaseLease(const std::string& container, const std::string& blob,
                                      const std::string& lease_id) {
  Call c = LeaseCall("Release lease", container, blob, "release");
  c.headers.emplace_back("x-ms-lease-id", lease_id);
  return core_->Do(c).status();
}

absl::Status BlobClient::BreakLease(const std::string& container, const std::string& blob,
                                    absl::Duration break_period) {
  Call c = LeaseCall("Break lease", container, blob, "break");
  c.headers.emplace_back("x-ms-lease-break-period",
                         std::to_string(absl::ToInt64Seconds(break_period)));
  return core_->Do(c).status();
}

}  // namespace taskhub::azure
