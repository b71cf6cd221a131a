// Bearer-token authorization of TaskHubSidecarService calls (--auth-tokens FILE).
//
// Token file: one `<token> <role>[,<role>...]` per line; blank lines and lines whose
// first non-blank character is `#` are ignored, and so is anything after the second
// field that starts with `#`. A token is 16..4096 printable ASCII characters without
// spaces (e.g. `openssl rand -hex 32`); each token appears once. Roles:
//   worker  Hello, GetWorkItems, Complete*/Abandon* work items, StreamInstanceHistory
//   client  Hello, start/get/wait/raise/terminate/suspend/resume/restart/query/list,
//           StreamInstanceHistory, entity reads and signals
//   admin   everything (purge, create/delete task hub, rewind, clean entity storage, and
//           every worker and client method)
// `worker` and `client` do not imply each other; give a token both (`worker,client`)
// for a process that hosts a worker and a client. A method missing from the table
// needs `admin` (deny by default).
//
// Tokens are kept only as SHA-256 digests; a presented token is hashed and compared
// with every digest in constant time (no early exit, no length leak). Log lines name
// a token by `sha256:<first 8 hex digits>` at most, never the token.
#ifndef TASKHUB_SERVER_API_AUTH_H_
#define TASKHUB_SERVER_API_AUTH_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "spdlog/logger.h"

namespace taskhub::auth {

using Digest = std::array<uint8_t, 32>;

// A set of roles (bit mask).
enum Role : uint8_t { kWorker = 1, kClient = 2, kAdmin = 4 };
using RoleSet = uint8_t;

// "worker,client" style names of `roles` ("none" when empty).
std::string RoleNames(RoleSet roles);

// The roles that may call TaskHubSidecarService method `method` (e.g. "PurgeInstances").
// kAdmin is always among them; an unknown method gets only kAdmin.
RoleSet AllowedRoles(absl::string_view method);

// The method names the table knows (for tests).
std::vector<std::string> KnownMethods();

// SHA-256 of `data`.
Digest Sha256(absl::string_view data);

// True iff a == b. Takes the same time for any contents of equal-length inputs.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// `sha256:` and the first 8 hex digits of the token's digest: safe to log.
std::string Fingerprint(absl::string_view token);

// The parsed token file. Immutable; thread-safe.
class TokenTable {
 public:
  struct Entry {
    Digest digest;
    RoleSet roles;
    std::string fingerprint;
  };

  // Parses a token file's text. Errors name the line, never the token.
  static absl::StatusOr<TokenTable> Parse(absl::string_view text);

  // The entry of `token`, or null. Compares against every entry in constant time.
  const Entry* Find(absl::string_view token) const;
  size_t size() const { return entries_.size(); }

 private:
  std::vector<Entry> entries_;
};

// Checks calls against the token file at `path`; Reload() re-reads it (SIGHUP).
// Thread-safe: Check() may run on many gRPC threads while Reload() swaps the table.
class Authorizer {
 public:
  // Loads `path`; an unreadable or malformed file is an error (the daemon does not start).
  static absl::StatusOr<std::unique_ptr<Authorizer>> FromFile(std::string path);
  // An authorizer over an already parsed table (tests).
  Authorizer(std::string path, TokenTable table);

  // Re-reads the file. On error the old tokens stay in force, the error is logged and
  // returned; on success the new tokens apply to every call that starts afterwards.
  absl::Status Reload();

  // Decides whether a call of `method` carrying `authorization` (the value of its
  // `authorization` metadata; null when absent) may proceed: OK, UNAUTHENTICATED
  // (missing, malformed or unknown token) or PERMISSION_DENIED (the token lacks the
  // role). `peer` is only used in the log line of a refusal.
  absl::Status Check(absl::string_view method, const absl::string_view* authorization,
                     absl::string_view peer) const;

  // Incremented by every successful Reload(): a long-lived call (a work-item stream)
  // checks its token again only when this has changed since its last check.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  const std::string path_;
  const std::shared_ptr<spdlog::logger> log_;  // looked up once: Check() runs on every call
  mutable absl::Mutex mu_;
  std::shared_ptr<const TokenTable> table_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> generation_{0};
};

}  // namespace taskhub::auth

#endif  // TASKHUB_SERVER_API_AUTH_H_
