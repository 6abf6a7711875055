package kubeadmconfig

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
)

// staleSpecMessage explains why a changed spec is not applied, and what to do.
const staleSpecMessage = "the spec changed after the bootstrap data was generated; a KubeadmConfig is immutable once used, " +
	"so the data was not regenerated: replace the Machine to apply the change"

// setStatus computes the config's conditions from the scope. It makes no API
// calls, so that it can run in the deferred patch whatever the reconcile did.
func setStatus(s *scope) {
	st := &s.config.Status
	gen := s.config.Generation
	st.ObservedGeneration = gen
	if s.paused {
		// A paused config observed nothing: keep the other conditions as they were.
		conditions.Set(&st.Conditions, gen, conditions.True(bootstrapv1.KubeadmConfigPausedCondition,
			bootstrapv1.KubeadmConfigPausedReason, "reconciliation is paused"))
		return
	}
	conditions.Set(&st.Conditions, gen, conditions.False(bootstrapv1.KubeadmConfigPausedCondition,
		bootstrapv1.KubeadmConfigNotPausedReason, ""))

	created := st.Initialization.DataSecretCreated != nil && *st.Initialization.DataSecretCreated
	data := dataSecretAvailable(s, created)
	conditions.Set(&st.Conditions, gen, data)
	if certs, ok := certificatesAvailable(s); ok {
		conditions.Set(&st.Conditions, gen, certs)
	}

	// Ready summarises DataSecretAvailable: the data is all a Machine waits
	// for, and its message already says what is missing.
	if created {
		conditions.Set(&st.Conditions, gen, conditions.True(bootstrapv1.KubeadmConfigReadyCondition,
			bootstrapv1.KubeadmConfigReadyReason, data.Message))
	} else {
		conditions.Set(&st.Conditions, gen, conditions.False(bootstrapv1.KubeadmConfigReadyCondition,
			bootstrapv1.KubeadmConfigNotReadyReason, data.Message))
	}
}

// dataSecretAvailable is the DataSecretAvailable condition. Once created the
// data never goes away, so nothing observed later makes it False; an invalid
// input wins over waiting, because waiting longer will not fix it.
func dataSecretAvailable(s *scope, created bool) metav1.Condition {
	const t = bootstrapv1.KubeadmConfigDataSecretAvailableCondition
	switch {
	case created && s.staleSpec:
		return conditions.True(t, bootstrapv1.KubeadmConfigDataSecretAvailableSpecChangedReason, staleSpecMessage)
	case created:
		return conditions.True(t, bootstrapv1.KubeadmConfigDataSecretAvailableReason, "")
	case s.invalid != "":
		return conditions.False(t, bootstrapv1.KubeadmConfigDataSecretAvailableInvalidConfigurationReason, s.invalid)
	case s.waiting != "":
		return conditions.False(t, bootstrapv1.KubeadmConfigDataSecretNotAvailableReason, s.waiting)
	}
	return conditions.False(t, bootstrapv1.KubeadmConfigDataSecretNotAvailableReason, "waiting to generate the bootstrap data")
}

// certificatesAvailable is the CertificatesAvailable condition, when this
// reconcile has something to say about it. A reconcile that stopped before
// the certificate step keeps the earlier observation; only a config that was
// never looked at gets Unknown.
func certificatesAvailable(s *scope) (metav1.Condition, bool) {
	const t = bootstrapv1.KubeadmConfigCertificatesAvailableCondition
	switch {
	case s.certsReady:
		return conditions.True(t, bootstrapv1.KubeadmConfigCertificatesAvailableReason, ""), true
	case s.certsWaiting != "":
		return conditions.False(t, bootstrapv1.KubeadmConfigCertificatesNotAvailableReason, s.certsWaiting), true
	case s.certsError != "":
		return conditions.False(t, bootstrapv1.KubeadmConfigCertificatesAvailableInternalErrorReason, s.certsError), true
	case conditions.Get(s.config.Status.Conditions, t) == nil:
		return conditions.Unknown(t, bootstrapv1.KubeadmConfigCertificatesAvailableUnknownReason, "not looked at yet"), true
	}
	return metav1.Condition{}, false
}
