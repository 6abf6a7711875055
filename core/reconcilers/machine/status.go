package machine

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
)

// Condition reasons of the Machine.
const (
	ReasonReady                     = "Ready"
	ReasonNotReady                  = "NotReady"
	ReasonDataSecretProvided        = "DataSecretProvided"
	ReasonBootstrapConfigMissing    = "BootstrapConfigDoesNotExist"
	ReasonInfraMachineMissing       = "InfrastructureMachineDoesNotExist"
	ReasonInfraMachineDeleted       = "InfrastructureMachineDeleted"
	ReasonNodeDoesNotExist          = "NodeDoesNotExist"
	ReasonNodeDeleted               = "NodeDeleted"
	ReasonWaitingForProviderID      = "WaitingForProviderID"
	ReasonNodeInspectionFailed      = "NodeInspectionFailed"
	ReasonNodeHealthy               = "NodeHealthy"
	ReasonNodeNotHealthy            = "NodeNotHealthy"
	ReasonAvailable                 = "Available"
	ReasonNotAvailable              = "NotAvailable"
	ReasonWaitingForMinReadySeconds = "WaitingForMinReadySeconds"
	ReasonUpToDate                  = "UpToDate"
)

// setStatus computes the Machine's status from what the reconcile observed.
// It makes no API calls and is table-tested.
func setStatus(s *scope) {
	m := s.machine
	gen := m.Generation
	m.Status.ObservedGeneration = gen

	conditions.Set(&m.Status.Conditions, gen, pausedCondition(s.paused))
	if s.paused {
		return // a paused Machine reports nothing else new
	}
	if s.observed {
		// Deletion does not look at the provider objects again: their last
		// observed conditions stay as they were.
		conditions.Set(&m.Status.Conditions, gen, bootstrapCondition(s))
		conditions.Set(&m.Status.Conditions, gen, infrastructureCondition(s))
		nodeReady, nodeHealthy := nodeConditions(s)
		conditions.Set(&m.Status.Conditions, gen, nodeReady)
		conditions.Set(&m.Status.Conditions, gen, nodeHealthy)
		conditions.Set(&m.Status.Conditions, gen, upToDateCondition(s))
	}
	conditions.Set(&m.Status.Conditions, gen, deletingCondition(s))
	conditions.Set(&m.Status.Conditions, gen, readyCondition(m))
	available, wait := availableCondition(m, s.now)
	conditions.Set(&m.Status.Conditions, gen, available)
	if wait > 0 {
		s.requeueAfter = wait
	}

	phase := phaseOf(s)
	if m.Status.Phase != string(phase) {
		m.Status.Phase = string(phase)
		m.Status.LastUpdated = metav1.NewTime(s.now)
	}
	setDeprecated(s)
}

func pausedCondition(paused bool) metav1.Condition {
	if paused {
		return conditions.True(clusterv1.PausedCondition, clusterv1.PausedReason, "reconciliation is paused")
	}
	return conditions.False(clusterv1.PausedCondition, clusterv1.NotPausedReason, "")
}

func bootstrapCondition(s *scope) metav1.Condition {
	m := s.machine
	ref := m.Spec.Bootstrap.ConfigRef
	switch {
	case !ref.IsDefined():
		return conditions.True(clusterv1.MachineBootstrapConfigReadyCondition, ReasonDataSecretProvided, "")
	case s.bootstrapMissing && m.Spec.Bootstrap.DataSecretName != nil:
		// Bootstrap already happened; the config may go away.
		return conditions.True(clusterv1.MachineBootstrapConfigReadyCondition, ReasonDataSecretProvided, "")
	case s.bootstrapMissing:
		return conditions.False(clusterv1.MachineBootstrapConfigReadyCondition, ReasonBootstrapConfigMissing,
			fmt.Sprintf("%s %s does not exist", ref.Kind, ref.Name))
	}
	return conditions.Mirror(s.bootstrap, clusterv1.ReadyCondition, clusterv1.MachineBootstrapConfigReadyCondition,
		ReasonNotReady, fmt.Sprintf("%s %s does not report a Ready condition yet", ref.Kind, ref.Name))
}

func infrastructureCondition(s *scope) metav1.Condition {
	ref := s.machine.Spec.InfrastructureRef
	switch {
	case s.infraDeleted:
		return conditions.False(clusterv1.MachineInfrastructureReadyCondition, ReasonInfraMachineDeleted,
			fmt.Sprintf("%s %s was deleted after it had been provisioned; the Machine cannot recover and must be replaced", ref.Kind, ref.Name))
	case s.infraMissing:
		return conditions.False(clusterv1.MachineInfrastructureReadyCondition, ReasonInfraMachineMissing,
			fmt.Sprintf("%s %s does not exist", ref.Kind, ref.Name))
	}
	return conditions.Mirror(s.infra, clusterv1.ReadyCondition, clusterv1.MachineInfrastructureReadyCondition,
		ReasonNotReady, fmt.Sprintf("%s %s does not report a Ready condition yet", ref.Kind, ref.Name))
}

func nodeConditions(s *scope) (ready, healthy metav1.Condition) {
	m := s.machine
	unknown := func(reason, msg string) (metav1.Condition, metav1.Condition) {
		return conditions.Unknown(clusterv1.MachineNodeReadyCondition, reason, msg),
			conditions.Unknown(clusterv1.MachineNodeHealthyCondition, reason, msg)
	}
	switch {
	case s.nodeReadError != "":
		return unknown(ReasonNodeInspectionFailed, s.nodeReadError)
	case m.Spec.ProviderID == "":
		return unknown(ReasonWaitingForProviderID, "waiting for the infrastructure to report spec.providerID")
	case s.nodeMissing && m.Status.NodeRef.Name != "":
		msg := fmt.Sprintf("Node %s was deleted", m.Status.NodeRef.Name)
		return conditions.False(clusterv1.MachineNodeReadyCondition, ReasonNodeDeleted, msg),
			conditions.False(clusterv1.MachineNodeHealthyCondition, ReasonNodeDeleted, msg)
	case s.node == nil:
		msg := fmt.Sprintf("no Node with providerID %s yet", m.Spec.ProviderID)
		return unknown(ReasonNodeDoesNotExist, msg)
	}
	var nodeReady *corev1.NodeCondition
	var pressure []string
	for i, c := range s.node.Status.Conditions {
		switch c.Type {
		case corev1.NodeReady:
			nodeReady = &s.node.Status.Conditions[i]
		case corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure:
			if c.Status == corev1.ConditionTrue {
				pressure = append(pressure, string(c.Type))
			}
		}
	}
	if nodeReady == nil {
		ready = conditions.Unknown(clusterv1.MachineNodeReadyCondition, ReasonNotReady, "the Node reports no Ready condition yet")
	} else {
		reason := nodeReady.Reason
		if reason == "" {
			reason = ReasonNotReady
			if nodeReady.Status == corev1.ConditionTrue {
				reason = ReasonReady
			}
		}
		ready = metav1.Condition{Type: clusterv1.MachineNodeReadyCondition, Status: metav1.ConditionStatus(nodeReady.Status),
			Reason: reason, Message: nodeReady.Message}
	}
	switch {
	case len(pressure) > 0:
		healthy = conditions.False(clusterv1.MachineNodeHealthyCondition, ReasonNodeNotHealthy, "Node has "+strings.Join(pressure, ", "))
	case ready.Status == metav1.ConditionTrue:
		healthy = conditions.True(clusterv1.MachineNodeHealthyCondition, ReasonNodeHealthy, "")
	default:
		healthy = conditions.False(clusterv1.MachineNodeHealthyCondition, ReasonNodeNotHealthy, "Node is not Ready")
	}
	return ready, healthy
}

func deletingCondition(s *scope) metav1.Condition {
	if s.machine.DeletionTimestamp.IsZero() {
		return conditions.False(clusterv1.DeletingCondition, clusterv1.NotDeletingReason, "")
	}
	reason, msg := s.deletingReason, s.deletingMessage
	if reason == "" {
		reason = clusterv1.DeletingReason
	}
	return conditions.True(clusterv1.DeletingCondition, reason, msg)
}

func upToDateCondition(s *scope) metav1.Condition {
	if s.upToDate {
		return conditions.True(clusterv1.MachineUpToDateCondition, ReasonUpToDate, "")
	}
	return conditions.False(clusterv1.MachineUpToDateCondition, s.upToDateReason, s.upToDateMessage)
}

// readyCondition summarises: bootstrap, infrastructure and Node healthy, not
// being deleted, and every readiness gate good.
func readyCondition(m *clusterv1.Machine) metav1.Condition {
	var bad []string
	check := func(t string, want metav1.ConditionStatus) {
		c := conditions.Get(m.Status.Conditions, t)
		if c == nil || c.Status != want {
			msg := t + " is not " + string(want)
			if c != nil && c.Message != "" {
				msg = fmt.Sprintf("%s: %s", t, c.Message)
			}
			bad = append(bad, msg)
		}
	}
	check(clusterv1.MachineBootstrapConfigReadyCondition, metav1.ConditionTrue)
	check(clusterv1.MachineInfrastructureReadyCondition, metav1.ConditionTrue)
	check(clusterv1.MachineNodeHealthyCondition, metav1.ConditionTrue)
	check(clusterv1.DeletingCondition, metav1.ConditionFalse)
	if c := conditions.Get(m.Status.Conditions, clusterv1.MachineHealthCheckSucceededCondition); c != nil {
		check(clusterv1.MachineHealthCheckSucceededCondition, metav1.ConditionTrue)
	}
	for _, gate := range m.Spec.ReadinessGates {
		want := metav1.ConditionTrue
		if gate.Polarity == clusterv1.NegativePolarityCondition {
			want = metav1.ConditionFalse
		}
		check(gate.ConditionType, want)
	}
	if len(bad) == 0 {
		return conditions.True(clusterv1.ReadyCondition, ReasonReady, "")
	}
	return conditions.False(clusterv1.ReadyCondition, ReasonNotReady, strings.Join(bad, "; "))
}

// availableCondition is Ready for at least minReadySeconds. It returns how long
// until that is reached, when it is not yet.
func availableCondition(m *clusterv1.Machine, now time.Time) (metav1.Condition, time.Duration) {
	ready := conditions.Get(m.Status.Conditions, clusterv1.ReadyCondition)
	if ready == nil || ready.Status != metav1.ConditionTrue {
		return conditions.False(clusterv1.AvailableCondition, ReasonNotAvailable, "Machine is not Ready"), 0
	}
	minReady := time.Duration(0)
	if m.Spec.MinReadySeconds != nil {
		minReady = time.Duration(*m.Spec.MinReadySeconds) * time.Second
	}
	if wait := ready.LastTransitionTime.Add(minReady).Sub(now); wait > 0 {
		return conditions.False(clusterv1.AvailableCondition, ReasonWaitingForMinReadySeconds,
			fmt.Sprintf("Machine is Ready, waiting %s for minReadySeconds", wait.Round(time.Second))), wait
	}
	return conditions.True(clusterv1.AvailableCondition, ReasonAvailable, ""), 0
}

// phaseOf follows upstream's phase sequence.
func phaseOf(s *scope) clusterv1.MachinePhase {
	m := s.machine
	switch {
	case !m.DeletionTimestamp.IsZero():
		return clusterv1.MachinePhaseDeleting
	case s.infraDeleted:
		return clusterv1.MachinePhaseFailed
	case m.Status.NodeRef.Name != "" && (s.node != nil || !s.observed):
		return clusterv1.MachinePhaseRunning
	case m.Status.Initialization.InfrastructureProvisioned != nil && *m.Status.Initialization.InfrastructureProvisioned:
		return clusterv1.MachinePhaseProvisioned
	case m.Spec.Bootstrap.DataSecretName != nil:
		return clusterv1.MachinePhaseProvisioning
	case m.Status.Phase == string(clusterv1.MachinePhaseRunning) && s.nodeReadError != "":
		return clusterv1.MachinePhaseRunning // unreachable cluster: keep what we knew
	}
	return clusterv1.MachinePhasePending
}

// setDeprecated keeps the v1beta1 failure fields that older clients read.
func setDeprecated(s *scope) {
	m := s.machine
	if !s.infraDeleted {
		if m.Status.Deprecated != nil && m.Status.Deprecated.V1Beta1 != nil {
			m.Status.Deprecated.V1Beta1.FailureReason = nil
			m.Status.Deprecated.V1Beta1.FailureMessage = nil
		}
		return
	}
	reason := "InvalidConfiguration"
	msg := fmt.Sprintf("%s %s was deleted after the Machine was provisioned", m.Spec.InfrastructureRef.Kind, m.Spec.InfrastructureRef.Name)
	if m.Status.Deprecated == nil {
		m.Status.Deprecated = &clusterv1.MachineDeprecatedStatus{}
	}
	if m.Status.Deprecated.V1Beta1 == nil {
		m.Status.Deprecated.V1Beta1 = &clusterv1.MachineV1Beta1DeprecatedStatus{}
	}
	m.Status.Deprecated.V1Beta1.FailureReason = &reason
	m.Status.Deprecated.V1Beta1.FailureMessage = &msg
}
