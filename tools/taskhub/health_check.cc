#include "tools/taskhub/health_check.h"

#include <chrono>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace taskhub::cli {

absl::StatusOr<std::string> CheckHealth(const std::string& address, const TlsOptions& tls,
                                        const std::string& service, absl::Duration timeout) {
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (tls.on()) {
    grpc::SslCredentialsOptions opts;
    opts.pem_root_certs = tls.root_certs_pem;
    opts.pem_cert_chain = tls.client_cert_pem;
    opts.pem_private_key = tls.client_key_pem;
    creds = grpc::SslCredentials(opts);
  }
  auto channel = grpc::CreateChannel(address, creds);
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout)));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  grpc::health::v1::HealthCheckResponse resp;
  const grpc::Status st = stub->Check(&ctx, req, &resp);
  if (st.error_code() == grpc::StatusCode::NOT_FOUND) return std::string("SERVICE_UNKNOWN");
  if (!st.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(st.error_code()), st.error_message());
  }
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status());
}

}  // namespace taskhub::cli
