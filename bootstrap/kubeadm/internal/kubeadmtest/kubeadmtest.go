// Package kubeadmtest runs the real validators over what the kubeadm
// bootstrap provider renders: the pinned `kubeadm config validate` (bin/kubeadm,
// built by hack/tools/ensure.sh when missing) over kubeadm configurations and
// `cloud-init schema` over cloud-configs. Every test package of the provider
// uses this one copy, so a golden file passes or fails the same way wherever
// it is checked.
package kubeadmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/podcluster/podcluster/cmd/podcluster/client/tools"
	"github.com/podcluster/podcluster/test/testenv"
)

// kubeadmConfigDir is where every cloud-config the provider renders writes
// its kubeadm configuration on the machine.
const kubeadmConfigDir = "/run/kubeadm/"

// ValidateKubeadmConfig fails t unless the pinned kubeadm accepts config, a
// multi-document kubeadm configuration.
func ValidateKubeadmConfig(t testing.TB, config []byte) {
	t.Helper()
	kubeadm, err := testenv.Tool("kubeadm")
	if err != nil {
		t.Fatalf("finding kubeadm: %v", err)
	}
	validateWith(t, kubeadm, config)
}

// ValidateKubeadmV130Config fails t unless kubeadm v1.30, the last that
// reads only kubeadm.k8s.io/v1beta3, accepts config. That kubeadm is built
// on first use (hack/tools/ensure.sh kubeadm-v1.30, a few minutes once, then
// cached with the other tools).
func ValidateKubeadmV130Config(t testing.TB, config []byte) {
	t.Helper()
	var progress strings.Builder
	dir, err := tools.EnsureBinDir(&progress, "kubeadm-v1.30")
	if err != nil {
		t.Fatalf("building kubeadm v1.30: %v\n%s", err, progress.String())
	}
	validateWith(t, filepath.Join(dir, "kubeadm-v1.30"), config)
}

func validateWith(t testing.TB, kubeadm string, config []byte) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "kubeadm.yaml")
	if err := os.WriteFile(file, config, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(kubeadm, "config", "validate", "--config", file).CombinedOutput(); err != nil {
		t.Fatalf("kubeadm config validate: %v\n%s\n--- configuration:\n%s", err, out, config)
	}
}

// ValidateCloudConfig fails t unless `cloud-init schema` accepts the
// cloud-config in file. A missing cloud-init fails the test rather than
// skipping it, because the schema check is part of what the tests prove.
func ValidateCloudConfig(t testing.TB, file string) {
	t.Helper()
	cloudInit, err := exec.LookPath("cloud-init")
	if err != nil {
		t.Fatal("cloud-init is not installed; run hack/ensure-test-packages.sh")
	}
	out, err := exec.Command(cloudInit, "schema", "--config-file", file).CombinedOutput()
	// The output is read as well as the exit code, so that a reported
	// problem never passes quietly.
	if err != nil || strings.Contains(string(out), "Invalid") || strings.Contains(string(out), "Error") {
		t.Fatalf("cloud-init schema %s: %v\n%s", file, err, out)
	}
}

// KubeadmConfigOf returns the kubeadm configuration a cloud-config writes
// under /run/kubeadm/, failing t when there is not exactly one.
func KubeadmConfigOf(t testing.TB, cloudConfig []byte) []byte {
	t.Helper()
	var doc struct {
		WriteFiles []struct {
			Path    string `json:"path"`
			Content string `json:"content"`
		} `json:"write_files"`
	}
	if err := yaml.Unmarshal(cloudConfig, &doc); err != nil {
		t.Fatalf("parsing the cloud-config: %v", err)
	}
	var found []string
	for _, f := range doc.WriteFiles {
		if strings.HasPrefix(f.Path, kubeadmConfigDir) {
			found = append(found, f.Content)
		}
	}
	if len(found) != 1 {
		t.Fatalf("the cloud-config writes %d files under %s, want 1", len(found), kubeadmConfigDir)
	}
	return []byte(found[0])
}
