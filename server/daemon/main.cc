// taskhubd: parse the configuration, start the Server, wait for SIGTERM/SIGINT,
// shut down gracefully and exit 0. SIGHUP re-reads the --auth-tokens file.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/synchronization/mutex.h"
#include "server/common/logging.h"
#include "server/daemon/config.h"
#include "server/daemon/server.h"

int main(int argc, char** argv) {
  int exit_code = 0;
  auto config = taskhub::daemon::ParseConfig(argc, argv, &exit_code);
  if (!config.ok()) {
    std::cerr << config.status().message();
    return exit_code;
  }
  if (auto st = taskhub::SetLogLevel(config->log_level); !st.ok()) {
    std::cerr << st.message() << "\n";
    return 2;
  }
  // Lock-order cycle detection costs on every Mutex::Lock; the tests run it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto log = taskhub::Logger("daemon");
  auto server = taskhub::daemon::Server::Start(*config);
  if (!server.ok()) {
    log->critical("cannot start: {}", server.status().ToString());
    return 1;
  }
  // The port files: written atomically (rename) once serving, for tests and scripts; the
  // HTTP one first, so that a script waiting for --port-file finds both.
  auto write_port = [&](const std::string& path, int port, const char* flag) {
    const std::string tmp = path + ".tmp";
    bool written = false;
    {
      std::ofstream out(tmp);
      out << port << "\n";
      written = out.good();
    }
    if (!written || std::rename(tmp.c_str(), path.c_str()) != 0) {
      log->critical("cannot start: cannot write {} {}; check that its directory "
                    "exists and is writable", flag, path);
      return false;
    }
    return true;
  };
  if (!config->http_port_file.empty()) {
    if (config->http_listen.empty()) {
      log->warn("--http-port-file {} ignored: no --http-listen", config->http_port_file);
    } else if (!write_port(config->http_port_file, (*server)->http_port(), "--http-port-file")) {
      return 1;
    }
  }
  if (!config->port_file.empty() &&
      !write_port(config->port_file, (*server)->port(), "--port-file")) {
    return 1;
  }
  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    (*server)->ReloadAuthTokens().IgnoreError();  // logs the outcome; old tokens kept on error
  }
  log->info("received signal {}; shutting down", sig);
  (*server)->Shutdown();
  server->reset();
  return 0;
}
