// GCC 12: an EntityInstanceId temporary inside co_await.
#include <string>
#include <vector>

#include "taskhub/taskhub.h"

using taskhub::OrchestrationContext;
using taskhub::Task;

Task<int> Orchestrator(OrchestrationContext& ctx) {
  co_return co_await ctx.CallEntity<int>(taskhub::EntityInstanceId("counter", "k"), "get");
}
