package validate

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// SidecarName is the container name of taskhubd in the pod.
const SidecarName = "taskhubd"

// MinGraceSeconds: taskhubd's own drain (gRPC calls get 5 s, then queued commits finish)
// after the app's (in-flight activities); the pod's grace period covers both.
const MinGraceSeconds = 30

// Rendered is one rendered overlay, decoded.
type Rendered struct {
	Objects []any
}

// Workload is the overlay's one StatefulSet or Deployment, reduced to what the rules read.
type Workload struct {
	Kind     string
	Replicas *int32
	Selector *metav1.LabelSelector
	Template *corev1.PodTemplateSpec
	Claims   []corev1.PersistentVolumeClaim // StatefulSet volumeClaimTemplates
	STS      *appsv1.StatefulSet
	Deploy   *appsv1.Deployment
}

func (r *Rendered) workloads() []Workload {
	var out []Workload
	for _, o := range r.Objects {
		switch w := o.(type) {
		case *appsv1.StatefulSet:
			out = append(out, Workload{"StatefulSet", w.Spec.Replicas, w.Spec.Selector,
				&w.Spec.Template, w.Spec.VolumeClaimTemplates, w, nil})
		case *appsv1.Deployment:
			out = append(out, Workload{"Deployment", w.Spec.Replicas, w.Spec.Selector,
				&w.Spec.Template, nil, nil, w})
		}
	}
	return out
}

func (r *Rendered) secret(name string) *corev1.Secret {
	for _, o := range r.Objects {
		if s, ok := o.(*corev1.Secret); ok && s.Name == name {
			return s
		}
	}
	return nil
}

func (r *Rendered) has(kind, name string) bool {
	for _, o := range r.Objects {
		switch v := o.(type) {
		case *corev1.ServiceAccount:
			if kind == "ServiceAccount" && v.Name == name {
				return true
			}
		}
	}
	return false
}

// Flags is what taskhubd accepts: its flags and the environment variables behind them,
// read from the daemon's sources (server/daemon/*.cc) so a renamed flag fails here.
type Flags struct {
	Options map[string]bool // "--listen"
	Env     map[string]bool // "TASKHUB_LISTEN"
}

var (
	optionRe = regexp.MustCompile(`add_(?:option|flag)\(\s*"(--[a-z0-9-]+)`)
	envRe    = regexp.MustCompile(`envname\(\s*"([A-Z0-9_]+)"\)`)
	getenvRe = regexp.MustCompile(`"(TASKHUB_[A-Z0-9_]+|AzureWebJobsStorage)"`)
)

// LoadFlags scans the daemon's C++ sources under dir for CLI11 options and env names.
func LoadFlags(dir string) (Flags, error) {
	f := Flags{map[string]bool{}, map[string]bool{}}
	files, err := filepath.Glob(filepath.Join(dir, "*.cc"))
	if err != nil || len(files) == 0 {
		return f, fmt.Errorf("no daemon sources in %s", dir)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return f, err
		}
		for _, m := range optionRe.FindAllStringSubmatch(string(b), -1) {
			f.Options[m[1]] = true
		}
		for _, m := range envRe.FindAllStringSubmatch(string(b), -1) {
			f.Env[m[1]] = true
		}
		// Variables read directly (the connection string: two names, no envname).
		for _, m := range getenvRe.FindAllStringSubmatch(string(b), -1) {
			f.Env[m[1]] = true
		}
	}
	if !f.Options["--listen"] || !f.Env["TASKHUB_LISTEN"] {
		return f, fmt.Errorf("the daemon sources in %s declare no --listen / TASKHUB_LISTEN", dir)
	}
	return f, nil
}

// Check returns every rule the rendered overlay breaks; store is "rocksdb" or "azure".
func Check(r *Rendered, store string, flags Flags) []string {
	var p []string
	bad := func(format string, a ...any) { p = append(p, fmt.Sprintf(format, a...)) }

	ws := r.workloads()
	if len(ws) != 1 {
		bad("want exactly one StatefulSet or Deployment, got %d", len(ws))
		return p
	}
	w := ws[0]
	pod := &w.Template.Spec
	if w.Replicas == nil || *w.Replicas != 1 {
		bad("%s: replicas must be 1 (one taskhubd per task hub)", w.Kind)
	}
	if w.Selector == nil || len(w.Selector.MatchLabels)+len(w.Selector.MatchExpressions) == 0 {
		bad("%s: empty selector", w.Kind)
	} else if !selects(w.Selector, w.Template.Labels) {
		bad("%s: selector does not match the pod template's labels", w.Kind)
	}

	// The native sidecar.
	var sidecar *corev1.Container
	for i := range pod.InitContainers {
		if pod.InitContainers[i].Name == SidecarName {
			sidecar = &pod.InitContainers[i]
		}
	}
	for _, c := range pod.Containers {
		if c.Name == SidecarName {
			bad("taskhubd must be a native sidecar (initContainers), not in containers")
		}
	}
	if sidecar == nil {
		bad("no init container %q", SidecarName)
		return p
	}
	if sidecar.RestartPolicy == nil || *sidecar.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		bad("taskhubd: restartPolicy must be Always (a native sidecar)")
	}
	if len(pod.Containers) == 0 {
		bad("no app container")
	}

	// Every container: limits, non-root, read-only root filesystem, no privileges.
	all := append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...)
	for _, c := range all {
		checkContainer(pod, c, bad)
	}
	if pod.SecurityContext == nil || pod.SecurityContext.SeccompProfile == nil ||
		pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		bad("pod: seccompProfile RuntimeDefault missing")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		bad("pod: automountServiceAccountToken must be false")
	}
	if pod.ServiceAccountName == "" || !r.has("ServiceAccount", pod.ServiceAccountName) {
		bad("pod: serviceAccountName %q is not rendered", pod.ServiceAccountName)
	}
	if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds < MinGraceSeconds {
		bad("pod: terminationGracePeriodSeconds must be >= %d (app drain + taskhubd drain)", MinGraceSeconds)
	}
	checkMounts(w, pod, bad)

	env := map[string]corev1.EnvVar{}
	for _, e := range sidecar.Env {
		if _, dup := env[e.Name]; dup {
			bad("taskhubd: env %s set twice", e.Name)
		}
		env[e.Name] = e
		if strings.HasPrefix(e.Name, "TASKHUB_") && !flags.Env[e.Name] {
			bad("taskhubd: env %s is not a taskhubd setting", e.Name)
		}
	}
	for _, a := range append(append([]string{}, sidecar.Command...), sidecar.Args...) {
		if strings.HasPrefix(a, "--") && !flags.Options[strings.SplitN(a, "=", 2)[0]] {
			bad("taskhubd: flag %s is not a taskhubd flag", a)
		}
	}
	checkProbes(sidecar, env, bad)

	storeEnv := env["TASKHUB_STORE"].Value
	if storeEnv == "" {
		storeEnv = "rocksdb"
	}
	if storeEnv != store {
		bad("taskhubd: TASKHUB_STORE is %q, want %q", storeEnv, store)
	}
	switch store {
	case "rocksdb":
		checkRocksDB(r, w, sidecar, env, bad)
	case "azure":
		checkAzure(r, w, env, bad)
	}

	// The PodDisruptionBudget must cover the pod.
	pdbs := 0
	for _, o := range r.Objects {
		if pdb, ok := o.(*policyv1.PodDisruptionBudget); ok {
			pdbs++
			if pdb.Spec.Selector == nil || len(pdb.Spec.Selector.MatchLabels)+len(pdb.Spec.Selector.MatchExpressions) == 0 ||
				!selects(pdb.Spec.Selector, w.Template.Labels) {
				bad("PodDisruptionBudget %s does not select the pod", pdb.Name)
			}
		}
	}
	if pdbs != 1 {
		bad("want one PodDisruptionBudget, got %d", pdbs)
	}
	return p
}

func selects(s *metav1.LabelSelector, l map[string]string) bool {
	sel, err := metav1.LabelSelectorAsSelector(s)
	return err == nil && !sel.Empty() && sel.Matches(labels.Set(l))
}

func checkContainer(pod *corev1.PodSpec, c corev1.Container, bad func(string, ...any)) {
	n := c.Name
	if c.Image == "" || !strings.Contains(c.Image, ":") || strings.HasSuffix(c.Image, ":latest") {
		bad("%s: image %q needs a fixed tag (not :latest)", n, c.Image)
	}
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := c.Resources.Requests[res]
		lim, hasLim := c.Resources.Limits[res]
		if !hasReq || !hasLim {
			bad("%s: resources.requests and .limits of %s must be set", n, res)
		} else if req.Cmp(lim) > 0 {
			bad("%s: %s request %s above its limit %s", n, res, req.String(), lim.String())
		}
	}
	sc := c.SecurityContext
	psc := pod.SecurityContext
	if sc == nil {
		bad("%s: no securityContext", n)
		return
	}
	nonRoot := sc.RunAsNonRoot
	if nonRoot == nil && psc != nil {
		nonRoot = psc.RunAsNonRoot
	}
	if nonRoot == nil || !*nonRoot {
		bad("%s: runAsNonRoot must be true", n)
	}
	uid := sc.RunAsUser
	if uid == nil && psc != nil {
		uid = psc.RunAsUser
	}
	if uid == nil || *uid == 0 {
		bad("%s: runAsUser must be set and not 0", n)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		bad("%s: allowPrivilegeEscalation must be false", n)
	}
	if sc.Privileged != nil && *sc.Privileged {
		bad("%s: privileged", n)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		bad("%s: readOnlyRootFilesystem must be true", n)
	}
	dropsAll := false
	if sc.Capabilities != nil {
		for _, d := range sc.Capabilities.Drop {
			dropsAll = dropsAll || d == "ALL"
		}
		if len(sc.Capabilities.Add) > 0 {
			bad("%s: adds capabilities %v", n, sc.Capabilities.Add)
		}
	}
	if !dropsAll {
		bad("%s: capabilities must drop ALL", n)
	}
}

// listenPort returns the port of TASKHUB_LISTEN (the default 127.0.0.1:4001 cannot be
// probed by the kubelet, which connects to the pod IP).
func listenPort(env map[string]corev1.EnvVar, bad func(string, ...any)) int {
	l, ok := env["TASKHUB_LISTEN"]
	if !ok {
		bad("taskhubd: TASKHUB_LISTEN unset: the default (loopback) cannot be probed")
		return -1
	}
	i := strings.LastIndex(l.Value, ":")
	host := l.Value[:max(i, 0)]
	port, err := strconv.Atoi(l.Value[i+1:])
	if i < 0 || err != nil {
		bad("taskhubd: TASKHUB_LISTEN %q is not host:port", l.Value)
		return -1
	}
	if host == "127.0.0.1" || host == "localhost" || host == "[::1]" {
		bad("taskhubd: TASKHUB_LISTEN %q is loopback: the kubelet's probes cannot reach it", l.Value)
	}
	return port
}

func checkProbes(c *corev1.Container, env map[string]corev1.EnvVar, bad func(string, ...any)) {
	port := listenPort(env, bad)
	declared := false
	for _, cp := range c.Ports {
		declared = declared || int(cp.ContainerPort) == port
	}
	if port > 0 && !declared {
		bad("taskhubd: the gRPC port %d is not in ports", port)
	}
	type probe struct {
		name    string
		p       *corev1.Probe
		service string // gRPC health service the probe must ask for
	}
	for _, pr := range []probe{{"startupProbe", c.StartupProbe, ""},
		{"readinessProbe", c.ReadinessProbe, "TaskHubSidecarService"},
		{"livenessProbe", c.LivenessProbe, ""}} {
		if pr.p == nil {
			bad("taskhubd: no %s", pr.name)
			continue
		}
		switch {
		case pr.p.GRPC != nil:
			if int(pr.p.GRPC.Port) != port {
				bad("taskhubd: %s probes gRPC port %d, taskhubd listens on %d", pr.name, pr.p.GRPC.Port, port)
			}
			svc := ""
			if pr.p.GRPC.Service != nil {
				svc = *pr.p.GRPC.Service
			}
			if svc != pr.service {
				bad("taskhubd: %s asks for gRPC health service %q, want %q", pr.name, svc, pr.service)
			}
		case pr.p.HTTPGet != nil && pr.name == "readinessProbe":
			// With --http-listen on: GET /readyz (503 once the store fails).
			checkHTTPReadiness(c, env, pr.p.HTTPGet, bad)
		default:
			bad("taskhubd: %s must be a gRPC health probe", pr.name)
		}
	}
}

func checkMounts(w Workload, pod *corev1.PodSpec, bad func(string, ...any)) {
	vols := map[string]bool{}
	for _, v := range pod.Volumes {
		vols[v.Name] = true
	}
	for _, c := range w.Claims {
		vols[c.Name] = true
	}
	for _, c := range append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...) {
		for _, m := range c.VolumeMounts {
			if !vols[m.Name] {
				bad("%s: mounts %q, which is neither a volume nor a volumeClaimTemplate", c.Name, m.Name)
			}
		}
	}
}

func mountOf(c *corev1.Container, path string) *corev1.VolumeMount {
	for i := range c.VolumeMounts {
		if filepath.Clean(c.VolumeMounts[i].MountPath) == filepath.Clean(path) {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func checkRocksDB(r *Rendered, w Workload, c *corev1.Container, env map[string]corev1.EnvVar,
	bad func(string, ...any)) {
	if w.STS == nil {
		bad("rocksdb: the workload must be a StatefulSet (its volume follows the pod)")
		return
	}
	dir := env["TASKHUB_DATA_DIR"].Value
	if dir == "" {
		bad("rocksdb: TASKHUB_DATA_DIR unset (the default is relative to a read-only root)")
		return
	}
	m := mountOf(c, dir)
	if m == nil {
		bad("rocksdb: the data dir %s is not a volume mount", dir)
		return
	}
	if m.ReadOnly {
		bad("rocksdb: the data dir %s is mounted read-only", dir)
	}
	var claim *corev1.PersistentVolumeClaim
	for i := range w.Claims {
		if w.Claims[i].Name == m.Name {
			claim = &w.Claims[i]
		}
	}
	if claim == nil {
		bad("rocksdb: the data dir's volume %q is not a volumeClaimTemplate (data would be lost)", m.Name)
	} else {
		size := claim.Spec.Resources.Requests[corev1.ResourceStorage]
		if size.Cmp(resource.MustParse("1Gi")) < 0 {
			bad("rocksdb: the claim %q requests %s of storage (want >= 1Gi)", claim.Name, size.String())
		}
	}
	pod := &w.Template.Spec
	if pod.SecurityContext == nil || pod.SecurityContext.FSGroup == nil {
		bad("rocksdb: pod fsGroup unset: the volume may not be writable for the non-root user")
	}
	// The governing Service exists, is headless and selects the pod.
	found := false
	for _, o := range r.Objects {
		if s, ok := o.(*corev1.Service); ok && s.Name == w.STS.Spec.ServiceName {
			found = true
			if s.Spec.ClusterIP != corev1.ClusterIPNone {
				bad("rocksdb: Service %s must be headless", s.Name)
			}
			if len(s.Spec.Selector) == 0 || !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(w.Template.Labels)) {
				bad("rocksdb: Service %s does not select the pod", s.Name)
			}
		}
	}
	if !found {
		bad("rocksdb: serviceName %q is not a rendered Service", w.STS.Spec.ServiceName)
	}
}

func checkAzure(r *Rendered, w Workload, env map[string]corev1.EnvVar, bad func(string, ...any)) {
	if w.Deploy == nil {
		bad("azure: the workload must be a Deployment")
		return
	}
	if w.Deploy.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		bad("azure: strategy must be Recreate (two replicas must never overlap)")
	}
	cs, ok := env["TASKHUB_AZURE_STORAGE_CONNECTION_STRING"]
	if !ok {
		bad("azure: TASKHUB_AZURE_STORAGE_CONNECTION_STRING unset")
		return
	}
	if cs.Value != "" || cs.ValueFrom == nil || cs.ValueFrom.SecretKeyRef == nil {
		bad("azure: the connection string must come from a Secret (secretKeyRef), not a literal")
		return
	}
	ref := cs.ValueFrom.SecretKeyRef
	s := r.secret(ref.Name)
	if s == nil {
		bad("azure: Secret %q is not rendered", ref.Name)
		return
	}
	_, inData := s.Data[ref.Key]
	_, inString := s.StringData[ref.Key]
	if !inData && !inString {
		bad("azure: Secret %q has no key %q", ref.Name, ref.Key)
	}
	if p, ok := env["TASKHUB_PARTITION_COUNT"]; ok {
		if n, err := strconv.Atoi(p.Value); err != nil || n < 1 || n > 16 {
			bad("azure: TASKHUB_PARTITION_COUNT %q not in 1-16", p.Value)
		}
	}
}

// checkHTTPReadiness: GET /readyz on the port of TASKHUB_HTTP_LISTEN (a port number, or a
// named container port that is that number), plain HTTP unless TLS is on.
func checkHTTPReadiness(c *corev1.Container, env map[string]corev1.EnvVar, g *corev1.HTTPGetAction,
	bad func(string, ...any)) {
	if g.Path != "/readyz" {
		bad("taskhubd: HTTP readinessProbe must GET /readyz, not %q", g.Path)
	}
	l, ok := env["TASKHUB_HTTP_LISTEN"]
	if !ok {
		bad("taskhubd: HTTP readinessProbe but TASKHUB_HTTP_LISTEN unset (the HTTP server is off)")
		return
	}
	i := strings.LastIndex(l.Value, ":")
	port, err := strconv.Atoi(l.Value[i+1:])
	if i < 0 || err != nil {
		bad("taskhubd: TASKHUB_HTTP_LISTEN %q is not host:port", l.Value)
		return
	}
	if h := l.Value[:i]; h == "127.0.0.1" || h == "localhost" || h == "[::1]" {
		bad("taskhubd: TASKHUB_HTTP_LISTEN %q is loopback: the kubelet's probe cannot reach it", l.Value)
	}
	probed := g.Port.IntValue()
	if g.Port.StrVal != "" {
		probed = -1
		for _, cp := range c.Ports {
			if cp.Name == g.Port.StrVal {
				probed = int(cp.ContainerPort)
			}
		}
	}
	if probed != port {
		bad("taskhubd: readinessProbe GETs port %s, the HTTP server listens on %d", g.Port.String(), port)
	}
}
