package contract

import (
	"testing"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

func obj(m map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: m}
	u.SetKind("TestMachine")
	u.SetName("m")
	return u
}

func TestAccessors(t *testing.T) {
	g := NewWithT(t)
	u := obj(map[string]any{
		"spec": map[string]any{
			"providerID":           "kubernetes://ns/m",
			"replicas":             int64(3),
			"controlPlaneEndpoint": map[string]any{"host": "10.0.0.1", "port": int64(6443)},
		},
		"status": map[string]any{
			"initialization": map[string]any{"provisioned": true, "dataSecretCreated": true, "controlPlaneInitialized": false},
			"dataSecretName": "m",
			"addresses":      []any{map[string]any{"type": "InternalIP", "address": "10.1.2.3"}},
			"failureDomain":  "zone-a",
			"failureDomains": []any{map[string]any{"name": "zone-a", "controlPlane": true}},
			"readyReplicas":  int64(2),
			"versions":       []any{map[string]any{"version": "v1.37.2", "replicas": int64(3)}},
			"conditions":     []any{map[string]any{"type": "Ready", "status": "True", "reason": "Ready", "lastTransitionTime": "2026-01-01T00:00:00Z"}},
			"interruptible":  true,
		},
	})
	p, err := InfraMachineProvisioned(u)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(p).To(BeTrue())
	id, _ := ProviderID(u)
	g.Expect(id).To(Equal("kubernetes://ns/m"))
	addrs, err := Addresses(u)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(addrs).To(Equal([]clusterv1.MachineAddress{{Type: clusterv1.MachineInternalIP, Address: "10.1.2.3"}}))
	fd, _ := InfraMachineFailureDomain(u)
	g.Expect(fd).To(Equal("zone-a"))
	fds, err := FailureDomains(u)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(fds).To(HaveLen(1))
	g.Expect(*fds[0].ControlPlane).To(BeTrue())
	ep, err := ControlPlaneEndpoint(u)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ep).To(Equal(clusterv1.APIEndpoint{Host: "10.0.0.1", Port: 6443}))
	created, _ := DataSecretCreated(u)
	g.Expect(created).To(BeTrue())
	name, _ := DataSecretName(u)
	g.Expect(name).To(Equal("m"))
	init, _ := ControlPlaneInitialized(u)
	g.Expect(init).To(BeFalse())
	r, err := ReplicasOf(u)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(*r.Desired).To(BeEquivalentTo(3))
	g.Expect(*r.Ready).To(BeEquivalentTo(2))
	g.Expect(r.Available).To(BeNil())
	c, err := Condition(u, "Ready")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
	missing, err := Condition(u, "Paused")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(missing).To(BeNil())
	in, _ := Interruptible(u)
	g.Expect(in).To(BeTrue())
}

func TestAccessorsReportWrongTypes(t *testing.T) {
	g := NewWithT(t)
	u := obj(map[string]any{"status": map[string]any{"initialization": map[string]any{"provisioned": "yes"}}})
	_, err := InfraMachineProvisioned(u)
	g.Expect(err).To(MatchError(ContainSubstring("status.initialization.provisioned")))
}

func TestContractVersion(t *testing.T) {
	cases := []struct {
		name    string
		labels  map[string]string
		want    string
		wantErr string
	}{
		{"one version", map[string]string{"cluster.x-k8s.io/v1beta2": "v1alpha1"}, "v1alpha1", ""},
		{"last of several", map[string]string{"cluster.x-k8s.io/v1beta2": "v1alpha1_v1beta1"}, "v1beta1", ""},
		{"no label", nil, "", "does not implement the Cluster API v1beta2 contract"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "x.example.com", Labels: tc.labels}}
			v, err := ContractVersion(crd)
			if tc.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(v).To(Equal(tc.want))
		})
	}
}

func TestGuessPlural(t *testing.T) {
	g := NewWithT(t)
	for kind, want := range map[string]string{
		"KubernetesMachine": "kubernetesmachines", "DockerMachinePool": "dockermachinepools", "Ingress": "ingresses",
		"Box": "boxes", "Patch": "patches", "Policy": "policies", "Gateway": "gateways", "Mesh": "meshes",
	} {
		g.Expect(guessPlural(kind)).To(Equal(want), kind)
	}
}
