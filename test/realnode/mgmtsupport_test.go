package realnode

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/cmd/podcluster/client/mgmtnode"
	"github.com/podcluster/podcluster/test/testenv"
)

// Helpers of the walkthroughs on a management node (`podcluster up
// --runtime=real`).

// requireManagementNodeHost skips the test where a management node cannot
// run (see requireHost), and where other work on the host holds nearly all of
// root's inotify instances: then containerd's CRI plugin and the nodes'
// systemd fail at once. That is a busy host, not a broken product, and the
// limit is the host's. It returns the checkout's root.
func requireManagementNodeHost(t *testing.T) string {
	t.Helper()
	requireHost(t)
	if free, ok := mgmtnode.FreeInotifyInstances(); ok && free < mgmtnode.InotifyInstancesNeeded {
		t.Skipf("only about %d inotify instances are left for root (fs.inotify.max_user_instances); the management node "+
			"and its Pods need about %d", free, mgmtnode.InotifyInstancesNeeded)
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// expectHostUnchanged snapshots the host now and registers the check that,
// once everything registered after it has been cleaned up (up stopped), the
// host is as before: its kernel settings, mounts, interfaces, routes and
// network namespaces, no process naming stateDir, and no cgroup of the
// management node. Call it before starting up.
func expectHostUnchanged(t *testing.T, stateDir string) {
	t.Helper()
	before := snapshotHost(t)
	t.Cleanup(func() {
		if changed := before.changes(snapshotHost(t)); len(changed) > 0 {
			t.Errorf("the host changed:\n%s", strings.Join(changed, "\n"))
		}
		if procs := processesMentioning(stateDir); len(procs) > 0 {
			t.Errorf("processes left running:\n%s", strings.Join(procs, "\n"))
		}
		if dirs := cgroupDirs(mgmtnode.CgroupRootPrefix + mgmtnode.DefaultNodeName); len(dirs) > 0 {
			t.Errorf("cgroups left behind: %v", dirs)
		}
	})
}

// buildPodcluster builds the podcluster binary of the checkout at root.
func buildPodcluster(t *testing.T, root string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "podcluster")
	build := exec.Command("go", "build", "-o", bin, "./cmd/podcluster")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building podcluster: %v\n%s", err, out)
	}
	return bin
}

// waitForUp waits until up has started the plane and the management node
// (and applied what it was given), and fails the test if up exits first.
func waitForUp(ctx context.Context, t *testing.T, up *upProcess) {
	t.Helper()
	waitFor(ctx, t, 10*time.Minute, "the plane and the management node", func() (bool, string) {
		if up.exited() {
			t.Fatalf("podcluster up exited early:\n%s", tail(up.stderr(), 40))
		}
		out, _ := os.ReadFile(up.stdoutPath)
		return strings.Contains(string(out), "The management plane is ready"), tail(up.stderr(), 1)
	})
}

// workloadClient reads the Cluster's <cluster>-kubeconfig Secret, once there,
// and returns a client of the workload cluster through it, from the host.
func workloadClient(ctx context.Context, t *testing.T, c client.Client, key client.ObjectKey) (kubernetes.Interface, string) {
	t.Helper()
	secret := &corev1.Secret{}
	waitFor(ctx, t, 10*time.Minute, "the kubeconfig Secret of Cluster "+key.Name, func() (bool, string) {
		err := c.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: key.Name + "-kubeconfig"}, secret)
		return err == nil, fmt.Sprint(err)
	})
	cfg, err := clientcmd.RESTConfigFromKubeConfig(secret.Data["value"])
	if err != nil {
		t.Fatal(err)
	}
	cfg.Timeout = 10 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs, cfg.Host
}
