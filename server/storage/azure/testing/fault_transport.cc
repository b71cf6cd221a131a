#include "server/storage/azure/testing/fault_transport.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace taskhub::azure::testing {

FaultTransport::FaultTransport(std::shared_ptr<HttpTransport> inner) : inner_(std::move(inner)) {}

void FaultTransport::FailNext(int n, Predicate match, When when, int http_status,
                              std::string error_code) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.push_back(Fault{n, std::move(match), when, http_status, std::move(error_code)});
}

void FaultTransport::SetDown(bool down) {
  std::lock_guard<std::mutex> lock(mu_);
  down_ = down;
}

void FaultTransport::SetObserver(Observer observer) {
  std::lock_guard<std::mutex> lock(mu_);
  observer_ = std::move(observer);
}

void FaultTransport::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.clear();
  down_ = false;
}

int FaultTransport::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

int FaultTransport::injected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return injected_;
}

FaultTransport::Predicate FaultTransport::MethodIs(std::string method) {
  return [method](const HttpRequest& r) { return r.method == method; };
}
FaultTransport::Predicate FaultTransport::UrlContains(std::string fragment) {
  return [fragment](const HttpRequest& r) { return absl::StrContains(r.url, fragment); };
}
FaultTransport::Predicate FaultTransport::BodyContains(std::string fragment) {
  return [fragment](const HttpRequest& r) { return absl::StrContains(r.body, fragment); };
}

absl::StatusOr<HttpResponse> FaultTransport::Injected(const Fault& f,
                                                      const HttpRequest& request) const {
  if (f.http_status == 0) {
    return absl::UnavailableError(absl::StrCat(request.method, " ",
                                               request.url.substr(0, request.url.find('?')),
                                               ": injected transport error"));
  }
  HttpResponse r;
  r.status = f.http_status;
  r.headers["x-ms-error-code"] = !f.error_code.empty()  ? f.error_code
                                 : f.http_status == 503 ? "ServerBusy"
                                                        : "InjectedFault";
  r.body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>" +
           r.headers["x-ms-error-code"] + "</Code><Message>injected fault</Message></Error>";
  return r;
}

absl::StatusOr<HttpResponse> FaultTransport::Send(const HttpRequest& request) {
  std::optional<Fault> fault;
  Observer observer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++requests_;
    observer = observer_;
    if (down_) {
      ++injected_;
      fault = Fault{1, nullptr, When::kBefore, 0, ""};
    } else {
      for (auto it = faults_.begin(); it != faults_.end(); ++it) {
        if (it->match && !it->match(request)) continue;
        fault = *it;
        ++injected_;
        if (--it->remaining <= 0) faults_.erase(it);
        break;
      }
    }
  }
  absl::StatusOr<HttpResponse> result;
  if (!fault) {
    result = inner_->Send(request);
  } else {
    if (fault->when == When::kAfter) {
      absl::StatusOr<HttpResponse> real = inner_->Send(request);
      (void)real;  // the reply is lost
    }
    result = Injected(*fault, request);
  }
  if (observer) observer(request, result);
  return result;
}

}  // namespace taskhub::azure::testing
