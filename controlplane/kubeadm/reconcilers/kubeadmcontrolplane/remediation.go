package kubeadmcontrolplane

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
)

// defaultMinHealthyPeriod is how long a replacement must stay healthy for its
// own failure to start a new count of retries (upstream's default).
const defaultMinHealthyPeriod = time.Hour

// RemediationData is what the remediation annotations hold.
type RemediationData struct {
	// Machine is the name of the remediated Machine.
	Machine string `json:"machine"`
	// Timestamp is when it was remediated.
	Timestamp metav1.Time `json:"timestamp"`
	// RetryCount counts the remediations in a row of a Machine and its replacements.
	RetryCount int32 `json:"retryCount"`
}

// remediationAction is what the control plane does about the Machines a
// MachineHealthCheck marked.
type remediationAction int

const (
	remediateNothing remediationAction = iota
	remediateNow
	remediateLater
	remediateRefused
)

// remediationDecision is decideRemediation's answer.
type remediationDecision struct {
	action remediationAction
	// machine is the marked Machine the decision is about.
	machine *clusterv1.Machine
	// message says why it is refused or deferred.
	message string
	// data is what to record for a remediation done now.
	data RemediationData
}

// markedForRemediation: a MachineHealthCheck found the Machine unhealthy and
// asks its owner to replace it.
func markedForRemediation(m *clusterv1.Machine) bool {
	c := conditions.Get(m.Status.Conditions, clusterv1.MachineOwnerRemediatedCondition)
	h := conditions.Get(m.Status.Conditions, clusterv1.MachineHealthCheckSucceededCondition)
	return c != nil && c.Status == metav1.ConditionFalse && h != nil && h.Status == metav1.ConditionFalse && m.DeletionTimestamp.IsZero()
}

// decideRemediation decides, for the oldest marked Machine, whether it is
// replaced now, later, or not at all, as upstream does: one at a time, never
// while a Machine is on its way in or out, never the last Machine of an
// initialized control plane, never when the etcd cluster (one member per
// Machine, stacked) would lose quorum without it, and within
// spec.remediation's retry limits. With an observed etcd cluster (obs, nil
// otherwise) the quorum is counted from its real members and their health
// too. Pure.
func decideRemediation(kcp *controlplanev1.KubeadmControlPlane, machines []*clusterv1.Machine, now time.Time, obs *etcdObservation) remediationDecision {
	var marked, active []*clusterv1.Machine
	for _, m := range machines {
		if !m.DeletionTimestamp.IsZero() {
			continue
		}
		active = append(active, m)
		if markedForRemediation(m) {
			marked = append(marked, m)
		}
	}
	if len(marked) == 0 {
		return remediationDecision{}
	}
	m := marked[0] // machines come oldest first
	d := remediationDecision{machine: m}
	later := func(format string, args ...any) remediationDecision {
		d.action, d.message = remediateLater, fmt.Sprintf(format, args...)
		return d
	}
	refuse := func(format string, args ...any) remediationDecision {
		d.action, d.message = remediateRefused, fmt.Sprintf(format, args...)
		return d
	}
	for _, other := range machines {
		if !other.DeletionTimestamp.IsZero() {
			return later("waiting for Machine %s to be deleted", other.Name)
		}
	}
	if _, ok := kcp.Annotations[controlplanev1.RemediationInProgressAnnotation]; ok {
		return later("waiting for the replacement of the last remediated Machine")
	}
	if len(active) <= 1 && initialized(kcp) {
		return refuse("it is the only control-plane Machine: remediating it would destroy the cluster")
	}

	// Retries: a replacement that fails within minHealthyPeriod of the
	// remediation that made it continues that remediation's count.
	d.data = RemediationData{Machine: m.Name, Timestamp: metav1.NewTime(now)}
	if prev, ok := remediationFor(m); ok {
		minHealthy := defaultMinHealthyPeriod
		if p := kcp.Spec.Remediation.MinHealthyPeriodSeconds; p != nil {
			minHealthy = time.Duration(*p) * time.Second
		}
		if now.Before(prev.Timestamp.Add(minHealthy)) {
			d.data.RetryCount = prev.RetryCount + 1
			if limit := kcp.Spec.Remediation.MaxRetry; limit != nil && d.data.RetryCount > *limit {
				return refuse("it replaced Machine %s, and remediation was already retried %d times (spec.remediation.maxRetry %d)", prev.Machine, prev.RetryCount, *limit)
			}
			if p := kcp.Spec.Remediation.RetryPeriodSeconds; p != nil {
				if until := prev.Timestamp.Add(time.Duration(*p) * time.Second); now.Before(until) {
					return later("waiting for spec.remediation.retryPeriodSeconds to pass since Machine %s was remediated (until %s)", prev.Machine, until.UTC().Format(time.RFC3339))
				}
			}
		}
	}

	// Quorum: without the unhealthy member, the healthy ones must still be a
	// majority of the members left.
	healthy := 0
	for _, other := range active {
		if other != m && !markedForRemediation(other) && conditions.IsTrue(other.Status.Conditions, clusterv1.ReadyCondition) {
			healthy++
		}
	}
	if members := len(active) - 1; members > 0 && healthy < members/2+1 {
		var unhealthy []string
		for _, other := range active {
			if other != m && (markedForRemediation(other) || !conditions.IsTrue(other.Status.Conditions, clusterv1.ReadyCondition)) {
				unhealthy = append(unhealthy, other.Name)
			}
		}
		return refuse("removing its etcd member would leave %d healthy of %d members, fewer than the quorum of %d (not healthy: %s)",
			healthy, members, members/2+1, strings.Join(unhealthy, ", "))
	}
	if obs != nil && obs.err == "" {
		left, healthyMembers := 0, 0
		var unhealthy []string
		for _, member := range obs.members {
			if m.Status.NodeRef.Name != "" && member.Name == m.Status.NodeRef.Name {
				continue
			}
			left++
			if obs.health[member.ID] == "" {
				healthyMembers++
			} else {
				unhealthy = append(unhealthy, member.Name)
			}
		}
		if left > 0 && healthyMembers < left/2+1 {
			return refuse("removing its etcd member would leave %d healthy of %d etcd members, fewer than the quorum of %d (not healthy: %s)",
				healthyMembers, left, left/2+1, strings.Join(unhealthy, ", "))
		}
	}
	d.action = remediateNow
	return d
}

// remediationFor reads the remediation-for annotation of a replacement.
func remediationFor(m *clusterv1.Machine) (RemediationData, bool) {
	raw, ok := m.Annotations[controlplanev1.RemediationForAnnotation]
	if !ok {
		return RemediationData{}, false
	}
	var d RemediationData
	if err := json.Unmarshal([]byte(raw), &d); err != nil || d.Machine == "" {
		return RemediationData{}, false // unreadable: not counted as a retry
	}
	return d, true
}

// reconcileRemediation acts on decideRemediation: it deletes the Machine and
// records the remediation on the control plane, or tells the Machine why not.
// It reports whether a Machine was deleted, in which case nothing else
// scales in this reconcile.
func (r *Reconciler) reconcileRemediation(ctx context.Context, s *scope) (bool, error) {
	if _, ok := s.kcp.Annotations[controlplanev1.RemediationInProgressAnnotation]; ok {
		active, _ := splitDeleting(s.machines)
		if len(active) >= int(desiredReplicas(s.kcp)) && len(active) == len(s.machines) {
			// No replacement is owed any more (the control plane was scaled
			// down meanwhile): the remediation is over.
			delete(s.kcp.Annotations, controlplanev1.RemediationInProgressAnnotation)
		}
	}
	d := decideRemediation(s.kcp, s.machines, s.now, s.etcd)
	s.remediation = d
	switch d.action {
	case remediateNothing:
		return false, nil
	case remediateLater:
		setOwnerRemediated(s, d.machine, controlplanev1.KubeadmControlPlaneMachineRemediationDeferredReason, d.message)
		return false, nil
	case remediateRefused:
		setOwnerRemediated(s, d.machine, controlplanev1.KubeadmControlPlaneMachineCannotBeRemediatedReason, d.message)
		return false, nil
	}
	data, err := json.Marshal(d.data)
	if err != nil {
		return false, err
	}
	ctrl.LoggerFrom(ctx).Info("Remediating unhealthy control-plane Machine", "machine", d.machine.Name, "retryCount", d.data.RetryCount)
	// The deferred status patch writes the annotation; the next Machine
	// created takes it over as its remediation-for annotation.
	if s.kcp.Annotations == nil {
		s.kcp.Annotations = map[string]string{}
	}
	s.kcp.Annotations[controlplanev1.RemediationInProgressAnnotation] = string(data)
	// Said on the Machine before it goes, with its other changes in one patch.
	setOwnerRemediated(s, d.machine, controlplanev1.KubeadmControlPlaneMachineRemediationMachineDeletingReason, "Machine deletionTimestamp set")
	if err := r.writeMachineConditions(ctx, s, d.machine); err != nil {
		return false, err
	}
	if err := r.forgetEtcdMember(ctx, s, d.machine); err != nil {
		return false, err
	}
	if err := r.Client.Delete(ctx, d.machine); client.IgnoreNotFound(err) != nil {
		return false, fmt.Errorf("deleting Machine %s for remediation: %w", d.machine.Name, err)
	}
	r.expectations.Expect(s.key, "-"+d.machine.Name)
	retries := d.data.RetryCount
	s.kcp.Status.LastRemediation = controlplanev1.LastRemediationStatus{Machine: d.machine.Name, Time: d.data.Timestamp, RetryCount: &retries}
	return true, nil
}

// setOwnerRemediated sets the Machine's OwnerRemediated condition, written on change only.
func setOwnerRemediated(s *scope, m *clusterv1.Machine, reason, message string) {
	s.setMachineCondition(m, conditions.False(clusterv1.MachineOwnerRemediatedCondition, reason, message))
}

// remediatingCondition says whether a marked Machine is being replaced or
// why it is not. Pure.
func remediatingCondition(s *scope) metav1.Condition {
	d := s.remediation
	switch d.action {
	case remediateNow:
		return conditions.True(controlplanev1.KubeadmControlPlaneRemediatingCondition, controlplanev1.KubeadmControlPlaneRemediatingReason,
			fmt.Sprintf("Machine %s deleted for remediation", d.machine.Name))
	case remediateLater:
		return conditions.True(controlplanev1.KubeadmControlPlaneRemediatingCondition, controlplanev1.KubeadmControlPlaneRemediatingReason,
			fmt.Sprintf("Machine %s: %s", d.machine.Name, d.message))
	case remediateRefused:
		return conditions.True(controlplanev1.KubeadmControlPlaneRemediatingCondition, controlplanev1.KubeadmControlPlaneRemediatingRemediationNotAllowedReason,
			fmt.Sprintf("Machine %s cannot be remediated: %s", d.machine.Name, d.message))
	}
	if _, ok := s.kcp.Annotations[controlplanev1.RemediationInProgressAnnotation]; ok {
		return conditions.True(controlplanev1.KubeadmControlPlaneRemediatingCondition, controlplanev1.KubeadmControlPlaneRemediatingReason,
			"waiting for the replacement of the last remediated Machine")
	}
	return conditions.False(controlplanev1.KubeadmControlPlaneRemediatingCondition, controlplanev1.KubeadmControlPlaneNotRemediatingReason, "")
}
