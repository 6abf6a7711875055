package kubeadmconfig

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
)

// Condition reasons.
const (
	ReasonDataSecretCreated   = "DataSecretCreated"
	ReasonWaiting             = "Waiting"
	ReasonInvalidConfig       = "InvalidConfiguration"
	ReasonSpecChangedAfterUse = "SpecChangedAfterDataCreated"
	ReasonCertificatesReady   = "CertificatesAvailable"
	ReasonCertificatesMissing = "CertificatesNotAvailable"
)

// setStatus computes the config's conditions from the scope. Pure.
func setStatus(s *scope) {
	config := s.config
	gen := config.Generation
	st := &config.Status
	st.ObservedGeneration = gen
	if s.paused {
		conditions.Set(&st.Conditions, gen, conditions.True(clusterv1.PausedCondition, clusterv1.PausedReason, "reconciliation is paused"))
		return
	}
	conditions.Set(&st.Conditions, gen, conditions.False(clusterv1.PausedCondition, clusterv1.NotPausedReason, ""))

	created := st.Initialization.DataSecretCreated != nil && *st.Initialization.DataSecretCreated
	var data metav1.Condition
	switch {
	case created && s.staleSpec:
		data = conditions.True(bootstrapv1.KubeadmConfigDataSecretAvailableCondition, ReasonSpecChangedAfterUse,
			"the spec changed after the bootstrap data was generated; a KubeadmConfig is immutable once used, so the data was not regenerated: replace the Machine to apply the change")
	case created:
		data = conditions.True(bootstrapv1.KubeadmConfigDataSecretAvailableCondition, ReasonDataSecretCreated, "")
	case s.invalid != "":
		data = conditions.False(bootstrapv1.KubeadmConfigDataSecretAvailableCondition, ReasonInvalidConfig, s.invalid)
	case s.waiting != "":
		data = conditions.False(bootstrapv1.KubeadmConfigDataSecretAvailableCondition, ReasonWaiting, s.waiting)
	default:
		data = conditions.False(bootstrapv1.KubeadmConfigDataSecretAvailableCondition, ReasonWaiting, "waiting to generate the bootstrap data")
	}
	conditions.Set(&st.Conditions, gen, data)

	switch {
	case s.certsReady:
		conditions.Set(&st.Conditions, gen, conditions.True(bootstrapv1.KubeadmConfigCertificatesAvailableCondition, ReasonCertificatesReady, ""))
	case s.certsError != "":
		conditions.Set(&st.Conditions, gen, conditions.False(bootstrapv1.KubeadmConfigCertificatesAvailableCondition, ReasonCertificatesMissing, s.certsError))
	case conditions.Get(st.Conditions, bootstrapv1.KubeadmConfigCertificatesAvailableCondition) == nil:
		conditions.Set(&st.Conditions, gen, conditions.Unknown(bootstrapv1.KubeadmConfigCertificatesAvailableCondition, ReasonWaiting, "not looked at yet"))
	}

	if created {
		conditions.Set(&st.Conditions, gen, conditions.True(bootstrapv1.KubeadmConfigReadyCondition, ReasonDataSecretCreated, data.Message))
	} else {
		conditions.Set(&st.Conditions, gen, conditions.False(bootstrapv1.KubeadmConfigReadyCondition, data.Reason, data.Message))
	}
}
