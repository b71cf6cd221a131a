// Small Status helpers (Debian's Abseil 20220623 lacks RETURN_IF_ERROR/ASSIGN_OR_RETURN).
#ifndef TASKHUB_SERVER_COMMON_STATUS_MACROS_H_
#define TASKHUB_SERVER_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TASKHUB_CONCAT_INNER(a, b) a##b
#define TASKHUB_CONCAT(a, b) TASKHUB_CONCAT_INNER(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    if (::absl::Status _st = (expr); !_st.ok()) {      \
      return _st;                                      \
    }                                                  \
  } while (0)

// `lhs = value of expr` (an absl::StatusOr<T>), or returns its error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(TASKHUB_CONCAT(_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

#endif  // TASKHUB_SERVER_COMMON_STATUS_MACROS_H_
