// GCC 12: a task created inside the WhenAny expression.
#include <string>
#include <vector>

#include "taskhub/taskhub.h"

using taskhub::OrchestrationContext;
using taskhub::Task;

Task<size_t> Orchestrator(OrchestrationContext& ctx) {
  auto event = ctx.WaitForExternalEvent("approval");
  co_return co_await ctx.WhenAny(event, ctx.CreateTimer(absl::Seconds(1)));
}
