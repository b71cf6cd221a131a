#include "tools/taskhub/statuses.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace taskhub::cli {
namespace {

struct Named {
  OrchestrationStatus status;
  const char* name;
};
constexpr Named kStatuses[] = {
    {ORCHESTRATION_STATUS_RUNNING, "RUNNING"},
    {ORCHESTRATION_STATUS_COMPLETED, "COMPLETED"},
    {ORCHESTRATION_STATUS_CONTINUED_AS_NEW, "CONTINUED_AS_NEW"},
    {ORCHESTRATION_STATUS_FAILED, "FAILED"},
    {ORCHESTRATION_STATUS_CANCELED, "CANCELED"},
    {ORCHESTRATION_STATUS_TERMINATED, "TERMINATED"},
    {ORCHESTRATION_STATUS_PENDING, "PENDING"},
    {ORCHESTRATION_STATUS_SUSPENDED, "SUSPENDED"},
};

}  // namespace

std::string StatusName(OrchestrationStatus status) {
  for (const Named& n : kStatuses) {
    if (n.status == status) return n.name;
  }
  return "UNKNOWN";
}

absl::StatusOr<OrchestrationStatus> ParseStatus(absl::string_view text) {
  std::string s = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(text));
  s = absl::StrReplaceAll(s, {{"-", "_"}});
  constexpr absl::string_view kPrefix = "ORCHESTRATION_STATUS_";
  if (absl::StartsWith(s, kPrefix)) s.erase(0, kPrefix.size());
  if (s == "CANCELLED") s = "CANCELED";
  if (s == "CONTINUEDASNEW") s = "CONTINUED_AS_NEW";
  for (const Named& n : kStatuses) {
    if (s == n.name) return n.status;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--status: unknown runtime status '", text,
                   "' (use running, pending, suspended, completed, failed, terminated, canceled, "
                   "continued-as-new)"));
}

absl::StatusOr<std::vector<OrchestrationStatus>> ParseStatuses(
    const std::vector<std::string>& texts) {
  std::vector<OrchestrationStatus> out;
  for (const std::string& text : texts) {
    for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
      absl::StatusOr<OrchestrationStatus> s = ParseStatus(part);
      if (!s.ok()) return s.status();
      out.push_back(*s);
    }
  }
  return out;
}

bool IsTerminal(OrchestrationStatus status) {
  return status == ORCHESTRATION_STATUS_COMPLETED || status == ORCHESTRATION_STATUS_FAILED ||
         status == ORCHESTRATION_STATUS_TERMINATED || status == ORCHESTRATION_STATUS_CANCELED;
}

}  // namespace taskhub::cli
