package validate

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The sidecar's settings, as rendered, start a real taskhubd: every TASKHUB_* value parses,
// the health service the readiness probe names answers SERVING (through the taskhub CLI,
// as `kubectl exec ... -- taskhub health` would), and SIGTERM drains and exits 0 well within
// the pod's terminationGracePeriodSeconds. Only the listen address (port 0 on loopback) and
// the data dir (a temp dir) are replaced. Needs $TASKHUBD and $TASKHUB_CLI (run-tests.sh sets
// them); skipped, saying so, without them.
func TestRenderedSidecarSettingsStartTaskhubd(t *testing.T) {
	daemon, cli := os.Getenv("TASKHUBD"), os.Getenv("TASKHUB_CLI")
	if daemon == "" || cli == "" {
		t.Skip("set TASKHUBD and TASKHUB_CLI to the built binaries to run this test")
	}
	for _, variant := range []string{"rocksdb", "rocksdb-http"} {
		t.Run(variant, func(t *testing.T) {
			r := render(t, variant)
			pod := podOf(r)
			c := container(r, SidecarName)
			dir := t.TempDir()
			portFile := filepath.Join(dir, "port")
			env := []string{"PATH=" + os.Getenv("PATH")}
			for _, e := range c.Env {
				switch {
				case e.ValueFrom != nil:
					t.Fatalf("%s comes from %v: not expected in a rocksdb overlay", e.Name, e.ValueFrom)
				case e.Name == "TASKHUB_LISTEN":
					env = append(env, e.Name+"=127.0.0.1:0")
				case e.Name == "TASKHUB_HTTP_LISTEN":
					env = append(env, e.Name+"=127.0.0.1:0", "TASKHUB_HTTP_PORT_FILE="+filepath.Join(dir, "http.port"))
				case e.Name == "TASKHUB_DATA_DIR":
					env = append(env, e.Name+"="+filepath.Join(dir, "data"))
				default:
					env = append(env, e.Name+"="+e.Value)
				}
			}
			env = append(env, "TASKHUB_PORT_FILE="+portFile)
			cmd := exec.Command(daemon, c.Args...)
			cmd.Env = env
			var log strings.Builder
			cmd.Stdout, cmd.Stderr = &log, &log
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() {
				if cmd.ProcessState == nil {
					_ = cmd.Process.Kill()
					<-exited
				}
			}()
			// Started when the port file appears (or failed when the process exits first).
			var port string
			for deadline := time.Now().Add(30 * time.Second); port == ""; {
				if b, err := os.ReadFile(portFile); err == nil && strings.HasSuffix(string(b), "\n") {
					port = strings.TrimSpace(string(b))
					break
				}
				select {
				case err := <-exited:
					t.Fatalf("taskhubd with the rendered settings exited (%v):\n%s", err, log.String())
				case <-time.After(50 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatalf("taskhubd wrote no port file in 30 s:\n%s", log.String())
				}
			}
			out, err := exec.Command(cli, "health", "--address", "127.0.0.1:"+port).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "TaskHubSidecarService  SERVING") {
				t.Fatalf("taskhub health: %v\n%s\ntaskhubd log:\n%s", err, out, log.String())
			}
			grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("taskhubd exited with %v on SIGTERM (want 0):\n%s", err, log.String())
				}
			case <-time.After(grace):
				t.Fatalf("taskhubd still running %v after SIGTERM (terminationGracePeriodSeconds)", grace)
			}
		})
	}
}
