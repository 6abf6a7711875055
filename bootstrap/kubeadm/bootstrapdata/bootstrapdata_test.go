package bootstrapdata

import (
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/cloudinit"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/internal/kubeadmtest"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/kubeadmtypes"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fakePEM is a fixed, fake PEM block: Render never parses certificates, and
// fixed strings keep the golden files stable.
func fakePEM(kind, name string) []byte {
	return []byte("-----BEGIN " + kind + "-----\n" + base64.StdEncoding.EncodeToString([]byte("fake "+name)) + "\n-----END " + kind + "-----\n")
}

func fakeCertificates() cloudinit.Certificates {
	pair := func(name string) cloudinit.KeyPair {
		return cloudinit.KeyPair{Cert: fakePEM("CERTIFICATE", name), Key: fakePEM("PRIVATE KEY", name)}
	}
	return cloudinit.Certificates{
		CA: pair("cluster CA"), EtcdCA: pair("etcd CA"), FrontProxyCA: pair("front-proxy CA"),
		ServiceAccount: cloudinit.KeyPair{Cert: fakePEM("PUBLIC KEY", "service account"), Key: fakePEM("PRIVATE KEY", "service account")},
	}
}

// spec is the example cluster's KubeadmConfig with a file, commands and a
// verbosity, so each golden shows where the spec's parts land.
func spec() bootstrapv1.KubeadmConfigSpec {
	kubeletArgs := []bootstrapv1.Arg{
		{Name: "eviction-hard", Value: new("nodefs.available<0%,nodefs.inodesFree<0%,imagefs.available<0%")},
		{Name: "cgroups-per-qos", Value: new("false")},
		{Name: "enforce-node-allocatable", Value: new("")},
	}
	return bootstrapv1.KubeadmConfigSpec{
		ClusterConfiguration: bootstrapv1.ClusterConfiguration{ControllerManager: bootstrapv1.ControllerManager{
			ControlPlaneComponent: bootstrapv1.ControlPlaneComponent{
				ExtraArgs: []bootstrapv1.Arg{{Name: "enable-hostpath-provisioner", Value: new("true")}}}}},
		InitConfiguration:   bootstrapv1.InitConfiguration{NodeRegistration: bootstrapv1.NodeRegistrationOptions{KubeletExtraArgs: kubeletArgs}},
		JoinConfiguration:   bootstrapv1.JoinConfiguration{NodeRegistration: bootstrapv1.NodeRegistrationOptions{KubeletExtraArgs: kubeletArgs}},
		Files:               []bootstrapv1.File{{Path: "/etc/motd", Permissions: "0644", Content: "podcluster node\n"}},
		PreKubeadmCommands:  []string{"swapoff -a"},
		PostKubeadmCommands: []string{"echo bootstrapped > /var/log/bootstrap.log"},
		Verbosity:           new(int32(5)),
	}
}

// input is what the controller observes for the example cluster, for a role.
func input(role Role) Input {
	return Input{
		Role: role,
		Spec: spec(),
		Cluster: kubeadmtypes.ClusterInputs{
			ClusterName: "example", ControlPlaneEndpoint: "10.0.0.10:6443", KubernetesVersion: "v1.37.2",
			PodSubnet: "192.168.0.0/16", ServiceSubnet: "172.16.0.0/12", DNSDomain: "cluster.local",
		},
		Certificates: fakeCertificates(),
		Token:        "abcdef.0123456789abcdef",
		CACertHash:   "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
	}
}

// TestGolden renders each role. Every golden is a cloud-config that
// cloud-init's schema accepts, and the kubeadm configuration it writes passes
// the pinned `kubeadm config validate`.
func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		role Role
	}{
		{name: "init", role: RoleInit},
		{name: "control-plane-join", role: RoleControlPlaneJoin},
		// The input carries certificates; the worker's data must hold none.
		{name: "worker-join", role: RoleWorkerJoin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := Render(input(tt.role))
			g.Expect(err).NotTo(HaveOccurred())

			golden := filepath.Join("testdata", tt.name+".yaml")
			if *update {
				g.Expect(os.WriteFile(golden, got, 0o644)).To(Succeed())
			}
			want, err := os.ReadFile(golden)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(got)).To(Equal(string(want)), "golden %s is stale; rerun with -update", golden)

			kubeadmtest.ValidateCloudConfig(t, golden)
			kubeadmtest.ValidateKubeadmConfig(t, kubeadmtest.KubeadmConfigOf(t, want))
		})
	}
}

func TestWorkerGetsNoCertificates(t *testing.T) {
	g := NewWithT(t)
	got, err := Render(input(RoleWorkerJoin))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(got)).NotTo(ContainSubstring("/etc/kubernetes/pki"))
	g.Expect(string(got)).NotTo(ContainSubstring("PRIVATE KEY"))
}

// TestUninitializedTaint: a worker registers with the uninitialized taint
// next to the taints its spec asks for, once, and without changing the spec;
// control-plane machines do not get it.
func TestUninitializedTaint(t *testing.T) {
	uninitialized := corev1.Taint{Key: "node.cluster.x-k8s.io/uninitialized", Effect: corev1.TaintEffectNoSchedule}
	user := corev1.Taint{Key: "pool", Value: "batch", Effect: corev1.TaintEffectNoSchedule}
	tests := []struct {
		name   string
		role   Role
		taints *[]corev1.Taint
		want   *[]corev1.Taint
	}{
		{name: "worker, no taints in the spec", role: RoleWorkerJoin, want: &[]corev1.Taint{uninitialized}},
		{name: "worker, an empty list", role: RoleWorkerJoin, taints: &[]corev1.Taint{}, want: &[]corev1.Taint{uninitialized}},
		{name: "worker, its own taints kept", role: RoleWorkerJoin, taints: &[]corev1.Taint{user}, want: &[]corev1.Taint{user, uninitialized}},
		{name: "worker, the taint already asked for", role: RoleWorkerJoin, taints: &[]corev1.Taint{uninitialized, user}, want: &[]corev1.Taint{uninitialized, user}},
		{name: "control-plane join", role: RoleControlPlaneJoin, taints: &[]corev1.Taint{user}, want: &[]corev1.Taint{user}},
		{name: "control-plane join, kubeadm's default", role: RoleControlPlaneJoin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			in := input(tt.role)
			in.Spec.JoinConfiguration.NodeRegistration.Taints = tt.taints
			var before []corev1.Taint
			if tt.taints != nil {
				before = slices.Clone(*tt.taints)
			}
			got, err := Render(in)
			g.Expect(err).NotTo(HaveOccurred())
			var jc struct {
				NodeRegistration struct {
					Taints *[]corev1.Taint `json:"taints"`
				} `json:"nodeRegistration"`
			}
			g.Expect(yaml.Unmarshal(kubeadmtest.KubeadmConfigOf(t, got), &jc)).To(Succeed())
			g.Expect(jc.NodeRegistration.Taints).To(Equal(tt.want))
			if tt.taints != nil {
				g.Expect(*tt.taints).To(Equal(before), "the spec is not changed")
			}
		})
	}
}

// TestInputErrors: what cannot make a cloud-config is an error naming the
// field, for the controller to report.
func TestInputErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Input)
		want   string
	}{
		{"unknown role", func(in *Input) { in.Role = "observer" }, `unknown role "observer"`},
		{"init with a version that is not semver", func(in *Input) { in.Cluster.KubernetesVersion = "1.37" }, "1.37"},
		{"init with a malformed bootstrap token", func(in *Input) {
			in.Spec.InitConfiguration.BootstrapTokens = []bootstrapv1.BootstrapToken{{Token: "not-a-token"}}
		}, "token"},
		{"join without a token", func(in *Input) { in.Role, in.Token = RoleWorkerJoin, "" }, "bootstrapToken.token"},
		{"join without a CA hash", func(in *Input) { in.Role, in.CACertHash = RoleControlPlaneJoin, "" }, "caCertHashes"},
		{"bad file permissions", func(in *Input) { in.Spec.Files[0].Permissions = "0999" }, "0999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			in := input(RoleInit)
			tt.modify(&in)
			_, err := Render(in)
			g.Expect(err).To(MatchError(ContainSubstring(tt.want)))
		})
	}
}
