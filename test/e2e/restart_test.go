package e2e

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/scheme"
)

// The restart tests run `podcluster up` as processes of their own, each on a
// state folder of its own, next to the suite's plane: their simulated
// runtimes hand out other loopback addresses than the suite's.
const (
	// upReadyTimeout bounds a first start with the seed applied, which waits
	// for the Cluster, on two busy cores.
	upReadyTimeout = 5 * time.Minute
	// upStopTimeout bounds a graceful stop.
	upStopTimeout = 2 * time.Minute
	// resumeTimeout bounds the way back to Ready Nodes after a restart.
	resumeTimeout = 3 * time.Minute
)

// planeClient is a client of the plane of a state folder.
func planeClient(g Gomega, state string) client.Client {
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(state, "kubeconfig"))
	g.Expect(err).NotTo(HaveOccurred())
	mc, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	g.Expect(err).NotTo(HaveOccurred())
	return mc
}

// TestRestartAfterSIGTERM: up stops on SIGTERM, exits 0 and leaves no
// process behind; started again on the same state, the seed's cluster comes
// back with the same four Ready Nodes.
func TestRestartAfterSIGTERM(t *testing.T) {
	g := NewWithT(t)
	state := t.TempDir()
	sim := ownPlaneSimFlags(11, 12)

	first := startUp(t, state, append(sim, "--apply", filepath.Join(root, "examples", "seed"))...)
	first.waitReady(t, upReadyTimeout)
	mc := planeClient(g, state)
	var nodes []string
	g.Eventually(func(g Gomega) {
		nodes = readyNodesOf(g, mc, "default", "example")
		g.Expect(nodes).To(HaveLen(4))
	}, time.Minute, time.Second).Should(Succeed())

	groups := processGroups(first.cmd.Process.Pid)
	g.Expect(first.stop(t, syscall.SIGTERM, upStopTimeout)).To(Equal(0), "up should exit 0 on SIGTERM:\n%s", first.output)
	g.Expect(liveInGroups(groups, ^uint64(0))).To(BeEmpty(), "processes of the stopped up are left")

	start := time.Now()
	second := startUp(t, state, sim...)
	second.waitReady(t, upReadyTimeout)
	g.Eventually(func(g Gomega) {
		g.Expect(readyNodesOf(g, mc, "default", "example")).To(Equal(nodes))
	}, resumeTimeout, time.Second).Should(Succeed(), "the Nodes should be Ready again after the restart")
	t.Logf("restart: the 4 Nodes were Ready through the kubeconfig Secret %s after the second up started", time.Since(start).Round(100*time.Millisecond))

	groups = processGroups(second.cmd.Process.Pid)
	g.Expect(second.stop(t, syscall.SIGTERM, upStopTimeout)).To(Equal(0), "up should exit 0 on SIGTERM:\n%s", second.output)
	g.Expect(liveInGroups(groups, ^uint64(0))).To(BeEmpty(), "processes of the stopped up are left")
}

// TestKillDuringScaleUp: up killed with SIGKILL while a MachineDeployment
// scales from 3 to 6 and started again at once comes up, ends with exactly
// the desired Machines, and nothing of the killed run is left.
func TestKillDuringScaleUp(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	state := t.TempDir()
	sim := ownPlaneSimFlags(13, 14)

	first := startUp(t, state, append(sim, "--apply", filepath.Join(root, "examples", "seed"))...)
	first.waitReady(t, upReadyTimeout)
	mc := planeClient(g, state)
	g.Eventually(func(g Gomega) {
		g.Expect(readyNodesOf(g, mc, "default", "example")).To(HaveLen(4))
	}, time.Minute, time.Second).Should(Succeed())

	out, err := exec(filepath.Join(bin, "kubectl"), "--kubeconfig", filepath.Join(state, "kubeconfig"),
		"scale", "machinedeployment/worker", "-n", "default", "--replicas=6").CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))
	// Kill it mid-scale: once a new Machine exists that does not run yet.
	g.Eventually(func(g Gomega) {
		list := &clusterv1.MachineList{}
		g.Expect(mc.List(ctx, list, client.InNamespace("default"))).To(Succeed())
		g.Expect(len(list.Items)).To(BeNumerically(">", 4))
		pending := 0
		for _, m := range list.Items {
			if m.Status.Phase != "Running" {
				pending++
			}
		}
		g.Expect(pending).To(BeNumerically(">", 0))
	}, time.Minute, 50*time.Millisecond).Should(Succeed())
	groups := processGroups(first.cmd.Process.Pid)
	g.Expect(first.stop(t, syscall.SIGKILL, time.Minute)).To(Equal(-1), "killed by the signal")

	start := time.Now()
	second := startUp(t, state, sim...)
	second.waitReady(t, upReadyTimeout)
	t.Logf("kill -9: the second up was ready %s after it started", time.Since(start).Round(100*time.Millisecond))
	// Nothing of the first run, which all started before the second, is left.
	g.Expect(liveInGroups(groups, startTime(second.cmd.Process.Pid))).To(BeEmpty(), "processes of the killed up are left")

	desired := 6 + 1 // the workers and the control-plane Machine
	g.Eventually(func(g Gomega) {
		list := &clusterv1.MachineList{}
		g.Expect(mc.List(ctx, list, client.InNamespace("default"))).To(Succeed())
		g.Expect(list.Items).To(HaveLen(desired))
		for _, m := range list.Items {
			g.Expect(m.Status.Phase).To(Equal("Running"), m.Name)
		}
		g.Expect(readyNodesOf(g, mc, "default", "example")).To(HaveLen(desired))
	}, resumeTimeout, time.Second).Should(Succeed())
	t.Logf("kill -9: %d Machines Running and their Nodes Ready %s after the second up started", desired, time.Since(start).Round(100*time.Millisecond))
	g.Consistently(func(g Gomega) {
		list := &clusterv1.MachineList{}
		g.Expect(mc.List(ctx, list, client.InNamespace("default"))).To(Succeed())
		g.Expect(list.Items).To(HaveLen(desired))
	}, 3*time.Second, 500*time.Millisecond).Should(Succeed(), "no Machine beyond the desired ones")

	g.Expect(liveInGroups(groups, startTime(second.cmd.Process.Pid))).To(BeEmpty(), "processes of the killed up are left")
	groups = processGroups(second.cmd.Process.Pid)
	g.Expect(second.stop(t, syscall.SIGTERM, upStopTimeout)).To(Equal(0), "up should exit 0 on SIGTERM:\n%s", second.output)
	g.Expect(liveInGroups(groups, ^uint64(0))).To(BeEmpty(), "processes of the stopped up are left")
}
