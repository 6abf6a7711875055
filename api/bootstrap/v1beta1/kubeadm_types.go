package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
)

// ClusterConfiguration is kubeadm's ClusterConfiguration, in the v1beta1 shape.
type ClusterConfiguration struct {
	// etcd configures etcd.
	// +optional
	Etcd Etcd `json:"etcd,omitempty,omitzero"`

	// networking holds the cluster's network settings; podcluster takes them from the Cluster.
	// +optional
	Networking Networking `json:"networking,omitempty,omitzero"`

	// kubernetesVersion is the Kubernetes version; podcluster takes it from the Machine.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`

	// controlPlaneEndpoint is a stable address for the control plane.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	ControlPlaneEndpoint string `json:"controlPlaneEndpoint,omitempty"`

	// apiServer configures the API server.
	// +optional
	APIServer APIServer `json:"apiServer,omitempty,omitzero"`

	// controllerManager configures the controller manager.
	// +optional
	ControllerManager ControlPlaneComponent `json:"controllerManager,omitempty,omitzero"`

	// scheduler configures the scheduler.
	// +optional
	Scheduler ControlPlaneComponent `json:"scheduler,omitempty,omitzero"`

	// dns configures the cluster DNS add-on.
	// +optional
	DNS bootstrapv1.DNS `json:"dns,omitempty,omitzero"`

	// certificatesDir is where kubeadm keeps certificates.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	CertificatesDir string `json:"certificatesDir,omitempty"`

	// imageRepository is the registry to pull control plane images from.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	ImageRepository string `json:"imageRepository,omitempty"`

	// featureGates are kubeadm's feature gates.
	// +optional
	FeatureGates map[string]bool `json:"featureGates,omitempty"`

	// clusterName is the cluster's name; podcluster takes it from the Cluster.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	ClusterName string `json:"clusterName,omitempty"`
}

// Networking holds a cluster's network settings.
type Networking struct {
	// serviceSubnet is the Services' CIDR.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	ServiceSubnet string `json:"serviceSubnet,omitempty"`
	// podSubnet is the Pods' CIDR.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	PodSubnet string `json:"podSubnet,omitempty"`
	// dnsDomain is the Services' DNS domain.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	DNSDomain string `json:"dnsDomain,omitempty"`
}

// ControlPlaneComponent configures one control plane component.
type ControlPlaneComponent struct {
	// extraArgs are extra command-line arguments, by name.
	// +optional
	ExtraArgs map[string]string `json:"extraArgs,omitempty"`

	// extraVolumes are extra host paths mounted into the component.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	ExtraVolumes []bootstrapv1.HostPathMount `json:"extraVolumes,omitempty"`

	// extraEnvs are extra environment variables.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	ExtraEnvs []bootstrapv1.EnvVar `json:"extraEnvs,omitempty"`
}

// APIServer configures the API server.
type APIServer struct {
	ControlPlaneComponent `json:",inline"`

	// certSANs are extra Subject Alternative Names for the serving certificate.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=253
	CertSANs []string `json:"certSANs,omitempty"`

	// timeoutForControlPlane is how long kubeadm waits for the control plane.
	// +optional
	TimeoutForControlPlane *Duration `json:"timeoutForControlPlane,omitempty"`
}

// Etcd configures etcd.
type Etcd struct {
	// local configures an etcd kubeadm runs on the node.
	// +optional
	Local *LocalEtcd `json:"local,omitempty"`

	// external points at an etcd outside the cluster.
	// +optional
	External *bootstrapv1.ExternalEtcd `json:"external,omitempty"`
}

// LocalEtcd configures an etcd kubeadm runs on the node.
type LocalEtcd struct {
	// imageRepository is the registry to pull the etcd image from.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	ImageRepository string `json:"imageRepository,omitempty"`
	// imageTag is the etcd image's tag.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	ImageTag string `json:"imageTag,omitempty"`
	// dataDir is where etcd keeps its data.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	DataDir string `json:"dataDir,omitempty"`
	// extraArgs are extra command-line arguments, by name.
	// +optional
	ExtraArgs map[string]string `json:"extraArgs,omitempty"`
	// extraEnvs are extra environment variables.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	ExtraEnvs []bootstrapv1.EnvVar `json:"extraEnvs,omitempty"`
	// serverCertSANs are extra SANs of the etcd serving certificate.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=253
	ServerCertSANs []string `json:"serverCertSANs,omitempty"`
	// peerCertSANs are extra SANs of the etcd peer certificate.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=253
	PeerCertSANs []string `json:"peerCertSANs,omitempty"`
}

// InitConfiguration is kubeadm's InitConfiguration, in the v1beta1 shape.
type InitConfiguration struct {
	// bootstrapTokens are the tokens kubeadm init creates.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	BootstrapTokens []BootstrapToken `json:"bootstrapTokens,omitempty"`

	// nodeRegistration registers the node.
	// +optional
	NodeRegistration NodeRegistrationOptions `json:"nodeRegistration,omitempty,omitzero"`

	// localAPIEndpoint is the address this node's API server advertises.
	// +optional
	LocalAPIEndpoint bootstrapv1.APIEndpoint `json:"localAPIEndpoint,omitempty,omitzero"`

	// skipPhases are kubeadm init phases to skip.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=256
	SkipPhases []string `json:"skipPhases,omitempty"`

	// patches points kubeadm at patch files.
	// +optional
	Patches *bootstrapv1.Patches `json:"patches,omitempty"`
}

// BootstrapToken is a kubeadm bootstrap token.
type BootstrapToken struct {
	// token is the token, "abcdef.0123456789abcdef".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=23
	Token string `json:"token"`
	// description says what the token is for.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Description string `json:"description,omitempty"`
	// ttl is how long the token lives.
	// +optional
	TTL *Duration `json:"ttl,omitempty"`
	// expires is when the token expires; ttl and expires exclude each other.
	// +optional
	Expires *metav1.Time `json:"expires,omitempty"`
	// usages are what the token may be used for.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=256
	Usages []string `json:"usages,omitempty"`
	// groups are extra groups the token authenticates as.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=256
	Groups []string `json:"groups,omitempty"`
}

// NodeRegistrationOptions registers a node.
type NodeRegistrationOptions struct {
	// name is the Node's name.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`
	// criSocket is the container runtime's socket.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	CRISocket string `json:"criSocket,omitempty"`
	// taints are the Node's initial taints; unset means kubeadm's default, empty means none.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	Taints []corev1.Taint `json:"taints,omitempty"`
	// kubeletExtraArgs are extra kubelet command-line arguments, by name.
	// +optional
	KubeletExtraArgs map[string]string `json:"kubeletExtraArgs,omitempty"`
	// ignorePreflightErrors are preflight errors to ignore.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=512
	IgnorePreflightErrors []string `json:"ignorePreflightErrors,omitempty"`
	// imagePullPolicy is kubeadm's image pull policy.
	// +optional
	// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
	ImagePullPolicy string `json:"imagePullPolicy,omitempty"`
	// imagePullSerial pulls images one at a time.
	// +optional
	ImagePullSerial *bool `json:"imagePullSerial,omitempty"`
}

// JoinConfiguration is kubeadm's JoinConfiguration, in the v1beta1 shape.
type JoinConfiguration struct {
	// nodeRegistration registers the node.
	// +optional
	NodeRegistration NodeRegistrationOptions `json:"nodeRegistration,omitempty,omitzero"`

	// caCertPath is where the cluster CA certificate is written.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	CACertPath string `json:"caCertPath,omitempty"`

	// discovery says how the node finds the cluster.
	// +optional
	Discovery Discovery `json:"discovery,omitempty,omitzero"`

	// controlPlane makes the node a control plane node.
	// +optional
	ControlPlane *bootstrapv1.JoinControlPlane `json:"controlPlane,omitempty"`

	// skipPhases are kubeadm join phases to skip.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=256
	SkipPhases []string `json:"skipPhases,omitempty"`

	// patches points kubeadm at patch files.
	// +optional
	Patches *bootstrapv1.Patches `json:"patches,omitempty"`
}

// Discovery says how a joining node finds the cluster.
type Discovery struct {
	// bootstrapToken discovers through a bootstrap token.
	// +optional
	BootstrapToken *bootstrapv1.BootstrapTokenDiscovery `json:"bootstrapToken,omitempty"`
	// file discovers through a kubeconfig file.
	// +optional
	File *bootstrapv1.FileDiscovery `json:"file,omitempty"`
	// tlsBootstrapToken is the token for the TLS bootstrap.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	TLSBootstrapToken string `json:"tlsBootstrapToken,omitempty"`
	// timeout is how long discovery may take.
	// +optional
	Timeout *Duration `json:"timeout,omitempty"`
}
