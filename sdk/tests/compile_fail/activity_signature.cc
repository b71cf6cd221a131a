// An activity that does not take the ActivityContext.
#include <string>
#include <vector>

#include "taskhub/taskhub.h"

using taskhub::OrchestrationContext;
using taskhub::Task;

void Register(taskhub::Registry& r) {
  r.AddActivity("a", [](int x) { return x; });
}
