#include "tools/taskhub/context.h"

#include <unistd.h>

#include <iostream>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace taskhub::cli {

Context::Context(GlobalOptions options, Output& out) : options_(std::move(options)), out_(out) {}

absl::StatusOr<TlsOptions> Context::tls() const {
  TlsOptions tls;
  tls.enabled = options_.tls;
  for (auto [flag, path, pem] : {std::tuple{"--tls-ca", &options_.tls_ca, &tls.root_certs_pem},
                                 {"--tls-cert", &options_.tls_cert, &tls.client_cert_pem},
                                 {"--tls-key", &options_.tls_key, &tls.client_key_pem}}) {
    if (path->empty()) continue;
    absl::StatusOr<std::string> text = ReadFile(*path);
    if (!text.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": ", text.status().message()));
    }
    *pem = *std::move(text);
  }
  if (tls.client_cert_pem.empty() != tls.client_key_pem.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key must be given together");
  }
  return tls;
}

absl::StatusOr<Client*> Context::client() {
  if (client_ == nullptr) {
    absl::StatusOr<TlsOptions> tls = this->tls();
    if (!tls.ok()) return tls.status();
    absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(
        {.address = options_.address, .token = options_.token, .tls = *std::move(tls)});
    if (!c.ok()) return c.status();
    client_ = *std::move(c);
  }
  return client_.get();
}

absl::Status Context::Confirm(const std::string& question, bool assume_yes) {
  if (assume_yes) return absl::OkStatus();
  if (isatty(STDIN_FILENO) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("confirmation needed (\"", question,
                     "\") but standard input is not a terminal; pass --yes to confirm"));
  }
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) answer.clear();
  answer = absl::AsciiStrToLower(absl::StripAsciiWhitespace(answer));
  if (answer == "y" || answer == "yes") return absl::OkStatus();
  return absl::CancelledError("aborted; nothing was changed");
}

}  // namespace taskhub::cli
