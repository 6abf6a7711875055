package kubeadmtypes

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/internal/kubeadmtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Fixed values keep the golden files stable.
const (
	testToken  = "abcdef.0123456789abcdef"
	testCAHash = "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
)

// seedInputs are the seed example's Cluster and Machine facts.
var seedInputs = ClusterInputs{
	ClusterName:          "example",
	ControlPlaneEndpoint: "example-apiserver.default.svc:6443",
	KubernetesVersion:    "v1.37.2",
	PodSubnet:            "192.168.0.0/16",
	ServiceSubnet:        "172.16.0.0/12",
	DNSDomain:            "cluster.local",
}

// seedKubeletArgs are the kubelet arguments of the seed example.
func seedKubeletArgs() []bootstrapv1.Arg {
	return []bootstrapv1.Arg{
		{Name: "eviction-hard", Value: new("nodefs.available<0%,nodefs.inodesFree<0%,imagefs.available<0%")},
		{Name: "cgroups-per-qos", Value: new("false")},
		{Name: "enforce-node-allocatable", Value: new("")},
	}
}

func seedClusterConfiguration() bootstrapv1.ClusterConfiguration {
	return bootstrapv1.ClusterConfiguration{ControllerManager: bootstrapv1.ControllerManager{
		ControlPlaneComponent: bootstrapv1.ControlPlaneComponent{
			ExtraArgs: []bootstrapv1.Arg{{Name: "enable-hostpath-provisioner", Value: new("true")}},
		},
	}}
}

func seedNodeRegistration() bootstrapv1.NodeRegistrationOptions {
	return bootstrapv1.NodeRegistrationOptions{KubeletExtraArgs: seedKubeletArgs()}
}

// fullInitSpec sets most fields, to prove kubeadm accepts what we write for them.
func fullInitSpec() (bootstrapv1.ClusterConfiguration, bootstrapv1.InitConfiguration) {
	cc := seedClusterConfiguration()
	cc.ControlPlaneEndpoint = "cp.example.test:443"
	cc.Etcd.Local = bootstrapv1.LocalEtcd{
		DataDir:        "/var/lib/etcd",
		ExtraArgs:      []bootstrapv1.Arg{{Name: "quota-backend-bytes", Value: new("8589934592")}},
		ExtraEnvs:      &[]bootstrapv1.EnvVar{{EnvVar: corev1.EnvVar{Name: "GOMAXPROCS", Value: "2"}}},
		ServerCertSANs: []string{"etcd.example.test"},
		PeerCertSANs:   []string{"10.0.0.10"},
	}
	cc.APIServer = bootstrapv1.APIServer{
		ControlPlaneComponent: bootstrapv1.ControlPlaneComponent{
			ExtraArgs: []bootstrapv1.Arg{{Name: "audit-log-maxage", Value: new("7")}},
			ExtraVolumes: []bootstrapv1.HostPathMount{{
				Name: "audit", HostPath: "/var/log/audit", MountPath: "/var/log/audit",
				ReadOnly: new(false), PathType: corev1.HostPathDirectoryOrCreate,
			}},
		},
		CertSANs: []string{"cp.example.test", "10.0.0.1"},
	}
	cc.Scheduler.ExtraArgs = []bootstrapv1.Arg{{Name: "v", Value: new("2")}}
	cc.DNS = bootstrapv1.DNS{ImageTag: "v1.14.6"}
	cc.CertificatesDir = "/etc/kubernetes/pki"
	cc.ImageRepository = "registry.k8s.io"
	cc.FeatureGates = map[string]bool{"RootlessControlPlane": false}
	cc.CertificateValidityPeriodDays = 365
	cc.CACertificateValidityPeriodDays = 3650
	cc.EncryptionAlgorithm = bootstrapv1.EncryptionAlgorithmECDSAP256

	ic := bootstrapv1.InitConfiguration{
		BootstrapTokens: []bootstrapv1.BootstrapToken{{
			Token: testToken, Description: "initial join token", TTLSeconds: new(int32(3600)),
			Usages: []string{"signing", "authentication"}, Groups: []string{"system:bootstrappers:kubeadm:default-node-token"},
		}},
		NodeRegistration: bootstrapv1.NodeRegistrationOptions{
			Name:                  "controller",
			CRISocket:             "unix:///run/containerd/containerd.sock",
			Taints:                &[]corev1.Taint{},
			KubeletExtraArgs:      seedKubeletArgs(),
			IgnorePreflightErrors: []string{"SystemVerification"},
			ImagePullPolicy:       corev1.PullIfNotPresent,
			ImagePullSerial:       new(false),
		},
		LocalAPIEndpoint: bootstrapv1.APIEndpoint{AdvertiseAddress: "10.0.0.10", BindPort: 6443},
		SkipPhases:       []string{"addon/kube-proxy"},
		Patches:          bootstrapv1.Patches{Directory: "/etc/kubernetes/patches"},
		Timeouts: bootstrapv1.Timeouts{
			ControlPlaneComponentHealthCheckSeconds: new(int32(240)),
			KubeletHealthCheckSeconds:               new(int32(240)),
			KubernetesAPICallSeconds:                new(int32(60)),
			EtcdAPICallSeconds:                      new(int32(120)),
			TLSBootstrapSeconds:                     new(int32(300)),
			DiscoverySeconds:                        new(int32(300)),
		},
	}
	return cc, ic
}

func TestGoldenKubeadmConfigs(t *testing.T) {
	initData := func(cc bootstrapv1.ClusterConfiguration, ic bootstrapv1.InitConfiguration, comps ComponentConfigs) func() ([]byte, error) {
		return func() ([]byte, error) {
			c, err := ClusterConfigurationFromSpec(cc, seedInputs)
			if err != nil {
				return nil, err
			}
			i, err := InitConfigurationFromSpec(ic)
			if err != nil {
				return nil, err
			}
			return MarshalInitData(c, i, comps)
		}
	}
	joinData := func(jc bootstrapv1.JoinConfiguration, controlPlane bool) func() ([]byte, error) {
		return func() ([]byte, error) {
			j, err := JoinConfigurationFromSpec(jc, JoinInputs{
				Token: testToken, APIServerEndpoint: seedInputs.ControlPlaneEndpoint,
				CACertHashes: []string{testCAHash}, ControlPlane: controlPlane,
			})
			if err != nil {
				return nil, err
			}
			return MarshalJoinData(j, "")
		}
	}
	fullCC, fullIC := fullInitSpec()
	tests := []struct {
		name   string
		render func() ([]byte, error)
	}{
		{name: "init-control-plane", render: initData(seedClusterConfiguration(),
			bootstrapv1.InitConfiguration{NodeRegistration: seedNodeRegistration()}, ComponentConfigs{})},
		{name: "init-full", render: initData(fullCC, fullIC, NestedNodeComponentConfigs())},
		{name: "join-control-plane", render: joinData(bootstrapv1.JoinConfiguration{NodeRegistration: seedNodeRegistration()}, true)},
		{name: "join-node", render: joinData(bootstrapv1.JoinConfiguration{NodeRegistration: seedNodeRegistration()}, false)},
		{name: "join-file-discovery", render: joinData(bootstrapv1.JoinConfiguration{
			NodeRegistration: seedNodeRegistration(),
			Discovery: bootstrapv1.Discovery{
				File:              bootstrapv1.FileDiscovery{KubeConfigPath: "https://config.example.test/discovery.conf"},
				TLSBootstrapToken: testToken,
			},
			ControlPlane: &bootstrapv1.JoinControlPlane{LocalAPIEndpoint: bootstrapv1.APIEndpoint{AdvertiseAddress: "10.0.0.11", BindPort: 6443}},
			Timeouts:     bootstrapv1.Timeouts{DiscoverySeconds: new(int32(600))},
		}, false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := tt.render()
			g.Expect(err).NotTo(HaveOccurred())
			golden := filepath.Join("testdata", tt.name+".yaml")
			if *update {
				g.Expect(os.WriteFile(golden, got, 0o644)).To(Succeed())
			}
			want, err := os.ReadFile(golden)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(got)).To(Equal(string(want)), "golden %s is stale; rerun with -update", golden)

			kubeadmtest.ValidateKubeadmConfig(t, want)
		})
	}
}

func TestClusterInputsPrecedence(t *testing.T) {
	tests := []struct {
		name         string
		specEndpoint string
		wantEndpoint string
	}{
		{name: "cluster endpoint fills a blank spec", wantEndpoint: seedInputs.ControlPlaneEndpoint},
		{name: "spec endpoint wins", specEndpoint: "lb.example.test:443", wantEndpoint: "lb.example.test:443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			cc, err := ClusterConfigurationFromSpec(bootstrapv1.ClusterConfiguration{ControlPlaneEndpoint: tt.specEndpoint}, seedInputs)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cc.ControlPlaneEndpoint).To(Equal(tt.wantEndpoint))
			// The rest has no spec field: it always comes from the Cluster and Machine.
			g.Expect(cc.ClusterName).To(Equal("example"))
			g.Expect(cc.KubernetesVersion).To(Equal("v1.37.2"))
			g.Expect(cc.Networking).To(Equal(Networking{ServiceSubnet: "172.16.0.0/12", PodSubnet: "192.168.0.0/16", DNSDomain: "cluster.local"}))
		})
	}
}

func TestJoinDiscoveryPrecedence(t *testing.T) {
	in := JoinInputs{Token: testToken, APIServerEndpoint: "cluster:6443", CACertHashes: []string{testCAHash}}
	tests := []struct {
		name    string
		spec    bootstrapv1.BootstrapTokenDiscovery
		want    BootstrapTokenDiscovery
		wantErr string
	}{
		{
			name: "controller fills everything",
			want: BootstrapTokenDiscovery{Token: testToken, APIServerEndpoint: "cluster:6443", CACertHashes: []string{testCAHash}},
		},
		{
			name: "spec values win",
			spec: bootstrapv1.BootstrapTokenDiscovery{Token: "zzzzzz.zzzzzzzzzzzzzzzz", APIServerEndpoint: "user:6443", CACertHashes: []string{"sha256:user"}},
			want: BootstrapTokenDiscovery{Token: "zzzzzz.zzzzzzzzzzzzzzzz", APIServerEndpoint: "user:6443", CACertHashes: []string{"sha256:user"}},
		},
		{
			name: "unsafe skip keeps hashes out",
			spec: bootstrapv1.BootstrapTokenDiscovery{UnsafeSkipCAVerification: new(true)},
			want: BootstrapTokenDiscovery{Token: testToken, APIServerEndpoint: "cluster:6443", UnsafeSkipCAVerification: true},
		},
		{
			name:    "malformed spec token",
			spec:    bootstrapv1.BootstrapTokenDiscovery{Token: "not-a-token"},
			wantErr: "joinConfiguration.discovery.bootstrapToken.token",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			jc, err := JoinConfigurationFromSpec(bootstrapv1.JoinConfiguration{Discovery: bootstrapv1.Discovery{BootstrapToken: tt.spec}}, in)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(*jc.Discovery.BootstrapToken).To(Equal(tt.want))
			g.Expect(jc.ControlPlane).To(BeNil())
		})
	}
}

func TestJoinDiscoveryErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      JoinInputs
		wantErr string
	}{
		{name: "no token", in: JoinInputs{APIServerEndpoint: "c:6443", CACertHashes: []string{testCAHash}}, wantErr: ".token: no token"},
		{name: "no endpoint", in: JoinInputs{Token: testToken, CACertHashes: []string{testCAHash}}, wantErr: ".apiServerEndpoint"},
		{name: "no CA hash", in: JoinInputs{Token: testToken, APIServerEndpoint: "c:6443"}, wantErr: ".caCertHashes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := JoinConfigurationFromSpec(bootstrapv1.JoinConfiguration{}, tt.in)
			g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
		})
	}
}

func TestInitConfigurationRejectsBadToken(t *testing.T) {
	g := NewWithT(t)
	_, err := InitConfigurationFromSpec(bootstrapv1.InitConfiguration{
		BootstrapTokens: []bootstrapv1.BootstrapToken{{Token: testToken}, {Token: "ABCDEF.0123456789abcdef"}},
	})
	g.Expect(err).To(MatchError(ContainSubstring("initConfiguration.bootstrapTokens[1].token")))
	g.Expect(err.Error()).NotTo(ContainSubstring("ABCDEF"), "errors must not repeat the secret token")
}

func TestBootstrapTokenTimes(t *testing.T) {
	g := NewWithT(t)
	expires := metav1.NewTime(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	ic, err := InitConfigurationFromSpec(bootstrapv1.InitConfiguration{BootstrapTokens: []bootstrapv1.BootstrapToken{
		{Token: testToken, TTLSeconds: new(int32(0))},
		{Token: testToken, Expires: expires},
	}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ic.BootstrapTokens[0].TTL).To(Equal(&metav1.Duration{}), "a zero TTL means never expires and must be kept")
	g.Expect(ic.BootstrapTokens[1].TTL).To(BeNil())
	g.Expect(ic.BootstrapTokens[1].Expires.Equal(&expires)).To(BeTrue())
}
