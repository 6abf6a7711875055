package v1beta2

import clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"

// KubeadmConfig's Ready condition and its reasons.
const (
	// KubeadmConfigReadyCondition is the summary condition of a KubeadmConfig: True once
	// the data Secret is available and nothing else is wrong. The Machine mirrors it
	// as BootstrapConfigReady.
	KubeadmConfigReadyCondition = clusterv1.ReadyCondition

	// KubeadmConfigReadyReason is used when the KubeadmConfig is ready.
	KubeadmConfigReadyReason = "Ready"
	// KubeadmConfigNotReadyReason is used when the KubeadmConfig is not ready.
	KubeadmConfigNotReadyReason = "NotReady"
	// KubeadmConfigReadyUnknownReason is used when readiness cannot be determined.
	KubeadmConfigReadyUnknownReason = "ReadyUnknown"
)

// KubeadmConfig's DataSecretAvailable condition and its reasons.
const (
	// KubeadmConfigDataSecretAvailableCondition is True once the data Secret holding
	// the bootstrap data exists.
	KubeadmConfigDataSecretAvailableCondition = "DataSecretAvailable"

	// KubeadmConfigDataSecretAvailableReason is used when the data Secret exists.
	KubeadmConfigDataSecretAvailableReason = "Available"
	// KubeadmConfigDataSecretNotAvailableReason is used when the data Secret could not be created.
	KubeadmConfigDataSecretNotAvailableReason = "NotAvailable"
	// KubeadmConfigDataSecretWaitingForClusterInfrastructureReason is used while the
	// Cluster's infrastructure is not provisioned yet.
	KubeadmConfigDataSecretWaitingForClusterInfrastructureReason = "WaitingForClusterInfrastructure"
	// KubeadmConfigDataSecretWaitingForControlPlaneInitializationReason is used while a
	// joining machine waits for the control plane to be initialized.
	KubeadmConfigDataSecretWaitingForControlPlaneInitializationReason = "WaitingForControlPlaneInitialization"
	// KubeadmConfigDataSecretWaitingForOwnerReason is used while the KubeadmConfig has
	// no owning Machine yet.
	KubeadmConfigDataSecretWaitingForOwnerReason = "WaitingForOwner"
	// KubeadmConfigDataSecretInternalErrorReason is used when the data Secret could not
	// be computed because of an unexpected error.
	KubeadmConfigDataSecretInternalErrorReason = clusterv1.InternalErrorReason
)

// KubeadmConfig's CertificatesAvailable condition and its reasons.
const (
	// KubeadmConfigCertificatesAvailableCondition is True once the cluster certificates
	// the machine needs exist (found or generated).
	KubeadmConfigCertificatesAvailableCondition = "CertificatesAvailable"

	// KubeadmConfigCertificatesAvailableReason is used when the certificates exist.
	KubeadmConfigCertificatesAvailableReason = "Available"
	// KubeadmConfigCertificatesNotAvailableReason is used when some certificates are missing
	// and cannot be generated, for example a user-supplied external etcd client certificate.
	KubeadmConfigCertificatesNotAvailableReason = "NotAvailable"
	// KubeadmConfigCertificatesAvailableInternalErrorReason is used when the certificates
	// could not be read or generated because of an unexpected error.
	KubeadmConfigCertificatesAvailableInternalErrorReason = clusterv1.InternalErrorReason
)

// KubeadmConfig's Paused condition and its reasons.
const (
	// KubeadmConfigPausedCondition is True while reconciliation of the KubeadmConfig is
	// paused, by its Cluster's spec.paused or by the paused annotation.
	KubeadmConfigPausedCondition = clusterv1.PausedCondition

	// KubeadmConfigPausedReason is used when the KubeadmConfig is paused.
	KubeadmConfigPausedReason = clusterv1.PausedReason
	// KubeadmConfigNotPausedReason is used when the KubeadmConfig is not paused.
	KubeadmConfigNotPausedReason = clusterv1.NotPausedReason
)
