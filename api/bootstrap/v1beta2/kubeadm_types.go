package v1beta2

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// This file holds the kubeadm configuration that a KubeadmConfigSpec carries:
// ClusterConfiguration, InitConfiguration and JoinConfiguration. They follow
// the kubeadm v1beta4 API, minus the fields that Cluster API sets itself
// (for example the Kubernetes version and the networking of the cluster).

// EncryptionAlgorithmType is the algorithm of the keys and certificates kubeadm generates.
// +kubebuilder:validation:Enum=ECDSA-P256;ECDSA-P384;RSA-2048;RSA-3072;RSA-4096
type EncryptionAlgorithmType string

// Encryption algorithms kubeadm supports.
const (
	// EncryptionAlgorithmECDSAP256 uses ECDSA keys on the P-256 curve.
	EncryptionAlgorithmECDSAP256 EncryptionAlgorithmType = "ECDSA-P256"
	// EncryptionAlgorithmECDSAP384 uses ECDSA keys on the P-384 curve.
	EncryptionAlgorithmECDSAP384 EncryptionAlgorithmType = "ECDSA-P384"
	// EncryptionAlgorithmRSA2048 uses 2048-bit RSA keys.
	EncryptionAlgorithmRSA2048 EncryptionAlgorithmType = "RSA-2048"
	// EncryptionAlgorithmRSA3072 uses 3072-bit RSA keys.
	EncryptionAlgorithmRSA3072 EncryptionAlgorithmType = "RSA-3072"
	// EncryptionAlgorithmRSA4096 uses 4096-bit RSA keys.
	EncryptionAlgorithmRSA4096 EncryptionAlgorithmType = "RSA-4096"
)

// ClusterConfiguration is the cluster-wide part of the kubeadm configuration.
// +kubebuilder:validation:MinProperties=1
type ClusterConfiguration struct {
	// etcd holds the configuration of the etcd cluster: local (stacked) or external.
	// +optional
	Etcd Etcd `json:"etcd,omitempty,omitzero"`

	// controlPlaneEndpoint is a stable address for the control plane, as a DNS name
	// or IP address with an optional port. When it is empty, Cluster API uses the
	// Cluster's spec.controlPlaneEndpoint.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	ControlPlaneEndpoint string `json:"controlPlaneEndpoint,omitempty"`

	// apiServer holds extra settings for the kube-apiserver.
	// +optional
	APIServer APIServer `json:"apiServer,omitempty,omitzero"`

	// controllerManager holds extra settings for the kube-controller-manager.
	// +optional
	ControllerManager ControllerManager `json:"controllerManager,omitempty,omitzero"`

	// scheduler holds extra settings for the kube-scheduler.
	// +optional
	Scheduler Scheduler `json:"scheduler,omitempty,omitzero"`

	// dns holds the settings of the cluster DNS add-on.
	// +optional
	DNS DNS `json:"dns,omitempty,omitzero"`

	// certificatesDir is the directory where kubeadm reads and writes certificates.
	// kubeadm's default is /etc/kubernetes/pki.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	CertificatesDir string `json:"certificatesDir,omitempty"`

	// imageRepository is the container registry the control-plane images are pulled from.
	// When it is empty, kubeadm's default registry is used.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	ImageRepository string `json:"imageRepository,omitempty"`

	// featureGates enables or disables kubeadm feature gates by name.
	// +optional
	FeatureGates map[string]bool `json:"featureGates,omitempty"`

	// certificateValidityPeriodDays is how many days the certificates kubeadm signs
	// (other than the CAs) are valid. kubeadm's default is 365.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1095
	CertificateValidityPeriodDays int32 `json:"certificateValidityPeriodDays,omitempty"`

	// caCertificateValidityPeriodDays is how many days the CA certificates kubeadm
	// generates are valid. It does not apply to CAs that Cluster API provides.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=36500
	CACertificateValidityPeriodDays int32 `json:"caCertificateValidityPeriodDays,omitempty"`

	// encryptionAlgorithm is the algorithm of the keys kubeadm generates:
	// ECDSA-P256, ECDSA-P384, RSA-2048, RSA-3072 or RSA-4096.
	// +optional
	EncryptionAlgorithm EncryptionAlgorithmType `json:"encryptionAlgorithm,omitempty"`
}

// Arg is one command-line argument of a Kubernetes component, as a name and a value.
type Arg struct {
	// name of the argument, without the leading dashes.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`

	// value of the argument. It may be the empty string.
	// +required
	// +kubebuilder:validation:MinLength=0
	// +kubebuilder:validation:MaxLength=1024
	Value *string `json:"value"`
}

// EnvVar is an environment variable for a static Pod of the control plane.
type EnvVar struct {
	corev1.EnvVar `json:",inline"`
}

// HostPathMount is a host directory or file mounted into a static Pod of the control plane.
type HostPathMount struct {
	// name of the volume in the Pod.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Name string `json:"name"`

	// hostPath is the path on the host that is mounted.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	HostPath string `json:"hostPath"`

	// mountPath is the path inside the Pod where hostPath is mounted.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	MountPath string `json:"mountPath"`

	// readOnly mounts the volume read-only when true.
	// +optional
	ReadOnly *bool `json:"readOnly,omitempty"`

	// pathType is the type of the host path, as in a Pod's hostPath volume.
	// +optional
	PathType corev1.HostPathType `json:"pathType,omitempty"`
}

// ControlPlaneComponent holds the settings common to the kube-apiserver,
// the kube-controller-manager and the kube-scheduler.
type ControlPlaneComponent struct {
	// extraArgs are extra command-line arguments for the component. A name may appear
	// only once. They override the arguments kubeadm sets.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +listMapKey=value
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:XValidation:rule="self.all(x, self.exists_one(y, x.name == y.name))",message="extraArgs name must be unique"
	ExtraArgs []Arg `json:"extraArgs,omitempty"`

	// extraVolumes are extra host paths mounted into the component's static Pod.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	ExtraVolumes []HostPathMount `json:"extraVolumes,omitempty"`

	// extraEnvs are extra environment variables for the component's static Pod.
	// Variables with the same name as one kubeadm sets replace it.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	ExtraEnvs *[]EnvVar `json:"extraEnvs,omitempty"`
}

// APIServer holds the settings of the kube-apiserver.
// +kubebuilder:validation:MinProperties=1
type APIServer struct {
	ControlPlaneComponent `json:",inline"`

	// certSANs are extra Subject Alternative Names for the API server's serving certificate.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	CertSANs []string `json:"certSANs,omitempty"`
}

// ControllerManager holds the settings of the kube-controller-manager.
// +kubebuilder:validation:MinProperties=1
type ControllerManager struct {
	ControlPlaneComponent `json:",inline"`
}

// Scheduler holds the settings of the kube-scheduler.
// +kubebuilder:validation:MinProperties=1
type Scheduler struct {
	ControlPlaneComponent `json:",inline"`
}

// DNS holds the settings of the cluster DNS add-on (CoreDNS).
// +kubebuilder:validation:MinProperties=1
type DNS struct {
	// imageRepository is the registry the DNS image is pulled from. When it is empty,
	// the cluster's imageRepository (or kubeadm's default) is used.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	ImageRepository string `json:"imageRepository,omitempty"`

	// imageTag is the tag of the DNS image. When it is empty, kubeadm picks the
	// version that matches the Kubernetes version.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	ImageTag string `json:"imageTag,omitempty"`
}

// Etcd holds the configuration of etcd: either local (stacked on the control-plane
// machines) or external. Local is the default when neither is set.
// +kubebuilder:validation:MinProperties=1
// +kubebuilder:validation:XValidation:rule="!(has(self.local) && has(self.external))",message="etcd.local and etcd.external are mutually exclusive"
type Etcd struct {
	// local configures the etcd members that kubeadm runs as static Pods on the
	// control-plane machines.
	// +optional
	Local LocalEtcd `json:"local,omitempty,omitzero"`

	// external points the API servers to an etcd cluster that runs elsewhere.
	// +optional
	External ExternalEtcd `json:"external,omitempty,omitzero"`
}

// LocalEtcd configures the etcd members that run on the control-plane machines.
// +kubebuilder:validation:MinProperties=1
type LocalEtcd struct {
	// imageRepository is the registry the etcd image is pulled from. When it is empty,
	// the cluster's imageRepository (or kubeadm's default) is used.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	ImageRepository string `json:"imageRepository,omitempty"`

	// imageTag is the tag of the etcd image. When it is empty, kubeadm picks the
	// version that matches the Kubernetes version.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	ImageTag string `json:"imageTag,omitempty"`

	// dataDir is the directory where etcd stores its data. kubeadm's default is /var/lib/etcd.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	DataDir string `json:"dataDir,omitempty"`

	// extraArgs are extra command-line arguments for etcd. A name may appear only once.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +listMapKey=value
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:XValidation:rule="self.all(x, self.exists_one(y, x.name == y.name))",message="extraArgs name must be unique"
	ExtraArgs []Arg `json:"extraArgs,omitempty"`

	// extraEnvs are extra environment variables for the etcd static Pod.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	ExtraEnvs *[]EnvVar `json:"extraEnvs,omitempty"`

	// serverCertSANs are extra Subject Alternative Names for etcd's serving certificate.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	ServerCertSANs []string `json:"serverCertSANs,omitempty"`

	// peerCertSANs are extra Subject Alternative Names for etcd's peer certificate.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	PeerCertSANs []string `json:"peerCertSANs,omitempty"`
}

// ExternalEtcd points the API servers to an etcd cluster that runs outside the control plane.
type ExternalEtcd struct {
	// endpoints are the client URLs of the etcd members.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=512
	Endpoints []string `json:"endpoints"`

	// caFile is the path, on the machine, of the CA certificate that signed etcd's serving certificate.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	CAFile string `json:"caFile"`

	// certFile is the path, on the machine, of the client certificate the API server presents to etcd.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	CertFile string `json:"certFile"`

	// keyFile is the path, on the machine, of the private key of certFile.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	KeyFile string `json:"keyFile"`
}

// InitConfiguration is the part of the kubeadm configuration used only by kubeadm init,
// on the first control-plane machine.
// +kubebuilder:validation:MinProperties=1
type InitConfiguration struct {
	// bootstrapTokens are the bootstrap tokens kubeadm init creates. Cluster API
	// creates its own tokens for joins, so this is rarely needed.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	BootstrapTokens []BootstrapToken `json:"bootstrapTokens,omitempty"`

	// nodeRegistration holds the settings used to register the new Node.
	// +optional
	NodeRegistration NodeRegistrationOptions `json:"nodeRegistration,omitempty,omitzero"`

	// localAPIEndpoint is the address and port the API server on this machine
	// advertises and binds to.
	// +optional
	LocalAPIEndpoint APIEndpoint `json:"localAPIEndpoint,omitempty,omitzero"`

	// skipPhases lists the kubeadm init phases to skip, for example addon/kube-proxy.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	SkipPhases []string `json:"skipPhases,omitempty"`

	// patches points kubeadm to patches it applies to the components it deploys.
	// +optional
	Patches Patches `json:"patches,omitempty,omitzero"`

	// timeouts overrides the timeouts of kubeadm.
	// +optional
	Timeouts Timeouts `json:"timeouts,omitempty,omitzero"`
}

// BootstrapToken is a bootstrap token kubeadm init creates in the cluster.
type BootstrapToken struct {
	// token is the token itself, in the form "abcdef.0123456789abcdef": a 6-character
	// ID, a dot and a 16-character secret, all of [a-z0-9]. The format is checked when
	// the configuration is rendered, not by the schema.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=23
	Token string `json:"token"`

	// description is a human-readable note on what the token is for.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Description string `json:"description,omitempty"`

	// ttlSeconds is how long the token is valid. kubeadm's default is 24 hours.
	// It is mutually exclusive with expires.
	// +optional
	// +kubebuilder:validation:Minimum=0
	TTLSeconds *int32 `json:"ttlSeconds,omitempty"`

	// expires is when the token expires. It is mutually exclusive with ttlSeconds.
	// +optional
	Expires metav1.Time `json:"expires,omitempty,omitzero"`

	// usages says what the token may be used for, for example authentication or signing.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	Usages []string `json:"usages,omitempty"`

	// groups are the extra groups the token authenticates as.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	Groups []string `json:"groups,omitempty"`
}

// NodeRegistrationOptions holds the settings used to register a new Node with the cluster.
// +kubebuilder:validation:MinProperties=1
type NodeRegistrationOptions struct {
	// name is the name of the Node. When it is empty, the hostname of the machine is used.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`

	// criSocket is the path of the CRI socket kubeadm talks to. When it is empty,
	// kubeadm detects it.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	CRISocket string `json:"criSocket,omitempty"`

	// taints are the taints the Node registers with. When it is unset, control-plane
	// Nodes get the control-plane taint; an empty list registers the Node with no taints.
	// A taint's effect is NoSchedule, PreferNoSchedule or NoExecute.
	// +optional
	// +kubebuilder:validation:MinItems=0
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:XValidation:rule="self.all(t, t.effect in ['NoSchedule', 'PreferNoSchedule', 'NoExecute'])",message="taints[].effect must be NoSchedule, PreferNoSchedule or NoExecute"
	Taints *[]corev1.Taint `json:"taints,omitempty"`

	// kubeletExtraArgs are extra command-line arguments for the kubelet. A name may
	// appear only once.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +listMapKey=value
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:XValidation:rule="self.all(x, self.exists_one(y, x.name == y.name))",message="kubeletExtraArgs name must be unique"
	KubeletExtraArgs []Arg `json:"kubeletExtraArgs,omitempty"`

	// ignorePreflightErrors lists the kubeadm preflight checks whose errors are
	// ignored, for example IsPrivilegedUser, or all.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=512
	IgnorePreflightErrors []string `json:"ignorePreflightErrors,omitempty"`

	// imagePullPolicy is the pull policy kubeadm uses for the images it pulls:
	// Always, IfNotPresent or Never.
	// +optional
	// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`

	// imagePullSerial makes kubeadm pull images one at a time when true.
	// +optional
	ImagePullSerial *bool `json:"imagePullSerial,omitempty"`
}

// APIEndpoint is the address and port an API server advertises and binds to
// on its own machine.
// +kubebuilder:validation:MinProperties=1
type APIEndpoint struct {
	// advertiseAddress is the IP address the API server advertises. When it is
	// empty, kubeadm uses the address of the default network interface.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=39
	AdvertiseAddress string `json:"advertiseAddress,omitempty"`

	// bindPort is the port the API server binds to. kubeadm's default is 6443.
	// +optional
	// +kubebuilder:validation:Minimum=1
	BindPort int32 `json:"bindPort,omitempty"`
}

// Patches points kubeadm to patches for the components it deploys.
// +kubebuilder:validation:MinProperties=1
type Patches struct {
	// directory is a directory on the machine holding patch files named like
	// "kube-apiserver+strategic.yaml", as kubeadm expects them.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Directory string `json:"directory,omitempty"`
}

// Timeouts overrides the timeouts of kubeadm. Every timeout is in seconds;
// 0 means kubeadm waits without limit where it allows that.
// +kubebuilder:validation:MinProperties=1
type Timeouts struct {
	// controlPlaneComponentHealthCheckSeconds is how long kubeadm waits for the
	// control-plane components to become healthy.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ControlPlaneComponentHealthCheckSeconds *int32 `json:"controlPlaneComponentHealthCheckSeconds,omitempty"`

	// kubeletHealthCheckSeconds is how long kubeadm waits for the kubelet to become healthy.
	// +optional
	// +kubebuilder:validation:Minimum=0
	KubeletHealthCheckSeconds *int32 `json:"kubeletHealthCheckSeconds,omitempty"`

	// kubernetesAPICallSeconds is the timeout of each call kubeadm makes to the API server.
	// +optional
	// +kubebuilder:validation:Minimum=0
	KubernetesAPICallSeconds *int32 `json:"kubernetesAPICallSeconds,omitempty"`

	// etcdAPICallSeconds is the timeout of each call kubeadm makes to etcd.
	// +optional
	// +kubebuilder:validation:Minimum=0
	EtcdAPICallSeconds *int32 `json:"etcdAPICallSeconds,omitempty"`

	// tlsBootstrapSeconds is how long kubeadm join waits for the kubelet's TLS bootstrap.
	// +optional
	// +kubebuilder:validation:Minimum=0
	TLSBootstrapSeconds *int32 `json:"tlsBootstrapSeconds,omitempty"`

	// discoverySeconds is how long kubeadm join waits to discover and validate the cluster.
	// +optional
	// +kubebuilder:validation:Minimum=0
	DiscoverySeconds *int32 `json:"discoverySeconds,omitempty"`
}

// JoinConfiguration is the part of the kubeadm configuration used by kubeadm join,
// on every machine except the first control-plane machine.
// +kubebuilder:validation:MinProperties=1
type JoinConfiguration struct {
	// nodeRegistration holds the settings used to register the new Node.
	// +optional
	NodeRegistration NodeRegistrationOptions `json:"nodeRegistration,omitempty,omitzero"`

	// caCertPath is the path, on the machine, of the cluster CA certificate.
	// kubeadm's default is /etc/kubernetes/pki/ca.crt.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	CACertPath string `json:"caCertPath,omitempty"`

	// discovery says how the joining machine finds and trusts the cluster.
	// When it is empty, Cluster API fills in a bootstrap token.
	// +optional
	Discovery Discovery `json:"discovery,omitempty,omitzero"`

	// controlPlane, when set, makes the machine join as a control-plane machine.
	// +optional
	ControlPlane *JoinControlPlane `json:"controlPlane,omitempty"`

	// skipPhases lists the kubeadm join phases to skip.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	SkipPhases []string `json:"skipPhases,omitempty"`

	// patches points kubeadm to patches it applies to the components it deploys.
	// +optional
	Patches Patches `json:"patches,omitempty,omitzero"`

	// timeouts overrides the timeouts of kubeadm.
	// +optional
	Timeouts Timeouts `json:"timeouts,omitempty,omitzero"`
}

// JoinControlPlane holds the settings of a machine that joins as a control-plane machine.
type JoinControlPlane struct {
	// localAPIEndpoint is the address and port the API server on this machine
	// advertises and binds to.
	// +optional
	LocalAPIEndpoint APIEndpoint `json:"localAPIEndpoint,omitempty,omitzero"`
}

// Discovery says how a joining machine finds and trusts the cluster:
// with a bootstrap token or with a kubeconfig file.
// +kubebuilder:validation:MinProperties=1
// +kubebuilder:validation:XValidation:rule="!(has(self.bootstrapToken) && has(self.file))",message="discovery.bootstrapToken and discovery.file are mutually exclusive"
type Discovery struct {
	// bootstrapToken discovers the cluster with a bootstrap token and the API server address.
	// +optional
	BootstrapToken BootstrapTokenDiscovery `json:"bootstrapToken,omitempty,omitzero"`

	// file discovers the cluster from a kubeconfig file.
	// +optional
	File FileDiscovery `json:"file,omitempty,omitzero"`

	// tlsBootstrapToken is the token used for the kubelet's TLS bootstrap. When it is
	// empty, the bootstrap token of bootstrapToken is used.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	TLSBootstrapToken string `json:"tlsBootstrapToken,omitempty"`
}

// BootstrapTokenDiscovery discovers the cluster with a bootstrap token.
// +kubebuilder:validation:MinProperties=1
type BootstrapTokenDiscovery struct {
	// token is the bootstrap token used to fetch the cluster information.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Token string `json:"token,omitempty"`

	// apiServerEndpoint is the address of the API server the cluster information is fetched from.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	APIServerEndpoint string `json:"apiServerEndpoint,omitempty"`

	// caCertHashes are hashes of the cluster CA's public key, in the form "sha256:<hex>",
	// that the fetched cluster information must match.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=512
	CACertHashes []string `json:"caCertHashes,omitempty"`

	// unsafeSkipCAVerification joins without checking the CA against caCertHashes when true.
	// +optional
	UnsafeSkipCAVerification *bool `json:"unsafeSkipCAVerification,omitempty"`
}

// FileDiscovery discovers the cluster from a kubeconfig file.
type FileDiscovery struct {
	// kubeConfigPath is the path, on the machine, of the kubeconfig file
	// (or an HTTPS URL it can be downloaded from).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	KubeConfigPath string `json:"kubeConfigPath"`

	// kubeConfig, when set, makes the bootstrap provider generate the file at
	// kubeConfigPath from these settings.
	// +optional
	KubeConfig FileDiscoveryKubeConfig `json:"kubeConfig,omitempty,omitzero"`
}

// FileDiscoveryKubeConfig describes the kubeconfig file the bootstrap provider generates for discovery.
type FileDiscoveryKubeConfig struct {
	// cluster holds the cluster part of the kubeconfig. Fields left empty are filled
	// in from the Cluster.
	// +optional
	Cluster KubeConfigCluster `json:"cluster,omitempty,omitzero"`

	// user holds the credentials of the kubeconfig.
	// +required
	User KubeConfigUser `json:"user,omitempty,omitzero"`
}

// KubeConfigCluster is the cluster part of a kubeconfig.
// +kubebuilder:validation:MinProperties=1
type KubeConfigCluster struct {
	// server is the URL of the API server. When it is empty, the Cluster's
	// control-plane endpoint is used.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Server string `json:"server,omitempty"`

	// tlsServerName is the name checked against the API server's certificate,
	// when it differs from the host of server.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	TLSServerName string `json:"tlsServerName,omitempty"`

	// insecureSkipTLSVerify skips checking the API server's certificate when true.
	// +optional
	InsecureSkipTLSVerify *bool `json:"insecureSkipTLSVerify,omitempty"`

	// certificateAuthorityData is the PEM-encoded CA bundle that signed the API
	// server's certificate. When it is empty, the cluster CA is used.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=51200
	CertificateAuthorityData []byte `json:"certificateAuthorityData,omitempty"`

	// proxyURL is the URL of the proxy used to reach the API server.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	ProxyURL string `json:"proxyURL,omitempty"`
}

// KubeConfigUser holds the credentials of a kubeconfig: an auth provider or an exec plugin.
// +kubebuilder:validation:MinProperties=1
type KubeConfigUser struct {
	// authProvider names an authentication provider plugin of the client.
	// +optional
	AuthProvider KubeConfigAuthProvider `json:"authProvider,omitempty,omitzero"`

	// exec runs a command that prints the credentials.
	// +optional
	Exec KubeConfigAuthExec `json:"exec,omitempty,omitzero"`
}

// KubeConfigAuthProvider names an authentication provider plugin and its settings.
type KubeConfigAuthProvider struct {
	// name of the authentication provider.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`

	// config holds the settings of the authentication provider.
	// +optional
	Config map[string]string `json:"config,omitempty"`
}

// KubeConfigAuthExec runs a command that prints credentials for the API server.
type KubeConfigAuthExec struct {
	// command is the command to run.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Command string `json:"command"`

	// args are the arguments of the command.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=512
	Args []string `json:"args,omitempty"`

	// env are extra environment variables for the command.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	Env []KubeConfigAuthExecEnv `json:"env,omitempty"`

	// apiVersion is the version of the client.authentication.k8s.io API the command
	// speaks, for example client.authentication.k8s.io/v1.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	APIVersion string `json:"apiVersion,omitempty"`

	// provideClusterInfo passes the cluster information to the command through the
	// KUBERNETES_EXEC_INFO environment variable when true.
	// +optional
	ProvideClusterInfo *bool `json:"provideClusterInfo,omitempty"`
}

// KubeConfigAuthExecEnv is an environment variable of an exec credential plugin.
type KubeConfigAuthExecEnv struct {
	// name of the environment variable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Name string `json:"name"`

	// value of the environment variable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Value string `json:"value"`
}
