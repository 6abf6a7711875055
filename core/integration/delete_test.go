package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
)

// newMachine creates a stand-alone Machine with its KubeadmConfig and KubernetesMachine.
func newMachine(g Gomega, c testCluster, name string, drainTimeout *int32) *clusterv1.Machine {
	ctx := context.Background()
	g.Expect(env.Client.Create(ctx, &bootstrapv1.KubeadmConfig{ObjectMeta: metav1.ObjectMeta{Namespace: c.ns, Name: name},
		Spec: bootstrapv1.KubeadmConfigSpec{Format: bootstrapv1.CloudConfig}})).To(Succeed())
	g.Expect(env.Client.Create(ctx, &infrav1.KubernetesMachine{ObjectMeta: metav1.ObjectMeta{Namespace: c.ns, Name: name}})).To(Succeed())
	tmpl := machineTemplate(c, name, nil)
	m := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: c.ns, Name: name}, Spec: tmpl.Spec}
	m.Spec.Bootstrap.ConfigRef.Kind = "KubeadmConfig"
	m.Spec.InfrastructureRef.Kind = "KubernetesMachine"
	m.Spec.Deletion.NodeDrainTimeoutSeconds = drainTimeout
	g.Expect(env.Client.Create(ctx, m)).To(Succeed())
	return m
}

func deletingMessage(m *clusterv1.Machine) string {
	for _, c := range m.Status.Conditions {
		if c.Type == clusterv1.DeletingCondition {
			return c.Message
		}
	}
	return ""
}

// guardedPod puts a Pod on the Node, guarded by a PodDisruptionBudget that
// allows no disruption. No disruption controller runs in the workload API
// server, so the budget allows nothing until the test says so.
func guardedPod(g Gomega, ns, node string) *policyv1.PodDisruptionBudget {
	ctx := context.Background()
	g.Expect(client.IgnoreAlreadyExists(workload.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))).To(Succeed())
	g.Expect(client.IgnoreAlreadyExists(workload.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}}))).To(Succeed())
	// Running and Ready, as the kubelet would report it: the eviction API
	// lets Pending Pods go whatever the budget says.
	runningPod(g, ns, "app-"+node, node, map[string]string{"app": node})
	one := intstr.FromInt(1)
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pdb-" + node},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": node}}},
	}
	g.Expect(workload.Client.Create(ctx, pdb)).To(Succeed())
	return pdb
}

// allowOneDisruption plays the disruption controller: the budget now allows
// one eviction.
func allowOneDisruption(g Gomega, pdb *policyv1.PodDisruptionBudget) {
	ctx := context.Background()
	g.Expect(workload.Client.Get(ctx, client.ObjectKeyFromObject(pdb), pdb)).To(Succeed())
	pdb.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: pdb.Generation, DisruptionsAllowed: 1,
		CurrentHealthy: 2, DesiredHealthy: 1, ExpectedPods: 2}
	g.Expect(workload.Client.Status().Update(ctx, pdb)).To(Succeed())
}

// TestDrainWaitsForPodDisruptionBudget: deleting a Machine whose Node runs a
// Pod guarded by a budget waits until the budget allows the eviction.
func TestDrainWaitsForPodDisruptionBudget(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "drain")
	m := newMachine(g, c, "m1", nil)
	waitForRunning(g, ns, 1, time.Minute)
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(m), m)).To(Succeed())
	node := m.Status.NodeRef.Name
	pdb := guardedPod(g, ns, node)

	g.Expect(env.Client.Delete(ctx, m)).To(Succeed())
	// The drain cordons the Node and reports the blocked eviction.
	g.Eventually(func(g Gomega) {
		got := &clusterv1.Machine{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(m), got)).To(Succeed())
		g.Expect(deletingMessage(got)).To(ContainSubstring("evictions blocked by PodDisruptionBudgets"))
		n := &corev1.Node{}
		g.Expect(workload.Client.Get(ctx, client.ObjectKey{Name: node}, n)).To(Succeed())
		g.Expect(n.Spec.Unschedulable).To(BeTrue())
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Consistently(func() error {
		return env.Client.Get(ctx, client.ObjectKeyFromObject(m), &clusterv1.Machine{})
	}, 3*time.Second, 500*time.Millisecond).Should(Succeed(), "the Machine must wait for the budget")

	allowOneDisruption(g, pdb)

	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(m), &clusterv1.Machine{}))
	}, 30*time.Second, 200*time.Millisecond).Should(BeTrue())
	g.Expect(apierrors.IsNotFound(workload.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app-" + node}, &corev1.Pod{}))).To(BeTrue(), "the Pod was evicted")
	g.Expect(apierrors.IsNotFound(workload.Client.Get(ctx, client.ObjectKey{Name: node}, &corev1.Node{}))).To(BeTrue(), "the Node was deleted")
}

// TestDrainTimeout: with nodeDrainTimeoutSeconds, a budget that never allows
// the eviction delays the deletion only that long.
func TestDrainTimeout(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "drainto")
	timeout := int32(3)
	m := newMachine(g, c, "m1", &timeout)
	waitForRunning(g, ns, 1, time.Minute)
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(m), m)).To(Succeed())
	guardedPod(g, ns, m.Status.NodeRef.Name)

	start := time.Now()
	g.Expect(env.Client.Delete(ctx, m)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(m), &clusterv1.Machine{}))
	}, 30*time.Second, 200*time.Millisecond).Should(BeTrue())
	g.Expect(time.Since(start)).To(BeNumerically(">=", 3*time.Second), "the drain must hold the Machine until its timeout")
}

// TestDeletionWithUnreachableCluster: when the workload cluster does not
// answer, deletion skips the drain after the drain timeout and says so.
func TestDeletionWithUnreachableCluster(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "gone")
	timeout := int32(2)
	m := newMachine(g, c, "m1", &timeout)
	waitForRunning(g, ns, 1, time.Minute)

	// The cluster's API server moves away.
	secret := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "gone-kubeconfig"}, secret)).To(Succeed())
	dead, err := clientcmd.Load(workloadKubeconfig)
	g.Expect(err).NotTo(HaveOccurred())
	for _, cl := range dead.Clusters {
		cl.Server = "https://127.0.0.1:1"
	}
	deadKubeconfig, err := clientcmd.Write(*dead)
	g.Expect(err).NotTo(HaveOccurred())
	update(g, secret, func() { secret.Data["value"] = deadKubeconfig })
	// Nudge the Machine until it notices that its Node cannot be read.
	g.Eventually(func(g Gomega) {
		got := m.DeepCopy()
		update(g, got, func() { got.Annotations = map[string]string{"nudge": time.Now().String()} })
		for _, cond := range got.Status.Conditions {
			if cond.Type == clusterv1.MachineNodeReadyCondition {
				g.Expect(cond.Reason).To(Equal(clusterv1.MachineNodeInspectionFailedReason))
			}
		}
	}, 30*time.Second, time.Second).Should(Succeed())

	g.Expect(env.Client.Delete(ctx, m)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := &clusterv1.Machine{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(m), got)).To(Succeed())
		g.Expect(deletingMessage(got)).To(Or(ContainSubstring("waiting for the workload cluster"), ContainSubstring("drain skipped")))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(m), &clusterv1.Machine{}))
	}, time.Minute, 200*time.Millisecond).Should(BeTrue())
}

// TestInfrastructureLostAfterProvisioning: a Machine whose KubernetesMachine
// disappears after provisioning goes to Failed with a clear condition.
func TestInfrastructureLostAfterProvisioning(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "lost")
	m := newMachine(g, c, "m1", nil)
	waitForRunning(g, ns, 1, time.Minute)

	g.Expect(env.Client.Delete(ctx, &infrav1.KubernetesMachine{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "m1"}})).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := &clusterv1.Machine{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(m), got)).To(Succeed())
		g.Expect(got.Status.Phase).To(Equal("Failed"))
		var infra *metav1.Condition
		for i := range got.Status.Conditions {
			if got.Status.Conditions[i].Type == clusterv1.MachineInfrastructureReadyCondition {
				infra = &got.Status.Conditions[i]
			}
		}
		g.Expect(infra).NotTo(BeNil())
		g.Expect(infra.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(infra.Reason).To(Equal(clusterv1.MachineInfrastructureReadyDeletedReason))
		g.Expect(infra.Message).To(ContainSubstring("KubernetesMachine m1 was deleted after it had been provisioned"))
		g.Expect(got.Status.Deprecated.V1Beta1.FailureMessage).NotTo(BeNil())
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
}

// TestClusterDeletionLeavesNothing: deleting a Cluster with a
// MachineDeployment of 3 leaves no Machine, MachineSet, MachineDeployment,
// bootstrap or infrastructure object and no finalizer behind.
func TestClusterDeletionLeavesNothing(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "del")
	newMachineDeployment(g, c, "workers", 3, 1, 0)
	cp := newMachine(g, c, "cp", nil)
	update(g, cp, func() { cp.Labels = map[string]string{clusterv1.MachineControlPlaneLabel: ""} })
	waitForRunning(g, ns, 4, time.Minute)

	g.Expect(env.Client.Delete(ctx, &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "del"}})).To(Succeed())
	g.Eventually(func(g Gomega) {
		for _, list := range []client.ObjectList{
			&clusterv1.ClusterList{}, &clusterv1.MachineDeploymentList{}, &clusterv1.MachineSetList{}, &clusterv1.MachineList{},
			&bootstrapv1.KubeadmConfigList{}, &infrav1.KubernetesMachineList{}, &infrav1.KubernetesClusterList{},
		} {
			g.Expect(env.Client.List(ctx, list, client.InNamespace(ns))).To(Succeed())
			items, err := metaItems(list)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(items).To(BeEmpty(), "%T", list)
		}
	}, time.Minute, 250*time.Millisecond).Should(Succeed())
}

func metaItems(list client.ObjectList) ([]string, error) {
	var names []string
	switch l := list.(type) {
	case *clusterv1.ClusterList:
		for _, i := range l.Items {
			names = append(names, i.Name)
		}
	case *clusterv1.MachineDeploymentList:
		for _, i := range l.Items {
			names = append(names, i.Name)
		}
	case *clusterv1.MachineSetList:
		for _, i := range l.Items {
			names = append(names, i.Name)
		}
	case *clusterv1.MachineList:
		for _, i := range l.Items {
			names = append(names, fmt.Sprintf("%s%v", i.Name, i.Finalizers))
		}
	case *bootstrapv1.KubeadmConfigList:
		for _, i := range l.Items {
			names = append(names, i.Name)
		}
	case *infrav1.KubernetesMachineList:
		for _, i := range l.Items {
			names = append(names, i.Name)
		}
	case *infrav1.KubernetesClusterList:
		for _, i := range l.Items {
			names = append(names, i.Name)
		}
	default:
		return nil, fmt.Errorf("unexpected list %T", list)
	}
	return names, nil
}
