#include "server/api/admin_service.h"

#include "proto/grpc_status.h"

namespace taskhub::api {

absl::Status AdminService::Check(grpc::ServerContext* ctx, absl::string_view method) const {
  if (auth_ == nullptr) return absl::OkStatus();
  const auto& md = ctx->client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return auth_->Check(method, nullptr, ctx->peer());
  const absl::string_view value(it->second.data(), it->second.size());
  return auth_->Check(method, &value, ctx->peer());
}

grpc::Status AdminService::ListFailedNotifications(
    grpc::ServerContext* ctx, const admin::v1::ListFailedNotificationsRequest*,
    admin::v1::ListFailedNotificationsResponse* resp) {
  if (absl::Status st = Check(ctx, "ListFailedNotifications"); !st.ok()) return ToGrpc(st);
  for (const auto& f : notifier_->Failed()) {
    auto* out = resp->add_notifications();
    out->set_id(f.seq);
    out->set_event_id(f.notification.event_id());
    out->set_webhook(f.notification.webhook());
    out->set_type(f.notification.type());
    out->set_instance_id(f.notification.instance_id());
    out->set_attempts(f.notification.attempts());
    out->set_last_error(f.notification.last_error());
    *out->mutable_time() = f.notification.time();
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::RetryNotifications(grpc::ServerContext* ctx,
                                              const admin::v1::RetryNotificationsRequest* req,
                                              admin::v1::RetryNotificationsResponse* resp) {
  if (absl::Status st = Check(ctx, "RetryNotifications"); !st.ok()) return ToGrpc(st);
  if (req->all() == (req->id() != 0)) {
    return ToGrpc(absl::InvalidArgumentError("give either an id or all=true"));
  }
  absl::StatusOr<int> n =
      notifier_->Retry(req->all() ? std::nullopt : std::optional<uint64_t>(req->id()));
  if (!n.ok()) return ToGrpc(n.status());
  resp->set_retried(*n);
  return grpc::Status::OK;
}

}  // namespace taskhub::api
