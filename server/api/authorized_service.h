// The SidecarService behind bearer-token authorization (auth.h): every
// TaskHubSidecarService method first checks the call's `authorization` metadata and
// finishes it with UNAUTHENTICATED / PERMISSION_DENIED when refused; allowed calls
// run the plain SidecarService handler unchanged. Only TaskHubSidecarService is
// covered: grpc.health.v1 and reflection stay open (probes carry no token).
// Thread-safe.
#ifndef TASKHUB_SERVER_API_AUTHORIZED_SERVICE_H_
#define TASKHUB_SERVER_API_AUTHORIZED_SERVICE_H_

#include <memory>

#include "server/api/auth.h"
#include "server/api/sidecar_service.h"

namespace taskhub::api {

// `auth` must outlive the service.
std::unique_ptr<SidecarService> NewAuthorizedSidecarService(engine::Engine* engine,
                                                            const auth::Authorizer* auth);

}  // namespace taskhub::api

#endif  // TASKHUB_SERVER_API_AUTHORIZED_SERVICE_H_
