package integration

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/bootscript"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
)

// TestControlPlaneMachineProvisions follows a control-plane machine from its
// bootstrap data to Running: the boot Secret holds the converted cloud-config,
// the Pod is built from the spec, the Machine and the image ConfigMap; the
// kubelet's reports drive BootstrapSucceeded; the providerID lands on the
// workload Node. Then the Pod vanishes: a terminal failure, never a second Pod.
func TestControlPlaneMachineProvisions(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	sfx := suffix(ns)
	zone := "zone-cp-" + sfx
	mgmtNode := newManagementNode(t, g, "mgmt-cp-"+sfx, "10.99.1.1", zone)
	g.Expect(env.Client.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: nodepod.ImagesConfigMapName},
		Data:       map[string]string{"v1.37.2": "registry.example.test/node:v1.37.2-custom"},
	})).To(Succeed())
	c := newCluster(g, ns, "alpha", 0)
	name := "cp-" + sfx
	_, km := newMachine(g, c, name, machineOptions{
		controlPlane:  true,
		failureDomain: zone,
		cloudConfig:   "init-control-plane.yaml",
		spec: infrav1.KubernetesMachineSpec{
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi")}},
			NodeSelector: map[string]string{"pool": "nodes"},
			Tolerations:  []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "nodes", Effect: corev1.TaintEffectNoSchedule}},
		},
	})

	// 1. The boot Secret: the converted cloud-config and the boot files.
	secret := &corev1.Secret{}
	g.Eventually(func() error {
		return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: nodepod.BootstrapSecretName(name)}, secret)
	}, timeout, interval).Should(Succeed())
	cloudConfig, err := os.ReadFile(filepath.Join(goldenDir, "init-control-plane.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	script, err := bootscript.Convert(cloudConfig)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(secret.Data).To(HaveKeyWithValue(nodepod.BootstrapScriptKey, script))
	for k, v := range nodepod.BootFiles() {
		g.Expect(secret.Data).To(HaveKeyWithValue(k, []byte(v)))
	}
	g.Expect(metav1.GetControllerOf(secret).UID).To(Equal(km.UID))
	g.Expect(secret.Immutable).To(HaveValue(BeTrue()), "the script cannot be edited in place")

	// 2. The node Pod.
	pod := waitForPod(g, km)
	g.Expect(metav1.GetControllerOf(pod).UID).To(Equal(km.UID))
	g.Expect(pod.Labels).To(Equal(map[string]string{clusterv1.ClusterNameLabel: "alpha", clusterv1.MachineControlPlaneLabel: ""}))
	g.Expect(pod.Spec.RestartPolicy).To(Equal(corev1.RestartPolicyNever))
	g.Expect(pod.Spec.NodeSelector).To(Equal(map[string]string{"pool": "nodes", corev1.LabelTopologyZone: zone}))
	g.Expect(pod.Spec.Tolerations).To(ContainElement(HaveField("Key", "dedicated")))
	node := pod.Spec.Containers[0]
	g.Expect(node.Image).To(Equal("registry.example.test/node:v1.37.2-custom"))
	g.Expect(node.SecurityContext.Privileged).To(HaveValue(BeTrue()))
	g.Expect(node.TTY).To(BeTrue())
	g.Expect(node.Resources.Limits.Cpu().String()).To(Equal("2"))
	g.Expect(node.Ports).To(ConsistOf(And(HaveField("Name", nodepod.APIServerPortName), HaveField("ContainerPort", int32(6443)))))
	g.Expect(node.ReadinessProbe).NotTo(BeNil())
	g.Expect(node.StartupProbe.Exec.Command).To(ContainElement(nodepod.BootstrapSuccessFile))
	g.Expect(pod.Spec.Volumes).To(ContainElements(
		HaveField("Name", nodepod.VarLibEtcdVolume), HaveField("Name", nodepod.VarLibContainerdVolume)))
	g.Eventually(func(g Gomega) {
		got := getKM(g, km)
		g.Expect(got.Status.Phase).To(Equal(infrav1.KubernetesMachinePhaseProvisioning))
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesMachineBootstrapSucceededCondition, metav1.ConditionFalse,
			infrav1.KubernetesMachineBootstrapSucceededWaitingForPodReason))
	}, timeout, interval).Should(Succeed())

	// 3-4. The kubelet runs the Pod; bootstrap runs.
	bindPod(g, pod, mgmtNode.Name)
	setPodStatus(g, pod, nodeState{podIP: "10.244.1.5"})
	providerID := "kubernetes://" + ns + "/" + name
	g.Eventually(func(g Gomega) {
		got := getKM(g, km)
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesMachineBootstrapSucceededCondition, metav1.ConditionFalse,
			infrav1.KubernetesMachineBootstrapSucceededRunningReason))
		// 5. providerID, addresses and the zone the Pod landed in.
		g.Expect(got.Spec.ProviderID).To(Equal(providerID))
		g.Expect(got.Status.Addresses).To(ConsistOf(
			clusterv1.MachineAddress{Type: clusterv1.MachineInternalIP, Address: "10.244.1.5"},
			clusterv1.MachineAddress{Type: clusterv1.MachineHostName, Address: name}))
		g.Expect(got.Status.FailureDomain).To(Equal(zone))
		g.Expect(got.Status.Version).To(Equal("v1.37.2"))
		g.Expect(got.Status.Initialization.Provisioned).To(BeNil())
	}, timeout, interval).Should(Succeed())

	// Bootstrap succeeds (startup probe), the Node registers without a providerID.
	wnode := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	g.Expect(workload.Client.Create(ctx, wnode)).To(Succeed())
	t.Cleanup(func() { _ = workload.Client.Delete(context.Background(), wnode) })
	setPodStatus(g, pod, nodeState{podIP: "10.244.1.5", started: true, ready: true})
	g.Eventually(func(g Gomega) {
		got := &corev1.Node{}
		g.Expect(workload.Client.Get(ctx, client.ObjectKey{Name: name}, got)).To(Succeed())
		g.Expect(got.Spec.ProviderID).To(Equal(providerID))
	}, timeout, interval).Should(Succeed())
	g.Eventually(func(g Gomega) {
		got := getKM(g, km)
		g.Expect(got.Status.Initialization.Provisioned).To(HaveValue(BeTrue()))
		g.Expect(got.Status.Phase).To(Equal(infrav1.KubernetesMachinePhaseRunning))
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesMachineBootstrapSucceededCondition, metav1.ConditionTrue,
			infrav1.KubernetesMachineBootstrapSucceededReason))
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesMachinePodReadyCondition, metav1.ConditionTrue,
			infrav1.KubernetesMachinePodReadyReason))
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesMachineReadyCondition, metav1.ConditionTrue,
			infrav1.KubernetesMachineReadyReason))
	}, timeout, interval).Should(Succeed())

	// 6. The Pod vanishes: terminal, and never a second Pod.
	g.Expect(env.Client.Delete(ctx, pod, client.GracePeriodSeconds(0))).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := getKM(g, km)
		g.Expect(got.Status.Phase).To(Equal(infrav1.KubernetesMachinePhaseFailed))
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesMachineReadyCondition, metav1.ConditionFalse,
			infrav1.KubernetesMachinePodReadyPodLostReason))
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesMachinePodReadyCondition, metav1.ConditionFalse,
			infrav1.KubernetesMachinePodReadyPodLostReason))
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesMachineBootstrapSucceededCondition, metav1.ConditionTrue,
			infrav1.KubernetesMachineBootstrapSucceededReason))
	}, timeout, interval).Should(Succeed())
	g.Consistently(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(km), &corev1.Pod{}))
	}, "500ms", interval).Should(BeTrue(), "a second node Pod was created")
}

// TestWorkerMachineBootstrapFails: a worker waits for its bootstrap data, then
// bootstrap fails: the node container terminates with the failing step's
// output as its termination message, which BootstrapSucceeded carries.
func TestWorkerMachineBootstrapFails(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "beta", 0)
	name := "worker-" + suffix(ns)
	m, km := newMachine(g, c, name, machineOptions{})

	// No bootstrap data yet: Pending, no Pod.
	g.Eventually(func(g Gomega) {
		got := getKM(g, km)
		g.Expect(got.Status.Phase).To(Equal(infrav1.KubernetesMachinePhasePending))
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesMachinePodReadyCondition, metav1.ConditionFalse,
			infrav1.KubernetesMachinePodReadyWaitingForBootstrapDataReason))
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesMachinePausedCondition, metav1.ConditionFalse,
			infrav1.KubernetesMachineNotPausedReason))
	}, timeout, interval).Should(Succeed())
	g.Expect(apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(km), &corev1.Pod{}))).To(BeTrue())

	// The bootstrap provider delivers, the core copies the name.
	createDataSecret(g, ns, name, "join-node.yaml")
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(m), m)).To(Succeed())
	m.Spec.Bootstrap.DataSecretName = &name
	g.Expect(env.Client.Update(ctx, m)).To(Succeed())

	pod := waitForPod(g, km)
	g.Expect(pod.Labels).To(Equal(map[string]string{clusterv1.ClusterNameLabel: "beta"}))
	g.Expect(pod.Spec.Containers[0].Image).To(Equal("kindest/node:v1.37.2"))
	g.Expect(pod.Spec.Containers[0].Ports).To(BeEmpty())

	setPodStatus(g, pod, nodeState{podIP: "10.244.2.7"})
	tail := "[preflight] Running pre-flight checks\nerror execution phase preflight: couldn't validate the identity of the API Server"
	message := "failed step: runcmd[1]: kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml\nexit code: 1\n" + tail
	setPodStatus(g, pod, nodeState{podIP: "10.244.2.7", exitCode: nodepod.BootstrapFailedExitCode, message: message})
	g.Eventually(func(g Gomega) {
		got := getKM(g, km)
		g.Expect(got.Status.Phase).To(Equal(infrav1.KubernetesMachinePhaseFailed))
		boot := condition(got.Status.Conditions, infrav1.KubernetesMachineBootstrapSucceededCondition)
		g.Expect(boot.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(boot.Reason).To(Equal(infrav1.KubernetesMachineBootstrapSucceededFailedReason))
		g.Expect(boot.Message).To(ContainSubstring("exit code 42"))
		g.Expect(boot.Message).To(ContainSubstring("couldn't validate the identity of the API Server"))
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesMachineReadyCondition, metav1.ConditionFalse,
			infrav1.KubernetesMachineBootstrapSucceededFailedReason))
		g.Expect(got.Status.Initialization.Provisioned).To(BeNil())
	}, timeout, interval).Should(Succeed())

	// A failed Pod is left for inspection, and removing it brings no new one.
	g.Expect(env.Client.Delete(ctx, pod, client.GracePeriodSeconds(0))).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := getKM(g, km)
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesMachinePodReadyCondition, metav1.ConditionFalse,
			infrav1.KubernetesMachinePodReadyPodLostReason))
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesMachineBootstrapSucceededCondition, metav1.ConditionFalse,
			infrav1.KubernetesMachineBootstrapSucceededFailedReason))
		g.Expect(got.Status.Phase).To(Equal(infrav1.KubernetesMachinePhaseFailed))
	}, timeout, interval).Should(Succeed())
	g.Consistently(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(km), &corev1.Pod{}))
	}, "500ms", interval).Should(BeTrue(), "a second node Pod was created")
}

// TestPodLostBeforeProvisioningIsRecreated: a Pod lost while bootstrap had
// not finished is created again under the same name.
func TestPodLostBeforeProvisioningIsRecreated(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "gamma", 0)
	_, km := newMachine(g, c, "w-"+suffix(ns), machineOptions{cloudConfig: "join-node.yaml"})
	pod := waitForPod(g, km)
	g.Eventually(func(g Gomega) {
		g.Expect(getKM(g, km).Status.Phase).To(Equal(infrav1.KubernetesMachinePhaseProvisioning))
	}, timeout, interval).Should(Succeed())
	// Not bound to a Node: the API server deletes it at once.
	g.Expect(env.Client.Delete(ctx, pod)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := &corev1.Pod{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(km), got)).To(Succeed())
		g.Expect(got.UID).NotTo(Equal(pod.UID))
	}, timeout, interval).Should(Succeed())
	g.Expect(getKM(g, km).Status.Phase).NotTo(Equal(infrav1.KubernetesMachinePhaseFailed))
}

// TestMachineDeletionLeavesNothing: deleting a KubernetesMachine deletes its
// Pod, boot Secret and claims, and waits until they are gone.
func TestMachineDeletionLeavesNothing(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	sfx := suffix(ns)
	mgmtNode := newManagementNode(t, g, "mgmt-del-"+sfx, "10.99.3.1", "")
	c := newCluster(g, ns, "delta", 0)
	storage := resource.MustParse("1Gi")
	name := "del-" + sfx
	_, km := newMachine(g, c, name, machineOptions{
		cloudConfig: "join-node.yaml",
		spec: infrav1.KubernetesMachineSpec{VolumeClaimTemplates: []infrav1.VolumeClaimTemplate{{
			Metadata: infrav1.VolumeClaimTemplateMetadata{Name: infrav1.VarLibContainerdVolume},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: storage}},
			},
		}}},
	})
	pod := waitForPod(g, km)
	pvcKey := client.ObjectKey{Namespace: ns, Name: nodepod.PVCName(name, infrav1.VarLibContainerdVolume)}
	pvc := &corev1.PersistentVolumeClaim{}
	g.Expect(env.Client.Get(ctx, pvcKey, pvc)).To(Succeed())
	g.Expect(metav1.GetControllerOf(pvc).UID).To(Equal(km.UID))
	g.Expect(pod.Spec.Volumes).To(ContainElement(HaveField("PersistentVolumeClaim.ClaimName", pvcKey.Name)))
	// A running Pod on a Node: its deletion waits for the kubelet.
	bindPod(g, pod, mgmtNode.Name)
	setPodStatus(g, pod, nodeState{podIP: "10.244.3.3"})

	g.Expect(env.Client.Delete(ctx, km)).To(Succeed())
	// Play the kubelet and the controller-manager: finish what the controller
	// deletes, and check the KubernetesMachine waits for it.
	g.Eventually(func(g Gomega) {
		got := getKM(g, km)
		g.Expect(got.Status.Phase).To(Equal(infrav1.KubernetesMachinePhaseDeleting))
		g.Expect(got.Finalizers).To(ContainElement(infrav1.MachineFinalizer))
		g.Expect(condition(got.Status.Conditions, infrav1.KubernetesMachinePodReadyCondition).Message).To(ContainSubstring("Pod " + name))
		p := &corev1.Pod{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(pod), p)).To(Succeed())
		g.Expect(p.DeletionTimestamp).NotTo(BeNil())
	}, timeout, interval).Should(Succeed())
	g.Expect(env.Client.Delete(ctx, pod, client.GracePeriodSeconds(0))).To(Succeed())
	g.Eventually(func(g Gomega) {
		p := &corev1.PersistentVolumeClaim{}
		err := env.Client.Get(ctx, pvcKey, p)
		if apierrors.IsNotFound(err) {
			return
		}
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(p.DeletionTimestamp).NotTo(BeNil())
		if len(p.Finalizers) > 0 { // kubernetes.io/pvc-protection, lifted once no Pod uses it
			p.Finalizers = nil
			g.Expect(env.Client.Update(ctx, p)).To(Succeed())
		}
		g.Expect(apierrors.IsNotFound(env.Client.Get(ctx, pvcKey, p))).To(BeTrue())
	}, timeout, interval).Should(Succeed())

	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(km), &infrav1.KubernetesMachine{}))
	}, timeout, interval).Should(BeTrue())
	for _, obj := range []client.Object{
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: nodepod.BootstrapSecretName(name)}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pvcKey.Name}},
	} {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%T %s left behind: %v", obj, obj.GetName(), err)
	}
}

// TestPausedMachineIsLeftAlone: a paused machine reports Paused and creates nothing.
func TestPausedMachineIsLeftAlone(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "eps", 0)
	tr := true
	c.Spec.Paused = &tr
	g.Expect(env.Client.Update(ctx, c)).To(Succeed())
	_, km := newMachine(g, c, "p-"+suffix(ns), machineOptions{cloudConfig: "join-node.yaml"})
	g.Eventually(func(g Gomega) {
		got := getKM(g, km)
		g.Expect(got.Status.Conditions).To(haveCondition(infrav1.KubernetesMachinePausedCondition, metav1.ConditionTrue,
			infrav1.KubernetesMachinePausedReason))
	}, timeout, interval).Should(Succeed())
	g.Expect(apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(km), &corev1.Pod{}))).To(BeTrue())

	// Unpausing (a Cluster spec change) lets it go on.
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(c), c)).To(Succeed())
	c.Spec.Paused = nil
	g.Expect(env.Client.Update(ctx, c)).To(Succeed())
	waitForPod(g, km)
}
