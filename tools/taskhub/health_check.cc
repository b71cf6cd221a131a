#include "tools/taskhub/health_check.h"

#include <chrono>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "proto/grpc_status.h"
#include "taskhub/channel.h"

namespace taskhub::cli {

absl::StatusOr<std::string> CheckHealth(const std::string& address, const TlsOptions& tls,
                                        const std::string& service, absl::Duration timeout) {
  // No token: the health service is open (README "Authentication and TLS").
  auto channel = NewChannel(address, tls, /*token=*/"");
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout)));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  grpc::health::v1::HealthCheckResponse resp;
  const grpc::Status st = stub->Check(&ctx, req, &resp);
  if (st.error_code() == grpc::StatusCode::NOT_FOUND) return std::string("SERVICE_UNKNOWN");
  if (!st.ok()) return FromGrpc(st);
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status());
}

}  // namespace taskhub::cli
