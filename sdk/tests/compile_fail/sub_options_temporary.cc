// GCC 12: a SubOrchestratorOptions temporary inside co_await.
#include <string>
#include <vector>

#include "taskhub/taskhub.h"

using taskhub::OrchestrationContext;
using taskhub::Task;

Task<int> Orchestrator(OrchestrationContext& ctx) {
  co_return co_await ctx.CallSubOrchestrator<int>("o", 1, {.instance_id = "child"});
}
