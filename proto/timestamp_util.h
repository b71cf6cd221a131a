// Conversions between absl::Time and google.protobuf.Timestamp (the wire's time
// type), shared by the server, the SDK and the tools. Microsecond precision.
#ifndef TASKHUB_PROTO_TIMESTAMP_UTIL_H_
#define TASKHUB_PROTO_TIMESTAMP_UTIL_H_

#include <cstdint>

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace taskhub {

inline google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t us = absl::ToUnixMicros(t);
  int64_t secs = us / 1000000;
  int64_t rem = us % 1000000;
  if (rem < 0) {  // times before 1970 still have 0 <= nanos < 1e9
    rem += 1000000;
    --secs;
  }
  ts.set_seconds(secs);
  ts.set_nanos(static_cast<int32_t>(rem * 1000));
  return ts;
}

inline absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace taskhub

#endif  // TASKHUB_PROTO_TIMESTAMP_UTIL_H_
