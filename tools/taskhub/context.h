// State shared by every command of one taskhub invocation: the global options,
// the output and a client connected on first use.
#ifndef TASKHUB_TOOLS_TASKHUB_CONTEXT_H_
#define TASKHUB_TOOLS_TASKHUB_CONTEXT_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "taskhub/client.h"
#include "tools/taskhub/output.h"

namespace taskhub::cli {

struct GlobalOptions {
  std::string address = "localhost:4001";  // --address / TASKHUB_ADDRESS
  std::string output = "table";            // -o / --output: table or json
  std::string token;                       // --token / TASKHUB_TOKEN: bearer token
  bool tls = false;                        // --tls: TLS with the system's CA roots
  std::string tls_ca;                      // --tls-ca / TASKHUB_TLS_CA: CA PEM (implies TLS)
  std::string tls_cert, tls_key;           // --tls-cert/--tls-key: client cert (mutual TLS)
};

class Context {
 public:
  Context(GlobalOptions options, Output& out);

  const GlobalOptions& options() const { return options_; }
  Output& out() { return out_; }
  bool json() const { return out_.json(); }

  // The client for --address; created on first call.
  absl::StatusOr<Client*> client();

  // The TLS settings of the global options, PEM files read (InvalidArgument if unreadable).
  absl::StatusOr<TlsOptions> tls() const;

  // Asks `question` on the terminal (stderr prompt, answer from stdin) unless
  // `assume_yes`. OK when confirmed; CancelledError when declined;
  // InvalidArgumentError (a usage error) when stdin is not a terminal, since a
  // script must pass --yes explicitly.
  absl::Status Confirm(const std::string& question, bool assume_yes);

 private:
  GlobalOptions options_;
  Output& out_;
  std::unique_ptr<Client> client_;
};

}  // namespace taskhub::cli

#endif  // TASKHUB_TOOLS_TASKHUB_CONTEXT_H_
