#include "tools/taskhub/context.h"

#include <unistd.h>

#include <iostream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace taskhub::cli {

Context::Context(GlobalOptions options, Output& out) : options_(std::move(options)), out_(out) {}

absl::StatusOr<Client*> Context::client() {
  if (client_ == nullptr) {
    absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect({.address = options_.address});
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
