package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/scheme"
	"github.com/podcluster/podcluster/test/sim"
)

// nodeUnknownWithin bounds how long the workload controller-manager takes to
// mark the Node of a crashed node Pod Unknown with the runtime's documented
// periods: the last heartbeat, the grace period, the monitor's period, and
// slack for the Machine controller to notice on a loaded machine.
const nodeUnknownWithin = sim.DefaultHeartbeatInterval + sim.DefaultNodeMonitorGracePeriod + 2*sim.DefaultNodeMonitorPeriod + 30*time.Second

// workloadCluster reaches the seed's workload cluster through its kubeconfig
// Secret, and saves the kubeconfig for kubectl.
func workloadCluster(g Gomega, ns, dir string) (client.Client, string) {
	secret := &corev1.Secret{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "example-kubeconfig"}, secret)).To(Succeed())
	file := filepath.Join(dir, "example.kubeconfig")
	g.Expect(os.WriteFile(file, secret.Data["value"], 0o600)).To(Succeed())
	cfg, err := clientcmd.RESTConfigFromKubeConfig(secret.Data["value"])
	g.Expect(err).NotTo(HaveOccurred())
	wc, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	g.Expect(err).NotTo(HaveOccurred())
	return wc, file
}

// workloadKubectl runs kubectl against the workload cluster.
func workloadKubectl(g Gomega, kubeconfigFile string, args ...string) string {
	out, err := exec(filepath.Join(bin, "kubectl"), append([]string{"--kubeconfig", kubeconfigFile}, args...)...).Output()
	g.Expect(err).NotTo(HaveOccurred(), string(out))
	return string(out)
}

// TestWorkloadClusterRunsWorkloads: the seed's workload cluster behaves like
// a real one. Its Nodes report what a kubelet reports, its scheduler places a
// Deployment's Pods on the workers (and leaves a Pod that fits nowhere
// Pending), and a crashed worker turns Unknown through its
// controller-manager, which its Machine reflects.
func TestWorkloadClusterRunsWorkloads(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	applySeed(g, ns)
	waitForWorkers(g, ns, 3)
	wc, kubeconfigFile := workloadCluster(g, ns, t.TempDir())

	workers := map[string]bool{}
	var controller string
	for _, m := range machines(g, ns) {
		if _, cp := m.Labels[clusterv1.MachineControlPlaneLabel]; cp {
			controller = m.Name
		} else {
			workers[m.Name] = true
		}
	}

	// What kubectl shows of the Nodes: version, internal IP and capacity.
	g.Eventually(func(g Gomega) {
		wide := workloadKubectl(g, kubeconfigFile, "get", "nodes", "-o", "wide")
		g.Expect(wide).To(ContainSubstring("INTERNAL-IP"))
		lines := strings.Split(strings.TrimSpace(wide), "\n")
		g.Expect(lines).To(HaveLen(5), wide)
		for _, line := range lines[1:] {
			fields := strings.Fields(line)
			// NAME STATUS ROLES AGE VERSION INTERNAL-IP ...
			g.Expect(fields[1]).To(Equal("Ready"), line)
			g.Expect(fields[4]).To(Equal("v1.37.2"), line)
			g.Expect(fields[5]).To(HavePrefix(podIPPrefix()), line)
		}
	}, time.Minute, time.Second).Should(Succeed())
	var nodes corev1.NodeList
	g.Expect(json.Unmarshal([]byte(workloadKubectl(g, kubeconfigFile, "get", "nodes", "-o", "json")), &nodes)).To(Succeed())
	for _, n := range nodes.Items {
		g.Expect(n.Status.Capacity.Cpu().IsZero()).To(BeFalse(), n.Name)
		g.Expect(n.Status.Capacity.Memory().IsZero()).To(BeFalse(), n.Name)
		g.Expect(n.Status.Capacity.Pods().Value()).To(BeEquivalentTo(110), n.Name)
		g.Expect(n.Status.Allocatable).To(HaveKey(corev1.ResourceCPU), n.Name)
		g.Expect(n.Status.NodeInfo.KubeletVersion).To(Equal("v1.37.2"), n.Name)
	}

	// A Deployment's Pods go to the workers: the control plane is tainted.
	labels := map[string]string{"app": "web"}
	replicas := int32(3)
	g.Expect(wc.Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}},
			},
		},
	})).To(Succeed())
	g.Eventually(func(g Gomega) {
		pods := &corev1.PodList{}
		g.Expect(wc.List(ctx, pods, client.InNamespace("default"), client.MatchingLabels(labels))).To(Succeed())
		g.Expect(pods.Items).To(HaveLen(3))
		for _, p := range pods.Items {
			g.Expect(workers).To(HaveKey(p.Spec.NodeName), p.Name)
			g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning), p.Name)
			g.Expect(p.Status.PodIP).NotTo(BeEmpty(), p.Name)
		}
	}, time.Minute, time.Second).Should(Succeed())

	// More CPU than any Node has: Pending, as the scheduler says.
	big := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "too-big"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "big", Image: "nginx",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1000")}}}}},
	}
	g.Expect(wc.Create(ctx, big)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := &corev1.Pod{}
		g.Expect(wc.Get(ctx, client.ObjectKeyFromObject(big), got)).To(Succeed())
		g.Expect(got.Status.Phase).To(Equal(corev1.PodPending))
		g.Expect(got.Spec.NodeName).To(BeEmpty())
		g.Expect(got.Status.Conditions).To(ContainElement(And(
			HaveField("Type", corev1.PodScheduled), HaveField("Status", corev1.ConditionFalse),
			HaveField("Reason", corev1.PodReasonUnschedulable))))
	}, time.Minute, time.Second).Should(Succeed())

	// A worker's node crashes: no more heartbeats, and the controller-manager
	// marks its Node Unknown within the grace period; the Machine follows.
	var victim string
	for name := range workers {
		victim = name
		break
	}
	kubectl(g, "annotate", "kubernetesmachine/"+victim, "-n", ns, sim.CrashAnnotation+"=kernel panic (e2e)")
	g.Eventually(func(g Gomega) {
		node := &corev1.Node{}
		g.Expect(wc.Get(ctx, client.ObjectKey{Name: victim}, node)).To(Succeed())
		g.Expect(node.Status.Conditions).To(ContainElement(And(
			HaveField("Type", corev1.NodeReady), HaveField("Status", corev1.ConditionUnknown))))
		m := &clusterv1.Machine{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: victim}, m)).To(Succeed())
		ready := condition(m.Status.Conditions, clusterv1.MachineNodeReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionUnknown))
		healthy := condition(m.Status.Conditions, clusterv1.MachineNodeHealthyCondition)
		g.Expect(healthy).NotTo(BeNil())
		g.Expect(healthy.Status).To(Equal(metav1.ConditionFalse))
	}, nodeUnknownWithin, time.Second).Should(Succeed())
	// The control plane still heartbeats.
	node := &corev1.Node{}
	g.Expect(wc.Get(ctx, client.ObjectKey{Name: controller}, node)).To(Succeed())
	g.Expect(node.Status.Conditions).To(ContainElement(And(
		HaveField("Type", corev1.NodeReady), HaveField("Status", corev1.ConditionTrue))))
}
