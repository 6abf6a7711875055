package kubernetescluster

import (
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/internal/conditions"
)

func TestSetStatus(t *testing.T) {
	tr := true
	ep := clusterv1.APIEndpoint{Host: "10.0.0.10", Port: 6443}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "c-apiserver"}}
	now := metav1.Now()
	type want struct {
		phase          infrav1.KubernetesClusterPhase
		provisioned    bool
		ready          metav1.ConditionStatus
		readyReason    string
		service        metav1.ConditionStatus // "" means: not set
		serviceReason  string
		failureDomains int
	}
	tests := []struct {
		name  string
		kc    func(*infrav1.KubernetesCluster)
		scope scope
		want  want
	}{
		{
			name:  "paused reports only Paused",
			scope: scope{paused: true},
			want:  want{},
		},
		{
			name:  "no Service yet",
			scope: scope{observed: true, clusterName: "c"},
			want: want{phase: infrav1.KubernetesClusterPhaseProvisioning, ready: metav1.ConditionFalse,
				readyReason: infrav1.KubernetesClusterReadyWaitingForServiceReason, service: metav1.ConditionFalse,
				serviceReason: infrav1.KubernetesClusterServiceReadyNoEndpointReason},
		},
		{
			name:  "a load balancer without address",
			scope: scope{observed: true, service: svc, noEndpoint: "waiting for a load balancer"},
			want: want{phase: infrav1.KubernetesClusterPhaseProvisioning, ready: metav1.ConditionFalse,
				readyReason: infrav1.KubernetesClusterReadyWaitingForServiceReason, service: metav1.ConditionFalse,
				serviceReason: infrav1.KubernetesClusterServiceReadyNoEndpointReason},
		},
		{
			name: "endpoint known: provisioned and ready, with failure domains",
			kc:   func(kc *infrav1.KubernetesCluster) { kc.Spec.ControlPlaneEndpoint = ep },
			scope: scope{observed: true, service: svc, failureDomains: []clusterv1.FailureDomain{
				{Name: "a", ControlPlane: &tr}, {Name: "b", ControlPlane: &tr}}},
			want: want{phase: infrav1.KubernetesClusterPhaseProvisioned, provisioned: true, ready: metav1.ConditionTrue,
				readyReason: infrav1.KubernetesClusterReadyReason, service: metav1.ConditionTrue,
				serviceReason: infrav1.KubernetesClusterServiceReadyReason, failureDomains: 2},
		},
		{
			name: "a pre-set endpoint is provisioned once the Service exists, even before its address",
			kc: func(kc *infrav1.KubernetesCluster) {
				kc.Spec.ControlPlaneEndpoint = clusterv1.APIEndpoint{Host: "api.example.test", Port: 443}
			},
			scope: scope{observed: true, service: svc, noEndpoint: "waiting for a load balancer"},
			want: want{phase: infrav1.KubernetesClusterPhaseProvisioned, provisioned: true, ready: metav1.ConditionFalse,
				readyReason: infrav1.KubernetesClusterReadyWaitingForServiceReason, service: metav1.ConditionFalse,
				serviceReason: infrav1.KubernetesClusterServiceReadyNoEndpointReason},
		},
		{
			name: "lost address after provisioning: stays provisioned, not ready",
			kc: func(kc *infrav1.KubernetesCluster) {
				kc.Spec.ControlPlaneEndpoint = ep
				kc.Status.Initialization.Provisioned = &tr
			},
			scope: scope{observed: true, service: svc, noEndpoint: "Service c-apiserver lost its load-balancer address"},
			want: want{phase: infrav1.KubernetesClusterPhaseProvisioned, provisioned: true, ready: metav1.ConditionFalse,
				readyReason: infrav1.KubernetesClusterReadyWaitingForServiceReason, service: metav1.ConditionFalse,
				serviceReason: infrav1.KubernetesClusterServiceReadyNoEndpointReason},
		},
		{
			name: "the Service moved away from the endpoint",
			kc: func(kc *infrav1.KubernetesCluster) {
				kc.Spec.ControlPlaneEndpoint = ep
				kc.Status.Initialization.Provisioned = &tr
			},
			scope: scope{observed: true, service: svc, mismatch: "Service now provides 10.0.0.11:6443"},
			want: want{phase: infrav1.KubernetesClusterPhaseProvisioned, provisioned: true, ready: metav1.ConditionFalse,
				readyReason: infrav1.KubernetesClusterReadyWaitingForServiceReason, service: metav1.ConditionFalse,
				serviceReason: infrav1.KubernetesClusterServiceReadyEndpointMismatchReason},
		},
		{
			name:  "the Service cannot be created",
			scope: scope{observed: true, serviceError: "creating Service: forbidden"},
			want: want{phase: infrav1.KubernetesClusterPhaseProvisioning, ready: metav1.ConditionFalse,
				readyReason: infrav1.KubernetesClusterReadyWaitingForServiceReason, service: metav1.ConditionFalse,
				serviceReason: infrav1.KubernetesClusterServiceReadyFailedReason},
		},
		{
			name: "deleting",
			kc: func(kc *infrav1.KubernetesCluster) {
				kc.DeletionTimestamp = &now
				kc.Spec.ControlPlaneEndpoint = ep
				kc.Status.Initialization.Provisioned = &tr
			},
			scope: scope{deleteWait: "waiting for Service c-apiserver to be deleted"},
			want: want{phase: infrav1.KubernetesClusterPhaseDeleting, provisioned: true, ready: metav1.ConditionFalse,
				readyReason: infrav1.KubernetesClusterReadyDeletingReason, service: metav1.ConditionFalse,
				serviceReason: infrav1.KubernetesClusterServiceReadyDeletingReason},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			kc := &infrav1.KubernetesCluster{ObjectMeta: metav1.ObjectMeta{Name: "c", Generation: 3}}
			if tt.kc != nil {
				tt.kc(kc)
			}
			s := tt.scope
			s.kc = kc
			setStatus(&s)

			g.Expect(kc.Status.ObservedGeneration).To(Equal(int64(3)))
			g.Expect(kc.Status.Phase).To(Equal(tt.want.phase))
			g.Expect(provisioned(kc)).To(Equal(tt.want.provisioned))
			g.Expect(kc.Status.FailureDomains).To(HaveLen(tt.want.failureDomains))
			paused := conditions.Get(kc.Status.Conditions, infrav1.KubernetesClusterPausedCondition)
			g.Expect(paused).NotTo(BeNil())
			g.Expect(paused.Status == metav1.ConditionTrue).To(Equal(s.paused))
			expectCondition(g, kc.Status.Conditions, infrav1.KubernetesClusterReadyCondition, tt.want.ready, tt.want.readyReason)
			expectCondition(g, kc.Status.Conditions, infrav1.KubernetesClusterServiceReadyCondition, tt.want.service, tt.want.serviceReason)
		})
	}
}

// expectCondition checks a condition's status and reason; an empty status
// means the condition must be absent.
func expectCondition(g Gomega, conds []metav1.Condition, t string, status metav1.ConditionStatus, reason string) {
	c := conditions.Get(conds, t)
	if status == "" {
		g.Expect(c).To(BeNil(), "condition %s", t)
		return
	}
	g.Expect(c).NotTo(BeNil(), "condition %s", t)
	g.Expect(c.Status).To(Equal(status), "condition %s: %s", t, c.Message)
	g.Expect(c.Reason).To(Equal(reason), "condition %s: %s", t, c.Message)
	if status != metav1.ConditionTrue {
		g.Expect(c.Message).NotTo(BeEmpty(), "condition %s", t)
	}
}
