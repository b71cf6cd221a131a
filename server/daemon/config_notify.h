// taskhubd configuration of lifecycle notifications (server/notify/notifier.h).
#ifndef TASKHUB_SERVER_DAEMON_CONFIG_NOTIFY_H_
#define TASKHUB_SERVER_DAEMON_CONFIG_NOTIFY_H_

#include <string>
#include <vector>

#include "CLI/CLI.hpp"

namespace taskhub::daemon {

struct NotificationConfig {
  std::vector<std::string> webhooks;  // --notification-webhook specs (server/notify/webhook.h)
  int max_attempts = 12;
  double max_age_s = 24 * 3600;
  double initial_backoff_ms = 1000;
  double max_backoff_s = 300;
  double timeout_s = 10;
};

// Adds the --notification-* flags, writing into `n`.
void AddNotificationFlags(CLI::App& app, NotificationConfig& n);

}  // namespace taskhub::daemon

#endif  // TASKHUB_SERVER_DAEMON_CONFIG_NOTIFY_H_
