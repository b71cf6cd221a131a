#include "server/core/record.h"

#include "server/core/history.h"

namespace taskhub::core {

NewInstance BuildInstance(const InstanceSpec& spec, absl::Time now) {
  NewInstance out;
  auto& r = out.record;
  r.set_instance_id(spec.instance_id);
  r.set_name(spec.name);
  if (spec.version) r.mutable_version()->set_value(*spec.version);
  if (spec.input) {
    r.mutable_input()->set_value(*spec.input);
    r.mutable_original_input()->set_value(*spec.input);
  }
  r.set_status(ORCHESTRATION_STATUS_PENDING);
  r.set_execution_id(spec.execution_id);
  *r.mutable_created_time() = ToProto(now);
  *r.mutable_last_updated_time() = ToProto(now);
  if (spec.scheduled_start && *spec.scheduled_start > now) {
    *r.mutable_scheduled_start_time() = ToProto(*spec.scheduled_start);
  }
  for (const auto& [k, v] : spec.tags) (*r.mutable_tags())[k] = v;
  if (spec.parent) *r.mutable_parent() = *spec.parent;
  out.start = ExecutionStartedFor(r, now);
  if (spec.parent_trace_context) {
    *out.start.mutable_executionstarted()->mutable_parenttracecontext() =
        *spec.parent_trace_context;
    out.record.set_trace_parent(spec.parent_trace_context->traceparent());
  }
  return out;
}

std::string TraceNote(const std::string& traceparent) {
  // version "-" trace-id (32 hex) "-" parent-id (16 hex) "-" flags (2 hex)
  if (traceparent.size() < 55 || traceparent[2] != '-' || traceparent[35] != '-') return "";
  return " [trace " + traceparent.substr(3, 32) + "]";
}

void SetExecutionId(NewInstance& instance, const std::string& execution_id) {
  instance.record.set_execution_id(execution_id);
  instance.start.mutable_executionstarted()
      ->mutable_orchestrationinstance()
      ->mutable_executionid()
      ->set_value(execution_id);
}

}  // namespace taskhub::core
