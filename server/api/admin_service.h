// taskhubd's admin gRPC service (proto/taskhub_admin.proto): the dead-letter list of
// lifecycle notifications and their replay. With an Authorizer every method needs the
// `admin` role (auth.h: methods it does not know are admin-only).
// Thread-safe (the Notifier is).
#ifndef TASKHUB_SERVER_API_ADMIN_SERVICE_H_
#define TASKHUB_SERVER_API_ADMIN_SERVICE_H_

#include "server/api/auth.h"
#include "server/notify/notifier.h"
#include "taskhub_admin.grpc.pb.h"

namespace taskhub::api {

class AdminService final : public taskhub::admin::v1::TaskHubAdmin::Service {
 public:
  // `notifier` and `auth` (null: no authorization) must outlive the service.
  AdminService(notify::Notifier* notifier, const auth::Authorizer* auth)
      : notifier_(notifier), auth_(auth) {}

  grpc::Status ListFailedNotifications(grpc::ServerContext* ctx,
                                       const admin::v1::ListFailedNotificationsRequest* req,
                                       admin::v1::ListFailedNotificationsResponse* resp) override;
  grpc::Status RetryNotifications(grpc::ServerContext* ctx,
                                  const admin::v1::RetryNotificationsRequest* req,
                                  admin::v1::RetryNotificationsResponse* resp) override;

 private:
  absl::Status Check(grpc::ServerContext* ctx, absl::string_view method) const;

  notify::Notifier* const notifier_;
  const auth::Authorizer* const auth_;
};

}  // namespace taskhub::api

#endif  // TASKHUB_SERVER_API_ADMIN_SERVICE_H_
