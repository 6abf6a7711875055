package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/config/crd"
	conv "github.com/podcluster/podcluster/internal/conversion"
	"github.com/podcluster/podcluster/internal/scheme"
	"github.com/podcluster/podcluster/test/testenv"
)

var env *testenv.Environment

// TestMain starts an API server without CRDs, the conversion webhook on
// loopback as `podcluster up` starts it, and installs the CRDs pointing at it.
func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	e, err := testenv.Start(testenv.Options{WithoutCRDs: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env = e
	defer func() { _ = e.Stop() }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "podcluster-webhook-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	local, err := StartLocal(ctx, Scheme(scheme.New()), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	crds, err := crd.All()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	WithConversion(crds, local.ClientConfig)
	if err := manifest.InstallCRDs(ctx, e.Client, crds); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// TestV1Beta1ManifestAppliesUnchanged applies a v1beta1 manifest with kubectl,
// reads every object back as v1beta2 (the stored version) and as v1beta1,
// which must equal what was applied.
func TestV1Beta1ManifestAppliesUnchanged(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	file := filepath.Join("testdata", "capi-quickstart-v1beta1.yaml")
	out, err := env.Kubectl(ctx, "apply", "-n", ns, "-f", file)
	g.Expect(err).NotTo(HaveOccurred(), out)

	// As v1beta2: the fields moved and changed shape.
	cluster := &clusterv1.Cluster{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "capi-quickstart"}, cluster)).To(Succeed())
	g.Expect(cluster.Spec.InfrastructureRef).To(Equal(clusterv1.ContractVersionedObjectReference{
		APIGroup: "infrastructure.cluster.x-k8s.io", Kind: "DockerCluster", Name: "capi-quickstart",
	}))
	g.Expect(cluster.Spec.ClusterNetwork.Pods.CIDRBlocks).To(Equal([]string{"192.168.0.0/16"}))

	md := &clusterv1.MachineDeployment{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "capi-quickstart-md-0"}, md)).To(Succeed())
	g.Expect(md.Spec.Template.Spec.Bootstrap.ConfigRef).To(Equal(clusterv1.ContractVersionedObjectReference{
		APIGroup: "bootstrap.cluster.x-k8s.io", Kind: "KubeadmConfigTemplate", Name: "capi-quickstart-md-0",
	}))
	g.Expect(md.Spec.Template.Spec.Deletion.NodeDrainTimeoutSeconds).To(Equal(ptr.To[int32](600)))
	g.Expect(md.Spec.Rollout.Strategy.Type).To(Equal(clusterv1.RollingUpdateMachineDeploymentStrategyType))
	g.Expect(md.Spec.Rollout.Strategy.RollingUpdate.MaxSurge).To(Equal(ptr.To(intstr.FromInt32(1))))
	g.Expect(md.Spec.Deletion.Order).To(Equal(clusterv1.OldestMachineSetDeletionOrder))

	kct := &bootstrapv1.KubeadmConfigTemplate{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "capi-quickstart-md-0"}, kct)).To(Succeed())
	g.Expect(kct.Spec.Template.Spec.JoinConfiguration.NodeRegistration.KubeletExtraArgs).To(Equal([]bootstrapv1.Arg{
		{Name: "cgroup-driver", Value: ptr.To("systemd")},
		{Name: "eviction-hard", Value: ptr.To("nodefs.available<0%,nodefs.inodesFree<0%,imagefs.available<0%")},
	}))

	mhc := &clusterv1.MachineHealthCheck{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "capi-quickstart-md-0-mhc"}, mhc)).To(Succeed())
	g.Expect(mhc.Spec.Checks.NodeStartupTimeoutSeconds).To(Equal(ptr.To[int32](600)))
	g.Expect(mhc.Spec.Checks.UnhealthyNodeConditions).To(HaveLen(2))
	g.Expect(mhc.Spec.Checks.UnhealthyNodeConditions[0].TimeoutSeconds).To(Equal(ptr.To[int32](300)))

	// As v1beta1: exactly what was applied, though "300s" and "10m" have no
	// place in v1beta2 but seconds.
	readsBackAsApplied(ctx, g, ns, file)
}

// TestOtherKindsReadBackAsApplied applies the other served kinds in v1beta1
// and reads them back unchanged.
func TestOtherKindsReadBackAsApplied(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	file := filepath.Join("testdata", "other-kinds-v1beta1.yaml")
	out, err := env.Kubectl(ctx, "apply", "-n", ns, "-f", file)
	g.Expect(err).NotTo(HaveOccurred(), out)
	readsBackAsApplied(ctx, g, ns, file)

	kc := &bootstrapv1.KubeadmConfig{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "m-0"}, kc)).To(Succeed())
	g.Expect(kc.Spec.InitConfiguration.Timeouts.ControlPlaneComponentHealthCheckSeconds).To(Equal(ptr.To[int32](1200)))
	g.Expect(kc.Spec.JoinConfiguration.Timeouts.TLSBootstrapSeconds).To(Equal(ptr.To[int32](300)))
	mp := &clusterv1.MachinePool{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "mp-0"}, mp)).To(Succeed())
	g.Expect(mp.Spec.Template.Spec.MinReadySeconds).To(Equal(ptr.To[int32](5)))
}

// readsBackAsApplied reads every object of file as v1beta1 and compares its
// spec with the file's.
func readsBackAsApplied(ctx context.Context, g Gomega, ns, file string) {
	applied, err := manifest.ReadPaths(file)
	g.Expect(err).NotTo(HaveOccurred())
	for _, want := range applied {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(want.GroupVersionKind())
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: want.GetName()}, got)).To(Succeed())
		gotSpec, err := json.Marshal(got.Object["spec"])
		g.Expect(err).NotTo(HaveOccurred())
		// The API server drops null values (matchLabels: null) whatever the version.
		wantSpec, err := json.Marshal(dropNulls(want.Object["spec"]))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(gotSpec).To(MatchJSON(wantSpec), "%s %s", want.GetKind(), want.GetName())
		g.Expect(got.GetAnnotations()).NotTo(HaveKey(conv.DataAnnotation), "%s %s", want.GetKind(), want.GetName())
	}
}

// TestV1Beta1UpdateKeepsV1Beta2OnlyFields writes a MachineDeployment as
// v1beta2 with fields v1beta1 has no place for, updates it through v1beta1,
// and finds those fields still there.
func TestV1Beta1UpdateKeepsV1Beta2OnlyFields(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	md := &clusterv1.MachineDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "md"},
		Spec: clusterv1.MachineDeploymentSpec{
			ClusterName: "c",
			Replicas:    ptr.To[int32](1),
			Selector:    clusterv1.LabelSelector{MatchLabels: map[string]clusterv1.LabelValue{"a": "b"}},
			Template: clusterv1.MachineTemplateSpec{
				ObjectMeta: clusterv1.ObjectMeta{Labels: map[string]string{"a": "b"}},
				Spec: clusterv1.MachineSpec{
					ClusterName:       "c",
					Bootstrap:         clusterv1.Bootstrap{DataSecretName: ptr.To("data")},
					InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: "infrastructure.cluster.x-k8s.io", Kind: "KubernetesMachineTemplate", Name: "m"},
					Taints:            []clusterv1.MachineTaint{{Key: "k", Effect: "NoSchedule", Propagation: clusterv1.MachineTaintPropagationAlways}},
				},
			},
		},
	}
	g.Expect(env.Client.Create(ctx, md)).To(Succeed())

	old := &unstructured.Unstructured{}
	old.SetAPIVersion("cluster.x-k8s.io/v1beta1")
	old.SetKind("MachineDeployment")
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(md), old)).To(Succeed())
	g.Expect(old.GetAnnotations()).To(HaveKey(conv.DataAnnotation), "the taints have no place in v1beta1")
	g.Expect(old.Object["spec"]).To(HaveKeyWithValue("template", HaveKeyWithValue("spec", HaveKeyWithValue("infrastructureRef",
		HaveKeyWithValue("apiVersion", "infrastructure.cluster.x-k8s.io/v1alpha1")))))
	g.Expect(unstructured.SetNestedField(old.Object, int64(4), "spec", "replicas")).To(Succeed())
	g.Expect(env.Client.Update(ctx, old)).To(Succeed())

	got := &clusterv1.MachineDeployment{}
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(md), got)).To(Succeed())
	g.Expect(got.Spec.Replicas).To(Equal(ptr.To[int32](4)))
	g.Expect(got.Spec.Template.Spec.Taints).To(Equal(md.Spec.Template.Spec.Taints))
	g.Expect(got.GetAnnotations()).NotTo(HaveKey(conv.DataAnnotation))
}

func dropNulls(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string]any{}
	for k, x := range m {
		if x != nil {
			out[k] = dropNulls(x)
		}
	}
	return out
}

// inotifyInstances counts this process's inotify instances.
func inotifyInstances(g Gomega) int {
	fds, err := os.ReadDir("/proc/self/fd")
	g.Expect(err).NotTo(HaveOccurred())
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && target == "anon_inode:inotify" {
			n++
		}
	}
	return n
}

// TestLocalWatchesNoFiles: a local webhook serves its certificate from memory
// and takes no inotify instance (a host running many API servers may have
// none left), yet answers TLS with the certificate its client config trusts.
func TestLocalWatchesNoFiles(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := inotifyInstances(g)
	local, err := StartLocal(ctx, Scheme(scheme.New()), t.TempDir())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(inotifyInstances(g)).To(Equal(before))

	pool := x509.NewCertPool()
	g.Expect(pool.AppendCertsFromPEM(local.ClientConfig.CABundle)).To(BeTrue())
	conn, err := tls.Dial("tcp", local.Addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(conn.Close()).To(Succeed())
}
