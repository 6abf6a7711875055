// Package integration tests the KubeadmConfig controller against real API
// servers: the management cluster (envtest with our CRDs) and a second one
// standing in for the workload cluster, where join tokens are created. The
// tests play the core provider: they create Machines and set the Cluster's
// status themselves.
package integration

import (
	"context"
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/bootstrap/kubeadm"
	"github.com/podcluster/podcluster/internal/manager"
	"github.com/podcluster/podcluster/internal/pki"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/test/testenv"
	"github.com/podcluster/podcluster/test/testmanager"
)

// tokenTTL is short so that refreshes happen within a test.
const tokenTTL = 6 * time.Second

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
		if err := startManager(); err != nil {
			return nil, err
		}
		return func() {
			stopManager()
			_ = workload.Stop()
		}, nil
	}))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// mgr runs the bootstrap provider's controllers.
var mgr = &testmanager.Manager{
	Options: manager.Options{AllowRestart: true},
	Setup: func(ctx context.Context, m ctrl.Manager, cc *remote.ClusterCache) error {
		return kubeadm.Setup(ctx, m, kubeadm.Options{ClusterCache: cc, TokenTTL: tokenTTL})
	},
}

func startManager() error {
	mgr.Config = env.Config
	return mgr.Start()
}

func stopManager() { mgr.Stop() }

// newCluster creates a Cluster whose infrastructure is provisioned, as the
// core would report it, with its kubeconfig pointing at the workload API server.
func newCluster(g Gomega, ns, name string) *clusterv1.Cluster {
	ctx := context.Background()
	g.Expect(env.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-kubeconfig"},
		Data:       map[string][]byte{"value": workloadKubeconfig},
	})).To(Succeed())
	c := &clusterv1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: clusterv1.ClusterSpec{
			ClusterNetwork: clusterv1.ClusterNetwork{
				Pods:          clusterv1.NetworkRanges{CIDRBlocks: []string{"192.168.0.0/16"}},
				Services:      clusterv1.NetworkRanges{CIDRBlocks: []string{"172.16.0.0/12"}},
				ServiceDomain: "cluster.local",
			},
			ControlPlaneEndpoint: clusterv1.APIEndpoint{Host: "10.0.0.10", Port: 6443},
			InfrastructureRef:    clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "KubernetesCluster", Name: name},
		},
	}
	g.Expect(env.Client.Create(ctx, c)).To(Succeed())
	t := true
	c.Status.Initialization.InfrastructureProvisioned = &t
	g.Expect(env.Client.Status().Update(ctx, c)).To(Succeed())
	return c
}

// setInitialized marks the control plane initialized, as the core would.
func setInitialized(g Gomega, c *clusterv1.Cluster) {
	ctx := context.Background()
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(c), c)).To(Succeed())
	t := true
	c.Status.Initialization.ControlPlaneInitialized = &t
	g.Expect(env.Client.Status().Update(ctx, c)).To(Succeed())
}

// newMachine creates a Machine and its KubeadmConfig, owned by it.
func newMachine(g Gomega, c *clusterv1.Cluster, name string, controlPlane bool, version string, spec bootstrapv1.KubeadmConfigSpec) *bootstrapv1.KubeadmConfig {
	ctx := context.Background()
	m := &clusterv1.Machine{
		ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: name, Labels: map[string]string{clusterv1.ClusterNameLabel: c.Name}},
		Spec: clusterv1.MachineSpec{
			ClusterName: c.Name, Version: version,
			Bootstrap:         clusterv1.Bootstrap{ConfigRef: clusterv1.ContractVersionedObjectReference{APIGroup: bootstrapv1.GroupVersion.Group, Kind: "KubeadmConfig", Name: name}},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "KubernetesMachine", Name: name},
		},
	}
	if controlPlane {
		m.Labels[clusterv1.MachineControlPlaneLabel] = ""
	}
	g.Expect(env.Client.Create(ctx, m)).To(Succeed())
	tr := true
	config := &bootstrapv1.KubeadmConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: name, OwnerReferences: []metav1.OwnerReference{{
			APIVersion: clusterv1.GroupVersion.String(), Kind: "Machine", Name: name, UID: m.UID, Controller: &tr}}},
		Spec: spec,
	}
	g.Expect(env.Client.Create(ctx, config)).To(Succeed())
	return config
}

// dataOf waits for a config's data Secret and returns the cloud-config.
func dataOf(g Gomega, config *bootstrapv1.KubeadmConfig) string {
	secret := &corev1.Secret{}
	g.Eventually(func() error {
		return env.Client.Get(context.Background(), client.ObjectKey{Namespace: config.Namespace, Name: config.Name}, secret)
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(string(secret.Data["format"])).To(Equal("cloud-config"))
	g.Expect(secret.Type).To(Equal(clusterv1.ClusterSecretType))
	g.Expect(metav1.GetControllerOf(secret).Name).To(Equal(config.Name))
	return string(secret.Data["value"])
}

// condition returns a condition of the config as the API server has it.
func condition(g Gomega, config *bootstrapv1.KubeadmConfig, t string) *metav1.Condition {
	got := &bootstrapv1.KubeadmConfig{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(config), got)).To(Succeed())
	for i := range got.Status.Conditions {
		if got.Status.Conditions[i].Type == t {
			return &got.Status.Conditions[i]
		}
	}
	return nil
}

// writtenFile returns the content of a write_files entry of a cloud-config.
func writtenFile(g Gomega, cloudConfig, path string) string {
	doc := struct {
		WriteFiles []struct {
			Path    string `json:"path"`
			Content string `json:"content"`
		} `json:"write_files"`
	}{}
	g.Expect(yaml.Unmarshal([]byte(cloudConfig), &doc)).To(Succeed())
	for _, f := range doc.WriteFiles {
		if f.Path == path {
			return f.Content
		}
	}
	return ""
}

// userCACert is the certificate of the last CA userCA made.
var userCACert string

// userCA makes a CA Secret as a user bringing their own CA would.
func userCA(ns, name string) *corev1.Secret {
	ca, err := pki.NewCA("users-own-ca", pki.ECDSAP256, pki.CAValidity)
	if err != nil {
		panic(err)
	}
	userCACert = string(ca.CertPEM)
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       clusterv1.ClusterSecretType,
		Data:       map[string][]byte{"tls.crt": ca.CertPEM, "tls.key": ca.KeyPEM},
	}
}
