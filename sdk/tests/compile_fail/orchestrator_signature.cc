// An orchestrator that is not a coroutine returning Task<T>.
#include <string>
#include <vector>

#include "taskhub/taskhub.h"

using taskhub::OrchestrationContext;
using taskhub::Task;

void Register(taskhub::Registry& r) {
  r.AddOrchestrator("o", [](OrchestrationContext&) { return 1; });
}
