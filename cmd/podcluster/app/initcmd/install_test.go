package initcmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/cmd/podcluster/client/install"
	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/cmd/podcluster/providers"
	"github.com/podcluster/podcluster/internal/manager"
	"github.com/podcluster/podcluster/test/testenv"
)

const testImage = "registry.example.test/podcluster:v0.0.1-test"

// managerDeployments lists podcluster's Deployments in the API server.
func managerDeployments(g Gomega) []appsv1.Deployment {
	list := &appsv1.DeploymentList{}
	g.Expect(env.Client.List(context.Background(), list, client.InNamespace("podcluster-system"),
		client.MatchingLabels{"app.kubernetes.io/part-of": "podcluster"})).To(Succeed())
	return list.Items
}

// TestInitImage: --image names the image of every manager Deployment, in the
// dry-run output and in what init applies; without it the default stays.
func TestInitImage(t *testing.T) {
	g := NewWithT(t)
	out, err := runInit(t, "--dry-run", "--image", testImage)
	g.Expect(err).NotTo(HaveOccurred())
	objs, err := manifest.Decode([]byte(out))
	g.Expect(err).NotTo(HaveOccurred())
	n := 0
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		n++
		containers := unstructuredContainers(o.Object)
		g.Expect(containers).NotTo(BeEmpty())
		for _, c := range containers {
			g.Expect(c).To(HaveKeyWithValue("image", testImage), o.GetName())
		}
	}
	g.Expect(n).To(Equal(4))
	g.Expect(out).NotTo(ContainSubstring(install.DefaultImage))

	_, err = runInit(t, "--kubeconfig", env.KubeconfigPath, "--wait=false", "--image", testImage)
	g.Expect(err).NotTo(HaveOccurred())
	ds := managerDeployments(g)
	g.Expect(ds).To(HaveLen(4))
	for _, d := range ds {
		g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal(testImage), d.Name)
	}

	// Back to the default: the documented image.
	_, err = runInit(t, "--kubeconfig", env.KubeconfigPath, "--wait=false")
	g.Expect(err).NotTo(HaveOccurred())
	for _, d := range managerDeployments(g) {
		g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal(install.DefaultImage), d.Name)
	}
}

// unstructuredContainers reads spec.template.spec.containers of a Deployment.
func unstructuredContainers(obj map[string]any) []map[string]any {
	spec, _ := obj["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	podSpec, _ := tmpl["spec"].(map[string]any)
	list, _ := podSpec["containers"].([]any)
	var out []map[string]any
	for _, c := range list {
		if m, ok := c.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// infraServiceAccount is the user the infrastructure provider's manager runs as.
const infraServiceAccount = "system:serviceaccount:podcluster-system:podcluster-kubernetes"

// allowed asks the API server's authorizer whether the infrastructure
// provider's service account may do verb on resource in ns ("" for
// cluster-wide).
func allowed(g Gomega, verb, group, resource, ns string) bool {
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   infraServiceAccount,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:podcluster-system", "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: ns, Verb: verb, Group: group, Resource: resource,
		},
	}}
	g.Expect(env.Client.Create(context.Background(), sar)).To(Succeed())
	return sar.Status.Allowed
}

// TestInitWatchNamespace: with --watch-namespace A, the infrastructure
// provider may create Pods in A only (the API server's authorizer says so),
// and a manager limited to A, running with exactly that RBAC, makes the node
// Pod of a KubernetesMachine in A and leaves the one in B alone.
func TestInitWatchNamespace(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	nsA, nsB := env.NewNamespace(t), env.NewNamespace(t)

	_, err := runInit(t, "--kubeconfig", env.KubeconfigPath, "--wait=false", "--watch-namespace", "does-not-exist")
	g.Expect(err).To(MatchError(ContainSubstring("does-not-exist: the namespace does not exist")))

	// A cluster-wide install first: switching to a limited one must take
	// its cluster-wide rights away.
	_, err = runInit(t, "--kubeconfig", env.KubeconfigPath, "--wait=false")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(allowed(g, "create", "", "pods", nsB)).To(BeTrue(), "the default install serves every namespace")
	_, err = runInit(t, "--kubeconfig", env.KubeconfigPath, "--wait=false", "--watch-namespace", nsA)
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() {
		// Leave the cluster-wide install the other tests expect.
		if _, err := runInit(t, "--kubeconfig", env.KubeconfigPath, "--wait=false"); err != nil {
			t.Errorf("restoring the cluster-wide install: %v", err)
		}
	})
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Name: "podcluster-kubernetes-manager"}, &rbacv1.ClusterRoleBinding{})).
		To(Satisfy(apierrors.IsNotFound), "the cluster-wide binding is gone")

	for _, tc := range []struct {
		verb, group, resource, ns string
		want                      bool
	}{
		{"create", "", "pods", nsA, true},
		{"delete", "", "pods", nsA, true},
		{"create", "", "secrets", nsA, true},
		{"patch", "infrastructure.cluster.x-k8s.io", "kubernetesmachines", nsA, true},
		{"create", "", "pods", nsB, false},
		{"list", "", "pods", nsB, false},
		{"get", "", "secrets", nsB, false},
		{"create", "", "pods", "podcluster-system", false},
		{"create", "", "pods", "", false},
		{"list", "", "pods", "", false},
		{"list", "", "nodes", "", true},
		{"update", "coordination.k8s.io", "leases", "podcluster-system", true},
		{"update", "coordination.k8s.io", "leases", nsB, false},
	} {
		g.Expect(allowed(g, tc.verb, tc.group, tc.resource, tc.ns)).To(Equal(tc.want), "%s %s %s in %q", tc.verb, tc.group, tc.resource, tc.ns)
	}

	// The manager, as the service account, limited to A.
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: infraServiceAccount,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:podcluster-system", "system:authenticated"}}
	mgr, cc, err := manager.New(cfg, manager.Options{Namespaces: []string{nsA}, AllowRestart: true})
	g.Expect(err).NotTo(HaveOccurred())
	mctx, cancel := context.WithCancel(ctrl.LoggerInto(ctx, ctrl.Log))
	g.Expect(providers.SetupAll(mctx, mgr, []string{"kubernetes"}, providers.Options{ClusterCache: cc})).To(Succeed())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	defer func() {
		cancel()
		g.Expect(<-done).To(Succeed())
	}()

	kmB := newProvisionableMachine(g, nsB)
	kmA := newProvisionableMachine(g, nsA)
	g.Eventually(func() error {
		return env.Client.Get(ctx, client.ObjectKeyFromObject(kmA), &corev1.Pod{})
	}, time.Minute, 200*time.Millisecond).Should(Succeed(), "the manager serves namespace A")
	// B's machine was created first, and A's Pod exists: a manager that
	// watched B would have made its Pod by now, or be about to.
	g.Consistently(func() bool {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(kmB), &corev1.Pod{})
		return apierrors.IsNotFound(err)
	}, 2*time.Second, 200*time.Millisecond).Should(BeTrue(), "no node Pod in namespace B")
	got := &infrav1.KubernetesMachine{}
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(kmB), got)).To(Succeed())
	g.Expect(got.Finalizers).To(BeEmpty(), "the manager never touched the machine in B")
	err = mgr.GetClient().Get(ctx, client.ObjectKeyFromObject(kmB), &infrav1.KubernetesMachine{})
	g.Expect(err).To(HaveOccurred(), "the manager's cache does not hold namespace B")
}

// newProvisionableMachine creates what a KubernetesMachine needs for its node
// Pod, as the core and the bootstrap provider would: a Cluster with
// provisioned infrastructure and a Machine with bootstrap data.
func newProvisionableMachine(g Gomega, ns string) *infrav1.KubernetesMachine {
	ctx := context.Background()
	root, err := testenv.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	cloudConfig, err := os.ReadFile(filepath.Join(root, "bootstrap", "kubeadm", "cloudinit", "testdata", "join-node.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	c := &clusterv1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "example"},
		Spec: clusterv1.ClusterSpec{
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "KubernetesCluster", Name: "example"},
		},
	}
	g.Expect(env.Client.Create(ctx, c)).To(Succeed())
	provisioned := true
	c.Status.Initialization.InfrastructureProvisioned = &provisioned
	g.Expect(env.Client.Status().Update(ctx, c)).To(Succeed())
	name := "worker-" + strings.TrimPrefix(ns, "test-")
	g.Expect(env.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       clusterv1.ClusterSecretType,
		Data:       map[string][]byte{"value": cloudConfig, "format": []byte("cloud-config")},
	})).To(Succeed())
	m := &clusterv1.Machine{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{clusterv1.ClusterNameLabel: c.Name}},
		Spec: clusterv1.MachineSpec{
			ClusterName: c.Name,
			Version:     "v1.37.2",
			Bootstrap:   clusterv1.Bootstrap{DataSecretName: &name},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{
				APIGroup: infrav1.GroupVersion.Group, Kind: "KubernetesMachine", Name: name},
		},
	}
	g.Expect(env.Client.Create(ctx, m)).To(Succeed())
	controller := true
	km := &infrav1.KubernetesMachine{ObjectMeta: metav1.ObjectMeta{
		Namespace: ns, Name: name,
		Labels: map[string]string{clusterv1.ClusterNameLabel: c.Name},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: "Machine",
			Name: m.Name, UID: m.UID, Controller: &controller}},
	}}
	g.Expect(env.Client.Create(ctx, km)).To(Succeed())
	return km
}
