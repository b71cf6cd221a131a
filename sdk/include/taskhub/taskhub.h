// The taskhub C++ SDK: include this one header.
#ifndef TASKHUB_SDK_TASKHUB_H_
#define TASKHUB_SDK_TASKHUB_H_

#include "taskhub/client.h"
#include "taskhub/entity.h"
#include "taskhub/orchestration_context.h"
#include "taskhub/registry.h"
#include "taskhub/replay.h"
#include "taskhub/task.h"
#include "taskhub/worker.h"

#endif  // TASKHUB_SDK_TASKHUB_H_
