// Package e2e runs the seed walkthrough against `podcluster up` in simulated
// mode: one management plane for the suite (etcd, kube-apiserver,
// kube-controller-manager, every provider and the simulated runtime), driven
// only through the API, as kubectl would.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/cmd/podcluster/app/up"
	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
	"github.com/podcluster/podcluster/cmd/podcluster/client/tools"
	"github.com/podcluster/podcluster/internal/scheme"
	"github.com/podcluster/podcluster/test/sim"
)

var (
	c          client.Client
	kubeconfig string
	root       string
	bin        string
	// simDir is the simulated runtime's scratch directory: the boot of node
	// Pod ns/name left its root in simDir/ns/name/root.
	simDir string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	wd, _ := os.Getwd()
	var err error
	if root, err = tools.RepoRoot(wd); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if bin, err = tools.EnsureBinDir(os.Stderr, "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	state, err := os.MkdirTemp("", "podcluster-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(state) }()
	kubeconfig = filepath.Join(state, "kubeconfig")
	simDir = filepath.Join(state, "sim")

	// up writes its output from goroutines of its own while this one waits
	// for the ready line in it.
	logs := newUpOutput(readyLine)
	cmd := up.NewCommand(streams.IO{Out: logs, ErrOut: logs})
	cmd.SetArgs([]string{"--state-dir", state})
	ctx, cancel := context.WithCancel(context.Background())
	cmd.SetContext(ctx)
	done := make(chan struct{})
	var upErr error
	go func() {
		defer close(done)
		upErr = cmd.Execute()
	}()
	defer func() {
		cancel()
		<-done
		if upErr != nil {
			fmt.Fprintf(os.Stderr, "podcluster up: %v\n", upErr)
		}
	}()

	timeout := time.NewTimer(3 * time.Minute)
	defer timeout.Stop()
	select {
	case <-logs.ready:
	case <-done:
		fmt.Fprintf(os.Stderr, "podcluster up stopped before the plane was ready:\n%s", logs)
		return 1
	case <-timeout.C:
		fmt.Fprintf(os.Stderr, "podcluster up did not get ready:\n%s", logs)
		return 1
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if c, err = client.New(cfg, client.Options{Scheme: scheme.New()}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func newNamespace(t *testing.T) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"}}
	NewWithT(t).Expect(c.Create(context.Background(), ns)).To(Succeed())
	return ns.Name
}

func applySeed(g Gomega, ns string) {
	objs, err := manifest.ReadPaths(filepath.Join(root, "examples", "seed"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(manifest.Apply(context.Background(), c, ns, objs...)).To(Succeed())
}

func machines(g Gomega, ns string) []clusterv1.Machine {
	list := &clusterv1.MachineList{}
	g.Expect(c.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
	return list.Items
}

func condition(conds []metav1.Condition, t string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// waitForWorkers waits until the namespace has n Running, Available workers and
// the control-plane Machine.
func waitForWorkers(g Gomega, ns string, n int) {
	g.Eventually(func(g Gomega) {
		ms := machines(g, ns)
		g.Expect(ms).To(HaveLen(n + 1))
		for _, m := range ms {
			g.Expect(m.Status.Phase).To(Equal("Running"), m.Name)
			a := condition(m.Status.Conditions, clusterv1.AvailableCondition)
			g.Expect(a).NotTo(BeNil(), m.Name)
			g.Expect(a.Status).To(Equal(metav1.ConditionTrue), m.Name)
		}
	}, 3*time.Minute, time.Second).Should(Succeed())
}

// workloadNodes lists the Ready Nodes of the seed's workload cluster through
// its kubeconfig Secret.
func workloadNodes(g Gomega, ns string) []string {
	return readyNodesOf(g, c, ns, "example")
}

func kubectl(g Gomega, args ...string) string {
	cmd := exec(filepath.Join(bin, "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))
	return string(out)
}

// TestSeedWalkthrough: the seed's cluster comes up, is shown by kubectl, and
// scales with the delete-machine annotation honoured; then deleting the
// Cluster removes everything, and its API server stops.
func TestSeedWalkthrough(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	applySeed(g, ns)

	waitForWorkers(g, ns, 3)
	g.Eventually(func(g Gomega) {
		cl := &clusterv1.Cluster{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "example"}, cl)).To(Succeed())
		g.Expect(cl.Status.Phase).To(Equal("Provisioned"))
		md := &clusterv1.MachineDeployment{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "worker"}, md)).To(Succeed())
		g.Expect(md.Status.Phase).To(Equal("Running"))
		g.Expect(workloadNodes(g, ns)).To(HaveLen(4))
	}, time.Minute, time.Second).Should(Succeed())

	out := kubectl(g, "get", "clusters,machines,kubernetesmachines,pods", "-n", ns)
	for _, want := range []string{"Provisioned", "Running", "kubernetes://" + ns + "/controller", "controller"} {
		g.Expect(out).To(ContainSubstring(want))
	}

	// Scale to 5, then to 1 keeping the unmarked Machine.
	kubectl(g, "scale", "machinedeployment/worker", "-n", ns, "--replicas=5")
	waitForWorkers(g, ns, 5)
	var keep string
	for _, m := range machines(g, ns) {
		if _, cp := m.Labels[clusterv1.MachineControlPlaneLabel]; cp {
			continue
		}
		if keep == "" {
			keep = m.Name
			continue
		}
		kubectl(g, "annotate", "machine/"+m.Name, "-n", ns, clusterv1.DeleteMachineAnnotation+"=yes")
	}
	kubectl(g, "scale", "machinedeployment/worker", "-n", ns, "--replicas=1")
	waitForWorkers(g, ns, 1)
	names := []string{}
	for _, m := range machines(g, ns) {
		names = append(names, m.Name)
	}
	g.Expect(names).To(ConsistOf("controller", keep))

	// An annotation added to the template reaches the worker in place: the
	// same Machine carries it.
	kubectl(g, "patch", "machinedeployment/worker", "-n", ns, "--type=merge", "-p", `{"spec":{"template":{"metadata":{"annotations":{"rev":"2"}}}}}`)
	g.Eventually(func(g Gomega) {
		for _, m := range machines(g, ns) {
			if _, cp := m.Labels[clusterv1.MachineControlPlaneLabel]; !cp {
				g.Expect(m.Name).To(Equal(keep))
				g.Expect(m.Annotations).To(HaveKeyWithValue("rev", "2"))
			}
		}
	}, 3*time.Minute, time.Second).Should(Succeed())
	waitForWorkers(g, ns, 1)

	// Delete the Cluster: nothing is left, and its API server stops.
	server := ""
	{
		kcl := &infrav1.KubernetesCluster{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "example"}, kcl)).To(Succeed())
		server = fmt.Sprintf("%s:%d", kcl.Spec.ControlPlaneEndpoint.Host, kcl.Spec.ControlPlaneEndpoint.Port)
	}
	g.Expect(c.Delete(ctx, &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "example"}})).To(Succeed())
	g.Eventually(func(g Gomega) {
		for _, list := range []client.ObjectList{&clusterv1.ClusterList{}, &clusterv1.MachineList{}, &clusterv1.MachineSetList{},
			&clusterv1.MachineDeploymentList{}, &bootstrapv1.KubeadmConfigList{}, &infrav1.KubernetesMachineList{},
			&infrav1.KubernetesClusterList{}, &corev1.PodList{}, &corev1.ServiceList{}, &corev1.PersistentVolumeClaimList{}} {
			g.Expect(c.List(ctx, list, client.InNamespace(ns))).To(Succeed())
			g.Expect(meta(list)).To(BeZero(), "%T", list)
		}
	}, 3*time.Minute, time.Second).Should(Succeed())
	g.Eventually(func() error { return dial(server) }, time.Minute, time.Second).ShouldNot(Succeed(), "the workload API server should stop")
}

// TestInjectedBootstrapFailure: a bootstrap failure shows the failing step's
// output in the KubernetesMachine's and the Machine's conditions.
func TestInjectedBootstrapFailure(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	applySeed(g, ns)
	waitForWorkers(g, ns, 3)

	const failure = "kubeadm join: preflight check failed (injected by the e2e test)"
	kmt := &infrav1.KubernetesMachineTemplate{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "worker"}, kmt)).To(Succeed())
	// Template specs are immutable: the failing machines come from a new template.
	failing := &infrav1.KubernetesMachineTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "worker-failing"},
		Spec: infrav1.KubernetesMachineTemplateSpec{Template: infrav1.KubernetesMachineTemplateResource{
			Metadata: clusterv1.ObjectMeta{Annotations: map[string]string{sim.FailBootstrapAnnotation: failure}},
			Spec:     kmt.Spec.Template.Spec}}}
	g.Expect(c.Create(ctx, failing)).To(Succeed())
	kubectl(g, "patch", "machinedeployment/worker", "-n", ns, "--type=merge", "-p",
		`{"spec":{"template":{"spec":{"infrastructureRef":{"name":"worker-failing"}}}}}`)

	g.Eventually(func(g Gomega) {
		found := false
		for _, m := range machines(g, ns) {
			if m.Spec.InfrastructureRef.Name == "worker-failing" || strings.Contains(fmt.Sprint(m.Status.Conditions), failure) {
				km := &infrav1.KubernetesMachine{}
				g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: m.Name}, km)).To(Succeed())
				if cond := condition(km.Status.Conditions, "BootstrapSucceeded"); cond != nil && strings.Contains(cond.Message, failure) {
					mc := condition(m.Status.Conditions, clusterv1.MachineInfrastructureReadyCondition)
					g.Expect(mc).NotTo(BeNil())
					g.Expect(mc.Message).To(ContainSubstring(failure))
					found = true
				}
			}
		}
		g.Expect(found).To(BeTrue(), "a Machine reports the injected failure")
	}, 3*time.Minute, time.Second).Should(Succeed())
	// Availability held: the old workers are still there.
	g.Expect(len(workloadNodes(g, ns))).To(BeNumerically(">=", 4))
}

// TestFailingPreKubeadmCommandIsGonePast: workers whose KubeadmConfigTemplate
// has a preKubeadmCommand that fails (played by the simulated runtime's
// FailCommandAnnotation) still join, as with cloud-init, which runs runcmd
// without errexit; the node's boot log says the command failed.
func TestFailingPreKubeadmCommandIsGonePast(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	applySeed(g, ns)
	waitForWorkers(g, ns, 3)

	const pre = "echo podcluster-e2e-failing-pre-command"
	kct := &bootstrapv1.KubeadmConfigTemplate{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "worker"}, kct)).To(Succeed())
	spec := kct.Spec.Template.Spec
	spec.PreKubeadmCommands = []string{pre}
	g.Expect(c.Create(ctx, &bootstrapv1.KubeadmConfigTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "worker-pre"},
		Spec: bootstrapv1.KubeadmConfigTemplateSpec{Template: bootstrapv1.KubeadmConfigTemplateResource{Spec: spec}}})).To(Succeed())
	kmt := &infrav1.KubernetesMachineTemplate{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "worker"}, kmt)).To(Succeed())
	g.Expect(c.Create(ctx, &infrav1.KubernetesMachineTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "worker-pre"},
		Spec: infrav1.KubernetesMachineTemplateSpec{Template: infrav1.KubernetesMachineTemplateResource{
			Metadata: clusterv1.ObjectMeta{Annotations: map[string]string{sim.FailCommandAnnotation: pre}},
			Spec:     kmt.Spec.Template.Spec}}})).To(Succeed())
	kubectl(g, "patch", "machinedeployment/worker", "-n", ns, "--type=merge", "-p",
		`{"spec":{"template":{"spec":{"bootstrap":{"configRef":{"name":"worker-pre"}},"infrastructureRef":{"name":"worker-pre"}}}}}`)

	// The rollout finishes: three Running workers, all cloned from the new
	// templates (their KubernetesMachines carry the template's annotation).
	var workers []string
	g.Eventually(func(g Gomega) {
		workers = nil
		for _, m := range machines(g, ns) {
			if _, cp := m.Labels[clusterv1.MachineControlPlaneLabel]; cp {
				continue
			}
			km := &infrav1.KubernetesMachine{}
			g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: m.Spec.InfrastructureRef.Name}, km)).To(Succeed())
			g.Expect(km.Annotations).To(HaveKey(sim.FailCommandAnnotation), m.Name)
			g.Expect(m.Status.Phase).To(Equal("Running"), m.Name)
			workers = append(workers, m.Name)
		}
		g.Expect(workers).To(HaveLen(3))
	}, 5*time.Minute, time.Second).Should(Succeed())
	for _, name := range workers {
		log, err := os.ReadFile(filepath.Join(simDir, ns, name, "root", "var/log/podcluster-bootstrap.log"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(log)).To(ContainSubstring(pre+" failed with exit code 1; going on"), name)
	}
}

// TestInjectedNodeNotReady: a Node that goes NotReady shows in its Machine's
// NodeReady, NodeHealthy and Ready conditions.
func TestInjectedNodeNotReady(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	applySeed(g, ns)
	waitForWorkers(g, ns, 3)
	var victim string
	for _, m := range machines(g, ns) {
		if _, cp := m.Labels[clusterv1.MachineControlPlaneLabel]; !cp {
			victim = m.Name
			break
		}
	}
	kubectl(g, "annotate", "kubernetesmachine/"+victim, "-n", ns, sim.NodeNotReadyAnnotation+"=kubelet stopped (e2e)")
	g.Eventually(func(g Gomega) {
		m := &clusterv1.Machine{}
		g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: victim}, m)).To(Succeed())
		for _, t := range []string{clusterv1.MachineNodeReadyCondition, clusterv1.MachineNodeHealthyCondition, clusterv1.ReadyCondition} {
			cond := condition(m.Status.Conditions, t)
			g.Expect(cond).NotTo(BeNil(), t)
			g.Expect(cond.Status).To(Equal(metav1.ConditionFalse), t)
		}
		g.Expect(condition(m.Status.Conditions, clusterv1.MachineNodeReadyCondition).Message).To(ContainSubstring("kubelet stopped (e2e)"))
	}, time.Minute, time.Second).Should(Succeed())
}

// TestTemplateMetadataChangesInPlace: a label and an annotation added to the
// workers' MachineDeployment template reach the 3 worker Machines in place,
// as upstream propagates them: no Machine is replaced, the KubernetesMachines
// carry them too, and the label (a node.cluster.x-k8s.io one) reaches the
// Nodes.
func TestTemplateMetadataChangesInPlace(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	applySeed(g, ns)
	waitForWorkers(g, ns, 3)
	old := map[string]bool{}
	for _, m := range machines(g, ns) {
		old[m.Name] = true
	}
	const label = "node.cluster.x-k8s.io/tier"
	kubectl(g, "patch", "machinedeployment/worker", "-n", ns, "--type=merge", "-p",
		`{"spec":{"template":{"metadata":{"labels":{"`+label+`":"gold"},"annotations":{"rev":"2"}}}}}`)
	g.Eventually(func(g Gomega) {
		workers := 0
		for _, m := range machines(g, ns) {
			if _, cp := m.Labels[clusterv1.MachineControlPlaneLabel]; cp {
				continue
			}
			workers++
			g.Expect(old).To(HaveKey(m.Name), "Machine %s replaced one of the workers", m.Name)
			g.Expect(m.Labels).To(HaveKeyWithValue(label, "gold"), m.Name)
			g.Expect(m.Annotations).To(HaveKeyWithValue("rev", "2"), m.Name)
			km := &infrav1.KubernetesMachine{}
			g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: m.Spec.InfrastructureRef.Name}, km)).To(Succeed())
			g.Expect(km.Labels).To(HaveKeyWithValue(label, "gold"), km.Name)
			g.Expect(km.Annotations).To(HaveKeyWithValue("rev", "2"), km.Name)
		}
		g.Expect(workers).To(Equal(3))
		nodes := &corev1.NodeList{}
		g.Expect(workloadClientOf(g, c, ns, "example").List(ctx, nodes, client.MatchingLabels{label: "gold"})).To(Succeed())
		g.Expect(nodes.Items).To(HaveLen(3))
		sets := &clusterv1.MachineSetList{}
		g.Expect(c.List(ctx, sets, client.InNamespace(ns))).To(Succeed())
		g.Expect(sets.Items).To(HaveLen(1), "no new MachineSet")
	}, 3*time.Minute, time.Second).Should(Succeed())
}

// TestRollingUpdateKeepsAvailability: a template change (here the
// infrastructure template) rolls all 3 workers to new Machines; with the
// defaults (maxSurge 1, maxUnavailable 0) there are never fewer than 3
// available workers nor more than 4 workers.
func TestRollingUpdateKeepsAvailability(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	applySeed(g, ns)
	waitForWorkers(g, ns, 3)
	old := map[string]bool{}
	for _, m := range machines(g, ns) {
		old[m.Name] = true
	}
	// Labels and annotations change Machines in place; another template does not.
	kmt := &infrav1.KubernetesMachineTemplate{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "worker"}, kmt)).To(Succeed())
	g.Expect(c.Create(ctx, &infrav1.KubernetesMachineTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "worker-2"},
		Spec: kmt.Spec})).To(Succeed())
	kubectl(g, "patch", "machinedeployment/worker", "-n", ns, "--type=merge", "-p", `{"spec":{"template":{"spec":{"infrastructureRef":{"name":"worker-2"}}}}}`)
	minAvailable, maxWorkers := 3, 0
	g.Eventually(func(g Gomega) {
		workers, available, replaced := 0, 0, 0
		for _, m := range machines(g, ns) {
			if _, cp := m.Labels[clusterv1.MachineControlPlaneLabel]; cp {
				continue
			}
			workers++
			if a := condition(m.Status.Conditions, clusterv1.AvailableCondition); a != nil && a.Status == metav1.ConditionTrue && m.DeletionTimestamp.IsZero() {
				available++
			}
			if !old[m.Name] && m.Spec.InfrastructureRef.Name != "" && templateOf(g, ns, m.Spec.InfrastructureRef.Name) == "worker-2" {
				replaced++
			}
		}
		minAvailable, maxWorkers = min(minAvailable, available), max(maxWorkers, workers)
		g.Expect(replaced).To(Equal(3))
		g.Expect(workers).To(Equal(3))
		g.Expect(available).To(Equal(3))
	}, 3*time.Minute, 200*time.Millisecond).Should(Succeed())
	g.Expect(minAvailable).To(Equal(3), "availability dropped during the rollout")
	g.Expect(maxWorkers).To(BeNumerically("<=", 4), "the rollout surged by more than one")
}

// templateOf names the template a KubernetesMachine was cloned from.
func templateOf(g Gomega, ns, name string) string {
	km := &infrav1.KubernetesMachine{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, km)).To(Succeed())
	return km.Annotations[clusterv1.TemplateClonedFromNameAnnotation]
}
