#include "server/daemon/security.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/security/server_credentials.h"
#include "server/common/logging.h"

namespace taskhub::daemon {
namespace {

absl::StatusOr<std::string> ReadPem(const char* flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", flag, " ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (!absl::StrContains(text.str(), "-----BEGIN ")) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " ", path, " is not a PEM file"));
  }
  return text.str();
}

// gRPC only reports a bad certificate or key when the first client connects; check
// them here so a wrong file stops start-up with a message instead.
absl::Status CheckPem(const char* flag, const std::string& path, const std::string& pem,
                      bool is_key) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  bool ok = false;
  if (is_key) {
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    ok = key != nullptr;
    EVP_PKEY_free(key);
  } else {
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    ok = cert != nullptr;
    X509_free(cert);
  }
  BIO_free(bio);
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(flag, " ", path, " holds no valid ",
                                                 is_key ? "private key" : "certificate"));
}

bool IsLoopback(const std::string& listen) {
  return absl::StartsWith(listen, "127.") || absl::StartsWith(listen, "localhost:") ||
         absl::StartsWith(listen, "[::1]:") || absl::StartsWith(listen, "unix:");
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const Config& config) {
  if (config.tls_cert.empty()) return grpc::InsecureServerCredentials();
  auto cert = ReadPem("--tls-cert", config.tls_cert);
  if (!cert.ok()) return cert.status();
  auto key = ReadPem("--tls-key", config.tls_key);
  if (!key.ok()) return key.status();
  if (auto st = CheckPem("--tls-cert", config.tls_cert, *cert, false); !st.ok()) return st;
  if (auto st = CheckPem("--tls-key", config.tls_key, *key, true); !st.ok()) return st;
  grpc::SslServerCredentialsOptions opts(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  opts.pem_key_cert_pairs.push_back({*key, *cert});
  if (!config.tls_client_ca.empty()) {
    auto ca = ReadPem("--tls-client-ca", config.tls_client_ca);
    if (!ca.ok()) return ca.status();
    if (auto st = CheckPem("--tls-client-ca", config.tls_client_ca, *ca, false); !st.ok()) {
      return st;
    }
    opts.pem_root_certs = *ca;
    opts.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(opts);
}

absl::StatusOr<std::unique_ptr<auth::Authorizer>> AuthorizerFor(const Config& config) {
  if (config.auth_tokens.empty()) return nullptr;
  return auth::Authorizer::FromFile(config.auth_tokens);
}

void LogSecurity(const Config& config) {
  auto log = Logger("daemon");
  const char* transport = config.tls_cert.empty()         ? "plaintext"
                          : config.tls_client_ca.empty() ? "TLS"
                                                          : "mutual TLS";
  log->info("gRPC transport: {}; bearer tokens: {}", transport,
            config.auth_tokens.empty() ? "off (every caller is trusted)" : config.auth_tokens);
  if (!IsLoopback(config.listen) && (config.tls_cert.empty() || config.auth_tokens.empty())) {
    log->warn("listening on {} beyond loopback without {}: anyone who reaches the port can {}",
              config.listen, config.tls_cert.empty() ? "TLS" : "--auth-tokens",
              config.tls_cert.empty() ? "read the traffic" : "call every method");
  }
  if (!config.http_listen.empty() && !IsLoopback(config.http_listen) &&
      (config.tls_cert.empty() || config.auth_tokens.empty())) {
    log->warn("HTTP on {} beyond loopback without {}: anyone who reaches the port can {}",
              config.http_listen, config.tls_cert.empty() ? "TLS" : "--auth-tokens",
              config.tls_cert.empty() ? "read the traffic" : "manage every instance");
  }
}

}  // namespace taskhub::daemon
