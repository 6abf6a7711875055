// Package integration tests the infrastructure provider's controllers against
// real API servers: the management cluster (envtest with our CRDs) and a second
// one standing in for the workload cluster, where the KubernetesMachine
// controller sets providerIDs on Nodes. The tests play the parts nobody runs
// here: the core provider (they create Clusters and Machines and set their
// status), the kubelet (they bind node Pods and set their status), a
// load-balancer controller and the controller-manager (they finish deletions).
package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/infrastructure/kubernetes"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
	"github.com/podcluster/podcluster/internal/manager"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/test/testenv"
	"github.com/podcluster/podcluster/test/testmanager"
)

const (
	timeout  = 20 * time.Second
	interval = 100 * time.Millisecond
)

var (
	env, workload      *testenv.Environment
	workloadKubeconfig []byte
	// goldenDir holds the bootstrap provider's golden cloud-configs.
	goldenDir string
)

func TestMain(m *testing.M) {
	if os.Getenv("PODCLUSTER_TEST_LOGS") != "" {
		log.SetLogger(zap.New(zap.UseDevMode(true)))
	} else {
		log.SetLogger(zap.New(zap.WriteTo(discard{})))
	}
	os.Exit(testenv.Run(m, &env, func() (func(), error) {
		root, err := testenv.RepoRoot()
		if err != nil {
			return nil, err
		}
		goldenDir = filepath.Join(root, "bootstrap", "kubeadm", "cloudinit", "testdata")
		if workload, err = testenv.StartWorkload(); err != nil {
			return nil, err
		}
		if workloadKubeconfig, err = os.ReadFile(workload.KubeconfigPath); err != nil {
			return nil, err
		}
		mgr.Config = env.Config
		if err := mgr.Start(); err != nil {
			return nil, err
		}
		return func() {
			mgr.Stop()
			_ = workload.Stop()
		}, nil
	}))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// mgr runs the infrastructure provider's controllers.
var mgr = &testmanager.Manager{
	Options: manager.Options{AllowRestart: true},
	Setup: func(ctx context.Context, m ctrl.Manager, cc *remote.ClusterCache) error {
		return kubernetes.Setup(ctx, m, kubernetes.Options{ClusterCache: cc})
	},
}

// Builders. Objects are named after the test's namespace where names must be
// unique beyond it: management Nodes, and workload Nodes (named after their
// KubernetesMachine) in the one workload cluster.

// suffix is the random part of a test namespace.
func suffix(ns string) string { return strings.TrimPrefix(ns, "test-") }

// newCluster creates a Cluster whose infrastructure is provisioned, as the core
// would report it, and its kubeconfig Secret pointing at the workload cluster.
func newCluster(g Gomega, ns, name string, apiServerPort int32) *clusterv1.Cluster {
	ctx := context.Background()
	g.Expect(env.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-kubeconfig", Labels: map[string]string{clusterv1.ClusterNameLabel: name}},
		Type:       clusterv1.ClusterSecretType,
		Data:       map[string][]byte{"value": workloadKubeconfig},
	})).To(Succeed())
	c := &clusterv1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: clusterv1.ClusterSpec{
			ClusterNetwork: clusterv1.ClusterNetwork{
				APIServerPort: apiServerPort,
				Pods:          clusterv1.NetworkRanges{CIDRBlocks: []string{"192.168.0.0/16"}},
			},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "KubernetesCluster", Name: name},
		},
	}
	g.Expect(env.Client.Create(ctx, c)).To(Succeed())
	t := true
	c.Status.Initialization.InfrastructureProvisioned = &t
	g.Expect(env.Client.Status().Update(ctx, c)).To(Succeed())
	return c
}

// newKubernetesCluster creates a KubernetesCluster owned by the Cluster, as the
// core would adopt it.
func newKubernetesCluster(g Gomega, c *clusterv1.Cluster, spec infrav1.KubernetesClusterSpec) *infrav1.KubernetesCluster {
	kc := &infrav1.KubernetesCluster{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: c.Namespace, Name: c.Name,
			OwnerReferences: []metav1.OwnerReference{ownerRef(c, "Cluster")},
		},
		Spec: spec,
	}
	g.Expect(env.Client.Create(context.Background(), kc)).To(Succeed())
	return kc
}

func ownerRef(o client.Object, kind string) metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{APIVersion: clusterv1.GroupVersion.String(), Kind: kind, Name: o.GetName(), UID: o.GetUID(), Controller: &t}
}

// machineOptions shape a test Machine.
type machineOptions struct {
	controlPlane  bool
	failureDomain string
	// cloudConfig is a golden file of the bootstrap provider; empty leaves the
	// Machine without bootstrap data.
	cloudConfig string
	// cloudConfigData, when set, is the bootstrap data instead of a golden file.
	cloudConfigData []byte
	spec            infrav1.KubernetesMachineSpec
}

// newMachine creates a Machine, its bootstrap data Secret (when opts has a
// cloud-config) and its KubernetesMachine, owned by the Machine.
func newMachine(g Gomega, c *clusterv1.Cluster, name string, opts machineOptions) (*clusterv1.Machine, *infrav1.KubernetesMachine) {
	ctx := context.Background()
	m := &clusterv1.Machine{
		ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: name, Labels: map[string]string{clusterv1.ClusterNameLabel: c.Name}},
		Spec: clusterv1.MachineSpec{
			ClusterName:       c.Name,
			Version:           "v1.37.2",
			FailureDomain:     opts.failureDomain,
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "KubernetesMachine", Name: name},
		},
	}
	if opts.controlPlane {
		m.Labels[clusterv1.MachineControlPlaneLabel] = ""
	}
	switch {
	case opts.cloudConfigData != nil:
		g.Expect(env.Client.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: name},
			Type:       clusterv1.ClusterSecretType,
			Data:       map[string][]byte{"value": opts.cloudConfigData, "format": []byte("cloud-config")},
		})).To(Succeed())
		m.Spec.Bootstrap.DataSecretName = &name
	case opts.cloudConfig != "":
		createDataSecret(g, c.Namespace, name, opts.cloudConfig)
		m.Spec.Bootstrap.DataSecretName = &name
	default:
		// A bootstrap config that has not delivered yet (nobody runs it here).
		m.Spec.Bootstrap.ConfigRef = clusterv1.ContractVersionedObjectReference{
			APIGroup: "bootstrap.cluster.x-k8s.io", Kind: "KubeadmConfig", Name: name}
	}
	g.Expect(env.Client.Create(ctx, m)).To(Succeed())
	km := &infrav1.KubernetesMachine{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: c.Namespace, Name: name,
			Labels:          map[string]string{clusterv1.ClusterNameLabel: c.Name},
			OwnerReferences: []metav1.OwnerReference{ownerRef(m, "Machine")},
		},
		Spec: opts.spec,
	}
	g.Expect(env.Client.Create(ctx, km)).To(Succeed())
	return m, km
}

// createDataSecret writes a bootstrap data Secret as KubeadmConfig does.
func createDataSecret(g Gomega, ns, name, goldenFile string) {
	data, err := os.ReadFile(filepath.Join(goldenDir, goldenFile))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(env.Client.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       clusterv1.ClusterSecretType,
		Data:       map[string][]byte{"value": data, "format": []byte("cloud-config")},
	})).To(Succeed())
}

// newManagementNode creates a Ready management Node with an InternalIP and,
// when zone is set, a zone label; the test removes it when it ends.
func newManagementNode(t *testing.T, g Gomega, name, ip, zone string) *corev1.Node {
	ctx := context.Background()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	if zone != "" {
		node.Labels[corev1.LabelTopologyZone] = zone
	}
	g.Expect(env.Client.Create(ctx, node)).To(Succeed())
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), node) })
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}, {Type: corev1.NodeHostName, Address: name}}
	node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	g.Expect(env.Client.Status().Update(ctx, node)).To(Succeed())
	return node
}

// Reads.

func keyOf(o client.Object) client.ObjectKey { return client.ObjectKeyFromObject(o) }

func getKC(g Gomega, kc *infrav1.KubernetesCluster) *infrav1.KubernetesCluster {
	got := &infrav1.KubernetesCluster{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(kc), got)).To(Succeed())
	return got
}

func getKM(g Gomega, km *infrav1.KubernetesMachine) *infrav1.KubernetesMachine {
	got := &infrav1.KubernetesMachine{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(km), got)).To(Succeed())
	return got
}

// waitForPod waits for the node Pod of a KubernetesMachine.
func waitForPod(g Gomega, km *infrav1.KubernetesMachine) *corev1.Pod {
	pod := &corev1.Pod{}
	g.Eventually(func() error {
		return env.Client.Get(context.Background(), client.ObjectKeyFromObject(km), pod)
	}, timeout, interval).Should(Succeed())
	return pod
}

func condition(conds []metav1.Condition, t string) metav1.Condition {
	for _, c := range conds {
		if c.Type == t {
			return c
		}
	}
	return metav1.Condition{}
}

// haveCondition matches a condition list holding a condition of that type,
// status and reason.
func haveCondition(t string, status metav1.ConditionStatus, reason string) OmegaMatcher {
	return ContainElement(And(
		HaveField("Type", t), HaveField("Status", status), HaveField("Reason", reason)))
}

// Playing the kubelet.

// bindPod schedules a Pod to a Node, as the scheduler would.
func bindPod(g Gomega, pod *corev1.Pod, node string) {
	g.Expect(env.Client.SubResource("binding").Create(context.Background(), pod, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	})).To(Succeed())
}

// nodeState is what the kubelet reports about the node container.
type nodeState struct {
	podIP string
	// started is the startup probe's result: bootstrap succeeded.
	started bool
	ready   bool
	// exitCode and message, when exitCode is set, terminate the container.
	exitCode int32
	message  string
}

// setPodStatus reports a node Pod's status as the kubelet would.
func setPodStatus(g Gomega, pod *corev1.Pod, st nodeState) {
	ctx := context.Background()
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
		now := metav1.Now()
		cond := func(t corev1.PodConditionType, ok bool) corev1.PodCondition {
			s := corev1.ConditionFalse
			if ok {
				s = corev1.ConditionTrue
			}
			c := corev1.PodCondition{Type: t, Status: s, LastTransitionTime: now}
			if !ok && (t == corev1.PodReady || t == corev1.ContainersReady) {
				c.Reason = "ContainersNotReady"
				c.Message = "containers with unready status: [node]"
			}
			return c
		}
		image := pod.Spec.Containers[0].Image
		cs := corev1.ContainerStatus{Name: nodepod.ContainerName, Image: image, ImageID: image, Ready: st.ready, Started: &st.started}
		phase := corev1.PodRunning
		if st.exitCode != 0 {
			f := false
			cs.Started, cs.Ready = &f, false
			cs.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: st.exitCode, Reason: "Error", Message: st.message,
				StartedAt: now, FinishedAt: now}
			phase = corev1.PodFailed
		} else {
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: now}
		}
		pod.Status = corev1.PodStatus{
			Phase:  phase,
			HostIP: "10.99.0.1", HostIPs: []corev1.HostIP{{IP: "10.99.0.1"}},
			PodIP: st.podIP, PodIPs: []corev1.PodIP{{IP: st.podIP}},
			StartTime: &now,
			Conditions: []corev1.PodCondition{
				cond(corev1.PodScheduled, true), cond(corev1.PodInitialized, true),
				cond(corev1.ContainersReady, st.ready), cond(corev1.PodReady, st.ready),
			},
			InitContainerStatuses: []corev1.ContainerStatus{{
				Name: nodepod.SeedContainerName, Image: image, ImageID: image,
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now}},
			}},
			ContainerStatuses: []corev1.ContainerStatus{cs},
		}
		g.Expect(env.Client.Status().Update(ctx, pod)).To(Succeed())
	}, timeout, interval).Should(Succeed())
}
