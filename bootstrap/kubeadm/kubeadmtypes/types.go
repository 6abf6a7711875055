// Package kubeadmtypes renders the kubeadm configuration files a machine's
// bootstrap data carries: ClusterConfiguration and InitConfiguration for
// `kubeadm init`, JoinConfiguration for `kubeadm join`, all in kubeadm's
// kubeadm.k8s.io/v1beta4 format. It is pure: no API calls, no controller.
//
// The types here are our own small copy of the v1beta4 wire format (field
// names and YAML shape only), so the bootstrap provider depends neither on
// k8s.io/kubernetes nor on kubeadm's internal defaulting. Fields are emitted only
// when set, so kubeadm applies its own defaults to everything else.
//
// Design decisions:
//   - Cluster facts (name, version, endpoint, networking) come from the Cluster
//     and Machine through ClusterInputs. Our v1beta2 ClusterConfiguration only
//     carries controlPlaneEndpoint of those, and a value set there wins over the
//     Cluster's, as upstream does; everything else is filled from ClusterInputs.
//   - Durations in our API are whole seconds or days; kubeadm wants Go durations
//     ("4m0s", "8760h0m0s"), so the converters translate them.
//   - Extra arguments keep the user's order; a nil value becomes "", the way
//     kubeadm reads a flag without a value.
//   - Nothing environment-specific is injected by default. kubeadm already
//     defaults the kubelet's cgroupDriver to systemd. The settings that nested
//     nodes on cgroup v1 hosts need (docs/real-nodes.md) are cluster-wide
//     component configs, so they ride only in the init data, and only when the
//     caller asks for them (see NestedNodeComponentConfigs): a bootstrap provider
//     must not silently change how the kubelet and kube-proxy behave on other
//     infrastructure.
package kubeadmtypes

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// APIVersion is the kubeadm configuration API this package writes.
const APIVersion = "kubeadm.k8s.io/v1beta4"

// ClusterConfiguration is kubeadm's cluster-wide configuration.
type ClusterConfiguration struct {
	metav1.TypeMeta `json:",inline"`

	Etcd                        Etcd                  `json:"etcd,omitzero"`
	Networking                  Networking            `json:"networking,omitzero"`
	KubernetesVersion           string                `json:"kubernetesVersion,omitempty"`
	ControlPlaneEndpoint        string                `json:"controlPlaneEndpoint,omitempty"`
	APIServer                   APIServer             `json:"apiServer,omitzero"`
	ControllerManager           ControlPlaneComponent `json:"controllerManager,omitzero"`
	Scheduler                   ControlPlaneComponent `json:"scheduler,omitzero"`
	DNS                         DNS                   `json:"dns,omitzero"`
	CertificatesDir             string                `json:"certificatesDir,omitempty"`
	ImageRepository             string                `json:"imageRepository,omitempty"`
	FeatureGates                map[string]bool       `json:"featureGates,omitempty"`
	ClusterName                 string                `json:"clusterName,omitempty"`
	EncryptionAlgorithm         string                `json:"encryptionAlgorithm,omitempty"`
	CertificateValidityPeriod   *metav1.Duration      `json:"certificateValidityPeriod,omitempty"`
	CACertificateValidityPeriod *metav1.Duration      `json:"caCertificateValidityPeriod,omitempty"`
}

// Etcd is either local (stacked) or external etcd.
type Etcd struct {
	Local    *LocalEtcd    `json:"local,omitempty"`
	External *ExternalEtcd `json:"external,omitempty"`
}

// LocalEtcd configures the etcd static Pods on control-plane machines.
type LocalEtcd struct {
	ImageRepository string          `json:"imageRepository,omitempty"`
	ImageTag        string          `json:"imageTag,omitempty"`
	DataDir         string          `json:"dataDir,omitempty"`
	ExtraArgs       []Arg           `json:"extraArgs,omitempty"`
	ExtraEnvs       []corev1.EnvVar `json:"extraEnvs,omitempty"`
	ServerCertSANs  []string        `json:"serverCertSANs,omitempty"`
	PeerCertSANs    []string        `json:"peerCertSANs,omitempty"`
}

// ExternalEtcd points the API servers to an etcd cluster elsewhere.
type ExternalEtcd struct {
	Endpoints []string `json:"endpoints"`
	CAFile    string   `json:"caFile"`
	CertFile  string   `json:"certFile"`
	KeyFile   string   `json:"keyFile"`
}

// Networking holds the cluster's Service and Pod ranges and DNS domain.
// Several CIDRs (dual stack) are joined with commas.
type Networking struct {
	ServiceSubnet string `json:"serviceSubnet,omitempty"`
	PodSubnet     string `json:"podSubnet,omitempty"`
	DNSDomain     string `json:"dnsDomain,omitempty"`
}

// Arg is one command-line argument of a component; v1beta4 lists them in order.
type Arg struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ControlPlaneComponent holds the settings shared by the control-plane static Pods.
type ControlPlaneComponent struct {
	ExtraArgs    []Arg           `json:"extraArgs,omitempty"`
	ExtraVolumes []HostPathMount `json:"extraVolumes,omitempty"`
	ExtraEnvs    []corev1.EnvVar `json:"extraEnvs,omitempty"`
}

// APIServer holds the kube-apiserver settings.
type APIServer struct {
	ControlPlaneComponent `json:",inline"`

	CertSANs []string `json:"certSANs,omitempty"`
}

// HostPathMount is a host path mounted into a control-plane static Pod.
type HostPathMount struct {
	Name      string              `json:"name"`
	HostPath  string              `json:"hostPath"`
	MountPath string              `json:"mountPath"`
	ReadOnly  bool                `json:"readOnly,omitempty"`
	PathType  corev1.HostPathType `json:"pathType,omitempty"`
}

// DNS holds the CoreDNS image settings.
type DNS struct {
	ImageRepository string `json:"imageRepository,omitempty"`
	ImageTag        string `json:"imageTag,omitempty"`
}

// InitConfiguration is the configuration of `kubeadm init` on this machine.
type InitConfiguration struct {
	metav1.TypeMeta `json:",inline"`

	BootstrapTokens  []BootstrapToken `json:"bootstrapTokens,omitempty"`
	NodeRegistration NodeRegistration `json:"nodeRegistration,omitzero"`
	LocalAPIEndpoint APIEndpoint      `json:"localAPIEndpoint,omitzero"`
	SkipPhases       []string         `json:"skipPhases,omitempty"`
	Patches          *Patches         `json:"patches,omitempty"`
	Timeouts         *Timeouts        `json:"timeouts,omitempty"`
}

// BootstrapToken is a token kubeadm init creates.
type BootstrapToken struct {
	Token       string           `json:"token"`
	Description string           `json:"description,omitempty"`
	TTL         *metav1.Duration `json:"ttl,omitempty"`
	Expires     *metav1.Time     `json:"expires,omitempty"`
	Usages      []string         `json:"usages,omitempty"`
	Groups      []string         `json:"groups,omitempty"`
}

// NodeRegistration holds the settings used to register the Node.
type NodeRegistration struct {
	Name      string `json:"name,omitempty"`
	CRISocket string `json:"criSocket,omitempty"`
	// Taints: nil lets kubeadm taint control-plane Nodes; an empty list means no taints.
	Taints                *[]corev1.Taint   `json:"taints,omitempty"`
	KubeletExtraArgs      []Arg             `json:"kubeletExtraArgs,omitempty"`
	IgnorePreflightErrors []string          `json:"ignorePreflightErrors,omitempty"`
	ImagePullPolicy       corev1.PullPolicy `json:"imagePullPolicy,omitempty"`
	ImagePullSerial       *bool             `json:"imagePullSerial,omitempty"`
}

// APIEndpoint is the address and port of this machine's API server.
type APIEndpoint struct {
	AdvertiseAddress string `json:"advertiseAddress,omitempty"`
	BindPort         int32  `json:"bindPort,omitempty"`
}

// Patches points kubeadm to a directory of patch files.
type Patches struct {
	Directory string `json:"directory,omitempty"`
}

// Timeouts are kubeadm's v1beta4 timeouts.
type Timeouts struct {
	ControlPlaneComponentHealthCheck *metav1.Duration `json:"controlPlaneComponentHealthCheck,omitempty"`
	KubeletHealthCheck               *metav1.Duration `json:"kubeletHealthCheck,omitempty"`
	KubernetesAPICall                *metav1.Duration `json:"kubernetesAPICall,omitempty"`
	EtcdAPICall                      *metav1.Duration `json:"etcdAPICall,omitempty"`
	TLSBootstrap                     *metav1.Duration `json:"tlsBootstrap,omitempty"`
	Discovery                        *metav1.Duration `json:"discovery,omitempty"`
}

// JoinConfiguration is the configuration of `kubeadm join` on this machine.
type JoinConfiguration struct {
	metav1.TypeMeta `json:",inline"`

	NodeRegistration NodeRegistration  `json:"nodeRegistration,omitzero"`
	CACertPath       string            `json:"caCertPath,omitempty"`
	Discovery        Discovery         `json:"discovery"`
	ControlPlane     *JoinControlPlane `json:"controlPlane,omitempty"`
	SkipPhases       []string          `json:"skipPhases,omitempty"`
	Patches          *Patches          `json:"patches,omitempty"`
	Timeouts         *Timeouts         `json:"timeouts,omitempty"`
}

// Discovery says how a joining machine finds and trusts the cluster.
type Discovery struct {
	BootstrapToken    *BootstrapTokenDiscovery `json:"bootstrapToken,omitempty"`
	File              *FileDiscovery           `json:"file,omitempty"`
	TLSBootstrapToken string                   `json:"tlsBootstrapToken,omitempty"`
}

// BootstrapTokenDiscovery discovers the cluster with a bootstrap token.
type BootstrapTokenDiscovery struct {
	Token                    string   `json:"token"`
	APIServerEndpoint        string   `json:"apiServerEndpoint,omitempty"`
	CACertHashes             []string `json:"caCertHashes,omitempty"`
	UnsafeSkipCAVerification bool     `json:"unsafeSkipCAVerification,omitempty"`
}

// FileDiscovery discovers the cluster from a kubeconfig file.
type FileDiscovery struct {
	KubeConfigPath string `json:"kubeConfigPath"`
}

// JoinControlPlane makes the machine join as a control-plane machine.
type JoinControlPlane struct {
	LocalAPIEndpoint APIEndpoint `json:"localAPIEndpoint,omitzero"`
	CertificateKey   string      `json:"certificateKey,omitempty"`
}

// ComponentConfigs are optional kubelet and kube-proxy documents for the init
// data; MarshalInitData sets their apiVersion and kind. kubeadm init stores them
// in the cluster and every joining machine reads them from there, so they apply
// to the whole cluster.
type ComponentConfigs struct {
	Kubelet   *KubeletConfiguration
	KubeProxy *KubeProxyConfiguration
}

// KubeletConfiguration is the part of kubelet.config.k8s.io/v1beta1 we may set.
type KubeletConfiguration struct {
	metav1.TypeMeta `json:",inline"`

	CgroupDriver string `json:"cgroupDriver,omitempty"`
	FailCgroupV1 *bool  `json:"failCgroupV1,omitempty"`
}

// KubeProxyConfiguration is the part of kubeproxy.config.k8s.io/v1alpha1 we may set.
type KubeProxyConfiguration struct {
	metav1.TypeMeta `json:",inline"`

	Conntrack KubeProxyConntrack `json:"conntrack,omitzero"`
}

// KubeProxyConntrack holds kube-proxy's conntrack settings; zero values leave
// the kernel's settings alone.
type KubeProxyConntrack struct {
	MaxPerCore            *int32           `json:"maxPerCore,omitempty"`
	TCPEstablishedTimeout *metav1.Duration `json:"tcpEstablishedTimeout,omitempty"`
	TCPCloseWaitTimeout   *metav1.Duration `json:"tcpCloseWaitTimeout,omitempty"`
}

// NestedNodeComponentConfigs returns the component configs that nodes running as
// privileged containers on a cgroup v1 host need (docs/real-nodes.md):
//   - kubelet failCgroupV1: false, since kubelet 1.35 refuses cgroup v1 otherwise
//     (harmless on cgroup v2). cgroupDriver is not set: kubeadm defaults it to systemd.
//   - kube-proxy conntrack maxPerCore 0 and zero TCP timeouts, so kube-proxy writes
//     no global conntrack sysctls, which belong to the host.
//
// The controller opts in; nothing in this package adds them on its own.
func NestedNodeComponentConfigs() ComponentConfigs {
	return ComponentConfigs{
		Kubelet: &KubeletConfiguration{FailCgroupV1: new(false)},
		KubeProxy: &KubeProxyConfiguration{Conntrack: KubeProxyConntrack{
			MaxPerCore:            new(int32(0)),
			TCPEstablishedTimeout: new(metav1.Duration{}),
			TCPCloseWaitTimeout:   new(metav1.Duration{}),
		}},
	}
}
