package kubeadmtypes

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/internal/kubeadmtest"
)

func TestAPIVersionFor(t *testing.T) {
	tests := []struct {
		version string
		want    string
		wantErr string
	}{
		{version: "v1.37.2", want: APIVersion},
		{version: "v1.31.0", want: APIVersion},
		{version: "v1.31.0-rc.1", want: APIVersion},
		{version: "v1.30.14", want: APIVersionV1Beta3},
		{version: "v1.22.0", want: APIVersionV1Beta3},
		{version: "v1.21.14", wantErr: "oldest version supported is v1.22.0"},
		{version: "1.30.0", wantErr: "leading v"},
		{version: "", wantErr: "must be"},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			g := NewWithT(t)
			got, err := APIVersionFor(tt.version)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

// v130Inputs are the seed's Cluster facts with a Machine of v1.30.
var v130Inputs = func() ClusterInputs {
	in := seedInputs
	in.KubernetesVersion = "v1.30.14"
	return in
}()

// fullV1Beta3InitSpec is fullInitSpec without the settings v1beta3 cannot
// carry, and with the kubeadm defaults of two of them said explicitly (which
// v1beta3 accepts by leaving them out).
func fullV1Beta3InitSpec() (bootstrapv1.ClusterConfiguration, bootstrapv1.InitConfiguration) {
	cc, ic := fullInitSpec()
	cc.Etcd.Local.ExtraEnvs = nil
	cc.EncryptionAlgorithm = bootstrapv1.EncryptionAlgorithmRSA2048
	cc.CertificateValidityPeriodDays = 365
	cc.CACertificateValidityPeriodDays = 3650
	ic.NodeRegistration.ImagePullSerial = new(true)
	ic.Timeouts = bootstrapv1.Timeouts{ControlPlaneComponentHealthCheckSeconds: new(int32(240))}
	return cc, ic
}

// TestV1Beta3IsValidForKubeadmV130: what the provider writes for a Machine
// before v1.31 is kubeadm.k8s.io/v1beta3, and kubeadm v1.30 itself accepts it.
func TestV1Beta3IsValidForKubeadmV130(t *testing.T) {
	initData := func(cc bootstrapv1.ClusterConfiguration, ic bootstrapv1.InitConfiguration) func() ([]byte, error) {
		return func() ([]byte, error) {
			c, err := ClusterConfigurationFromSpec(cc, v130Inputs)
			if err != nil {
				return nil, err
			}
			i, err := InitConfigurationFromSpec(ic)
			if err != nil {
				return nil, err
			}
			return MarshalInitData(c, i, NestedNodeComponentConfigs())
		}
	}
	joinData := func(jc bootstrapv1.JoinConfiguration, controlPlane bool) func() ([]byte, error) {
		return func() ([]byte, error) {
			j, err := JoinConfigurationFromSpec(jc, JoinInputs{
				Token: testToken, APIServerEndpoint: v130Inputs.ControlPlaneEndpoint,
				CACertHashes: []string{testCAHash}, ControlPlane: controlPlane,
			})
			if err != nil {
				return nil, err
			}
			return MarshalJoinData(j, v130Inputs.KubernetesVersion)
		}
	}
	fullCC, fullIC := fullV1Beta3InitSpec()
	tests := []struct {
		name   string
		render func() ([]byte, error)
	}{
		{name: "v1beta3-init-control-plane", render: initData(seedClusterConfiguration(),
			bootstrapv1.InitConfiguration{NodeRegistration: seedNodeRegistration()})},
		{name: "v1beta3-init-full", render: initData(fullCC, fullIC)},
		{name: "v1beta3-join-control-plane", render: joinData(bootstrapv1.JoinConfiguration{NodeRegistration: seedNodeRegistration()}, true)},
		{name: "v1beta3-join-node", render: joinData(bootstrapv1.JoinConfiguration{
			NodeRegistration: bootstrapv1.NodeRegistrationOptions{
				KubeletExtraArgs: seedKubeletArgs(),
				Taints:           &[]corev1.Taint{{Key: "dedicated", Value: "batch", Effect: corev1.TaintEffectNoSchedule}},
			},
			Timeouts: bootstrapv1.Timeouts{DiscoverySeconds: new(int32(600)), TLSBootstrapSeconds: new(int32(600))},
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
			g.Expect(string(got)).To(ContainSubstring("apiVersion: " + APIVersionV1Beta3))
			g.Expect(string(got)).NotTo(ContainSubstring(APIVersion))

			kubeadmtest.ValidateKubeadmV130Config(t, want)
		})
	}
}

// TestV1Beta3RefusesWhatItCannotSay: a setting that v1beta3 has no place for
// fails with the spec's field named, rather than being dropped.
func TestV1Beta3RefusesWhatItCannotSay(t *testing.T) {
	tests := []struct {
		name    string
		cc      func(*bootstrapv1.ClusterConfiguration)
		ic      func(*bootstrapv1.InitConfiguration)
		jc      func(*bootstrapv1.JoinConfiguration)
		wantErr string
	}{
		{name: "encryption algorithm", cc: func(c *bootstrapv1.ClusterConfiguration) {
			c.EncryptionAlgorithm = bootstrapv1.EncryptionAlgorithmECDSAP256
		}, wantErr: "clusterConfiguration.encryptionAlgorithm"},
		{name: "certificate validity", cc: func(c *bootstrapv1.ClusterConfiguration) { c.CertificateValidityPeriodDays = 30 },
			wantErr: "clusterConfiguration.certificateValidityPeriodDays"},
		{name: "CA validity", cc: func(c *bootstrapv1.ClusterConfiguration) { c.CACertificateValidityPeriodDays = 100 },
			wantErr: "clusterConfiguration.caCertificateValidityPeriodDays"},
		{name: "API server extra envs", cc: func(c *bootstrapv1.ClusterConfiguration) {
			c.APIServer.ExtraEnvs = &[]bootstrapv1.EnvVar{{EnvVar: corev1.EnvVar{Name: "A", Value: "b"}}}
		}, wantErr: "clusterConfiguration.apiServer.extraEnvs"},
		{name: "etcd extra envs", cc: func(c *bootstrapv1.ClusterConfiguration) {
			c.Etcd.Local.ExtraEnvs = &[]bootstrapv1.EnvVar{{EnvVar: corev1.EnvVar{Name: "A", Value: "b"}}}
		}, wantErr: "clusterConfiguration.etcd.local.extraEnvs"},
		{name: "scheduler flag twice", cc: func(c *bootstrapv1.ClusterConfiguration) {
			c.Scheduler.ExtraArgs = []bootstrapv1.Arg{{Name: "v", Value: new("1")}, {Name: "v", Value: new("2")}}
		}, wantErr: `clusterConfiguration.scheduler.extraArgs[1]: "v" is given more than once`},
		{name: "kubelet flag twice on init", ic: func(i *bootstrapv1.InitConfiguration) {
			i.NodeRegistration.KubeletExtraArgs = []bootstrapv1.Arg{{Name: "node-labels", Value: new("a=b")}, {Name: "node-labels", Value: new("c=d")}}
		}, wantErr: "initConfiguration.nodeRegistration.kubeletExtraArgs[1]"},
		{name: "parallel image pulls", ic: func(i *bootstrapv1.InitConfiguration) { i.NodeRegistration.ImagePullSerial = new(false) },
			wantErr: "initConfiguration.nodeRegistration.imagePullSerial"},
		{name: "init kubelet health-check timeout", ic: func(i *bootstrapv1.InitConfiguration) {
			i.Timeouts.KubeletHealthCheckSeconds = new(int32(10))
		}, wantErr: "initConfiguration.timeouts.kubeletHealthCheckSeconds"},
		{name: "join API call timeout", jc: func(j *bootstrapv1.JoinConfiguration) {
			j.Timeouts.KubernetesAPICallSeconds = new(int32(10))
		}, wantErr: "joinConfiguration.timeouts.kubernetesAPICallSeconds"},
		{name: "join discovery and TLS bootstrap timeouts differ", jc: func(j *bootstrapv1.JoinConfiguration) {
			j.Timeouts.DiscoverySeconds, j.Timeouts.TLSBootstrapSeconds = new(int32(10)), new(int32(20))
		}, wantErr: "joinConfiguration.timeouts: discoverySeconds and tlsBootstrapSeconds differ"},
		{name: "join parallel image pulls", jc: func(j *bootstrapv1.JoinConfiguration) { j.NodeRegistration.ImagePullSerial = new(false) },
			wantErr: "joinConfiguration.nodeRegistration.imagePullSerial"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			var err error
			if tt.jc != nil {
				spec := bootstrapv1.JoinConfiguration{}
				tt.jc(&spec)
				j, jerr := JoinConfigurationFromSpec(spec, JoinInputs{Token: testToken, APIServerEndpoint: "cp:6443", CACertHashes: []string{testCAHash}})
				g.Expect(jerr).NotTo(HaveOccurred())
				_, err = MarshalJoinData(j, "v1.30.14")
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				// The same spec is fine for a kubeadm that reads v1beta4.
				_, err = MarshalJoinData(j, "v1.31.0")
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			cc, ic := bootstrapv1.ClusterConfiguration{}, bootstrapv1.InitConfiguration{}
			if tt.cc != nil {
				tt.cc(&cc)
			}
			if tt.ic != nil {
				tt.ic(&ic)
			}
			render := func(in ClusterInputs) error {
				c, err := ClusterConfigurationFromSpec(cc, in)
				g.Expect(err).NotTo(HaveOccurred())
				i, err := InitConfigurationFromSpec(ic)
				g.Expect(err).NotTo(HaveOccurred())
				_, err = MarshalInitData(c, i, ComponentConfigs{})
				return err
			}
			g.Expect(render(v130Inputs)).To(MatchError(And(ContainSubstring(tt.wantErr), ContainSubstring("v1.30.14"))))
			g.Expect(render(seedInputs)).To(Succeed())
		})
	}
}
