// Package integration tests the KubeadmControlPlane controller together with
// the core controllers against real API servers: one management cluster
// (envtest with our CRDs) and one workload cluster (a second envtest) that
// every test Cluster's kubeconfig points at. The bootstrap and
// infrastructure providers are played by test/standin in a manager of their
// own.
package integration

import (
	"context"
	"os"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	kubeadmcontrolplane "github.com/podcluster/podcluster/controlplane/kubeadm"
	"github.com/podcluster/podcluster/core"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/test/standin"
	"github.com/podcluster/podcluster/test/testenv"
	"github.com/podcluster/podcluster/test/testmanager"
)

var (
	env, workload      *testenv.Environment
	workloadKubeconfig []byte
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
		stopManager, err := startManager()
		if err != nil {
			stopStandin()
			return nil, err
		}
		return func() {
			stopManager()
			stopStandin()
			_ = workload.Stop()
		}, nil
	}))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// startManager starts the core and the control-plane provider in one manager.
func startManager() (func(), error) {
	cfg := *env.Config
	cfg.QPS, cfg.Burst = 500, 1000
	m := &testmanager.Manager{
		Config: &cfg,
		Setup: func(ctx context.Context, mgr ctrl.Manager, cc *remote.ClusterCache) error {
			if err := core.Setup(ctx, mgr, core.Options{ClusterCache: cc}); err != nil {
				return err
			}
			return kubeadmcontrolplane.Setup(ctx, mgr, kubeadmcontrolplane.Options{ClusterCache: cc})
		},
	}
	return m.Stop, m.Start()
}

// newControlPlaneCluster creates a Cluster whose control plane is a
// KubeadmControlPlane of replicas, with its KubernetesCluster, machine
// template and the kubeconfig Secret pointing at the workload cluster (as if
// written earlier, so that the stand-ins need no CA).
func newControlPlaneCluster(t testing.TB, g Gomega, ns, name string, replicas int32) *controlplanev1.KubeadmControlPlane {
	t.Helper()
	ctx := context.Background()
	g.Expect(env.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-kubeconfig", Labels: map[string]string{clusterv1.ClusterNameLabel: name}},
		Type:       clusterv1.ClusterSecretType,
		Data:       map[string][]byte{"value": workloadKubeconfig},
	})).To(Succeed())
	g.Expect(env.Client.Create(ctx, &infrav1.KubernetesCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})).To(Succeed())
	g.Expect(env.Client.Create(ctx, &infrav1.KubernetesMachineTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-control-plane"},
		Spec:       infrav1.KubernetesMachineTemplateSpec{Template: infrav1.KubernetesMachineTemplateResource{Spec: infrav1.KubernetesMachineSpec{}}},
	})).To(Succeed())
	kcp := &controlplanev1.KubeadmControlPlane{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-control-plane"},
		Spec: controlplanev1.KubeadmControlPlaneSpec{
			Replicas: &replicas,
			Version:  "v1.37.2",
			MachineTemplate: controlplanev1.KubeadmControlPlaneMachineTemplate{
				ObjectMeta: clusterv1.ObjectMeta{Labels: map[string]string{"tier": "control-plane"}},
				Spec: controlplanev1.KubeadmControlPlaneMachineTemplateSpec{
					InfrastructureRef: clusterv1.ContractVersionedObjectReference{
						APIGroup: infrav1.GroupVersion.Group, Kind: "KubernetesMachineTemplate", Name: name + "-control-plane"},
				},
			},
			KubeadmConfigSpec: bootstrapv1.KubeadmConfigSpec{
				Format:               bootstrapv1.CloudConfig,
				ClusterConfiguration: bootstrapv1.ClusterConfiguration{CertificatesDir: "/etc/kubernetes/pki"},
			},
		},
	}
	g.Expect(env.Client.Create(ctx, kcp)).To(Succeed())
	g.Expect(env.Client.Create(ctx, &clusterv1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: clusterv1.ClusterSpec{
			ClusterNetwork:    clusterv1.ClusterNetwork{Pods: clusterv1.NetworkRanges{CIDRBlocks: []string{"192.168.0.0/16"}}},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "KubernetesCluster", Name: name},
			ControlPlaneRef:   clusterv1.ContractVersionedObjectReference{APIGroup: controlplanev1.GroupVersion.Group, Kind: "KubeadmControlPlane", Name: kcp.Name},
		},
	})).To(Succeed())
	return kcp
}
