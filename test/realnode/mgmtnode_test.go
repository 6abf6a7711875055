package realnode

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/internal/scheme"
)

const (
	// loadBalancerBase is where the management node's LoadBalancer addresses
	// start: the range this test may use on the host's loopback.
	loadBalancerBase = "127.71.1.1"
	// upStopTimeout bounds `podcluster up`'s stop: the node Pods' systemd
	// halts (10 s per unit at most), then containerd and the plane.
	upStopTimeout = 2 * time.Minute
)

// TestManagementNode runs `podcluster up --runtime=real` with the seed
// walkthrough for real nodes (examples/real: a Cluster of one control-plane
// Machine and a MachineDeployment of 3): the management node runs the
// infrastructure provider's node Pods for real, their systemd boots, the
// bootstrap units run kubeadm init and kubeadm join (through the LoadBalancer
// address), the Machines reach Running and the 4 workload Nodes are Ready,
// seen from the host through the cluster's <cluster>-kubeconfig Secret, with
// the control plane's static Pods, CoreDNS and kube-proxy Running. Then:
//   - a workload: a Deployment of 3 replicas of an image built here
//     (testdata/webapp) and loaded into the workers spreads over them, and a
//     Pod on one worker reaches a Pod on another by Pod IP and the Service by
//     its DNS name;
//   - a second cluster whose bootstrap fails on purpose
//     (testdata/bootstrap-failure.yaml) shows the failing step in its
//     Machine's conditions;
//   - the MachineDeployment scales 3→5→1 on real nodes;
//   - deleting the Cluster removes every node Pod, and the management node
//     keeps no container, Pod mount, Pod cgroup or network namespace of it.
//
// Stopping up must leave the host as it was: the kernel settings, mounts,
// interfaces, routes and network namespaces, and no process.
func TestManagementNode(t *testing.T) {
	root := requireManagementNodeHost(t)
	image, archive := nodeImage(t)
	ctrllog.SetLogger(logr.Discard())

	// Registered first, so it runs after up has stopped.
	stateDir := filepath.Join(t.TempDir(), "state")
	expectHostUnchanged(t, stateDir)

	work := t.TempDir()
	bin := buildPodcluster(t, root)
	webapp, webappArchive := buildWebappImage(t, root, work)
	manifestPath := filepath.Join(root, "examples", "real", "cluster.yaml")

	upStarted := time.Now()
	up := startUp(t, bin, stateDir, filepath.Dir(archive), manifestPath)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	waitForUp(ctx, t, up)
	applied := time.Now()
	t.Logf("plane and management node up, cluster applied, %s after up started:\n%s",
		applied.Sub(upStarted).Round(100*time.Millisecond), up.stderr())

	c, err := client.New(restConfig(t, filepath.Join(stateDir, "kubeconfig")), client.Options{Scheme: scheme.New()})
	if err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(stateDir, "node", "containerd", "containerd.sock")
	m := &mgmtView{t: t, c: c, socket: socket, cluster: "real", image: image}
	since := func() time.Duration { return time.Since(applied).Round(100 * time.Millisecond) }

	// The seed walkthrough: one control plane and 3 workers, for real.
	m.waitForNodePods(ctx, 1, 3, since)
	m.waitForMachines(ctx, 4)
	t.Logf("4 Machines Running %s after the apply", since())
	workload, host := workloadClient(ctx, t, c, client.ObjectKey{Namespace: "default", Name: "real"})
	waitForReadyNodes(ctx, t, workload, 4, 5*time.Minute)
	t.Logf("4 workload Nodes Ready (seen at %s) %s after the apply", host, since())
	waitForSystemPods(ctx, t, workload, 4)
	t.Logf("control-plane static Pods, CoreDNS and kube-proxy Running %s after the apply", since())

	// The real kubeadm init and join, in the nodes' journals.
	cp, workers := m.nodePods(ctx)
	m.checkJournal(ctx, cp[0], "Your Kubernetes control-plane has initialized successfully")
	for i := range workers {
		m.checkJournal(ctx, workers[i], "This node has joined the cluster")
	}

	// A workload of a locally built image, and the Pod network between the
	// workers (podcluster-network, which examples/real starts).
	for i := range workers {
		m.loadImage(ctx, workers[i], webappArchive)
	}
	t.Logf("%s loaded into the 3 workers", webapp)
	checkWorkload(ctx, t, workload, webapp, hostnames(workers), func() string { return m.networkDiagnostics(ctx) })
	t.Logf("the workload spread over the workers and reached a Pod of another worker and its Service %s after the apply", since())

	// A failing bootstrap on a real node: the failing step and its output, from
	// the node container's termination message, in the conditions.
	failApplied := time.Now()
	objs, err := manifest.ReadPaths(filepath.Join("testdata", "bootstrap-failure.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := manifest.Apply(ctx, c, "default", objs...); err != nil {
		t.Fatalf("applying testdata/bootstrap-failure.yaml: %v", err)
	}
	const wantFailure = "failed step: runcmd[1]: sh -c 'echo injected bootstrap failure >&2; exit 3'"
	waitFor(ctx, t, 5*time.Minute, "the Machine of the broken cluster to report the failed step", func() (bool, string) {
		machines := &clusterv1.MachineList{}
		if err := c.List(ctx, machines, client.MatchingLabels{clusterv1.ClusterNameLabel: "broken"}); err != nil || len(machines.Items) != 1 {
			return false, "no Machine yet"
		}
		for _, cond := range machines.Items[0].Status.Conditions {
			if cond.Type == clusterv1.MachineInfrastructureReadyCondition {
				return strings.Contains(cond.Message, wantFailure) && strings.Contains(cond.Message, "\ninjected bootstrap failure"),
					cond.Reason + ": " + cond.Message
			}
		}
		return false, "no InfrastructureReady condition"
	})
	// The KubernetesMachine's own condition, which the Machine's mirrors.
	kms := &infrav1.KubernetesMachineList{}
	if err := c.List(ctx, kms, client.MatchingLabels{clusterv1.ClusterNameLabel: "broken"}); err != nil || len(kms.Items) != 1 {
		t.Fatalf("the KubernetesMachine of the broken cluster: %d found, %v", len(kms.Items), err)
	}
	if cond := meta.FindStatusCondition(kms.Items[0].Status.Conditions, infrav1.KubernetesMachineBootstrapSucceededCondition); cond == nil ||
		cond.Status != metav1.ConditionFalse || cond.Reason != infrav1.KubernetesMachineBootstrapSucceededFailedReason ||
		!strings.Contains(cond.Message, wantFailure) || !strings.Contains(cond.Message, "\ninjected bootstrap failure") {
		t.Errorf("KubernetesMachine %s: %s is %+v, want False, %s, with the failed step and its output", kms.Items[0].Name,
			infrav1.KubernetesMachineBootstrapSucceededCondition, cond, infrav1.KubernetesMachineBootstrapSucceededFailedReason)
	}
	t.Logf("the failed bootstrap reached the KubernetesMachine's and the Machine's conditions %s after the apply",
		time.Since(failApplied).Round(100*time.Millisecond))
	m.deleteCluster(ctx, "broken")

	// Scaling on real nodes: 3 → 5 → 1 workers.
	for _, n := range []int32{5, 1} {
		scaled := time.Now()
		m.scaleWorkers(ctx, "real-worker", n)
		m.waitForNodePods(ctx, 1, int(n), since)
		m.waitForMachines(ctx, int(n)+1)
		waitForReadyNodes(ctx, t, workload, int(n)+1, 5*time.Minute)
		t.Logf("scaled to %d workers: %d Machines Running and %d workload Nodes Ready %s after the scale", n, n+1, n+1,
			time.Since(scaled).Round(100*time.Millisecond))
	}

	// Deleting the Cluster leaves nothing of it on the management node.
	deleted := time.Now()
	m.deleteCluster(ctx, "real")
	m.waitForNothingLeft(ctx, stateDir)
	t.Logf("the Cluster and everything of it gone %s after its deletion", time.Since(deleted).Round(100*time.Millisecond))

	stopped := time.Now()
	if err := up.stop(); err != nil {
		t.Errorf("stopping podcluster up: %v\n%s", err, tail(up.stderr(), 20))
	}
	t.Logf("podcluster up stopped in %s", time.Since(stopped).Round(100*time.Millisecond))
}

// upProcess is a running `podcluster up`.
type upProcess struct {
	cmd                    *exec.Cmd
	stdoutPath, stderrPath string
	done                   chan struct{}
	err                    error
}

// startUp starts `podcluster up --runtime=real`, applying manifest unless it
// is empty, with the extra flags, and registers its stop.
func startUp(t *testing.T, bin, stateDir, imageDir, manifest string, extra ...string) *upProcess {
	t.Helper()
	logs := t.TempDir()
	u := &upProcess{stdoutPath: filepath.Join(logs, "stdout"), stderrPath: filepath.Join(logs, "stderr"), done: make(chan struct{})}
	stdout, err := os.Create(u.stdoutPath)
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(u.stderrPath)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"up", "--runtime=real", "--state-dir", stateDir, "--node-image-dir", imageDir, "--wait=0"}
	if manifest != "" {
		args = append(args, "--apply", manifest)
	}
	u.cmd = exec.Command(bin, append(args, extra...)...)
	u.cmd.Env = append(os.Environ(), "PODCLUSTER_SIM_LOADBALANCER_BASE="+loadBalancerBase)
	u.cmd.Stdout, u.cmd.Stderr = stdout, stderr
	u.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := u.cmd.Start(); err != nil {
		t.Fatalf("starting podcluster up: %v", err)
	}
	go func() {
		u.err = u.cmd.Wait()
		_ = stdout.Close()
		_ = stderr.Close()
		close(u.done)
	}()
	t.Cleanup(func() {
		if err := u.stop(); err != nil {
			t.Errorf("stopping podcluster up: %v", err)
		}
		if t.Failed() {
			t.Logf("podcluster up (tail):\n%s", tail(u.stderr(), 40))
			for _, log := range []string{"node/logs/kubelet.log", "node/logs/containerd.log", "logs/providers.log"} {
				if b, err := os.ReadFile(filepath.Join(stateDir, log)); err == nil {
					t.Logf("%s (tail):\n%s", log, tail(string(b), 30))
				}
			}
		}
	})
	return u
}

func (u *upProcess) exited() bool {
	select {
	case <-u.done:
		return true
	default:
		return false
	}
}

func (u *upProcess) stderr() string {
	b, _ := os.ReadFile(u.stderrPath)
	return string(b)
}

// stop ends up as Ctrl-C would and waits; it kills it after upStopTimeout.
func (u *upProcess) stop() error {
	if u.exited() {
		return u.err
	}
	_ = u.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-u.done:
		return u.err
	case <-time.After(upStopTimeout):
		_ = u.cmd.Process.Kill()
		<-u.done
		return errors.New("podcluster up did not stop within " + upStopTimeout.String() + " of SIGTERM and was killed")
	}
}

// nodeExec runs a command in a node container of the management node's
// containerd.
func nodeExec(ctx context.Context, t *testing.T, socket, id string, args ...string) (string, error) {
	t.Helper()
	ctrArgs := append([]string{"--address", socket, "--namespace", "k8s.io", "tasks", "exec",
		"--fifo-dir", t.TempDir(), "--exec-id", "test-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")}, id)
	return run(ctx, "ctr", append(ctrArgs, args...)...)
}

func restConfig(t *testing.T, kubeconfig string) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
