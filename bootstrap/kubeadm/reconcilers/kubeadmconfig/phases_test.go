package kubeadmconfig

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/bootstrapdata"
)

func TestControlPlaneJoinOnly(t *testing.T) {
	join := bootstrapv1.JoinConfiguration{ControlPlane: &bootstrapv1.JoinControlPlane{}}
	tests := []struct {
		name string
		spec bootstrapv1.KubeadmConfigSpec
		want bool
	}{
		{"a KubeadmControlPlane's join", bootstrapv1.KubeadmConfigSpec{JoinConfiguration: join}, true},
		{"empty: an init with kubeadm's defaults", bootstrapv1.KubeadmConfigSpec{}, false},
		{"a worker's join", bootstrapv1.KubeadmConfigSpec{JoinConfiguration: bootstrapv1.JoinConfiguration{
			NodeRegistration: bootstrapv1.NodeRegistrationOptions{Name: "w"}}}, false},
		{"init and join in one", bootstrapv1.KubeadmConfigSpec{JoinConfiguration: join,
			InitConfiguration: bootstrapv1.InitConfiguration{NodeRegistration: bootstrapv1.NodeRegistrationOptions{Name: "n"}}}, false},
		{"cluster configuration and join", bootstrapv1.KubeadmConfigSpec{JoinConfiguration: join,
			ClusterConfiguration: bootstrapv1.ClusterConfiguration{ControlPlaneEndpoint: "lb:6443"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(controlPlaneJoinOnly(&tt.spec)).To(Equal(tt.want))
		})
	}
}

// TestReconcileRoleNeverInitsAControlPlaneJoin: a KubeadmControlPlane's join
// config that sees its Cluster not initialized (a cache behind the Cluster
// controller) while the init lock is free (the first join after
// initialization released it) waits; it neither takes the lock nor becomes
// a second kubeadm init. An init config in the same state takes the lock.
func TestReconcileRoleNeverInitsAControlPlaneJoin(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	scheme := runtime.NewScheme()
	g.Expect(corev1.AddToScheme(scheme)).To(Succeed())
	g.Expect(clusterv1.AddToScheme(scheme)).To(Succeed())
	g.Expect(bootstrapv1.AddToScheme(scheme)).To(Succeed())
	c := fake.NewClientBuilder().WithScheme(scheme).Build()
	r := &Reconciler{Client: c, APIReader: c}
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c", UID: "u"}}
	machine := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "m2",
		Labels: map[string]string{clusterv1.MachineControlPlaneLabel: ""}}}
	join := &bootstrapv1.KubeadmConfig{Spec: bootstrapv1.KubeadmConfigSpec{
		JoinConfiguration: bootstrapv1.JoinConfiguration{ControlPlane: &bootstrapv1.JoinControlPlane{}}}}

	s := &scope{config: join, machine: machine, cluster: cluster}
	role, _, err := r.reconcileRole(ctx, s)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(role).To(BeEmpty())
	g.Expect(s.waiting).To(ContainSubstring("waiting for the control plane to be initialized"))
	locks := &corev1.ConfigMapList{}
	g.Expect(c.List(ctx, locks)).To(Succeed())
	g.Expect(locks.Items).To(BeEmpty(), "a control-plane join takes no init lock")

	// Initialized: it joins.
	initialized := true
	cluster.Status.Initialization.ControlPlaneInitialized = &initialized
	s = &scope{config: join, machine: machine, cluster: cluster}
	role, _, err = r.reconcileRole(ctx, s)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(role).To(Equal(bootstrapdata.RoleControlPlaneJoin))

	// An init config in the same state as the first: the lock, and init.
	cluster.Status.Initialization.ControlPlaneInitialized = nil
	s = &scope{config: &bootstrapv1.KubeadmConfig{}, machine: machine, cluster: cluster}
	role, _, err = r.reconcileRole(ctx, s)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(role).To(Equal(bootstrapdata.RoleInit))
}
