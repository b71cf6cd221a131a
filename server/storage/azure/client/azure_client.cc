// ClientCore (signing, retries, counting), the one error mapping, TxCounts and
// StorageClient.
#include "server/storage/azure/client/azure_client.h"

#include <algorithm>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "server/common/logging.h"
#include "server/storage/azure/client/client_core.h"
#include "server/storage/azure/client/xml.h"

namespace taskhub::azure {
namespace {

constexpr char kVersion[] = "2021-12-02";
constexpr char kCodePayload[] = "taskhub.azure/error-code";
constexpr char kIndexPayload[] = "taskhub.azure/batch-index";

std::string FirstLine(const std::string& s) {
  std::string line = s.substr(0, s.find('\n'));
  return std::string(absl::StripAsciiWhitespace(line));
}

// The path part of an endpoint ("http://h:1/acct" -> "/acct"; "https://h" -> "").
std::string EndpointPath(const std::string& endpoint) {
  size_t scheme = endpoint.find("://");
  size_t slash = endpoint.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? "" : endpoint.substr(slash);
}

double Jitter() {
  thread_local std::mt19937 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.8, 1.2)(gen);
}

}  // namespace

bool IsRetryableHttpStatus(int status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

absl::Status StatusFromResponse(const std::string& op, const std::string& resource,
                                const HttpResponse& response) {
  std::string code, message;
  if (auto it = response.headers.find("x-ms-error-code"); it != response.headers.end()) {
    code = it->second;
  }
  if (absl::StrContains(response.body, "<Error>")) {
    if (code.empty()) code = XmlElement(response.body, "Code");
    message = FirstLine(XmlElement(response.body, "Message"));
  } else if (!response.body.empty() && response.body[0] == '{') {
    auto j = nlohmann::json::parse(response.body, nullptr, false);
    if (j.is_object() && j.contains("odata.error") && j["odata.error"].is_object()) {
      const auto& e = j["odata.error"];
      if (code.empty() && e.contains("code") && e["code"].is_string()) code = e["code"];
      if (e.contains("message") && e["message"].is_object() && e["message"].contains("value") &&
          e["message"]["value"].is_string()) {
        message = FirstLine(e["message"]["value"].get<std::string>());
      }
    }
  }
  absl::StatusCode sc;
  int s = response.status;
  if (s == 404) {
    sc = absl::StatusCode::kNotFound;
  } else if (s == 409) {
    sc = absl::StatusCode::kAlreadyExists;
  } else if (s == 412 || s == 304) {
    sc = absl::StatusCode::kFailedPrecondition;
  } else if (s == 400) {
    sc = absl::StatusCode::kInvalidArgument;
  } else if (s == 401 || s == 403) {
    sc = absl::StatusCode::kPermissionDenied;
  } else if (s == 413) {
    sc = absl::StatusCode::kResourceExhausted;
  } else if (s >= 500 || s == 408 || s == 429) {
    sc = absl::StatusCode::kUnavailable;
  } else {
    sc = absl::StatusCode::kUnknown;
  }
  std::string request_id = HeaderOf(response, "x-ms-request-id");
  absl::Status status(sc,
                      absl::StrCat(op, " ", resource, ": HTTP ", s, code.empty() ? "" : " " + code,
                                   message.empty() ? "" : " (" + message + ")",
                                   request_id.empty() ? "" : " request-id " + request_id));
  if (!code.empty()) status.SetPayload(kCodePayload, absl::Cord(code));
  return status;
}

absl::Status IgnoreAlreadyExists(absl::Status status) {
  if (status.code() == absl::StatusCode::kAlreadyExists &&
      absl::EndsWith(ErrorCodeOf(status), "AlreadyExists")) {
    return absl::OkStatus();
  }
  return status;
}

absl::Status WithBatchIndex(absl::Status status, int index) {
  status.SetPayload(kIndexPayload, absl::Cord(std::to_string(index)));
  return status;
}

int FailedBatchIndex(const absl::Status& status) {
  auto p = status.GetPayload(kIndexPayload);
  int index = -1;
  if (!p || !absl::SimpleAtoi(std::string(*p), &index)) return -1;
  return index;
}

std::string ErrorCodeOf(const absl::Status& status) {
  auto p = status.GetPayload(kCodePayload);
  return p ? std::string(*p) : "";
}

// --- ClientCore ------------------------------------------------------------------
ClientCore::ClientCore(Account account, std::shared_ptr<HttpTransport> transport, RetryPolicy retry)
    : account_(std::move(account)), transport_(std::move(transport)), retry_(retry) {
  if (!transport_) transport_ = MakeCurlTransport();
  if (retry_.max_attempts < 1) retry_.max_attempts = 1;
}

std::string ClientCore::Url(Service service, const std::string& path) const {
  switch (service) {
    case Service::kBlob:
      return account_.blob_endpoint + path;
    case Service::kQueue:
      return account_.queue_endpoint + path;
    case Service::kTable:
      return account_.table_endpoint + path;
  }
  return "";
}

HttpRequest ClientCore::Build(const Call& call) const {
  HttpRequest req;
  req.method = call.method;
  req.headers = call.headers;
  req.body = call.body;
  req.timeout = retry_.attempt_timeout;
  req.headers.emplace_back("x-ms-date", Rfc1123(absl::Now()));
  req.headers.emplace_back("x-ms-version", kVersion);
  std::string query = EncodeQuery(call.query);
  if (account_.key.empty() && !account_.sas.empty()) {
    absl::StrAppend(&query, query.empty() ? "" : "&", account_.sas);
  }
  req.url = Url(call.service, call.path) + (query.empty() ? "" : "?" + query);
  if (!account_.key.empty()) {
    std::string full_path = EndpointPath(Url(call.service, "")) + call.path;
    std::string to_sign =
        call.service == Service::kTable
            ? TableStringToSign(call.method, req.headers, account_.name, full_path, call.query)
            : BlobQueueStringToSign(call.method, req.headers, req.body.size(), account_.name,
                                    full_path, call.query);
    req.headers.emplace_back(
        "Authorization",
        absl::StrCat("SharedKey ", account_.name, ":", HmacSha256Base64(account_.key, to_sign)));
  }
  return req;
}

absl::StatusOr<HttpResponse> ClientCore::Do(const Call& call) {
  absl::Duration delay = retry_.initial_delay;
  for (int attempt = 1;; ++attempt) {
    counts_[static_cast<int>(call.kind)].fetch_add(1, std::memory_order_relaxed);
    absl::StatusOr<HttpResponse> r = transport_->Send(Build(call));
    bool last = attempt >= retry_.max_attempts;
    if (r.ok()) {
      int s = r->status;
      if (s >= 200 && s < 300) return r;
      if (!IsRetryableHttpStatus(s) || last) return StatusFromResponse(call.op, call.resource, *r);
      Logger("storage")->debug("azure: {} {}: HTTP {}, retrying (attempt {})", call.op,
                               call.resource, s, attempt);
    } else {
      if (last) {
        return absl::UnavailableError(absl::StrCat(
            call.op, " ", call.resource, ": ", r.status().message(), " (", attempt, " attempts)"));
      }
      Logger("storage")->debug("azure: {} {}: {}, retrying (attempt {})", call.op, call.resource,
                               std::string(r.status().message()), attempt);
    }
    absl::SleepFor(delay * Jitter());
    delay = std::min(delay * 2, retry_.max_delay);
  }
}

TxCounts ClientCore::Counts() const {
  TxCounts c;
  for (int i = 0; i < static_cast<int>(TxKind::kCount); ++i) {
    c.n[i] = counts_[i].load(std::memory_order_relaxed);
  }
  return c;
}

// --- TxCounts ----------------------------------------------------------------------
const char* TxKindName(TxKind k) {
  switch (k) {
    case TxKind::kTableRead:
      return "table_read";
    case TxKind::kTableWrite:
      return "table_write";
    case TxKind::kTableBatch:
      return "table_batch";
    case TxKind::kQueueGet:
      return "queue_get";
    case TxKind::kQueuePut:
      return "queue_put";
    case TxKind::kQueueDelete:
      return "queue_delete";
    case TxKind::kQueueUpdate:
      return "queue_update";
    case TxKind::kBlobRead:
      return "blob_read";
    case TxKind::kBlobWrite:
      return "blob_write";
    case TxKind::kBlobLease:
      return "blob_lease";
    case TxKind::kCount:
      break;
  }
  return "unknown";
}

uint64_t TxCounts::total() const {
  uint64_t t = 0;
  for (uint64_t v : n) t += v;
  return t;
}

std::string TxCounts::ToString() const {
  std::string s;
  for (int i = 0; i < static_cast<int>(TxKind::kCount); ++i) {
    absl::StrAppend(&s, TxKindName(static_cast<TxKind>(i)), "=", n[i], " ");
  }
  return absl::StrCat(s, "total=", total());
}

std::string TxCounts::ToJson() const {
  nlohmann::ordered_json j;
  for (int i = 0; i < static_cast<int>(TxKind::kCount); ++i) {
    j[TxKindName(static_cast<TxKind>(i))] = n[i];
  }
  j["total"] = total();
  return j.dump();
}

// --- StorageClient -----------------------------------------------------------------
struct StorageClient::Impl {
  explicit Impl(Account a, std::shared_ptr<HttpTransport> t, RetryPolicy r)
      : core(std::move(a), std::move(t), r) {}
  ClientCore core;
  std::unique_ptr<TableClient> tables;
  std::unique_ptr<QueueClient> queues;
  std::unique_ptr<BlobClient> blobs;
};

StorageClient::StorageClient(Account account, std::shared_ptr<HttpTransport> transport,
                             RetryPolicy retry)
    : impl_(std::make_unique<Impl>(std::move(account), std::move(transport), retry)) {
  impl_->tables.reset(new TableClient(&impl_->core));
  impl_->queues.reset(new QueueClient(&impl_->core));
  impl_->blobs.reset(new BlobClient(&impl_->core));
}
StorageClient::~StorageClient() = default;
TableClient& StorageClient::tables() { return *impl_->tables; }
QueueClient& StorageClient::queues() { return *impl_->queues; }
BlobClient& StorageClient::blobs() { return *impl_->blobs; }
TxCounts StorageClient::Counts() const { return impl_->core.Counts(); }
const Account& StorageClient::account() const { return impl_->core.account(); }

}  // namespace taskhub::azure
