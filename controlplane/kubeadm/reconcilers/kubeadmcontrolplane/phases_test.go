package kubeadmcontrolplane

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

func inDomain(m *clusterv1.Machine, fd string) *clusterv1.Machine {
	m.Spec.FailureDomain = fd
	return m
}

func marked(m *clusterv1.Machine) *clusterv1.Machine {
	m.Annotations = map[string]string{clusterv1.DeleteMachineAnnotation: ""}
	return m
}

func domains(names ...string) []clusterv1.FailureDomain {
	t, f := true, false
	var out []clusterv1.FailureDomain
	for _, n := range names {
		cp := &t
		if strings.HasPrefix(n, "worker") {
			cp = &f
		}
		out = append(out, clusterv1.FailureDomain{Name: n, ControlPlane: cp})
	}
	return out
}

func TestSelectMachineForScaleDown(t *testing.T) {
	tests := []struct {
		name     string
		machines []*clusterv1.Machine
		fds      []clusterv1.FailureDomain
		want     string
	}{
		{name: "oldest first", machines: []*clusterv1.Machine{machine("b", 2), machine("a", 1), machine("c", 3)}, want: "a"},
		{name: "same age: by name", machines: []*clusterv1.Machine{machine("b", 1), machine("a", 1)}, want: "a"},
		{name: "delete-machine annotation wins over age", machines: []*clusterv1.Machine{machine("a", 1), marked(machine("c", 3)), machine("b", 2)}, want: "c"},
		{name: "oldest of the marked", machines: []*clusterv1.Machine{marked(machine("b", 2)), machine("a", 1), marked(machine("c", 3))}, want: "b"},
		{
			name:     "failure domain with most Machines, then oldest in it",
			machines: []*clusterv1.Machine{inDomain(machine("a", 1), "z1"), inDomain(machine("b", 2), "z2"), inDomain(machine("c", 3), "z2")},
			fds:      domains("z1", "z2"), want: "b",
		},
		{
			name:     "without failure domains on the Cluster the Machines' domains do not matter",
			machines: []*clusterv1.Machine{inDomain(machine("a", 1), "z1"), inDomain(machine("b", 2), "z2"), inDomain(machine("c", 3), "z2")},
			want:     "a",
		},
		{
			name:     "the annotation narrows before the failure domains",
			machines: []*clusterv1.Machine{marked(inDomain(machine("a", 1), "z1")), inDomain(machine("b", 2), "z2"), inDomain(machine("c", 3), "z2")},
			fds:      domains("z1", "z2"), want: "a",
		},
		{
			name:     "tied domains: the first by name",
			machines: []*clusterv1.Machine{inDomain(machine("a", 1), "z2"), inDomain(machine("b", 2), "z1")},
			fds:      domains("z1", "z2"), want: "b",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(selectMachineForScaleDown(tt.machines, tt.fds).Name).To(Equal(tt.want))
		})
	}
}

func TestChooseFailureDomain(t *testing.T) {
	tests := []struct {
		name     string
		fds      []clusterv1.FailureDomain
		machines []*clusterv1.Machine
		want     string
	}{
		{name: "no failure domains", want: ""},
		{name: "only worker domains", fds: domains("worker-a"), want: ""},
		{name: "empty: the first by name", fds: domains("z2", "z1"), want: "z1"},
		{name: "the least used", fds: domains("z1", "z2", "z3"),
			machines: []*clusterv1.Machine{inDomain(machine("a", 1), "z1"), inDomain(machine("b", 1), "z3")}, want: "z2"},
		{name: "worker domains are skipped", fds: domains("worker-a", "z1"),
			machines: []*clusterv1.Machine{inDomain(machine("a", 1), "z1")}, want: "z1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(chooseFailureDomain(tt.fds, tt.machines)).To(Equal(tt.want))
		})
	}
}

func TestScaleUpBlocker(t *testing.T) {
	r := clusterv1.ReadyCondition
	tests := []struct {
		name        string
		initialized bool
		machines    []*clusterv1.Machine
		want        string
	}{
		{name: "the first Machine may always come", want: ""},
		{name: "joins wait for initialization", machines: []*clusterv1.Machine{machine("a", 1)},
			want: "waiting for the control plane to be initialized by Machine a"},
		{name: "joins wait for every Machine to be Ready", initialized: true, machines: []*clusterv1.Machine{machine("a", 1, r), machine("b", 2)},
			want: "waiting for Machines to be Ready: b"},
		{name: "joins wait for a deletion to finish", initialized: true, machines: []*clusterv1.Machine{machine("a", 1, r), deleting(machine("b", 2, r))},
			want: "waiting for Machine b to be deleted"},
		{name: "all Ready: the next may come", initialized: true, machines: []*clusterv1.Machine{machine("a", 1, r), machine("b", 2, r)}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(scaleUpBlocker(kcp(3, tt.initialized), tt.machines)).To(Equal(tt.want))
		})
	}
}

func TestBootstrapSpec(t *testing.T) {
	g := NewWithT(t)
	k := kcp(3, false)
	k.Spec.KubeadmConfigSpec = bootstrapv1.KubeadmConfigSpec{
		ClusterConfiguration: bootstrapv1.ClusterConfiguration{CertificatesDir: "/pki"},
		InitConfiguration:    bootstrapv1.InitConfiguration{NodeRegistration: bootstrapv1.NodeRegistrationOptions{Name: "init"}},
		JoinConfiguration:    bootstrapv1.JoinConfiguration{NodeRegistration: bootstrapv1.NodeRegistrationOptions{Name: "join"}},
	}
	init := bootstrapSpec(k, true)
	g.Expect(init.ClusterConfiguration.CertificatesDir).To(Equal("/pki"))
	g.Expect(init.InitConfiguration.NodeRegistration.Name).To(Equal("init"))
	g.Expect(init.JoinConfiguration).To(BeZero())

	join := bootstrapSpec(k, false)
	g.Expect(join.ClusterConfiguration).To(BeZero())
	g.Expect(join.InitConfiguration).To(BeZero())
	g.Expect(join.JoinConfiguration.NodeRegistration.Name).To(Equal("join"))
	g.Expect(join.JoinConfiguration.ControlPlane).NotTo(BeNil())
	// The spec itself is not changed.
	g.Expect(k.Spec.KubeadmConfigSpec.JoinConfiguration.ControlPlane).To(BeNil())
}

func TestMachineName(t *testing.T) {
	g := NewWithT(t)
	k := kcp(1, false)
	name, err := machineName(k, "c")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(name).To(MatchRegexp(`^cp-[a-z0-9]{5}$`))

	k.Spec.MachineNaming.Template = "{{ .cluster.name }}-cp-{{ .random }}"
	name, err = machineName(k, "c")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(name).To(MatchRegexp(`^c-cp-[a-z0-9]{5}$`))

	k.Spec.MachineNaming.Template = "{{ .cluster.name }}-fixed"
	_, err = machineName(k, "c")
	g.Expect(err).To(MatchError(ContainSubstring("must contain {{ .random }}")))
}
