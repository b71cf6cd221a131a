// Test fixture: an HttpTransport wrapper that injects failures, for retry, outage and
// ambiguous-outcome tests over a real transport (Azurite).
//
//   auto ft = std::make_shared<FaultTransport>(MakeCurlTransport());
//   StorageClient client(account, ft);
//   ft->FailNext(2, FaultTransport::MethodIs("POST"), FaultTransport::When::kBefore, 503);
//
// kBefore: the request is not forwarded; the caller sees the injected answer.
// kAfter: the request IS forwarded (it takes effect) and its reply is replaced by the
// injected answer: an ambiguous outcome (the reply was lost).
// http_status 0 injects a transport error (UNAVAILABLE, like a dropped connection).
// SetDown(true): every request fails with a transport error without being forwarded
// ("storage down"), until SetDown(false).
//
// Thread-safety: thread-safe.
#ifndef TASKHUB_SERVER_STORAGE_AZURE_TESTING_FAULT_TRANSPORT_H_
#define TASKHUB_SERVER_STORAGE_AZURE_TESTING_FAULT_TRANSPORT_H_

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "server/storage/azure/client/azure_client.h"

namespace taskhub::azure::testing {

class FaultTransport : public HttpTransport {
 public:
  using Predicate = std::function<bool(const HttpRequest&)>;
  enum class When { kBefore, kAfter };

  explicit FaultTransport(std::shared_ptr<HttpTransport> inner);

  // Fails the next `n` requests matching `match` (null: any request). An injected HTTP
  // status carries x-ms-error-code `error_code` (default: ServerBusy for 503, else
  // InjectedFault).
  void FailNext(int n, Predicate match = nullptr, When when = When::kBefore, int http_status = 0,
                std::string error_code = "");
  void SetDown(bool down);
  void Clear();  // drops pending faults and clears "down"

  // Called after every Send (outside the lock) with the request and what the caller
  // got (injected or real): lets tests record or assert on the traffic.
  using Observer = std::function<void(const HttpRequest&, const absl::StatusOr<HttpResponse>&)>;
  void SetObserver(Observer observer);

  int requests() const;  // every Send, faulted or not
  int injected() const;  // faults injected so far

  // Predicates.
  static Predicate MethodIs(std::string method);
  static Predicate UrlContains(std::string fragment);
  static Predicate BodyContains(std::string fragment);

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

 private:
  struct Fault {
    int remaining;
    Predicate match;
    When when;
    int http_status;
    std::string error_code;
  };
  absl::StatusOr<HttpResponse> Injected(const Fault& f, const HttpRequest& request) const;

  std::shared_ptr<HttpTransport> inner_;
  mutable std::mutex mu_;
  std::vector<Fault> faults_;
  bool down_ = false;
  Observer observer_;
  int requests_ = 0;
  int injected_ = 0;
};

}  // namespace taskhub::azure::testing

#endif  // TASKHUB_SERVER_STORAGE_AZURE_TESTING_FAULT_TRANSPORT_H_
