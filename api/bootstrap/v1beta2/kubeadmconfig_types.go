package v1beta2

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// DataSecretFormatKey is the key of the data Secret that holds the format of the
// bootstrap data (cloud-config or ignition), next to the data itself under "value".
const DataSecretFormatKey = "format"

// Format is the format of the bootstrap data.
// +kubebuilder:validation:Enum=cloud-config;ignition
type Format string

const (
	// CloudConfig is cloud-init's cloud-config format.
	CloudConfig Format = "cloud-config"
	// Ignition is the Ignition format. It is not supported yet.
	Ignition Format = "ignition"
)

// KubeadmConfigSpec is the desired bootstrap configuration of a machine: the kubeadm
// configuration plus the files, users, disks and commands of its cloud-config.
// +kubebuilder:validation:MinProperties=1
// +kubebuilder:validation:XValidation:rule="!has(self.format) || self.format != 'ignition'",message="format: ignition is not supported yet; use cloud-config"
// +kubebuilder:validation:XValidation:rule="!has(self.ignition)",message="ignition is not supported yet; use format: cloud-config"
type KubeadmConfigSpec struct {
	// clusterConfiguration is the cluster-wide kubeadm configuration. It is used only
	// on the first control-plane machine (kubeadm init).
	// +optional
	ClusterConfiguration ClusterConfiguration `json:"clusterConfiguration,omitempty,omitzero"`

	// initConfiguration is the kubeadm configuration of kubeadm init, on the first
	// control-plane machine.
	// +optional
	InitConfiguration InitConfiguration `json:"initConfiguration,omitempty,omitzero"`

	// joinConfiguration is the kubeadm configuration of kubeadm join, on every other machine.
	// +optional
	JoinConfiguration JoinConfiguration `json:"joinConfiguration,omitempty,omitzero"`

	// files are files written on the machine before kubeadm runs. A path may
	// appear only once: a second file at the same path would silently replace
	// the first.
	// +optional
	// +listType=map
	// +listMapKey=path
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=200
	Files []File `json:"files,omitempty"`

	// diskSetup holds the partitions and file systems created on the machine's disks.
	// +optional
	DiskSetup DiskSetup `json:"diskSetup,omitempty,omitzero"`

	// mounts lists the mount points to create, each as the fields of an fstab entry
	// (device, mount point, and optional type, options, dump and pass).
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	Mounts []MountPoints `json:"mounts,omitempty"`

	// bootCommands are commands run very early in the boot, before anything else
	// (cloud-init's bootcmd).
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=10240
	BootCommands []string `json:"bootCommands,omitempty"`

	// preKubeadmCommands are commands run before kubeadm. As with cloud-init's
	// runcmd, a failing one is logged and the later ones still run.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=10240
	PreKubeadmCommands []string `json:"preKubeadmCommands,omitempty"`

	// postKubeadmCommands are commands run after kubeadm succeeded. A failing one
	// stops the bootstrap: the machine is bootstrapped only when kubeadm and every
	// post command succeeded.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=10240
	PostKubeadmCommands []string `json:"postKubeadmCommands,omitempty"`

	// users are the users and groups created on the machine.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	Users []User `json:"users,omitempty"`

	// ntp configures the time servers of the machine.
	// +optional
	NTP NTP `json:"ntp,omitempty,omitzero"`

	// format is the format of the bootstrap data: cloud-config (the default) or ignition.
	// Only cloud-config is supported for now.
	// +optional
	Format Format `json:"format,omitempty"`

	// verbosity is the log level of kubeadm (its --v flag), 0 or more.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Verbosity *int32 `json:"verbosity,omitempty"`

	// ignition holds the settings of the Ignition format. It is not supported yet.
	// +optional
	Ignition IgnitionSpec `json:"ignition,omitempty,omitzero"`
}

// Encoding is the encoding of a file's content.
// +kubebuilder:validation:Enum=base64;gzip;gzip+base64
type Encoding string

const (
	// Base64 means the content is base64-encoded.
	Base64 Encoding = "base64"
	// Gzip means the content is gzip-compressed.
	Gzip Encoding = "gzip"
	// GzipBase64 means the content is gzip-compressed, then base64-encoded.
	GzipBase64 Encoding = "gzip+base64"
)

// FileContentFormat says how a file's content is processed before it is written.
// +kubebuilder:validation:Enum=Raw;Template
type FileContentFormat string

const (
	// FileContentFormatRaw writes the content as it is.
	FileContentFormatRaw FileContentFormat = "Raw"
	// FileContentFormatTemplate renders the content as a template before it is written.
	FileContentFormatTemplate FileContentFormat = "Template"
)

// File is a file written on the machine before kubeadm runs.
// +kubebuilder:validation:XValidation:rule="!(has(self.content) && has(self.contentFrom))",message="only one of content or contentFrom may be set"
type File struct {
	// path is the absolute path of the file on the machine. It has no ".."
	// segments and no control characters such as a newline.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="path must be absolute (start with /)"
	// +kubebuilder:validation:XValidation:rule="!self.matches('(^|/)[.][.](/|$)')",message="path must not have .. segments"
	// +kubebuilder:validation:XValidation:rule="!self.matches('[[:cntrl:]]')",message="path must not contain control characters such as a newline"
	Path string `json:"path"`

	// owner is the owner of the file as "user" or "user:group", for example
	// root:root. Each name is letters, digits, '_', '.' or '-', and does not
	// start with '-' or '.'.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$')",message="owner must be user or user:group, each a name of letters, digits, '_', '.' or '-' not starting with '-' or '.'"
	Owner string `json:"owner,omitempty"`

	// permissions are the file's permissions in octal, from 0 to 0777, for
	// example 0640.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule="self.matches('^0*[0-7]{1,3}$')",message="permissions must be octal from 0 to 0777, for example 0644"
	Permissions string `json:"permissions,omitempty"`

	// encoding is the encoding of content: base64, gzip or gzip+base64.
	// When it is empty the content is plain text.
	// +optional
	Encoding Encoding `json:"encoding,omitempty"`

	// append adds the content to the end of an existing file instead of replacing it, when true.
	// +optional
	Append *bool `json:"append,omitempty"`

	// content is the content of the file. It is mutually exclusive with contentFrom.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=10240
	Content string `json:"content,omitempty"`

	// contentFrom reads the content of the file from a Secret in the same namespace.
	// It is mutually exclusive with content.
	// +optional
	ContentFrom FileSource `json:"contentFrom,omitempty,omitzero"`

	// contentFormat says how the content is processed before it is written:
	// Raw (as it is) or Template (rendered as a template). Template is not
	// supported yet and is refused: the content would reach the machine with its
	// template expressions unrendered.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self != 'Template'",message="contentFormat: Template is not supported yet (the content would be written with its {{ }} unrendered); leave contentFormat unset or use Raw"
	ContentFormat FileContentFormat `json:"contentFormat,omitempty"`
}

// FileSource is where the content of a file comes from.
type FileSource struct {
	// secret is the Secret key that holds the content.
	// +required
	Secret SecretFileSource `json:"secret,omitempty,omitzero"`
}

// SecretFileSource is a key of a Secret in the namespace of the KubeadmConfig.
type SecretFileSource struct {
	// name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key of the Secret's data that holds the content.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Key string `json:"key"`
}

// DiskSetup holds the partitions and file systems created on the machine's disks.
// +kubebuilder:validation:MinProperties=1
type DiskSetup struct {
	// partitions are the partition tables to create.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	Partitions []Partition `json:"partitions,omitempty"`

	// filesystems are the file systems to create.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	Filesystems []Filesystem `json:"filesystems,omitempty"`
}

// Partition is the partition table of one disk. Exactly one of layout and diskLayout is set.
// +kubebuilder:validation:ExactlyOneOf=layout;diskLayout
type Partition struct {
	// device is the disk to partition, for example /dev/sdb.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Device string `json:"device"`

	// layout, when true, creates one partition that fills the whole disk; when false,
	// it removes the partition table.
	// +optional
	Layout *bool `json:"layout,omitempty"`

	// overwrite repartitions the disk even when it already has a partition table or
	// file system, when true. Data on the disk is lost.
	// +optional
	Overwrite *bool `json:"overwrite,omitempty"`

	// tableType is the type of the partition table: mbr or gpt.
	// +optional
	// +kubebuilder:validation:Enum=mbr;gpt
	TableType string `json:"tableType,omitempty"`

	// diskLayout lists the partitions to create, in order.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	DiskLayout []PartitionSpec `json:"diskLayout,omitempty"`
}

// PartitionSpec is one partition of a disk layout.
type PartitionSpec struct {
	// percentage is the share of the disk the partition takes, from 1 to 100.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Percentage int32 `json:"percentage"`

	// partitionType is the type of the partition: Linux, LinuxSwap, LinuxRAID, LVM,
	// Fat32, NTFS, LinuxExtended, or a full GPT partition type GUID. The default is Linux.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=36
	// +kubebuilder:validation:XValidation:rule="self in ['Linux', 'LinuxSwap', 'LinuxRAID', 'LVM', 'Fat32', 'NTFS', 'LinuxExtended'] || self.matches('^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$')",message="partitionType must be one of Linux, LinuxSwap, LinuxRAID, LVM, Fat32, NTFS, LinuxExtended or a full GPT partition GUID"
	PartitionType string `json:"partitionType,omitempty"`
}

// Filesystem is a file system created on a disk or partition.
type Filesystem struct {
	// device is the disk or partition the file system is created on, for example /dev/sdb1.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Device string `json:"device"`

	// filesystem is the type of the file system, for example ext4 or xfs.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Filesystem string `json:"filesystem"`

	// label is the label of the file system.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Label string `json:"label,omitempty"`

	// partition is the partition of device to use: a number, "auto", "any" or "none".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Partition string `json:"partition,omitempty"`

	// overwrite creates the file system even when one already exists, when true.
	// Data on it is lost.
	// +optional
	Overwrite *bool `json:"overwrite,omitempty"`

	// replaceFS is the type of an existing file system that may be replaced,
	// even when overwrite is false.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	ReplaceFS string `json:"replaceFS,omitempty"`

	// extraOpts are extra options for the mkfs command.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	ExtraOpts []string `json:"extraOpts,omitempty"`
}

// MountPoints is one mount point, as the fields of an fstab entry.
// +kubebuilder:validation:MinItems=1
// +kubebuilder:validation:MaxItems=100
// +kubebuilder:validation:items:MinLength=1
// +kubebuilder:validation:items:MaxLength=512
type MountPoints []string

// User is a user created on the machine.
// +kubebuilder:validation:XValidation:rule="!(has(self.passwd) && has(self.passwdFrom))",message="only one of passwd or passwdFrom may be set"
type User struct {
	// name is the login name of the user.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`

	// gecos is the user's real name or comment (the GECOS field).
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Gecos string `json:"gecos,omitempty"`

	// groups is a comma-separated list of extra groups of the user.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Groups string `json:"groups,omitempty"`

	// homeDir is the user's home directory. The default is /home/<name>.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	HomeDir string `json:"homeDir,omitempty"`

	// inactive creates the user as inactive when true.
	// +optional
	Inactive *bool `json:"inactive,omitempty"`

	// shell is the user's login shell.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Shell string `json:"shell,omitempty"`

	// passwd is the user's hashed password. It is mutually exclusive with passwdFrom.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Passwd string `json:"passwd,omitempty"`

	// passwdFrom reads the user's hashed password from a Secret in the same namespace.
	// It is mutually exclusive with passwd.
	// +optional
	PasswdFrom PasswdSource `json:"passwdFrom,omitempty,omitzero"`

	// primaryGroup is the user's primary group. The default is a new group named like the user.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	PrimaryGroup string `json:"primaryGroup,omitempty"`

	// lockPassword disables password login for the user when true.
	// +optional
	LockPassword *bool `json:"lockPassword,omitempty"`

	// sudo is the sudoers rule of the user, for example "ALL=(ALL) NOPASSWD:ALL".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Sudo string `json:"sudo,omitempty"`

	// sshAuthorizedKeys are the SSH public keys that may log in as the user.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=2048
	SSHAuthorizedKeys []string `json:"sshAuthorizedKeys,omitempty"`
}

// PasswdSource is where a user's hashed password comes from.
type PasswdSource struct {
	// secret is the Secret key that holds the hashed password.
	// +required
	Secret SecretPasswdSource `json:"secret,omitempty,omitzero"`
}

// SecretPasswdSource is a key of a Secret in the namespace of the KubeadmConfig.
type SecretPasswdSource struct {
	// name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key of the Secret's data that holds the hashed password.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Key string `json:"key"`
}

// NTP configures the time servers of a machine.
// +kubebuilder:validation:MinProperties=1
type NTP struct {
	// servers are the NTP servers to use.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=512
	Servers []string `json:"servers,omitempty"`

	// enabled turns the NTP client on or off.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
}

// IgnitionSpec holds the settings of the Ignition format.
// +kubebuilder:validation:MinProperties=1
type IgnitionSpec struct {
	// containerLinuxConfig holds extra Container Linux Config merged into the generated Ignition.
	// +optional
	ContainerLinuxConfig ContainerLinuxConfig `json:"containerLinuxConfig,omitempty,omitzero"`
}

// ContainerLinuxConfig is extra Container Linux Config (Butane) for the Ignition format.
// +kubebuilder:validation:MinProperties=1
type ContainerLinuxConfig struct {
	// additionalConfig is Container Linux Config in YAML, merged into the generated configuration.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=32768
	AdditionalConfig string `json:"additionalConfig,omitempty"`

	// strict makes warnings in additionalConfig fail the translation when true.
	// +optional
	Strict *bool `json:"strict,omitempty"`
}

// KubeadmConfigStatus is the observed state of a KubeadmConfig.
// +kubebuilder:validation:MinProperties=1
type KubeadmConfigStatus struct {
	// conditions describe the state of the KubeadmConfig. Known types are Ready,
	// DataSecretAvailable, CertificatesAvailable and Paused.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// initialization reports the milestones of the KubeadmConfig's first reconciliation.
	// +optional
	Initialization KubeadmConfigInitializationStatus `json:"initialization,omitempty,omitzero"`

	// dataSecretName is the name of the Secret that holds the bootstrap data.
	// It is the KubeadmConfig's own name.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	DataSecretName string `json:"dataSecretName,omitempty"`

	// observedGeneration is the generation of the spec last reconciled.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// deprecated holds status fields kept for clients of the v1beta1 API.
	// +optional
	Deprecated *KubeadmConfigDeprecatedStatus `json:"deprecated,omitempty"`
}

// KubeadmConfigInitializationStatus reports the milestones of a KubeadmConfig's first reconciliation.
// +kubebuilder:validation:MinProperties=1
type KubeadmConfigInitializationStatus struct {
	// dataSecretCreated is true once the data Secret has been created.
	// It never goes back to false.
	// +optional
	DataSecretCreated *bool `json:"dataSecretCreated,omitempty"`
}

// KubeadmConfigDeprecatedStatus holds status fields of older API versions.
type KubeadmConfigDeprecatedStatus struct {
	// v1beta1 holds the status fields of the v1beta1 API.
	// +optional
	V1Beta1 *KubeadmConfigV1Beta1DeprecatedStatus `json:"v1beta1,omitempty"`
}

// KubeadmConfigV1Beta1DeprecatedStatus holds the v1beta1 status fields that v1beta2 replaced.
type KubeadmConfigV1Beta1DeprecatedStatus struct {
	// conditions are the conditions in their v1beta1 shape.
	// +optional
	Conditions clusterv1.Conditions `json:"conditions,omitempty"`

	// failureReason is a short code for a terminal failure, in the v1beta1 style.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	FailureReason string `json:"failureReason,omitempty"`

	// failureMessage explains a terminal failure, in the v1beta1 style.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=10240
	FailureMessage string `json:"failureMessage,omitempty"`
}

// KubeadmConfig is the kubeadm bootstrap configuration of one machine. Its controller
// renders it into a cloud-config stored in the data Secret named in status.dataSecretName.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=kubeadmconfigs,scope=Namespaced,categories=cluster-api
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1beta2"
// +kubebuilder:printcolumn:name="Cluster",type="string",JSONPath=`.metadata.labels['cluster\.x-k8s\.io/cluster-name']`,description="Cluster"
// +kubebuilder:printcolumn:name="Paused",type="string",JSONPath=`.status.conditions[?(@.type=="Paused")].status`,description="Reconciliation paused",priority=10
// +kubebuilder:printcolumn:name="Data secret created",type="string",JSONPath=".status.initialization.dataSecretCreated",description="Boolean flag to indicate if the data secret has been created"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since creation"
type KubeadmConfig struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired bootstrap configuration.
	// +optional
	Spec KubeadmConfigSpec `json:"spec,omitempty,omitzero"`

	// status is the observed state of the KubeadmConfig.
	// +optional
	Status KubeadmConfigStatus `json:"status,omitempty,omitzero"`
}

// GetConditions returns the conditions of the KubeadmConfig.
func (c *KubeadmConfig) GetConditions() []metav1.Condition {
	return c.Status.Conditions
}

// SetConditions replaces the conditions of the KubeadmConfig.
func (c *KubeadmConfig) SetConditions(conditions []metav1.Condition) {
	c.Status.Conditions = conditions
}

// KubeadmConfigList is a list of KubeadmConfigs.
//
// +kubebuilder:object:root=true
type KubeadmConfigList struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the KubeadmConfigs.
	Items []KubeadmConfig `json:"items"`
}

func init() {
	registerTypes(&KubeadmConfig{}, &KubeadmConfigList{})
}
