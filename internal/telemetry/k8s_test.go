package telemetry

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// No Kubernetes cluster, Docker engine or schema download is to be had where the tests run:
// the files of deploy/ are checked by parsing every YAML file, decoding each Kubernetes manifest
// strictly into the API's own types (an unknown or misspelt field fails), and checking what the
// scale-out setup relies on.

func TestDeployYAMLParses(t *testing.T) {
	t.Parallel()
	root := mustRepoRoot(t)
	var files []string
	err := filepath.WalkDir(filepath.Join(root, "deploy"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".yml") || strings.HasSuffix(path, ".yaml")) {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found %d YAML files under deploy/, want the compose file, the manifests, Prometheus's and Alertmanager's", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := yaml.Unmarshal(data, &v); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// mustManifest decodes deploy/k8s/name strictly into obj.
func mustManifest(t *testing.T, name string, obj any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(mustRepoRoot(t), "deploy", "k8s", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := sigsyaml.UnmarshalStrict(data, obj); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func TestKubernetesManifests(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(filepath.Join(mustRepoRoot(t), "deploy", "k8s"))
	if err != nil {
		t.Fatal(err)
	}
	decoded := map[string]bool{}
	var dep appsv1.Deployment
	mustManifest(t, "deployment.yaml", &dep)
	decoded["deployment.yaml"] = true
	var svc corev1.Service
	mustManifest(t, "service.yaml", &svc)
	decoded["service.yaml"] = true
	var cm corev1.ConfigMap
	mustManifest(t, "configmap.yaml", &cm)
	decoded["configmap.yaml"] = true
	var sec corev1.Secret
	mustManifest(t, "secret.yaml", &sec)
	decoded["secret.yaml"] = true
	var pdb policyv1.PodDisruptionBudget
	mustManifest(t, "pdb.yaml", &pdb)
	decoded["pdb.yaml"] = true
	var hpa autoscalingv2.HorizontalPodAutoscaler
	mustManifest(t, "hpa.yaml", &hpa)
	decoded["hpa.yaml"] = true
	for _, e := range entries {
		if !decoded[e.Name()] {
			t.Errorf("deploy/k8s/%s is not decoded by this test", e.Name())
		}
	}

	for _, o := range []struct{ kind, got, want string }{
		{"Deployment", dep.Kind, "Deployment"}, {"Service", svc.Kind, "Service"}, {"ConfigMap", cm.Kind, "ConfigMap"},
		{"Secret", sec.Kind, "Secret"}, {"PodDisruptionBudget", pdb.Kind, "PodDisruptionBudget"}, {"HorizontalPodAutoscaler", hpa.Kind, "HorizontalPodAutoscaler"},
	} {
		if o.got != o.want {
			t.Errorf("%s: kind %q", o.kind, o.got)
		}
	}
	if len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("deployment: %d containers, want 1", len(dep.Spec.Template.Spec.Containers))
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/health/live" {
		t.Errorf("liveness probe: got %+v, want GET /health/live", c.LivenessProbe)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/health/ready" {
		t.Errorf("readiness probe: got %+v, want GET /health/ready", c.ReadinessProbe)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources: got %+v, want CPU and memory requests and a memory limit", c.Resources)
	}
	if sc := dep.Spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("pod security context: want runAsNonRoot")
	}
	sel := dep.Spec.Selector.MatchLabels
	for name, labels := range map[string]map[string]string{"service": svc.Spec.Selector, "pdb": pdb.Spec.Selector.MatchLabels, "pod template": dep.Spec.Template.Labels} {
		for k, v := range sel {
			if labels[k] != v {
				t.Errorf("%s: does not select the deployment's pods (%s=%s)", name, k, v)
			}
		}
	}
	if hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.ScaleTargetRef.Name != dep.Name {
		t.Errorf("hpa: scales %s %s, want the deployment %s", hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name, dep.Name)
	}
	// Every secret the pods read is in the Secret, and every ConfigMap key is a setting.
	for _, e := range c.Env {
		if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil {
			if _, ok := sec.StringData[r.SecretKeyRef.Key]; !ok {
				t.Errorf("env %s: key %s is not in the Secret", e.Name, r.SecretKeyRef.Key)
			}
		}
	}
	settingRE := regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	for k := range cm.Data {
		if !settingRE.MatchString(k) {
			t.Errorf("configmap: %q is not a setting's name", k)
		}
	}

	// A strict decode does catch a misspelt field.
	var bad appsv1.Deployment
	if err := sigsyaml.UnmarshalStrict([]byte("apiVersion: apps/v1\nkind: Deployment\nspec:\n  replica: 3\n"), &bad); err == nil {
		t.Error("a misspelt field decoded without an error")
	}
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(mustRepoRoot(t), "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" AS build", "CGO_ENABLED=0", "COPY --from=build", "\nUSER 65532", "\nHEALTHCHECK ", "probe"} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("Dockerfile: %q missing (multi-stage, static, non-root, health check)", want)
		}
	}
}

// mustAmtool is the path of amtool (Debian's prometheus-alertmanager, make deps).
func mustAmtool(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("amtool")
	if err == nil {
		return path
	}
	const msg = "amtool not found: run 'make deps' to install it"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestAlertmanagerRoutes checks deploy/alertmanager/alertmanager.yml with amtool, and that
// each alert rule lands on the receiver its severity intends.
func TestAlertmanagerRoutes(t *testing.T) {
	t.Parallel()
	amtool := mustAmtool(t)
	root := mustRepoRoot(t)
	conf := filepath.Join(root, "deploy", "alertmanager", "alertmanager.yml")
	if out, err := exec.Command(amtool, "check-config", conf).CombinedOutput(); err != nil {
		t.Fatalf("amtool check-config: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert  string            `yaml:"alert"`
				Labels map[string]string `yaml:"labels"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"page": "pager", "warning": "chat"}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			sev := r.Labels["severity"]
			receiver, ok := want[sev]
			if !ok {
				t.Errorf("%s: severity %q has no receiver meant for it", r.Alert, sev)
				continue
			}
			out, err := exec.Command(amtool, "config", "routes", "test", "--config.file="+conf,
				"--verify.receivers="+receiver, "alertname="+r.Alert, "severity="+sev, "service=fraudguard").CombinedOutput()
			if err != nil {
				t.Errorf("%s (severity %s): want receiver %s: %v\n%s", r.Alert, sev, receiver, err, out)
			}
		}
	}
	if n == 0 {
		t.Fatal("no alert rules found")
	}
}
