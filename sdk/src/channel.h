// The SDK's one way to open a channel: TLS or plaintext per TlsOptions, and the
// bearer token added to every call made on it. Not public API.
#ifndef TASKHUB_SDK_SRC_CHANNEL_H_
#define TASKHUB_SDK_SRC_CHANNEL_H_

#include <memory>
#include <string>

#include "grpcpp/channel.h"
#include "grpcpp/support/channel_arguments.h"
#include "taskhub/connection.h"

namespace taskhub::internal {

// A channel to `address`; when `token` is non-empty every call on it carries
// `authorization: Bearer <token>`.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& address, const TlsOptions& tls,
                                          const std::string& token,
                                          const grpc::ChannelArguments& args);

}  // namespace taskhub::internal

#endif  // TASKHUB_SDK_SRC_CHANNEL_H_
