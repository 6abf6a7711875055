package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/cmd/podcluster/client/generate"
	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
)

// Autoscaler settings of the test: a scan every 2 s and scale-down as soon as
// a node has been unneeded for 5 s, where the defaults are 10 s and 10
// minutes. The client may send 50 requests a second rather than 5: the
// clusterapi provider runs API discovery (3 requests) each time it reads a
// node group's infrastructure template, a dozen times a loop with two node
// groups, and at 5 a second one loop took 10 s. Everything else is the
// autoscaler's default.
var autoscalerTimings = []string{
	"--kube-client-qps=50",
	"--kube-client-burst=100",
	"--scan-interval=2s",
	"--scale-down-delay-after-add=5s",
	"--scale-down-delay-after-delete=0s",
	"--scale-down-delay-after-failure=5s",
	"--scale-down-unneeded-time=5s",
	"--max-node-provision-time=5m",
	// A new worker is still starting while it carries the uninitialized
	// taint: its labels are not on it yet (docs/autoscaler.md).
	"--startup-taint=node.cluster.x-k8s.io/uninitialized",
}

// autoscalerStep bounds each step of the test: a scale decision, a node boot
// and the scheduler's binding, on a loaded 2-core machine.
const autoscalerStep = 5 * time.Minute

// The batch pool starts empty; its Nodes carry a label and a taint that only
// Pods asking for them get past.
const (
	batchPool      = "example-batch"
	batchLabel     = "node.cluster.x-k8s.io/pool"
	batchTaintKey  = "batch"
	workerPool     = "example-md-0"
	podCPU         = "600m" // of a 1-CPU node: one such Pod per node
	capacityLabels = "capacity.cluster-autoscaler.kubernetes.io/labels"
)

// TestAutoscaler: the real cluster-autoscaler, built from upstream source,
// drives a cluster of `podcluster generate cluster --flavor autoscale`
// through the clusterapi provider, with only the RBAC shipped in
// config/autoscaler. Three Pods that fit one node each scale the workers
// from 1 to 3 and are all bound; deleting two of them removes exactly the two
// emptied nodes' Machines; a Pod for a pool of minimum size 0 scales it up
// from zero onto a node that carries the label and taint the autoscaler
// promised it, and its deletion scales the pool back to zero. No pool ever
// goes past what the Pods need. Then a `kubectl scale` adds a Machine that
// was written as the autoscaler's was.
func TestAutoscaler(t *testing.T) {
	binary := autoscalerBinary(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)

	// The cluster: one control plane, workers of 1 CPU, between 1 and 5.
	out, err := generate.Render(generate.AutoscaleFlavor, map[string]string{
		generate.ClusterName: "example", generate.Namespace: ns, generate.NodeCPU: "1", generate.NodeMemory: "1Gi",
		generate.WorkerMachineMinCount: "1", generate.WorkerMachineMaxCount: "5",
	}, func(string) (string, bool) { return "", false })
	g.Expect(err).NotTo(HaveOccurred())
	objs, err := manifest.Decode(out)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(manifest.Apply(ctx, c, ns, objs...)).To(Succeed())
	t.Cleanup(func() {
		// Frees the workload cluster's processes for the tests after this one.
		_ = c.Delete(context.Background(), &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "example"}})
	})
	createBatchPool(g, ns)

	// Neither pool names its replicas: they start at their min-size.
	g.Eventually(func(g Gomega) {
		g.Expect(specReplicas(g, ns, workerPool)).To(BeEquivalentTo(1))
		g.Expect(specReplicas(g, ns, batchPool)).To(BeEquivalentTo(0))
	}, time.Minute, time.Second).Should(Succeed())
	waitForWorkers(g, ns, 1)
	wc, workloadKubeconfig := workloadCluster(g, ns, t.TempDir())

	// The autoscaler acts in the management cluster as a service account
	// that has only the shipped RBAC.
	cloudConfig := impersonatingKubeconfig(t, kubeconfig, "system:serviceaccount:"+ns+":cluster-autoscaler")
	applyAutoscalerRBAC(g, ns)

	before := machineNames(poolMachines(g, ns, workerPool))
	pools := samplePools(t, c, ns)
	ca := startAutoscaler(t, binary, append([]string{
		"--cloud-provider=clusterapi",
		"--cloud-config=" + cloudConfig,
		"--kubeconfig=" + workloadKubeconfig,
		"--node-group-auto-discovery=clusterapi:namespace=" + ns + ",clusterName=example",
		"--leader-elect=false",
		"--address=127.0.0.1:0",
		"--v=4",
	}, autoscalerTimings...)...)
	t.Cleanup(func() { t.Logf("spec.replicas over time:\n%s", pools.history()) })
	// Its first loop done, the autoscaler has written its status.
	g.Eventually(func(g Gomega) {
		g.Expect(ca.exitedEarly()).To(Succeed())
		g.Expect(wc.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: "cluster-autoscaler-status"}, &corev1.ConfigMap{})).To(Succeed())
	}, autoscalerStep, time.Second).Should(Succeed())
	// Each step's time since the change of the Pods, in order, for the log.
	var steps []string
	took := func(step string, since time.Time) {
		steps = append(steps, fmt.Sprintf("  %-34s %5.1fs", step, time.Since(since).Seconds()))
	}

	// Scale up: three Pods that need a node each.
	start := time.Now()
	for i := range 3 {
		createPod(g, wc, fmt.Sprintf("load-%d", i), nil)
	}
	g.Eventually(func(g Gomega) {
		g.Expect(ca.exitedEarly()).To(Succeed())
		g.Expect(specReplicas(g, ns, workerPool)).To(BeEquivalentTo(3))
	}, autoscalerStep, 200*time.Millisecond).Should(Succeed())
	took("scale-up 1→3: replicas", start)
	g.Eventually(func(g Gomega) {
		g.Expect(boundPods(g, wc, "load-0", "load-1", "load-2")).To(HaveLen(3))
	}, autoscalerStep, 200*time.Millisecond).Should(Succeed())
	took("scale-up 1→3: all Pods bound", start)
	waitForWorkers(g, ns, 3)
	took("scale-up 1→3: Machines Running", start)
	replicas, count := pools.peak(workerPool)
	g.Expect(replicas).To(BeEquivalentTo(3), "the workers went past the 3 nodes the Pods need")
	g.Expect(count).To(Equal(3), "the workers went past the 3 nodes the Pods need")
	replicas, count = pools.peak(batchPool)
	g.Expect([]int{int(replicas), count}).To(Equal([]int{0, 0}), "the batch pool scaled up for Pods it cannot take")
	scaledByAutoscaler := scaleWrite(t, g, ns, workerPool)
	var added *clusterv1.Machine
	for _, m := range poolMachines(g, ns, workerPool) {
		if !slices.Contains(before, m.Name) {
			added = m.DeepCopy()
			break
		}
	}
	g.Expect(added).NotTo(BeNil())

	// Scale down: two Pods go, and with them exactly their nodes.
	pods := boundPods(g, wc, "load-0", "load-1", "load-2")
	kept := pods["load-0"]
	pools.reset()
	start = time.Now()
	deletePods(g, wc, "load-1", "load-2")
	g.Eventually(func(g Gomega) {
		g.Expect(ca.exitedEarly()).To(Succeed())
		g.Expect(specReplicas(g, ns, workerPool)).To(BeEquivalentTo(1))
	}, autoscalerStep, 200*time.Millisecond).Should(Succeed())
	took("scale-down 3→1: replicas", start)
	g.Eventually(func(g Gomega) []string {
		return machineNames(poolMachines(g, ns, workerPool))
	}, autoscalerStep, 200*time.Millisecond).Should(Equal([]string{kept}))
	took("scale-down 3→1: Machines gone", start)
	g.Expect(pools.marked()).To(ConsistOf(pods["load-1"], pods["load-2"]), "the autoscaler marks exactly the emptied nodes' Machines")
	g.Eventually(func(g Gomega) []string { return workloadNodes(g, ns) }, time.Minute, time.Second).ShouldNot(
		Or(ContainElement(pods["load-1"]), ContainElement(pods["load-2"])))
	took("scale-down 3→1: Nodes gone", start)
	// The last Pod goes too; the pool stays at its minimum.
	deletePods(g, wc, "load-0")

	// Scale from zero: a Pod only the batch pool can take.
	pools.reset()
	start = time.Now()
	createPod(g, wc, "batch-0", func(p *corev1.Pod) {
		p.Spec.NodeSelector = map[string]string{batchLabel: "batch"}
		p.Spec.Tolerations = []corev1.Toleration{{Key: batchTaintKey, Operator: corev1.TolerationOpEqual, Value: "true", Effect: corev1.TaintEffectNoSchedule}}
	})
	g.Eventually(func(g Gomega) {
		g.Expect(ca.exitedEarly()).To(Succeed())
		g.Expect(specReplicas(g, ns, batchPool)).To(BeEquivalentTo(1))
	}, autoscalerStep, 200*time.Millisecond).Should(Succeed())
	took("from zero 0→1: replicas", start)
	var batchNode string
	g.Eventually(func(g Gomega) {
		batchNode = boundPods(g, wc, "batch-0")["batch-0"]
		g.Expect(batchNode).NotTo(BeEmpty())
	}, autoscalerStep, 200*time.Millisecond).Should(Succeed())
	took("from zero 0→1: Pod bound", start)
	node := &corev1.Node{}
	g.Expect(wc.Get(ctx, client.ObjectKey{Name: batchNode}, node)).To(Succeed())
	g.Expect(node.Labels).To(HaveKeyWithValue(batchLabel, "batch"))
	g.Expect(node.Spec.Taints).To(ContainElement(corev1.Taint{Key: batchTaintKey, Value: "true", Effect: corev1.TaintEffectNoSchedule}))
	g.Expect(machineNames(poolMachines(g, ns, batchPool))).To(Equal([]string{batchNode}))

	start = time.Now()
	deletePods(g, wc, "batch-0")
	g.Eventually(func(g Gomega) {
		g.Expect(ca.exitedEarly()).To(Succeed())
		g.Expect(specReplicas(g, ns, batchPool)).To(BeEquivalentTo(0))
	}, autoscalerStep, 200*time.Millisecond).Should(Succeed())
	took("back to zero 1→0: replicas", start)
	g.Eventually(func(g Gomega) []clusterv1.Machine {
		return poolMachines(g, ns, batchPool)
	}, autoscalerStep, 200*time.Millisecond).Should(BeEmpty())
	took("back to zero 1→0: Machine gone", start)
	replicas, count = pools.peak(batchPool)
	g.Expect(replicas).To(BeEquivalentTo(1), "the batch pool went past the one node its Pod needs")
	g.Expect(count).To(Equal(1), "the batch pool went past the one node its Pod needs")
	replicas, count = pools.peak(workerPool)
	g.Expect([]int{int(replicas), count}).To(Equal([]int{1, 1}), "the workers scaled for a Pod they cannot take")

	// kubectl scale writes what the autoscaler wrote, and the Machine it adds
	// is written as the autoscaler's was.
	ca.stop()
	kubectl(g, "scale", "machinedeployment/"+workerPool, "-n", ns, "--replicas=2")
	g.Expect(scaleWrite(t, g, ns, workerPool)).To(Equal(scaledByAutoscaler), "kubectl scale and the autoscaler write the same fields through /scale")
	waitForWorkers(g, ns, 2)
	var byKubectl *clusterv1.Machine
	for _, m := range poolMachines(g, ns, workerPool) {
		if m.Name != kept {
			byKubectl = m.DeepCopy()
		}
	}
	g.Expect(byKubectl).NotTo(BeNil())
	g.Expect(machineWrites(byKubectl)).To(Equal(machineWrites(added)), "Machines %s (kubectl scale) and %s (autoscaler) differ", byKubectl.Name, added.Name)
	var writers []string
	for _, mf := range added.ManagedFields {
		w := fmt.Sprintf("%s (%s", mf.Manager, mf.Operation)
		if mf.Subresource != "" {
			w += " " + mf.Subresource
		}
		writers = append(writers, w+")")
	}
	t.Logf("Machines %s (autoscaler) and %s (kubectl scale) were written alike, by %s", added.Name, byKubectl.Name, strings.Join(writers, ", "))

	t.Logf("autoscaler steps, from the change of the Pods:\n%s", strings.Join(steps, "\n"))
}

// createBatchPool adds a second node group next to the flavor's workers,
// from the same templates: at most 2 nodes, none to begin with, labelled
// pool=batch and tainted batch=true:NoSchedule. The autoscaler reads the
// taint from the Machine template and the label from the capacity annotation,
// since it cannot know which Machine labels reach the Node.
func createBatchPool(g Gomega, ns string) {
	workers := &clusterv1.MachineDeployment{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: workerPool}, workers)).To(Succeed())
	labels := map[string]string{clusterv1.ClusterNameLabel: "example", clusterv1.MachineDeploymentNameLabel: batchPool}
	tmpl := *workers.Spec.Template.DeepCopy()
	tmpl.ObjectMeta.Labels = map[string]string{batchLabel: "batch"}
	for k, v := range labels {
		tmpl.ObjectMeta.Labels[k] = v
	}
	tmpl.Spec.Taints = []clusterv1.MachineTaint{{Key: batchTaintKey, Value: "true", Effect: corev1.TaintEffectNoSchedule,
		Propagation: clusterv1.MachineTaintPropagationAlways}}
	selector := clusterv1.LabelSelector{MatchLabels: map[string]clusterv1.LabelValue{}}
	for k, v := range labels {
		selector.MatchLabels[k] = clusterv1.LabelValue(v)
	}
	g.Expect(c.Create(context.Background(), &clusterv1.MachineDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: batchPool, Labels: map[string]string{clusterv1.ClusterNameLabel: "example"},
			Annotations: map[string]string{
				clusterv1.AutoscalerMinSizeAnnotation: "0",
				clusterv1.AutoscalerMaxSizeAnnotation: "2",
				capacityLabels:                        batchLabel + "=batch",
			}},
		Spec: clusterv1.MachineDeploymentSpec{ClusterName: "example", Selector: selector, Template: tmpl},
	})).To(Succeed())
}

// applyAutoscalerRBAC applies config/autoscaler's role and its binding to the
// service account cluster-autoscaler of ns, as its kustomization would with
// namespace ns.
func applyAutoscalerRBAC(g Gomega, ns string) {
	objs, err := manifest.ReadPaths(filepath.Join(root, "config", "autoscaler", "role.yaml"), filepath.Join(root, "config", "autoscaler", "rbac.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	for _, o := range objs {
		if o.GetKind() != "RoleBinding" {
			continue
		}
		rb := &rbacv1.RoleBinding{}
		g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, rb)).To(Succeed())
		for i := range rb.Subjects {
			rb.Subjects[i].Namespace = ns
		}
		data, err := runtime.DefaultUnstructuredConverter.ToUnstructured(rb)
		g.Expect(err).NotTo(HaveOccurred())
		o.Object = data
	}
	g.Expect(manifest.Apply(context.Background(), c, ns, objs...)).To(Succeed())
}

// specReplicas reads spec.replicas of a MachineDeployment; -1 when unset.
func specReplicas(g Gomega, ns, name string) int32 {
	md := &clusterv1.MachineDeployment{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, md)).To(Succeed())
	if md.Spec.Replicas == nil {
		return -1
	}
	return *md.Spec.Replicas
}

// poolMachines lists the Machines of a MachineDeployment, also those being deleted.
func poolMachines(g Gomega, ns, md string) []clusterv1.Machine {
	var out []clusterv1.Machine
	for _, m := range machines(g, ns) {
		if m.Labels[clusterv1.MachineDeploymentNameLabel] == md {
			out = append(out, m)
		}
	}
	return out
}

func machineNames(ms []clusterv1.Machine) []string {
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	return names
}

// createPod creates a Pod in the workload cluster's default namespace that
// asks for podCPU, retrying while the namespace's service account is not
// there yet.
func createPod(g Gomega, wc client.Client, name string, mutate func(*corev1.Pod)) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "load", Image: "registry.k8s.io/pause:3.10",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse(podCPU), corev1.ResourceMemory: resource.MustParse("64Mi")}}}}},
	}
	if mutate != nil {
		mutate(pod)
	}
	g.Eventually(func() error {
		err := wc.Create(context.Background(), pod.DeepCopy())
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}, time.Minute, time.Second).Should(Succeed())
}

func deletePods(g Gomega, wc client.Client, names ...string) {
	for _, name := range names {
		err := wc.Delete(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}})
		g.Expect(client.IgnoreNotFound(err)).To(Succeed())
	}
}

// boundPods maps the named Pods that are bound and Running to their Nodes.
func boundPods(g Gomega, wc client.Client, names ...string) map[string]string {
	out := map[string]string{}
	for _, name := range names {
		pod := &corev1.Pod{}
		g.Expect(wc.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, pod)).To(Succeed())
		if pod.Spec.NodeName != "" && pod.Status.Phase == corev1.PodRunning {
			out[name] = pod.Spec.NodeName
		}
	}
	return out
}

// scaleWrite is what the last writer through a MachineDeployment's scale
// subresource owns, as the API server's managed fields record it: the
// operation and the fields, without the writer's name, which it logs.
func scaleWrite(t *testing.T, g Gomega, ns, name string) string {
	md := &clusterv1.MachineDeployment{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, md)).To(Succeed())
	var writes []string
	for _, mf := range md.ManagedFields {
		if mf.Subresource == "scale" {
			writes = append(writes, fmt.Sprintf("%s %s %s", mf.Operation, mf.Subresource, mf.FieldsV1.String()))
			t.Logf("%s owns through /scale of %s: %s", mf.Manager, name, mf.FieldsV1.String())
		}
	}
	g.Expect(writes).To(HaveLen(1), "one writer owns spec.replicas through /scale")
	return writes[0]
}

// machineWrites is a Machine as its writers left it, for comparing two
// Machines of one MachineSet: its metadata and spec with its own name
// replaced, and who wrote which fields (managed fields), without the status,
// whose timestamps and messages differ between any two Machines.
func machineWrites(m *clusterv1.Machine) string {
	cp := m.DeepCopy()
	cp.UID, cp.ResourceVersion, cp.Generation, cp.CreationTimestamp = "", "", 0, metav1.Time{}
	cp.Status = clusterv1.MachineStatus{}
	var managers []string
	for _, mf := range cp.ManagedFields {
		entry := fmt.Sprintf("%s %s %q", mf.Manager, mf.Operation, mf.Subresource)
		if mf.Subresource == "" && mf.FieldsV1 != nil {
			entry += " " + mf.FieldsV1.String()
		}
		managers = append(managers, entry)
	}
	sort.Strings(managers)
	cp.ManagedFields = nil
	data, err := json.MarshalIndent(map[string]any{"object": cp, "managedFields": managers}, "", "  ")
	if err != nil {
		panic(err) // a Machine always marshals
	}
	return strings.ReplaceAll(string(data), m.Name, "<name>")
}
