// The SDK's one way to open a channel: TLS or plaintext per TlsOptions, and the
// bearer token added to every call made on it. Client and Worker use it; tools use it
// to call other services of the same server (e.g. grpc.health.v1) the same way.
#ifndef TASKHUB_SDK_CHANNEL_H_
#define TASKHUB_SDK_CHANNEL_H_

#include <memory>
#include <string>

#include "grpcpp/channel.h"
#include "grpcpp/support/channel_arguments.h"
#include "taskhub/connection.h"

namespace taskhub {

// A channel to `address`; when `token` is non-empty every call on it carries
// `authorization: Bearer <token>`.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& address, const TlsOptions& tls,
                                          const std::string& token,
                                          const grpc::ChannelArguments& args = {});

}  // namespace taskhub

#endif  // TASKHUB_SDK_CHANNEL_H_
