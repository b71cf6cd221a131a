#include "server/api/auth.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/common/logging.h"

namespace taskhub::auth {
namespace {

constexpr size_t kMinTokenLength = 16;
constexpr size_t kMaxTokenLength = 4096;

struct MethodRoles {
  const char* method;
  RoleSet roles;
};

// Every TaskHubSidecarService method. kAdmin is added by AllowedRoles().
constexpr MethodRoles kMethodRoles[] = {
    {"Hello", kWorker | kClient},
    // Worker: work items and their results.
    {"GetWorkItems", kWorker},
    {"CompleteActivityTask", kWorker},
    {"CompleteOrchestratorTask", kWorker},
    {"CompleteEntityTask", kWorker},
    {"AbandonTaskActivityWorkItem", kWorker},
    {"AbandonTaskOrchestratorWorkItem", kWorker},
    {"AbandonTaskEntityWorkItem", kWorker},
    // Workers may fetch the history of a work item (OrchestratorRequest.requiresHistoryStreaming).
    {"StreamInstanceHistory", kWorker | kClient},
    // Client: instance life cycle and reads.
    {"StartInstance", kClient},
    {"GetInstance", kClient},
    {"WaitForInstanceStart", kClient},
    {"WaitForInstanceCompletion", kClient},
    {"RaiseEvent", kClient},
    {"TerminateInstance", kClient},
    {"SuspendInstance", kClient},
    {"ResumeInstance", kClient},
    {"RestartInstance", kClient},
    {"QueryInstances", kClient},
    {"ListInstanceIds", kClient},
    {"SignalEntity", kClient},
    {"GetEntity", kClient},
    {"QueryEntities", kClient},
    {"SkipGracefulOrchestrationTerminations", kClient},
    // Admin only: destroys data or rewrites history.
    {"PurgeInstances", 0},
    {"RewindInstance", 0},
    {"CreateTaskHub", 0},
    {"DeleteTaskHub", 0},
    {"CleanEntityStorage", 0},
};

absl::StatusOr<RoleSet> ParseRoles(absl::string_view text) {
  RoleSet roles = 0;
  for (absl::string_view name : absl::StrSplit(text, ',')) {
    if (name == "worker") {
      roles |= kWorker;
    } else if (name == "client") {
      roles |= kClient;
    } else if (name == "admin") {
      roles |= kAdmin;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown role '", absl::CHexEscape(name),
                       "' (roles: worker, client, admin; separate several with ',')"));
    }
  }
  return roles;
}

std::string Hex(const uint8_t* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 15]);
  }
  return out;
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read --auth-tokens file ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read --auth-tokens file ", path));
  }
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    Logger("auth")->warn("--auth-tokens file {} is readable by other users (mode {:o}); "
                         "chmod 600 it",
                         path, st.st_mode & 0777);
  }
  return text.str();
}

}  // namespace

std::string RoleNames(RoleSet roles) {
  std::string out;
  for (auto [bit, name] : {std::pair{kWorker, "worker"}, {kClient, "client"}, {kAdmin, "admin"}}) {
    if (roles & bit) absl::StrAppend(&out, out.empty() ? "" : ",", name);
  }
  return out.empty() ? "none" : out;
}

RoleSet AllowedRoles(absl::string_view method) {
  for (const auto& m : kMethodRoles) {
    if (method == m.method) return m.roles | kAdmin;
  }
  return kAdmin;
}

std::vector<std::string> KnownMethods() {
  std::vector<std::string> out;
  for (const auto& m : kMethodRoles) out.emplace_back(m.method);
  return out;
}

Digest Sha256(absl::string_view data) {
  Digest d{};
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), d.data(), &n, EVP_sha256(), nullptr);
  return d;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = diff | static_cast<uint8_t>(a[i] ^ b[i]);
  }
  return diff == 0;
}

std::string Fingerprint(absl::string_view token) {
  const Digest d = Sha256(token);
  return absl::StrCat("sha256:", Hex(d.data(), 4));
}

absl::StatusOr<TokenTable> TokenTable::Parse(absl::string_view text) {
  TokenTable table;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    auto error = [line_no](absl::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": ", what));
    };
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r\f\v"), absl::SkipEmpty());
    if (fields.empty() || absl::StartsWith(fields[0], "#")) continue;
    if (fields.size() < 2 || (fields.size() > 2 && !absl::StartsWith(fields[2], "#"))) {
      return error("expected `<token> <role>[,<role>...]`");
    }
    const absl::string_view token = fields[0];
    if (token.size() < kMinTokenLength || token.size() > kMaxTokenLength) {
      return error(absl::StrCat("a token must have ", kMinTokenLength, " to ", kMaxTokenLength,
                                " characters (e.g. `openssl rand -hex 32`)"));
    }
    for (char c : token) {
      if (c < 0x21 || c > 0x7e) return error("a token must be printable ASCII without spaces");
    }
    auto roles = ParseRoles(fields[1]);
    if (!roles.ok()) return error(roles.status().message());
    Entry e{Sha256(token), *roles, Fingerprint(token)};
    if (table.Find(token) != nullptr) return error("duplicate token");
    table.entries_.push_back(std::move(e));
  }
  return table;
}

const TokenTable::Entry* TokenTable::Find(absl::string_view token) const {
  const Digest d = Sha256(token);
  const absl::string_view want(reinterpret_cast<const char*>(d.data()), d.size());
  const Entry* found = nullptr;
  for (const Entry& e : entries_) {  // no early exit: every entry is compared
    const bool eq = ConstantTimeEquals(
        want, absl::string_view(reinterpret_cast<const char*>(e.digest.data()), e.digest.size()));
    if (eq) found = &e;
  }
  return found;
}

absl::StatusOr<std::unique_ptr<Authorizer>> Authorizer::FromFile(std::string path) {
  auto text = ReadTokenFile(path);
  if (!text.ok()) return text.status();
  auto table = TokenTable::Parse(*text);
  if (!table.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--auth-tokens file ", path, ", ", table.status().message()));
  }
  if (table->size() == 0) {
    Logger("auth")->warn("--auth-tokens file {} has no tokens: every call will be refused", path);
  }
  Logger("auth")->info("loaded {} token(s) from {}", table->size(), path);
  return std::make_unique<Authorizer>(std::move(path), *std::move(table));
}

Authorizer::Authorizer(std::string path, TokenTable table)
    : path_(std::move(path)), log_(Logger("auth")), table_(std::make_shared<const TokenTable>(std::move(table))) {}

absl::Status Authorizer::Reload() {
  const auto& log = log_;
  auto text = ReadTokenFile(path_);
  absl::StatusOr<TokenTable> table =
      text.ok() ? TokenTable::Parse(*text) : absl::StatusOr<TokenTable>(text.status());
  if (!table.ok()) {
    log->error("reload of --auth-tokens file {} failed, keeping the previous tokens: {}", path_,
               std::string(table.status().message()));
    return table.status();
  }
  const size_t n = table->size();
  {
    absl::MutexLock l(&mu_);
    table_ = std::make_shared<const TokenTable>(*std::move(table));
  }
  generation_.fetch_add(1, std::memory_order_acq_rel);
  log->info("reloaded {} token(s) from {}", n, path_);
  return absl::OkStatus();
}

absl::Status Authorizer::Check(absl::string_view method_name,
                               const absl::string_view* authorization,
                               absl::string_view peer_name) const {
  const auto& log = log_;
  const std::string method(method_name), peer(peer_name);  // fmt cannot print absl::string_view
  if (authorization == nullptr) {
    log->warn("refused {} from {}: no authorization metadata", method, peer);
    return absl::UnauthenticatedError(
        absl::StrCat(method, ": this taskhubd requires a token: send metadata "
                             "`authorization: Bearer <token>`"));
  }
  absl::string_view value = absl::StripAsciiWhitespace(*authorization);
  if (value.size() < 7 || !absl::EqualsIgnoreCase(value.substr(0, 7), "bearer ")) {
    log->warn("refused {} from {}: authorization metadata is not `Bearer <token>`", method, peer);
    return absl::UnauthenticatedError(
        absl::StrCat(method, ": the authorization metadata must be `Bearer <token>`"));
  }
  const absl::string_view token = absl::StripLeadingAsciiWhitespace(value.substr(7));
  std::shared_ptr<const TokenTable> table;
  {
    absl::MutexLock l(&mu_);
    table = table_;
  }
  const TokenTable::Entry* e = table->Find(token);
  if (e == nullptr) {
    log->warn("refused {} from {}: unknown token {}", method, peer, Fingerprint(token));
    return absl::UnauthenticatedError(absl::StrCat(method, ": unknown or revoked token"));
  }
  const RoleSet allowed = AllowedRoles(method);
  if ((e->roles & allowed) == 0) {
    log->warn("refused {} from {}: token {} has role {}, needs {}", method, peer, e->fingerprint,
              RoleNames(e->roles), RoleNames(allowed));
    return absl::PermissionDeniedError(
        absl::StrCat(method, " needs role ", RoleNames(allowed), "; this token has role ",
                     RoleNames(e->roles)));
  }
  log->trace("{} from {} allowed for token {}", method, peer, e->fingerprint);
  return absl::OkStatus();
}

}  // namespace taskhub::auth
