package taskhub.interop;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A real taskhubd process ($TASKHUBD, else build/bin/taskhubd) on a free port and a temporary
 * RocksDB data directory. Its log is kept in the data directory's parent and printed when
 * start-up fails.
 */
final class TaskhubServer implements AutoCloseable {
  private final Path dir;
  private final Process process;
  private final int port;

  private TaskhubServer(Path dir, Process process, int port) {
    this.dir = dir;
    this.process = process;
    this.port = port;
  }

  static TaskhubServer start(String... extraArgs) throws IOException, InterruptedException {
    String binary = System.getenv("TASKHUBD");
    if (binary == null || binary.isEmpty()) {
      binary = Path.of("..", "..", "..", "build", "bin", "taskhubd").toAbsolutePath().toString();
    }
    if (!new File(binary).canExecute()) {
      throw new IllegalStateException("taskhubd not found at " + binary + " (set TASKHUBD)");
    }
    Path dir = Files.createTempDirectory("taskhub-java-");
    Path portFile = dir.resolve("port");
    List<String> cmd = new ArrayList<>(List.of(binary, "--listen", "127.0.0.1:0", "--data-dir",
        dir.resolve("data").toString(), "--port-file", portFile.toString(), "--log-level", "info"));
    cmd.addAll(List.of(extraArgs));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(dir.resolve("taskhubd.log").toFile()).start();
    Instant deadline = Instant.now().plus(Duration.ofSeconds(20));
    while (!Files.exists(portFile)) {
      if (!p.isAlive() || Instant.now().isAfter(deadline)) {
        p.destroyForcibly();
        throw new IllegalStateException("taskhubd did not start:\n"
            + Files.readString(dir.resolve("taskhubd.log")));
      }
      Thread.sleep(20);
    }
    int port = Integer.parseInt(Files.readString(portFile).trim());
    return new TaskhubServer(dir, p, port);
  }

  int port() {
    return port;
  }

  String address() {
    return "127.0.0.1:" + port;
  }

  Path logFile() {
    return dir.resolve("taskhubd.log");
  }

  @Override
  public void close() throws Exception {
    process.destroy();  // SIGTERM: graceful shutdown
    if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) process.destroyForcibly();
  }
}
