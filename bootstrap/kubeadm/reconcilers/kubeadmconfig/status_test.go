package kubeadmconfig

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
)

func TestSetStatus(t *testing.T) {
	created := func(c *bootstrapv1.KubeadmConfig) {
		tr := true
		c.Status.Initialization.DataSecretCreated = &tr
		c.Status.DataSecretName = c.Name
	}
	certsSeenBefore := func(c *bootstrapv1.KubeadmConfig) {
		conditions.Set(&c.Status.Conditions, 1, conditions.True(bootstrapv1.KubeadmConfigCertificatesAvailableCondition,
			bootstrapv1.KubeadmConfigCertificatesAvailableReason, ""))
	}
	type cond struct {
		status metav1.ConditionStatus // "" means absent
		reason string
	}
	tests := []struct {
		name   string
		config func(*bootstrapv1.KubeadmConfig)
		scope  scope
		// Expected conditions.
		paused, ready, data, certs cond
		// msgs are substrings of the condition messages, by type.
		msgs map[string]string
	}{
		{
			name:   "paused reports only Paused",
			scope:  scope{paused: true, waiting: "ignored while paused"},
			paused: cond{metav1.ConditionTrue, bootstrapv1.KubeadmConfigPausedReason},
		},
		{
			name:   "no owner yet",
			scope:  scope{waiting: "waiting for a Machine to own this KubeadmConfig"},
			paused: cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigNotPausedReason},
			ready:  cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigNotReadyReason},
			data:   cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigDataSecretNotAvailableReason},
			certs:  cond{metav1.ConditionUnknown, bootstrapv1.KubeadmConfigCertificatesAvailableUnknownReason},
			msgs: map[string]string{
				bootstrapv1.KubeadmConfigReadyCondition:               "waiting for a Machine",
				bootstrapv1.KubeadmConfigDataSecretAvailableCondition: "waiting for a Machine",
			},
		},
		{
			name:   "waiting for another Machine's kubeadm init",
			scope:  scope{waiting: "waiting for Machine cp-0 to initialize the control plane"},
			paused: cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigNotPausedReason},
			ready:  cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigNotReadyReason},
			data:   cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigDataSecretNotAvailableReason},
			certs:  cond{metav1.ConditionUnknown, bootstrapv1.KubeadmConfigCertificatesAvailableUnknownReason},
			msgs:   map[string]string{bootstrapv1.KubeadmConfigDataSecretAvailableCondition: "cp-0"},
		},
		{
			name:   "nothing observed yet",
			paused: cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigNotPausedReason},
			ready:  cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigNotReadyReason},
			data:   cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigDataSecretNotAvailableReason},
			certs:  cond{metav1.ConditionUnknown, bootstrapv1.KubeadmConfigCertificatesAvailableUnknownReason},
			msgs:   map[string]string{bootstrapv1.KubeadmConfigDataSecretAvailableCondition: "waiting to generate"},
		},
		{
			name:   "invalid input wins over waiting",
			scope:  scope{invalid: "spec.files[0].contentFrom: Secret nope not found", waiting: "waiting for the workload cluster"},
			paused: cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigNotPausedReason},
			ready:  cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigNotReadyReason},
			data:   cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigDataSecretAvailableInvalidConfigurationReason},
			certs:  cond{metav1.ConditionUnknown, bootstrapv1.KubeadmConfigCertificatesAvailableUnknownReason},
			msgs: map[string]string{
				bootstrapv1.KubeadmConfigReadyCondition:               "Secret nope not found",
				bootstrapv1.KubeadmConfigDataSecretAvailableCondition: "Secret nope not found",
			},
		},
		{
			name:   "a join waits for the init Machine's certificates",
			scope:  scope{certsWaiting: "waiting for the cluster certificates: Secret c1-etcd does not exist yet"},
			paused: cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigNotPausedReason},
			ready:  cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigNotReadyReason},
			data:   cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigDataSecretNotAvailableReason},
			certs:  cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigCertificatesNotAvailableReason},
			msgs:   map[string]string{bootstrapv1.KubeadmConfigCertificatesAvailableCondition: "c1-etcd"},
		},
		{
			name:   "the certificates cannot be read",
			scope:  scope{certsError: "secret c1-ca has no key tls.crt"},
			paused: cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigNotPausedReason},
			ready:  cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigNotReadyReason},
			data:   cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigDataSecretNotAvailableReason},
			certs:  cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigCertificatesAvailableInternalErrorReason},
			msgs:   map[string]string{bootstrapv1.KubeadmConfigCertificatesAvailableCondition: "no key tls.crt"},
		},
		{
			name:   "certificates found, a later step waits",
			scope:  scope{certsReady: true, waiting: "waiting for the workload cluster's API server"},
			paused: cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigNotPausedReason},
			ready:  cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigNotReadyReason},
			data:   cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigDataSecretNotAvailableReason},
			certs:  cond{metav1.ConditionTrue, bootstrapv1.KubeadmConfigCertificatesAvailableReason},
		},
		{
			name:   "a reconcile that stops early keeps the earlier certificate observation",
			config: certsSeenBefore,
			scope:  scope{waiting: "waiting for the control plane to be initialized"},
			paused: cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigNotPausedReason},
			ready:  cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigNotReadyReason},
			data:   cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigDataSecretNotAvailableReason},
			certs:  cond{metav1.ConditionTrue, bootstrapv1.KubeadmConfigCertificatesAvailableReason},
		},
		{
			name:   "data created",
			config: created,
			scope:  scope{certsReady: true},
			paused: cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigNotPausedReason},
			ready:  cond{metav1.ConditionTrue, bootstrapv1.KubeadmConfigReadyReason},
			data:   cond{metav1.ConditionTrue, bootstrapv1.KubeadmConfigDataSecretAvailableReason},
			certs:  cond{metav1.ConditionTrue, bootstrapv1.KubeadmConfigCertificatesAvailableReason},
		},
		{
			name:   "data created stays available whatever a later reconcile waits for",
			config: created,
			scope:  scope{certsReady: true, waiting: "join token abcdef no longer exists in the workload cluster"},
			paused: cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigNotPausedReason},
			ready:  cond{metav1.ConditionTrue, bootstrapv1.KubeadmConfigReadyReason},
			data:   cond{metav1.ConditionTrue, bootstrapv1.KubeadmConfigDataSecretAvailableReason},
			certs:  cond{metav1.ConditionTrue, bootstrapv1.KubeadmConfigCertificatesAvailableReason},
		},
		{
			name:   "spec changed after the data was created",
			config: created,
			scope:  scope{certsReady: true, staleSpec: true},
			paused: cond{metav1.ConditionFalse, bootstrapv1.KubeadmConfigNotPausedReason},
			ready:  cond{metav1.ConditionTrue, bootstrapv1.KubeadmConfigReadyReason},
			data:   cond{metav1.ConditionTrue, bootstrapv1.KubeadmConfigDataSecretAvailableSpecChangedReason},
			certs:  cond{metav1.ConditionTrue, bootstrapv1.KubeadmConfigCertificatesAvailableReason},
			msgs: map[string]string{
				bootstrapv1.KubeadmConfigReadyCondition:               "replace the Machine",
				bootstrapv1.KubeadmConfigDataSecretAvailableCondition: "immutable once used",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			config := &bootstrapv1.KubeadmConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "m1", Generation: 2}}
			if tt.config != nil {
				tt.config(config)
			}
			s := tt.scope
			s.config = config
			setStatus(&s)

			g.Expect(config.Status.ObservedGeneration).To(Equal(int64(2)))
			for _, c := range []struct {
				t    string
				want cond
			}{
				{bootstrapv1.KubeadmConfigPausedCondition, tt.paused},
				{bootstrapv1.KubeadmConfigReadyCondition, tt.ready},
				{bootstrapv1.KubeadmConfigDataSecretAvailableCondition, tt.data},
				{bootstrapv1.KubeadmConfigCertificatesAvailableCondition, tt.certs},
			} {
				got := conditions.Get(config.Status.Conditions, c.t)
				if c.want.status == "" {
					g.Expect(got).To(BeNil(), "condition %s", c.t)
					continue
				}
				g.Expect(got).NotTo(BeNil(), "condition %s", c.t)
				g.Expect(got.Status).To(Equal(c.want.status), "condition %s: %s", c.t, got.Message)
				g.Expect(got.Reason).To(Equal(c.want.reason), "condition %s: %s", c.t, got.Message)
				g.Expect(got.ObservedGeneration).To(BeNumerically(">", 0), "condition %s", c.t)
				// A condition that is not True says why; NotPaused needs no words.
				if got.Status != metav1.ConditionTrue && c.t != bootstrapv1.KubeadmConfigPausedCondition {
					g.Expect(got.Message).NotTo(BeEmpty(), "condition %s", c.t)
				}
				if want, ok := tt.msgs[c.t]; ok {
					g.Expect(got.Message).To(ContainSubstring(want), "condition %s", c.t)
				}
			}
		})
	}
}
