package validate

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

const (
	manifests  = "../kubernetes"
	daemonDir  = "../../server/daemon"
	dockerfile = "../Dockerfile"
)

// The rendered variants: the two overlays, and the rocksdb one with the HTTP component.
var variants = map[string]struct{ dir, store string }{
	"rocksdb":      {filepath.Join(manifests, "overlays", "rocksdb"), "rocksdb"},
	"azure":        {filepath.Join(manifests, "overlays", "azure"), "azure"},
	"rocksdb-http": {filepath.Join("testdata", "rocksdb-http"), "rocksdb"},
}

func flags(t *testing.T) Flags {
	t.Helper()
	f, err := LoadFlags(daemonDir)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func render(t *testing.T, variant string) *Rendered {
	t.Helper()
	v, ok := variants[variant]
	if !ok {
		t.Fatalf("no variant %q", variant)
	}
	out, err := Render(v.dir)
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("RENDER_DIR"); dir != "" { // keep the rendered YAML for a look
		_ = os.WriteFile(filepath.Join(dir, variant+".yaml"), out, 0o644)
	}
	objs, err := DecodeAll(out)
	if err != nil {
		t.Fatalf("%s renders objects that do not decode strictly: %v", variant, err)
	}
	return &Rendered{objs}
}

// Every YAML file under deploy/kubernetes (resources, patches, kustomization files)
// decodes strictly into its type: a misspelt field fails here even in a patch.
func TestEveryManifestFileDecodesStrictly(t *testing.T) {
	n := 0
	err := filepath.WalkDir(manifests, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, doc := range SplitDocuments(b) {
			if _, err := DecodeStrict(doc); err != nil {
				t.Errorf("%s document %d: %v", p, i+1, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d manifest documents found under %s", n, manifests)
	}
}

func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	doc := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 1\n"
	if _, err := DecodeStrict([]byte(doc)); err == nil || !strings.Contains(err.Error(), "replica") {
		t.Fatalf("misspelt field accepted: %v", err)
	}
	doc = "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n"
	if _, err := DecodeStrict([]byte(doc)); err == nil {
		t.Fatal("an unexpected kind was accepted")
	}
	doc = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n" +
		"      containers: [{name: a, resources: {limits: {memory: 12XB}}}]\n"
	if _, err := DecodeStrict([]byte(doc)); err == nil {
		t.Fatal("a bad quantity was accepted")
	}
}

// The rendered overlays: the expected objects, and every rule holds.
func TestOverlaysRenderAndPassTheRules(t *testing.T) {
	f := flags(t)
	want := map[string][]string{
		"rocksdb":      {"*v1.ServiceAccount", "*v1.PodDisruptionBudget", "*v1.Service", "*v1.StatefulSet"},
		"azure":        {"*v1.ServiceAccount", "*v1.PodDisruptionBudget", "*v1.Secret", "*v1.Deployment"},
		"rocksdb-http": {"*v1.ServiceAccount", "*v1.PodDisruptionBudget", "*v1.Service", "*v1.StatefulSet"},
	}
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			r := render(t, name)
			var kinds []string
			for _, o := range r.Objects {
				kinds = append(kinds, typeName(o))
			}
			if strings.Join(kinds, ",") != strings.Join(want[name], ",") {
				t.Errorf("rendered %v, want %v", kinds, want[name])
			}
			for _, problem := range Check(r, v.store, f) {
				t.Error(problem)
			}
		})
	}
}

func typeName(o any) string {
	switch o.(type) {
	case *corev1.ServiceAccount:
		return "*v1.ServiceAccount"
	case *policyv1.PodDisruptionBudget:
		return "*v1.PodDisruptionBudget"
	case *corev1.Service:
		return "*v1.Service"
	case *corev1.Secret:
		return "*v1.Secret"
	case *appsv1.StatefulSet:
		return "*v1.StatefulSet"
	case *appsv1.Deployment:
		return "*v1.Deployment"
	}
	return "?"
}

func podOf(r *Rendered) *corev1.PodSpec { return &r.workloads()[0].Template.Spec }

func container(r *Rendered, name string) *corev1.Container {
	p := podOf(r)
	for i := range p.InitContainers {
		if p.InitContainers[i].Name == name {
			return &p.InitContainers[i]
		}
	}
	for i := range p.Containers {
		if p.Containers[i].Name == name {
			return &p.Containers[i]
		}
	}
	return nil
}

func setEnv(c *corev1.Container, name string, v corev1.EnvVar) {
	for i := range c.Env {
		if c.Env[i].Name == name {
			c.Env[i] = v
			return
		}
	}
	c.Env = append(c.Env, v)
}

func dropEnv(c *corev1.Container, name string) {
	var out []corev1.EnvVar
	for _, e := range c.Env {
		if e.Name != name {
			out = append(out, e)
		}
	}
	c.Env = out
}

// Each rule catches its breakage: a rendered overlay with one thing broken must fail
// Check with a message naming it (and nothing passes by accident).
func TestRulesCatchBrokenManifests(t *testing.T) {
	f := flags(t)
	cases := []struct {
		store, name, want string
		mutate            func(r *Rendered)
	}{
		{"rocksdb", "sidecar in containers", "not in containers", func(r *Rendered) {
			p := podOf(r)
			p.Containers = append(p.Containers, p.InitContainers[0])
			p.InitContainers = nil
		}},
		{"rocksdb", "no restartPolicy Always", "restartPolicy must be Always", func(r *Rendered) {
			container(r, "taskhubd").RestartPolicy = nil
		}},
		{"rocksdb", "no readiness probe", "no readinessProbe", func(r *Rendered) {
			container(r, "taskhubd").ReadinessProbe = nil
		}},
		{"azure", "no liveness probe", "no livenessProbe", func(r *Rendered) {
			container(r, "taskhubd").LivenessProbe = nil
		}},
		{"rocksdb", "no startup probe", "no startupProbe", func(r *Rendered) {
			container(r, "taskhubd").StartupProbe = nil
		}},
		{"rocksdb", "probe on the wrong port", "taskhubd listens on 4001", func(r *Rendered) {
			container(r, "taskhubd").LivenessProbe.GRPC.Port = 4002
		}},
		{"rocksdb", "readiness asks the overall status", `want "TaskHubSidecarService"`, func(r *Rendered) {
			container(r, "taskhubd").ReadinessProbe.GRPC.Service = nil
		}},
		{"azure", "loopback listen", "is loopback", func(r *Rendered) {
			setEnv(container(r, "taskhubd"), "TASKHUB_LISTEN", corev1.EnvVar{Name: "TASKHUB_LISTEN", Value: "127.0.0.1:4001"})
		}},
		{"rocksdb", "root user", "runAsUser must be set and not 0", func(r *Rendered) {
			podOf(r).SecurityContext.RunAsUser = ptr.To[int64](0)
			container(r, "taskhubd").SecurityContext.RunAsUser = nil
		}},
		{"rocksdb", "runAsNonRoot false", "app: runAsNonRoot must be true", func(r *Rendered) {
			container(r, "app").SecurityContext.RunAsNonRoot = ptr.To(false)
		}},
		{"azure", "writable root filesystem", "taskhubd: readOnlyRootFilesystem", func(r *Rendered) {
			container(r, "taskhubd").SecurityContext.ReadOnlyRootFilesystem = nil
		}},
		{"rocksdb", "privilege escalation", "allowPrivilegeEscalation", func(r *Rendered) {
			container(r, "app").SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
		}},
		{"rocksdb", "capabilities kept", "drop ALL", func(r *Rendered) {
			container(r, "taskhubd").SecurityContext.Capabilities = nil
		}},
		{"rocksdb", "no memory limit", "limits of memory must be set", func(r *Rendered) {
			delete(container(r, "taskhubd").Resources.Limits, corev1.ResourceMemory)
		}},
		{"azure", "no cpu request", "limits of cpu must be set", func(r *Rendered) {
			delete(container(r, "app").Resources.Requests, corev1.ResourceCPU)
		}},
		{"rocksdb", "request above limit", "above its limit", func(r *Rendered) {
			container(r, "taskhubd").Resources.Requests[corev1.ResourceMemory] = resource.MustParse("8Gi")
		}},
		{"rocksdb", "latest image", "fixed tag", func(r *Rendered) {
			container(r, "taskhubd").Image = "registry.example.com/taskhubd:latest"
		}},
		{"rocksdb", "short grace period", "terminationGracePeriodSeconds", func(r *Rendered) {
			podOf(r).TerminationGracePeriodSeconds = ptr.To[int64](5)
		}},
		{"rocksdb", "two replicas", "replicas must be 1", func(r *Rendered) {
			r.workloads()[0].STS.Spec.Replicas = ptr.To[int32](2)
		}},
		{"rocksdb", "data on an emptyDir", "not a volumeClaimTemplate", func(r *Rendered) {
			w := r.workloads()[0]
			w.STS.Spec.VolumeClaimTemplates = nil
			p := podOf(r)
			p.Volumes = append(p.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		}},
		{"rocksdb", "data dir not mounted", "is not a volume mount", func(r *Rendered) {
			setEnv(container(r, "taskhubd"), "TASKHUB_DATA_DIR", corev1.EnvVar{Name: "TASKHUB_DATA_DIR", Value: "/var/lib/taskhubd"})
		}},
		{"rocksdb", "misspelt setting", "TASKHUB_DATADIR is not a taskhubd setting", func(r *Rendered) {
			c := container(r, "taskhubd")
			dropEnv(c, "TASKHUB_DATA_DIR")
			setEnv(c, "TASKHUB_DATADIR", corev1.EnvVar{Name: "TASKHUB_DATADIR", Value: "/data"})
		}},
		{"rocksdb", "unknown flag", "--data-directory=/data is not a taskhubd flag", func(r *Rendered) {
			container(r, "taskhubd").Args = []string{"--data-directory=/data"}
		}},
		{"rocksdb", "no headless service", "is not a rendered Service", func(r *Rendered) {
			r.workloads()[0].STS.Spec.ServiceName = "other"
		}},
		{"rocksdb", "wrong store", `TASKHUB_STORE is "azure"`, func(r *Rendered) {
			setEnv(container(r, "taskhubd"), "TASKHUB_STORE", corev1.EnvVar{Name: "TASKHUB_STORE", Value: "azure"})
		}},
		{"azure", "literal connection string", "must come from a Secret", func(r *Rendered) {
			setEnv(container(r, "taskhubd"), "TASKHUB_AZURE_STORAGE_CONNECTION_STRING",
				corev1.EnvVar{Name: "TASKHUB_AZURE_STORAGE_CONNECTION_STRING", Value: "AccountKey=secret"})
		}},
		{"azure", "secret key missing", `has no key "connection-string"`, func(r *Rendered) {
			r.secret("taskhub-azure-storage").StringData = nil
		}},
		{"azure", "rolling update", "must be Recreate", func(r *Rendered) {
			r.workloads()[0].Deploy.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType}
		}},
		{"azure", "pdb selects nothing", "does not select the pod", func(r *Rendered) {
			for _, o := range r.Objects {
				if p, ok := o.(*policyv1.PodDisruptionBudget); ok {
					p.Spec.Selector.MatchLabels = map[string]string{"app": "other"}
				}
			}
		}},
		{"azure", "token mounted", "automountServiceAccountToken", func(r *Rendered) {
			podOf(r).AutomountServiceAccountToken = nil
		}},
		{"rocksdb", "no seccomp", "seccompProfile", func(r *Rendered) {
			podOf(r).SecurityContext.SeccompProfile = nil
		}},
		{"rocksdb-http", "readiness on /healthz", "must GET /readyz", func(r *Rendered) {
			container(r, "taskhubd").ReadinessProbe.HTTPGet.Path = "/healthz"
		}},
		{"rocksdb-http", "http server off", "TASKHUB_HTTP_LISTEN unset", func(r *Rendered) {
			dropEnv(container(r, "taskhubd"), "TASKHUB_HTTP_LISTEN")
		}},
		{"rocksdb-http", "readiness on another port", "the HTTP server listens on 8080", func(r *Rendered) {
			container(r, "taskhubd").ReadinessProbe.HTTPGet.Port = intstr.FromInt32(9090)
		}},
		{"rocksdb-http", "http on loopback", "TASKHUB_HTTP_LISTEN \"127.0.0.1:8080\" is loopback", func(r *Rendered) {
			setEnv(container(r, "taskhubd"), "TASKHUB_HTTP_LISTEN", corev1.EnvVar{Name: "TASKHUB_HTTP_LISTEN", Value: "127.0.0.1:8080"})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.store+"/"+tc.name, func(t *testing.T) {
			r := render(t, tc.store)
			store := variants[tc.store].store
			if p := Check(r, store, f); len(p) != 0 {
				t.Fatalf("the unbroken overlay already fails: %v", p)
			}
			tc.mutate(r)
			p := Check(r, store, f)
			joined := strings.Join(p, "\n")
			if !strings.Contains(joined, tc.want) {
				t.Fatalf("broken manifest (%s) not caught: want a problem containing %q, got:\n%s",
					tc.name, tc.want, joined)
			}
		})
	}
}

// The image runs as the non-root user the manifests name, and ships the CLI.
func TestDockerfileMatchesTheManifests(t *testing.T) {
	b, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	d := string(b)
	r := render(t, "rocksdb")
	uid := *podOf(r).SecurityContext.RunAsUser
	if !regexp.MustCompile(`(?m)^USER\s+` + itoa(uid) + `(:\d+)?\s*$`).MatchString(d) {
		t.Errorf("deploy/Dockerfile has no `USER %d` (the manifests' runAsUser)", uid)
	}
	for _, want := range []string{"/usr/local/bin/taskhubd", "/usr/local/bin/taskhub\n", "FROM debian:12"} {
		if !strings.Contains(d, want) {
			t.Errorf("deploy/Dockerfile lacks %q", want)
		}
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
