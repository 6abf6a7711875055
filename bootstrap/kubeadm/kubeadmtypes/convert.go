package kubeadmtypes

import (
	"cmp"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
)

// ClusterInputs are the facts the controller takes from the Cluster and the
// Machine. Our ClusterConfiguration has no field for them except
// controlPlaneEndpoint, where a value the user set wins.
type ClusterInputs struct {
	// ClusterName is the Cluster's name.
	ClusterName string
	// ControlPlaneEndpoint is the Cluster's spec.controlPlaneEndpoint as "host:port".
	ControlPlaneEndpoint string
	// KubernetesVersion is the Machine's spec.version, for example v1.37.2.
	KubernetesVersion string
	// PodSubnet and ServiceSubnet are the Cluster's CIDR blocks joined with commas.
	PodSubnet     string
	ServiceSubnet string
	// DNSDomain is the Cluster's clusterNetwork.serviceDomain.
	DNSDomain string
}

// ClusterConfigurationFromSpec builds kubeadm's ClusterConfiguration from the
// spec and the Cluster's facts. It fails when the Kubernetes version is invalid.
func ClusterConfigurationFromSpec(spec bootstrapv1.ClusterConfiguration, in ClusterInputs) (ClusterConfiguration, error) {
	if err := ValidateVersion(in.KubernetesVersion); err != nil {
		return ClusterConfiguration{}, err
	}
	local, external := spec.Etcd.Local, spec.Etcd.External
	cc := ClusterConfiguration{
		Networking: Networking{
			ServiceSubnet: in.ServiceSubnet,
			PodSubnet:     in.PodSubnet,
			DNSDomain:     in.DNSDomain,
		},
		KubernetesVersion:    in.KubernetesVersion,
		ControlPlaneEndpoint: cmp.Or(spec.ControlPlaneEndpoint, in.ControlPlaneEndpoint),
		APIServer: APIServer{
			ControlPlaneComponent: componentFromSpec(spec.APIServer.ControlPlaneComponent),
			CertSANs:              spec.APIServer.CertSANs,
		},
		ControllerManager:           componentFromSpec(spec.ControllerManager.ControlPlaneComponent),
		Scheduler:                   componentFromSpec(spec.Scheduler.ControlPlaneComponent),
		DNS:                         DNS{ImageRepository: spec.DNS.ImageRepository, ImageTag: spec.DNS.ImageTag},
		CertificatesDir:             spec.CertificatesDir,
		ImageRepository:             spec.ImageRepository,
		FeatureGates:                spec.FeatureGates,
		ClusterName:                 in.ClusterName,
		EncryptionAlgorithm:         string(spec.EncryptionAlgorithm),
		CertificateValidityPeriod:   duration(spec.CertificateValidityPeriodDays, 24*time.Hour),
		CACertificateValidityPeriod: duration(spec.CACertificateValidityPeriodDays, 24*time.Hour),
	}
	if len(external.Endpoints) > 0 {
		cc.Etcd.External = &ExternalEtcd{
			Endpoints: external.Endpoints, CAFile: external.CAFile, CertFile: external.CertFile, KeyFile: external.KeyFile,
		}
	} else if !isZeroLocalEtcd(local) {
		cc.Etcd.Local = &LocalEtcd{
			ImageRepository: local.ImageRepository,
			ImageTag:        local.ImageTag,
			DataDir:         local.DataDir,
			ExtraArgs:       args(local.ExtraArgs),
			ExtraEnvs:       envs(local.ExtraEnvs),
			ServerCertSANs:  local.ServerCertSANs,
			PeerCertSANs:    local.PeerCertSANs,
		}
	}
	return cc, nil
}

// InitConfigurationFromSpec builds kubeadm's InitConfiguration from the spec.
// It fails when a bootstrap token is malformed.
func InitConfigurationFromSpec(spec bootstrapv1.InitConfiguration) (InitConfiguration, error) {
	ic := InitConfiguration{
		NodeRegistration: nodeRegistration(spec.NodeRegistration),
		LocalAPIEndpoint: APIEndpoint(spec.LocalAPIEndpoint),
		SkipPhases:       spec.SkipPhases,
		Patches:          patches(spec.Patches),
		Timeouts:         timeouts(spec.Timeouts),
	}
	for i, t := range spec.BootstrapTokens {
		if err := ValidateToken(t.Token); err != nil {
			return InitConfiguration{}, fmt.Errorf("initConfiguration.bootstrapTokens[%d].token: %w", i, err)
		}
		bt := BootstrapToken{Token: t.Token, Description: t.Description, Usages: t.Usages, Groups: t.Groups}
		if t.TTLSeconds != nil {
			// Kept even when 0: kubeadm reads a zero TTL as "never expires".
			bt.TTL = &metav1.Duration{Duration: time.Duration(*t.TTLSeconds) * time.Second}
		}
		if !t.Expires.IsZero() {
			bt.Expires = new(t.Expires)
		}
		ic.BootstrapTokens = append(ic.BootstrapTokens, bt)
	}
	return ic, nil
}

// JoinInputs are what the controller fills into the discovery of a join when
// the user left it blank: a bootstrap token it created, the control-plane
// endpoint, and the hash of the cluster CA (see CACertHash).
type JoinInputs struct {
	Token             string
	APIServerEndpoint string
	CACertHashes      []string
	// ControlPlane makes the machine join as a control-plane machine even when
	// the spec has no joinConfiguration.controlPlane.
	ControlPlane bool
}

// JoinConfigurationFromSpec builds kubeadm's JoinConfiguration from the spec.
// File discovery is kept as the user wrote it (the controller writes the
// kubeconfig file itself when the spec asks for it). Otherwise discovery uses a
// bootstrap token, and each blank field is filled from JoinInputs, as upstream
// does. It fails when the result could not be used offline by kubeadm: a
// malformed token, no API server endpoint, or no CA hash without
// unsafeSkipCAVerification.
func JoinConfigurationFromSpec(spec bootstrapv1.JoinConfiguration, in JoinInputs) (JoinConfiguration, error) {
	jc := JoinConfiguration{
		NodeRegistration: nodeRegistration(spec.NodeRegistration),
		CACertPath:       spec.CACertPath,
		SkipPhases:       spec.SkipPhases,
		Patches:          patches(spec.Patches),
		Timeouts:         timeouts(spec.Timeouts),
	}
	jc.Discovery.TLSBootstrapToken = spec.Discovery.TLSBootstrapToken
	if path := spec.Discovery.File.KubeConfigPath; path != "" {
		jc.Discovery.File = &FileDiscovery{KubeConfigPath: path}
	} else {
		d := spec.Discovery.BootstrapToken
		bt := &BootstrapTokenDiscovery{
			Token:                    cmp.Or(d.Token, in.Token),
			APIServerEndpoint:        cmp.Or(d.APIServerEndpoint, in.APIServerEndpoint),
			CACertHashes:             d.CACertHashes,
			UnsafeSkipCAVerification: d.UnsafeSkipCAVerification != nil && *d.UnsafeSkipCAVerification,
		}
		if len(bt.CACertHashes) == 0 && !bt.UnsafeSkipCAVerification {
			bt.CACertHashes = in.CACertHashes
		}
		const field = "joinConfiguration.discovery.bootstrapToken"
		switch {
		case bt.Token == "":
			return JoinConfiguration{}, fmt.Errorf("%s.token: no token set and none given by the controller", field)
		case bt.APIServerEndpoint == "":
			return JoinConfiguration{}, fmt.Errorf("%s.apiServerEndpoint: not set and the cluster has no control-plane endpoint", field)
		case len(bt.CACertHashes) == 0 && !bt.UnsafeSkipCAVerification:
			return JoinConfiguration{}, fmt.Errorf("%s.caCertHashes: empty while unsafeSkipCAVerification is not set", field)
		}
		if err := ValidateToken(bt.Token); err != nil {
			return JoinConfiguration{}, fmt.Errorf("%s.token: %w", field, err)
		}
		jc.Discovery.BootstrapToken = bt
	}
	if spec.ControlPlane != nil || in.ControlPlane {
		jc.ControlPlane = &JoinControlPlane{}
		if spec.ControlPlane != nil {
			jc.ControlPlane.LocalAPIEndpoint = APIEndpoint(spec.ControlPlane.LocalAPIEndpoint)
		}
	}
	return jc, nil
}

func nodeRegistration(n bootstrapv1.NodeRegistrationOptions) NodeRegistration {
	return NodeRegistration{
		Name:                  n.Name,
		CRISocket:             n.CRISocket,
		Taints:                n.Taints,
		KubeletExtraArgs:      args(n.KubeletExtraArgs),
		IgnorePreflightErrors: n.IgnorePreflightErrors,
		ImagePullPolicy:       n.ImagePullPolicy,
		ImagePullSerial:       n.ImagePullSerial,
	}
}

func componentFromSpec(c bootstrapv1.ControlPlaneComponent) ControlPlaneComponent {
	out := ControlPlaneComponent{ExtraArgs: args(c.ExtraArgs), ExtraEnvs: envs(c.ExtraEnvs)}
	for _, v := range c.ExtraVolumes {
		out.ExtraVolumes = append(out.ExtraVolumes, HostPathMount{
			Name: v.Name, HostPath: v.HostPath, MountPath: v.MountPath,
			ReadOnly: v.ReadOnly != nil && *v.ReadOnly, PathType: v.PathType,
		})
	}
	return out
}

func args(in []bootstrapv1.Arg) []Arg {
	var out []Arg
	for _, a := range in {
		out = append(out, Arg{Name: a.Name, Value: deref(a.Value)})
	}
	return out
}

func envs(in *[]bootstrapv1.EnvVar) []corev1.EnvVar {
	if in == nil {
		return nil
	}
	var out []corev1.EnvVar
	for _, e := range *in {
		out = append(out, e.EnvVar)
	}
	return out
}

func patches(p bootstrapv1.Patches) *Patches {
	if p.Directory == "" {
		return nil
	}
	return &Patches{Directory: p.Directory}
}

func timeouts(t bootstrapv1.Timeouts) *Timeouts {
	if t == (bootstrapv1.Timeouts{}) {
		return nil
	}
	sec := func(s *int32) *metav1.Duration {
		if s == nil {
			return nil
		}
		return &metav1.Duration{Duration: time.Duration(*s) * time.Second}
	}
	return &Timeouts{
		ControlPlaneComponentHealthCheck: sec(t.ControlPlaneComponentHealthCheckSeconds),
		KubeletHealthCheck:               sec(t.KubeletHealthCheckSeconds),
		KubernetesAPICall:                sec(t.KubernetesAPICallSeconds),
		EtcdAPICall:                      sec(t.EtcdAPICallSeconds),
		TLSBootstrap:                     sec(t.TLSBootstrapSeconds),
		Discovery:                        sec(t.DiscoverySeconds),
	}
}

// duration returns n units, or nil for 0 (unset in our API).
func duration(n int32, unit time.Duration) *metav1.Duration {
	if n == 0 {
		return nil
	}
	return &metav1.Duration{Duration: time.Duration(n) * unit}
}

func isZeroLocalEtcd(l bootstrapv1.LocalEtcd) bool {
	return l.ImageRepository == "" && l.ImageTag == "" && l.DataDir == "" && len(l.ExtraArgs) == 0 &&
		l.ExtraEnvs == nil && len(l.ServerCertSANs) == 0 && len(l.PeerCertSANs) == 0
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
