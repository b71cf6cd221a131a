// The one place absl::Status and grpc::Status are converted.
#ifndef TASKHUB_PROTO_GRPC_STATUS_H_
#define TASKHUB_PROTO_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace taskhub {

grpc::Status ToGrpc(const absl::Status& s);
absl::Status FromGrpc(const grpc::Status& s);

}  // namespace taskhub

#endif  // TASKHUB_PROTO_GRPC_STATUS_H_
