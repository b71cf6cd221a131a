// How the SDK's Client and Worker reach a server that requires TLS and/or a token
// (taskhubd --tls-cert/--tls-client-ca/--auth-tokens).
//
// Members have default initializers, so designated initializers may name any subset.
// Example:
//   taskhub::ClientOptions o{.address = "taskhub.example:4001"};
//   o.token = "...";                                    // `authorization: Bearer ...`
//   o.tls.enabled = true;
//   o.tls.root_certs_pem = *taskhub::ReadFile("ca.pem");  // empty: the system roots
#ifndef TASKHUB_SDK_CONNECTION_H_
#define TASKHUB_SDK_CONNECTION_H_

#include <string>

#include "absl/status/statusor.h"

namespace taskhub {

struct TlsOptions {
  bool enabled = false;         // also implied by any non-empty PEM below
  std::string root_certs_pem = {};   // CA(s) to trust; empty = gRPC's default roots
  std::string client_cert_pem = {};  // client certificate chain, for mutual TLS
  std::string client_key_pem = {};   // its private key
  bool on() const {
    return enabled || !root_certs_pem.empty() || !client_cert_pem.empty();
  }
};

// The whole content of `path` (for PEM files).
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace taskhub

#endif  // TASKHUB_SDK_CONNECTION_H_
