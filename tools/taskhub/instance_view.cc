#include "tools/taskhub/instance_view.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/taskhub/payload.h"
#include "tools/taskhub/statuses.h"
#include "tools/taskhub/time_parse.h"

namespace taskhub::cli {
namespace {

nlohmann::json OptionalTime(const std::optional<absl::Time>& t) {
  if (!t) return nullptr;
  return IsoTime(*t);
}

nlohmann::json OptionalPayload(const std::optional<std::string>& p) {
  if (!p || p->empty()) return nullptr;
  return PayloadToJson(*p);
}

std::string TagsText(const std::map<std::string, std::string>& tags) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : tags) parts.push_back(absl::StrCat(k, "=", v));
  return absl::StrJoin(parts, ", ");
}

}  // namespace

nlohmann::json FailureToJson(const FailureDetails& failure) {
  nlohmann::json j = {{"error_type", failure.error_type},
                      {"message", failure.message},
                      {"stack_trace", nullptr},
                      {"inner", nullptr}};
  if (failure.stack_trace) j["stack_trace"] = *failure.stack_trace;
  if (failure.inner) j["inner"] = FailureToJson(*failure.inner);
  return j;
}

std::string FailureSummary(const FailureDetails& failure) {
  std::string s = failure.error_type.empty()
                      ? failure.message
                      : absl::StrCat(failure.error_type, ": ", failure.message);
  if (failure.inner) absl::StrAppend(&s, " <- ", FailureSummary(*failure.inner));
  return s;
}

nlohmann::json InstanceToJson(const OrchestrationMetadata& m, PayloadChoice payloads) {
  nlohmann::json j = {
      {"instance_id", m.instance_id},
      {"name", m.name},
      {"version", m.version},
      {"runtime_status", StatusName(m.status)},
      {"created_at", IsoTime(m.created_at)},
      {"last_updated_at", IsoTime(m.last_updated_at)},
      {"completed_at", OptionalTime(m.completed_at)},
      {"scheduled_start_at", OptionalTime(m.scheduled_start_at)},
      {"execution_id", m.execution_id},
      {"parent_instance_id", m.parent_instance_id},
      {"tags", m.tags},
      {"custom_status", OptionalPayload(m.custom_status)},
      {"failure", nullptr},
  };
  if (m.failure) j["failure"] = FailureToJson(*m.failure);
  if (payloads.input) j["input"] = OptionalPayload(m.input);
  if (payloads.output) j["output"] = OptionalPayload(m.output);
  return j;
}

void PrintInstance(Output& out, const OrchestrationMetadata& m, PayloadChoice payloads) {
  std::vector<std::pair<std::string, Cell>> rows = {
      {"Instance ID", m.instance_id},
      {"Name", m.name},
      {"Status", Cell(StatusName(m.status), StatusStyle(m.status))},
      {"Created", IsoTime(m.created_at)},
      {"Last updated", IsoTime(m.last_updated_at)},
  };
  if (m.completed_at) rows.emplace_back("Completed", IsoTime(*m.completed_at));
  if (m.scheduled_start_at) rows.emplace_back("Scheduled start", IsoTime(*m.scheduled_start_at));
  if (!m.version.empty()) rows.emplace_back("Version", m.version);
  if (!m.execution_id.empty()) rows.emplace_back("Execution ID", m.execution_id);
  if (!m.parent_instance_id.empty()) rows.emplace_back("Parent", m.parent_instance_id);
  if (!m.tags.empty()) rows.emplace_back("Tags", TagsText(m.tags));
  if (m.custom_status && !m.custom_status->empty()) {
    rows.emplace_back("Custom status", *m.custom_status);
  }
  if (m.failure) rows.emplace_back("Failure", Cell(FailureSummary(*m.failure), Style::kRed));
  auto payload = [](const std::optional<std::string>& p) {
    return p && !p->empty() ? Cell(*p) : Cell("(none)", Style::kDim);
  };
  if (payloads.input) rows.emplace_back("Input", payload(m.input));
  if (payloads.output) rows.emplace_back("Output", payload(m.output));
  PrintKeyValues(out, rows);
}

}  // namespace taskhub::cli
