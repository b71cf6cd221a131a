// MakeCurlTransport: HTTP over libcurl, the only file that includes curl and the one
// place that converts curl errors (to UNAVAILABLE). Easy handles are pooled so
// keep-alive connections are reused; one handle serves one request at a time.
#include <curl/curl.h>

#include <mutex>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/storage/azure/client/azure_client.h"

namespace taskhub::azure {
namespace {

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string line(data, size * n);
  if (absl::StartsWith(line, "HTTP/")) {
    headers->clear();  // a new response (after 100 Continue or a redirect)
  } else if (size_t colon = line.find(':'); colon != std::string::npos) {
    std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon)));
    (*headers)[name] = std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return size * n;
}

// The URL without its query (which may hold a SAS token): for error messages.
std::string Redacted(const std::string& url) { return url.substr(0, url.find('?')); }

class CurlTransport : public HttpTransport {
 public:
  CurlTransport() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }
  ~CurlTransport() override {
    for (CURL* h : pool_) curl_easy_cleanup(h);
  }

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    CURL* h = Take();
    if (h == nullptr) return absl::UnavailableError("curl_easy_init failed");
    absl::StatusOr<HttpResponse> r = Perform(h, request);
    Return(h);
    return r;
  }

 private:
  absl::StatusOr<HttpResponse> Perform(CURL* h, const HttpRequest& req) {
    curl_easy_reset(h);
    HttpResponse resp;
    curl_slist* headers = nullptr;
    bool has_content_type = false;
    for (const auto& [k, v] : req.headers) {
      if (absl::EqualsIgnoreCase(k, "Content-Type")) has_content_type = true;
      headers = curl_slist_append(headers, absl::StrCat(k, ": ", v).c_str());
    }
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    const bool sends_body = req.method != "GET" && req.method != "HEAD" &&
                            (req.method != "DELETE" || !req.body.empty());
    // libcurl would add a form Content-Type to bodies; the signature covers what is sent.
    if (sends_body && !has_content_type) headers = curl_slist_append(headers, "Content-Type:");
    long ms = static_cast<long>(absl::ToInt64Milliseconds(req.timeout));
    curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, std::min(ms, 10000L));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp.headers);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    if (req.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (req.method != "GET") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
    if (sends_body) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    }
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
      return absl::UnavailableError(
          absl::StrCat(req.method, " ", Redacted(req.url), ": ", curl_easy_strerror(rc)));
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    resp.status = static_cast<int>(status);
    return resp;
  }

  CURL* Take() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!pool_.empty()) {
        CURL* h = pool_.back();
        pool_.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }
  void Return(CURL* h) {
    std::lock_guard<std::mutex> lock(mu_);
    pool_.push_back(h);
  }

  std::mutex mu_;
  std::vector<CURL*> pool_;
};

}  // namespace

std::shared_ptr<HttpTransport> MakeCurlTransport() { return std::make_shared<CurlTransport>(); }

}  // namespace taskhub::azure
