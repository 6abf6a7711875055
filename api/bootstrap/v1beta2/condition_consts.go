package v1beta2

import clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"

// KubeadmConfig conditions and the reasons the KubeadmConfig controller sets.
//
// Reason values are upstream Cluster API v1beta2's where upstream defines one for
// the same situation, so that tools written for upstream read them unchanged.
// The comment of every reason that upstream does not define says so.

// KubeadmConfig's Ready condition and its reasons.
const (
	// KubeadmConfigReadyCondition is the summary condition of a KubeadmConfig: True once
	// the data Secret is available. The Machine mirrors it as BootstrapConfigReady.
	KubeadmConfigReadyCondition = clusterv1.ReadyCondition

	// KubeadmConfigReadyReason is used when the KubeadmConfig is ready.
	KubeadmConfigReadyReason = "Ready"
	// KubeadmConfigNotReadyReason is used when the KubeadmConfig is not ready; the
	// message is DataSecretAvailable's.
	KubeadmConfigNotReadyReason = "NotReady"
)

// KubeadmConfig's DataSecretAvailable condition and its reasons.
const (
	// KubeadmConfigDataSecretAvailableCondition is True once the data Secret holding
	// the bootstrap data exists.
	KubeadmConfigDataSecretAvailableCondition = "DataSecretAvailable"

	// KubeadmConfigDataSecretAvailableReason is used when the data Secret exists.
	KubeadmConfigDataSecretAvailableReason = "Available"
	// KubeadmConfigDataSecretNotAvailableReason is used while the data Secret cannot be
	// made yet: no owning Machine or Cluster, the Cluster's infrastructure or
	// endpoint not ready, the control plane not initialized, another Machine holding
	// the init lock, or the workload cluster unreachable. The message says which.
	KubeadmConfigDataSecretNotAvailableReason = "NotAvailable"
	// KubeadmConfigDataSecretAvailableInvalidConfigurationReason is used when the
	// spec or the Machine cannot make bootstrap data (for example a contentFrom
	// Secret that does not exist, bad file permissions or a version that is not
	// semver); the message names the field. Upstream defines no such reason.
	KubeadmConfigDataSecretAvailableInvalidConfigurationReason = "InvalidConfiguration"
	// KubeadmConfigDataSecretAvailableSpecChangedReason is used, with status True,
	// when the spec changed after the data Secret was made: a KubeadmConfig is
	// immutable once used, so the change is reported and never applied. Upstream
	// defines no such reason.
	KubeadmConfigDataSecretAvailableSpecChangedReason = "SpecChangedAfterDataCreated"
)

// KubeadmConfig's CertificatesAvailable condition and its reasons.
const (
	// KubeadmConfigCertificatesAvailableCondition is True once the cluster certificates
	// the machine needs exist (found or generated).
	KubeadmConfigCertificatesAvailableCondition = "CertificatesAvailable"

	// KubeadmConfigCertificatesAvailableReason is used when the certificates exist.
	KubeadmConfigCertificatesAvailableReason = "Available"
	// KubeadmConfigCertificatesNotAvailableReason is used while a joining machine waits
	// for certificates that only the init Machine creates. Upstream defines no such
	// reason for KubeadmConfig; the value is upstream's generic NotAvailable.
	KubeadmConfigCertificatesNotAvailableReason = "NotAvailable"
	// KubeadmConfigCertificatesAvailableInternalErrorReason is used when the
	// certificates could not be read or generated because of an unexpected error.
	KubeadmConfigCertificatesAvailableInternalErrorReason = clusterv1.InternalErrorReason
	// KubeadmConfigCertificatesAvailableUnknownReason is used, with status Unknown,
	// before the certificates are looked at: an earlier step still waits. Upstream
	// defines no such reason for KubeadmConfig; the value is upstream's generic
	// AvailableUnknown.
	KubeadmConfigCertificatesAvailableUnknownReason = "AvailableUnknown"
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
