package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/format"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/cmd/podcluster/client/tools"
)

// clusterctlBinary returns upstream's clusterctl, built once into the tools
// cache from its Go module (hack/tools/clusterctl), or taken from
// $PODCLUSTER_BIN_DIR when that is set.
func clusterctlBinary(t *testing.T) string {
	t.Helper()
	var progress bytes.Buffer
	dir, err := tools.EnsureBinDir(&progress, "clusterctl")
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if progress.Len() > 0 {
		t.Log(progress.String())
	}
	return filepath.Join(dir, "clusterctl")
}

// clusterctl runs upstream's clusterctl against the suite's plane, with a
// configuration folder of its own so that it never reads or writes the
// user's ~/.config/cluster-api.
func clusterctl(t *testing.T, g Gomega, binary string, args ...string) string {
	t.Helper()
	cmd := exec(binary, append(args, "--kubeconfig", kubeconfig)...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "CLUSTERCTL_DISABLE_VERSIONCHECK=true")
	out, err := cmd.CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), "clusterctl %v:\n%s", args, out)
	return string(out)
}

// TestClusterctl: upstream's own clusterctl reads a podcluster plane as it
// reads an upstream one. `clusterctl describe cluster` draws the seed's
// cluster with its infrastructure, the MachineDeployment and every Machine
// (it lists MachinePools too, so this fails without that CRD), and
// `clusterctl get kubeconfig` prints the `<cluster>-kubeconfig` Secret.
//
// The seed's control-plane Machine is made by hand, not by a control-plane
// provider, so the Cluster has no controlPlaneRef; clusterctl then puts that
// Machine in its "Other" group under Workers, as it does for such a cluster
// of upstream's (docs/decisions.md). A KubeadmControlPlane's Machines are
// drawn under the control plane: TestKCP checks that.
func TestClusterctl(t *testing.T) {
	format.MaxLength = 0
	binary := clusterctlBinary(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	applySeed(g, ns)
	waitForWorkers(g, ns, 3)

	// The Cluster's counts follow its Machines' by a moment.
	var out string
	g.Eventually(func(g Gomega) {
		out = clusterctl(t, g, binary, "describe", "cluster", "example", "-n", ns, "--grouping=false", "--show-conditions", "all")
		g.Expect(out).To(MatchRegexp(`Cluster `+ns+`/example\s+4/4\s+4\s+4\s+4`), out)
	}, time.Minute, time.Second).Should(Succeed())
	g.Expect(out).To(ContainSubstring("KubernetesCluster "+ns+"/example"), out)
	g.Expect(out).To(MatchRegexp(`MachineDeployment `+ns+`/worker, v1\.\d+\.\d+\s+3/3`), out)
	for _, m := range machines(g, ns) {
		g.Expect(out).To(ContainSubstring("Machine "+ns+"/"+m.Name), out)
	}
	g.Expect(out).To(MatchRegexp(`Available\s+True\s+Available`), out)

	got := clusterctl(t, g, binary, "get", "kubeconfig", "example", "-n", ns)
	secret := &corev1.Secret{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "example-kubeconfig"}, secret)).To(Succeed())
	// clusterctl prints the Secret's value and a line break.
	g.Expect(strings.TrimSpace(got)).To(Equal(strings.TrimSpace(string(secret.Data["value"]))))
}
