// taskhubd flags of lifecycle notifications (server/notify/). The webhook specs are
// parsed (and secret files read) at start-up by Server::Start, naming the flag.
#include "server/daemon/config_notify.h"

namespace taskhub::daemon {

void AddNotificationFlags(CLI::App& app, NotificationConfig& n) {
  app.add_option("--notification-webhook", n.webhooks,
                 "Post lifecycle CloudEvents to a webhook (repeatable): "
                 "'url=URL[,events=Started|Completed|Failed|Terminated|Suspended|Resumed]"
                 "[,secret-file=PATH][,header=Name:Value]...'");
  app.add_option("--notification-max-attempts", n.max_attempts,
                 "Delivery attempts of one notification before it is dead-lettered")
      ->envname("TASKHUB_NOTIFICATION_MAX_ATTEMPTS")
      ->check(CLI::Range(1, 1000));
  app.add_option("--notification-max-age-seconds", n.max_age_s,
                 "A notification not delivered this long after its state change is "
                 "dead-lettered")
      ->envname("TASKHUB_NOTIFICATION_MAX_AGE_SECONDS")
      ->check(CLI::PositiveNumber);
  app.add_option("--notification-initial-backoff-ms", n.initial_backoff_ms,
                 "First retry delay of a failed delivery (doubles per attempt)")
      ->envname("TASKHUB_NOTIFICATION_INITIAL_BACKOFF_MS")
      ->check(CLI::PositiveNumber);
  app.add_option("--notification-max-backoff-seconds", n.max_backoff_s,
                 "Cap of the retry delay of a failed delivery")
      ->envname("TASKHUB_NOTIFICATION_MAX_BACKOFF_SECONDS")
      ->check(CLI::PositiveNumber);
  app.add_option("--notification-timeout-seconds", n.timeout_s, "Timeout of one webhook POST")
      ->envname("TASKHUB_NOTIFICATION_TIMEOUT_SECONDS")
      ->check(CLI::PositiveNumber);
}

}  // namespace taskhub::daemon
