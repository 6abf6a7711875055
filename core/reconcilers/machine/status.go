package machine

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
	"github.com/podcluster/podcluster/internal/util"
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
		// Upstream, UpToDate is the owner's to say; a control plane
		// (KubeadmControlPlane) writes it on its Machines itself.
		if !ownerSetsUpToDate(m) {
			conditions.Set(&m.Status.Conditions, gen, upToDateCondition(s))
		}
	}
	conditions.Set(&m.Status.Conditions, gen, deletingCondition(s))
	// Ready summarises the conditions set above and Available reads Ready's
	// transition time, so the order matters.
	conditions.Set(&m.Status.Conditions, gen, readyCondition(m))
	available, wait := availableCondition(m, s.now)
	conditions.Set(&m.Status.Conditions, gen, available)
	if wait > 0 {
		// No event marks the end of minReadySeconds: ask to come back then.
		s.requeueAfter = wait
	}

	// lastUpdated moves only with the phase, so that an unchanged Machine
	// produces no status patch.
	phase := phaseOf(s)
	if m.Status.Phase != string(phase) {
		m.Status.Phase = string(phase)
		m.Status.LastUpdated = metav1.NewTime(s.now)
	}
	setDeprecated(s)
}

// pausedCondition is set even while paused: it is how a user learns why
// nothing else moves.
func pausedCondition(paused bool) metav1.Condition {
	if paused {
		return conditions.True(clusterv1.PausedCondition, clusterv1.MachinePausedReason, "reconciliation is paused")
	}
	return conditions.False(clusterv1.PausedCondition, clusterv1.MachineNotPausedReason, "")
}

// bootstrapCondition mirrors the bootstrap config's Ready condition.
func bootstrapCondition(s *scope) metav1.Condition {
	m := s.machine
	ref := m.Spec.Bootstrap.ConfigRef
	switch {
	case !ref.IsDefined():
		// The user named the data Secret: there is no config to wait for.
		return conditions.True(clusterv1.MachineBootstrapConfigReadyCondition, clusterv1.MachineBootstrapConfigReadyDataSecretProvidedReason, "")
	case s.bootstrapMissing && m.Spec.Bootstrap.DataSecretName != nil:
		// Bootstrap already happened; the config may go away.
		return conditions.True(clusterv1.MachineBootstrapConfigReadyCondition, clusterv1.MachineBootstrapConfigReadyDataSecretProvidedReason, "")
	case s.bootstrapMissing:
		return conditions.False(clusterv1.MachineBootstrapConfigReadyCondition, clusterv1.MachineBootstrapConfigReadyBootstrapConfigDoesNotExistReason,
			fmt.Sprintf("%s %s does not exist", ref.Kind, ref.Name))
	}
	// Unknown, not False, until the provider speaks: a new config is not a failure.
	return conditions.Mirror(s.bootstrap, clusterv1.ReadyCondition, clusterv1.MachineBootstrapConfigReadyCondition,
		clusterv1.MachineBootstrapConfigReadyNotReadyReason, fmt.Sprintf("%s %s does not report a Ready condition yet", ref.Kind, ref.Name))
}

// infrastructureCondition mirrors the infrastructure machine's Ready condition.
func infrastructureCondition(s *scope) metav1.Condition {
	ref := s.machine.Spec.InfrastructureRef
	switch {
	case s.infraDeleted:
		// Terminal, and the message says so: only a replacement Machine helps.
		return conditions.False(clusterv1.MachineInfrastructureReadyCondition, clusterv1.MachineInfrastructureReadyDeletedReason,
			fmt.Sprintf("%s %s was deleted after it had been provisioned; the Machine cannot recover and must be replaced", ref.Kind, ref.Name))
	case s.infraMissing:
		return conditions.False(clusterv1.MachineInfrastructureReadyCondition, clusterv1.MachineInfrastructureReadyDoesNotExistReason,
			fmt.Sprintf("%s %s does not exist", ref.Kind, ref.Name))
	}
	return conditions.Mirror(s.infra, clusterv1.ReadyCondition, clusterv1.MachineInfrastructureReadyCondition,
		clusterv1.MachineInfrastructureReadyNotReadyReason, fmt.Sprintf("%s %s does not report a Ready condition yet", ref.Kind, ref.Name))
}

// nodeConditions computes NodeReady and NodeHealthy. While the Node cannot
// be looked at, both say why with the same reason.
func nodeConditions(s *scope) (ready, healthy metav1.Condition) {
	m := s.machine
	// Unknown rather than False: nothing is known to be wrong with the Node.
	unknown := func(reason, msg string) (metav1.Condition, metav1.Condition) {
		return conditions.Unknown(clusterv1.MachineNodeReadyCondition, reason, msg),
			conditions.Unknown(clusterv1.MachineNodeHealthyCondition, reason, msg)
	}
	switch {
	case s.nodeReadError != "":
		// Checked first: an unreachable cluster says nothing about the Node.
		return unknown(clusterv1.MachineNodeInspectionFailedReason, s.nodeReadError)
	case m.Spec.ProviderID == "":
		return unknown(clusterv1.MachineNodeWaitingForProviderIDReason, "waiting for the infrastructure to report spec.providerID")
	case s.nodeMissing && m.Status.NodeRef.Name != "":
		// False, not Unknown: a Node that existed and went is a real problem,
		// and the Machine's Ready must say so.
		msg := fmt.Sprintf("Node %s was deleted", m.Status.NodeRef.Name)
		return conditions.False(clusterv1.MachineNodeReadyCondition, clusterv1.MachineNodeDeletedReason, msg),
			conditions.False(clusterv1.MachineNodeHealthyCondition, clusterv1.MachineNodeDeletedReason, msg)
	case s.node == nil:
		msg := fmt.Sprintf("no Node with providerID %s yet", m.Spec.ProviderID)
		return unknown(clusterv1.MachineNodeDoesNotExistReason, msg)
	}
	ready = nodeReadyCondition(s.node)
	return ready, nodeHealthyCondition(s.node, ready)
}

// nodeReadyCondition copies the Node's Ready condition. The Node's own
// reason (KubeletReady, KubeletNotReady) is kept: it says more than ours.
func nodeReadyCondition(node *corev1.Node) metav1.Condition {
	var nodeReady *corev1.NodeCondition
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == corev1.NodeReady {
			nodeReady = &node.Status.Conditions[i]
		}
	}
	if nodeReady == nil {
		// A Node registers before its kubelet posts status.
		return conditions.Unknown(clusterv1.MachineNodeReadyCondition, clusterv1.MachineNodeReadyUnknownReason, "the Node reports no Ready condition yet")
	}
	reason := nodeReady.Reason
	if reason == "" {
		// metav1.Condition requires a reason; fall back to ours by status.
		switch nodeReady.Status {
		case corev1.ConditionTrue:
			reason = clusterv1.MachineNodeReadyReason
		case corev1.ConditionFalse:
			reason = clusterv1.MachineNodeReadyNotReadyReason
		default:
			reason = clusterv1.MachineNodeReadyUnknownReason
		}
	}
	return metav1.Condition{Type: clusterv1.MachineNodeReadyCondition, Status: metav1.ConditionStatus(nodeReady.Status),
		Reason: reason, Message: nodeReady.Message}
}

// nodeHealthyCondition is True when the Node is Ready and reports no memory,
// disk or PID pressure, as upstream defines NodeHealthy.
func nodeHealthyCondition(node *corev1.Node, ready metav1.Condition) metav1.Condition {
	var pressure []string
	for _, c := range node.Status.Conditions {
		switch c.Type {
		case corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure:
			if c.Status == corev1.ConditionTrue {
				pressure = append(pressure, string(c.Type))
			}
		}
	}
	switch {
	case len(pressure) > 0:
		// Pressure is named first: it is the more specific diagnosis.
		return conditions.False(clusterv1.MachineNodeHealthyCondition, clusterv1.MachineNodeHealthyNotHealthyReason, "Node has "+strings.Join(pressure, ", "))
	case ready.Status == metav1.ConditionTrue:
		return conditions.True(clusterv1.MachineNodeHealthyCondition, clusterv1.MachineNodeHealthyReason, "")
	}
	return conditions.False(clusterv1.MachineNodeHealthyCondition, clusterv1.MachineNodeHealthyNotHealthyReason, "Node is not Ready")
}

// deletingCondition reports which deletion step the Machine waits for.
func deletingCondition(s *scope) metav1.Condition {
	if s.machine.DeletionTimestamp.IsZero() {
		return conditions.False(clusterv1.DeletingCondition, clusterv1.MachineNotDeletingReason, "")
	}
	// No step set a reason when nothing waits, for example on the reconcile
	// that removes the finalizer.
	reason, msg := s.deletingReason, s.deletingMessage
	if reason == "" {
		reason = clusterv1.MachineDeletingReason
	}
	return conditions.True(clusterv1.DeletingCondition, reason, msg)
}

// ownerSetsUpToDate reports a Machine whose controller is neither absent nor
// a MachineSet: its owner (a control plane) compares it with its own spec and
// writes UpToDate; a stand-alone Machine is up to date, and a MachineSet's is
// compared here with its MachineDeployment's template.
func ownerSetsUpToDate(m *clusterv1.Machine) bool {
	owner := util.ControllerOf(m)
	return owner != nil && owner.Kind != "MachineSet"
}

// upToDateCondition reports reconcileUpToDate's comparison. The owner is
// authoritative upstream; here the Machine controller computes it for the
// MachineDeployment, whose watch requeues the Machines on a new template.
func upToDateCondition(s *scope) metav1.Condition {
	if s.upToDate {
		return conditions.True(clusterv1.MachineUpToDateCondition, clusterv1.MachineUpToDateReason, "")
	}
	return conditions.False(clusterv1.MachineUpToDateCondition, s.upToDateReason, s.upToDateMessage)
}

// readyCondition summarises: bootstrap, infrastructure and Node healthy, not
// being deleted, and every readiness gate good.
func readyCondition(m *clusterv1.Machine) metav1.Condition {
	var bad []string
	// A missing condition counts as bad: a readiness gate nobody reports on
	// must hold the Machine back rather than be skipped.
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
	// HealthCheckSucceeded counts only where a MachineHealthCheck set it;
	// most Machines have none.
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
		return conditions.True(clusterv1.ReadyCondition, clusterv1.MachineReadyReason, "")
	}
	return conditions.False(clusterv1.ReadyCondition, clusterv1.MachineReadyNotReadyReason, strings.Join(bad, "; "))
}

// availableCondition is Ready for at least minReadySeconds. It returns how long
// until that is reached, when it is not yet.
func availableCondition(m *clusterv1.Machine, now time.Time) (metav1.Condition, time.Duration) {
	ready := conditions.Get(m.Status.Conditions, clusterv1.ReadyCondition)
	if ready == nil || ready.Status != metav1.ConditionTrue {
		return conditions.False(clusterv1.AvailableCondition, clusterv1.MachineAvailableNotReadyReason, "Machine is not Ready"), 0
	}
	// Counted from Ready's transition time, which conditions.Set keeps while
	// Ready stays True, so the wait survives controller restarts.
	minReady := time.Duration(0)
	if m.Spec.MinReadySeconds != nil {
		minReady = time.Duration(*m.Spec.MinReadySeconds) * time.Second
	}
	// Without minReadySeconds Ready is enough. Ready that turned True in this
	// reconcile has a transition time just after now (conditions read the
	// clock later), which would ask for a wait of microseconds, a requeue
	// and a second status patch for nothing.
	if wait := ready.LastTransitionTime.Add(minReady).Sub(now); minReady > 0 && wait > 0 {
		return conditions.False(clusterv1.AvailableCondition, clusterv1.MachineAvailableWaitingForMinReadySecondsReason,
			fmt.Sprintf("Machine is Ready, waiting %s for minReadySeconds", wait.Round(time.Second))), wait
	}
	return conditions.True(clusterv1.AvailableCondition, clusterv1.MachineAvailableReason, ""), 0
}

// phaseOf follows upstream's phase sequence. The cases are ordered from the
// most to the least final state, so the first match wins.
func phaseOf(s *scope) clusterv1.MachinePhase {
	m := s.machine
	switch {
	case !m.DeletionTimestamp.IsZero():
		return clusterv1.MachinePhaseDeleting
	case s.infraDeleted, s.infraFailure != "":
		return clusterv1.MachinePhaseFailed
	case m.Status.NodeRef.Name != "":
		// Once it had a Node the Machine is Running, as upstream's is: an
		// unreachable workload cluster or a deleted Node shows in NodeHealthy
		// and NodeReady (and to MachineHealthChecks), not in the phase.
		return clusterv1.MachinePhaseRunning
	case m.Status.Initialization.InfrastructureProvisioned != nil && *m.Status.Initialization.InfrastructureProvisioned:
		return clusterv1.MachinePhaseProvisioned
	case m.Spec.Bootstrap.DataSecretName != nil:
		return clusterv1.MachinePhaseProvisioning
	}
	return clusterv1.MachinePhasePending
}

// setDeprecated keeps the v1beta1 failure fields that older clients read.
func setDeprecated(s *scope) {
	m := s.machine
	if !s.observed {
		return // nothing new was read: what was reported stands
	}
	if !s.infraDeleted && s.infraFailure == "" {
		// Cleared rather than left alone: v1beta1 clients treat any failure
		// reason as terminal.
		if m.Status.Deprecated != nil && m.Status.Deprecated.V1Beta1 != nil {
			m.Status.Deprecated.V1Beta1.FailureReason = nil
			m.Status.Deprecated.V1Beta1.FailureMessage = nil
		}
		return
	}
	reason := clusterv1.MachineInvalidConfigurationFailureReason
	msg := fmt.Sprintf("%s %s was deleted after the Machine was provisioned", m.Spec.InfrastructureRef.Kind, m.Spec.InfrastructureRef.Name)
	if !s.infraDeleted {
		// The infrastructure's own words, as upstream's v1beta1 core copied them.
		reason = s.infraFailure
		msg = fmt.Sprintf("%s %s failed: %s", m.Spec.InfrastructureRef.Kind, m.Spec.InfrastructureRef.Name, s.infraFailureMessage)
	}
	if m.Status.Deprecated == nil {
		m.Status.Deprecated = &clusterv1.MachineDeprecatedStatus{}
	}
	if m.Status.Deprecated.V1Beta1 == nil {
		m.Status.Deprecated.V1Beta1 = &clusterv1.MachineV1Beta1DeprecatedStatus{}
	}
	m.Status.Deprecated.V1Beta1.FailureReason = &reason
	m.Status.Deprecated.V1Beta1.FailureMessage = &msg
}
