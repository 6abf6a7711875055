// Package bootstrapdata renders a KubeadmConfig's bootstrap data: the
// cloud-config that runs kubeadm init or kubeadm join on a machine.
//
// It is the pure half of the KubeadmConfig controller. The controller observes
// the cluster (which role the Machine has, the control-plane endpoint, the
// cluster certificates, a join token) and resolves the spec's Secrets; Render
// turns those and the spec into bytes, with no API calls. So every error
// Render returns is a problem of its input (the user's spec or the Machine's
// version), never of the cluster: the controller reports it and does not retry.
package bootstrapdata

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/cloudinit"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/kubeadmtypes"
)

// Role is what a machine's bootstrap data makes of it.
type Role string

// Roles.
const (
	// RoleInit is the one control-plane machine that runs kubeadm init and
	// so creates the cluster.
	RoleInit Role = "init"
	// RoleControlPlaneJoin is a further control-plane machine, joining with
	// the cluster's certificates.
	RoleControlPlaneJoin Role = "control-plane-join"
	// RoleWorkerJoin is a worker, joining without any CA key.
	RoleWorkerJoin Role = "worker-join"
)

// Input is everything a machine's bootstrap data is made from.
type Input struct {
	// Role is what the machine does.
	Role Role
	// Spec is the KubeadmConfig's spec, with every file's contentFrom and
	// every user's passwdFrom already resolved into content and passwd.
	Spec bootstrapv1.KubeadmConfigSpec
	// Cluster is what the kubeadm configuration takes from the Cluster and the
	// Machine: the cluster's name, control-plane endpoint (host:port) and
	// networks, and the Machine's Kubernetes version. A join discovers the
	// API server at Cluster.ControlPlaneEndpoint.
	Cluster kubeadmtypes.ClusterInputs
	// Certificates are the cluster's CAs and service-account key. They are
	// written on control-plane machines and ignored for a worker.
	Certificates cloudinit.Certificates
	// Token is the bootstrap token a join authenticates with. Joins only.
	Token string
	// CACertHash pins the cluster CA during a join's discovery, as
	// "sha256:<hex>". Joins only.
	CACertHash string
}

// Render returns the cloud-config of in.Role, or an error when the input
// cannot make one.
func Render(in Input) ([]byte, error) {
	kubeadmConfig, err := renderKubeadmConfig(in)
	if err != nil {
		return nil, err
	}
	spec := in.Spec
	ci := cloudinit.Input{
		KubeadmConfig: kubeadmConfig, Files: spec.Files, Users: spec.Users,
		BootCommands: spec.BootCommands, PreKubeadmCommands: spec.PreKubeadmCommands,
		PostKubeadmCommands: spec.PostKubeadmCommands, NTP: spec.NTP,
		DiskSetup: spec.DiskSetup, Mounts: spec.Mounts, Verbosity: spec.Verbosity,
		// The certificates go where kubeadm will look for them.
		CertificatesDir: spec.ClusterConfiguration.CertificatesDir,
	}
	switch in.Role {
	case RoleInit:
		ci.Certificates = in.Certificates
		return cloudinit.NewInitControlPlane(ci)
	case RoleControlPlaneJoin:
		ci.Certificates = in.Certificates
		return cloudinit.NewJoinControlPlane(ci)
	case RoleWorkerJoin:
		// No certificates at all: a worker must never get a CA key, and it
		// needs no CA file either, since discovery pins the CA by its hash.
		return cloudinit.NewNode(ci)
	}
	return nil, fmt.Errorf("unknown role %q", in.Role)
}

// renderKubeadmConfig renders the kubeadm configuration file of the role:
// ClusterConfiguration, InitConfiguration and the component configurations
// for init; a JoinConfiguration that discovers the cluster by token and CA
// hash for joins.
func renderKubeadmConfig(in Input) ([]byte, error) {
	if in.Role == RoleInit {
		cc, err := kubeadmtypes.ClusterConfigurationFromSpec(in.Spec.ClusterConfiguration, in.Cluster)
		if err != nil {
			return nil, err
		}
		ic, err := kubeadmtypes.InitConfigurationFromSpec(in.Spec.InitConfiguration)
		if err != nil {
			return nil, err
		}
		// Nodes run as privileged containers, so kubelet and kube-proxy need
		// the nested-node settings. kubeadm init stores them in the cluster,
		// where every machine that joins later reads them.
		return kubeadmtypes.MarshalInitData(cc, ic, kubeadmtypes.NestedNodeComponentConfigs())
	}
	var hashes []string
	if in.CACertHash != "" {
		// An empty hash must stay absent, so that a join without one fails
		// here rather than in kubeadm on the machine.
		hashes = []string{in.CACertHash}
	}
	jc, err := kubeadmtypes.JoinConfigurationFromSpec(in.Spec.JoinConfiguration, kubeadmtypes.JoinInputs{
		Token: in.Token, APIServerEndpoint: in.Cluster.ControlPlaneEndpoint,
		CACertHashes: hashes, ControlPlane: in.Role == RoleControlPlaneJoin,
	})
	if err != nil {
		return nil, err
	}
	if in.Role == RoleWorkerJoin {
		jc.NodeRegistration.Taints = withUninitializedTaint(jc.NodeRegistration.Taints)
	}
	return kubeadmtypes.MarshalJoinData(jc, in.Cluster.KubernetesVersion)
}

// withUninitializedTaint adds node.cluster.x-k8s.io/uninitialized:NoSchedule
// to a worker's registration taints, as upstream's kubeadm bootstrap does.
// The Node then takes no Pods until the Machine controller has synced the
// Machine's labels and taints to it and removed this taint, so that nothing
// lands on a node that lacks the labels it is selected by. The cluster
// autoscaler, given it as a startup taint, counts such a Node as still
// starting rather than as a ready node its Pods do not fit (docs/autoscaler.md).
// The spec is not changed: the taint is only in the rendered configuration.
func withUninitializedTaint(taints *[]corev1.Taint) *[]corev1.Taint {
	var out []corev1.Taint
	if taints != nil {
		out = slices.Clone(*taints)
	}
	if !slices.ContainsFunc(out, func(t corev1.Taint) bool { return t.Key == clusterv1.NodeUninitializedTaintKey }) {
		out = append(out, corev1.Taint{Key: clusterv1.NodeUninitializedTaintKey, Effect: corev1.TaintEffectNoSchedule})
	}
	return &out
}
