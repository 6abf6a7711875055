// Package integration tests the core controllers together against real API
// servers: one management cluster (envtest with our CRDs) and one workload
// cluster (a second envtest) that every test Cluster's kubeconfig points at.
// The bootstrap and infrastructure providers are played by test/standin in a
// manager of their own.
package integration

import (
	"context"
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/core"
	"github.com/podcluster/podcluster/internal/manager"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/test/standin"
	"github.com/podcluster/podcluster/test/testenv"
	"github.com/podcluster/podcluster/test/testmanager"
)

var (
	env, workload      *testenv.Environment
	workloadKubeconfig []byte

	// requests counts the core manager's API requests to the management cluster.
	requests *testenv.RequestCounter
)

func TestMain(m *testing.M) {
	if os.Getenv("PODCLUSTER_TEST_LOGS") != "" {
		log.SetLogger(zap.New(zap.UseDevMode(true)))
	} else {
		log.SetLogger(zap.New(zap.WriteTo(discard{})))
	}
	os.Exit(testenv.Run(m, &env, func() (func(), error) {
		var err error
		if workload, err = testenv.StartWorkload(); err != nil {
			return nil, err
		}
		if workloadKubeconfig, err = os.ReadFile(workload.KubeconfigPath); err != nil {
			return nil, err
		}
		stopStandin, err := standin.Start(env.Config, workload)
		if err != nil {
			return nil, err
		}
		if err := startCore(); err != nil {
			return nil, err
		}
		return func() {
			stopCore()
			stopStandin()
			_ = workload.Stop()
		}, nil
	}))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// coreManager runs the core controllers, counting their requests.
var coreManager = &testmanager.Manager{
	Options: manager.Options{AllowRestart: true},
	Setup: func(ctx context.Context, mgr ctrl.Manager, cc *remote.ClusterCache) error {
		return core.Setup(ctx, mgr, core.Options{ClusterCache: cc})
	},
}

// startCore starts the core manager; its requests add to requests.
func startCore() error {
	if coreManager.Config == nil {
		cfg, counter := testenv.Counting(env.Config)
		cfg.QPS, cfg.Burst = 500, 1000
		coreManager.Config, requests = cfg, counter
	}
	return coreManager.Start()
}

func stopCore() { coreManager.Stop() }

// Builders.

type testCluster struct {
	ns, name string
}

// newCluster creates a Cluster, its KubernetesCluster and its kubeconfig
// Secret pointing at the workload cluster.
func newCluster(t testing.TB, g Gomega, ns, name string) testCluster {
	t.Helper()
	ctx := context.Background()
	g.Expect(env.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-kubeconfig", Labels: map[string]string{clusterv1.ClusterNameLabel: name}},
		Type:       clusterv1.ClusterSecretType,
		Data:       map[string][]byte{"value": workloadKubeconfig},
	})).To(Succeed())
	g.Expect(env.Client.Create(ctx, &infrav1.KubernetesCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})).To(Succeed())
	g.Expect(env.Client.Create(ctx, &clusterv1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: clusterv1.ClusterSpec{
			ClusterNetwork:    clusterv1.ClusterNetwork{Pods: clusterv1.NetworkRanges{CIDRBlocks: []string{"192.168.0.0/16"}}},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "KubernetesCluster", Name: name},
		},
	})).To(Succeed())
	return testCluster{ns: ns, name: name}
}

// newTemplates creates a KubeadmConfigTemplate and a KubernetesMachineTemplate named name.
func newTemplates(g Gomega, ns, name string) {
	ctx := context.Background()
	g.Expect(env.Client.Create(ctx, &bootstrapv1.KubeadmConfigTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: bootstrapv1.KubeadmConfigTemplateSpec{Template: bootstrapv1.KubeadmConfigTemplateResource{Spec: bootstrapv1.KubeadmConfigSpec{
			Format: bootstrapv1.CloudConfig,
		}}},
	})).To(Succeed())
	g.Expect(env.Client.Create(ctx, &infrav1.KubernetesMachineTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       infrav1.KubernetesMachineTemplateSpec{Template: infrav1.KubernetesMachineTemplateResource{Spec: infrav1.KubernetesMachineSpec{}}},
	})).To(Succeed())
}

func machineTemplate(c testCluster, tmpl string, labels map[string]string) clusterv1.MachineTemplateSpec {
	return clusterv1.MachineTemplateSpec{
		ObjectMeta: clusterv1.ObjectMeta{Labels: labels},
		Spec: clusterv1.MachineSpec{
			ClusterName: c.name,
			Version:     "v1.37.2",
			Bootstrap: clusterv1.Bootstrap{ConfigRef: clusterv1.ContractVersionedObjectReference{
				APIGroup: bootstrapv1.GroupVersion.Group, Kind: "KubeadmConfigTemplate", Name: tmpl}},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{
				APIGroup: infrav1.GroupVersion.Group, Kind: "KubernetesMachineTemplate", Name: tmpl},
		},
	}
}

// newMachineDeployment creates a MachineDeployment of replicas with maxSurge
// and maxUnavailable.
func newMachineDeployment(g Gomega, c testCluster, name string, replicas int32, surge, unavailable int) *clusterv1.MachineDeployment {
	newTemplates(g, c.ns, name)
	labels := map[string]string{"pool": name}
	ms, mu := intstr.FromInt(surge), intstr.FromInt(unavailable)
	md := &clusterv1.MachineDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: c.ns, Name: name},
		Spec: clusterv1.MachineDeploymentSpec{
			ClusterName: c.name,
			Replicas:    &replicas,
			Selector:    clusterv1.LabelSelector{MatchLabels: map[string]clusterv1.LabelValue{"pool": clusterv1.LabelValue(name)}},
			Template:    machineTemplate(c, name, labels),
			Rollout: clusterv1.MachineDeploymentRolloutSpec{Strategy: clusterv1.MachineDeploymentRolloutStrategy{
				Type:          clusterv1.RollingUpdateMachineDeploymentStrategyType,
				RollingUpdate: clusterv1.MachineDeploymentRolloutStrategyRollingUpdate{MaxSurge: &ms, MaxUnavailable: &mu},
			}},
		},
	}
	g.Expect(env.Client.Create(context.Background(), md)).To(Succeed())
	return md
}

// machines lists the Machines of a namespace straight from the API server.
func machines(g Gomega, ns string) []clusterv1.Machine {
	list := &clusterv1.MachineList{}
	g.Expect(env.Client.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
	return list.Items
}

func isTrue(conds []metav1.Condition, t string) bool {
	for _, c := range conds {
		if c.Type == t {
			return c.Status == metav1.ConditionTrue
		}
	}
	return false
}

// waitForRunning waits until the namespace has n Machines, all Running and Available.
func waitForRunning(g Gomega, ns string, n int, timeout time.Duration) {
	g.Eventually(func(g Gomega) {
		ms := machines(g, ns)
		g.Expect(ms).To(HaveLen(n))
		for _, m := range ms {
			g.Expect(m.Status.Phase).To(Equal("Running"), "Machine %s", m.Name)
			g.Expect(isTrue(m.Status.Conditions, clusterv1.AvailableCondition)).To(BeTrue(), "Machine %s Available", m.Name)
		}
	}, timeout, 200*time.Millisecond).Should(Succeed())
}

// update re-reads obj, applies mutate and writes it back, retrying when a
// controller changed the object in between (the tests race real controllers).
func update(g Gomega, obj client.Object, mutate func()) {
	g.Eventually(func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		mutate()
		return env.Client.Update(context.Background(), obj)
	}, 20*time.Second, 50*time.Millisecond).Should(Succeed())
}
