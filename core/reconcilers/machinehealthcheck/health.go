package machinehealthcheck

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
)

// defaultNodeStartupTimeout applies when checks.nodeStartupTimeoutSeconds is unset.
const defaultNodeStartupTimeout = 600 * time.Second

// health is the verdict of the checks on one Machine.
type health struct {
	// healthy is false once a check failed.
	healthy bool
	// reason and message explain the verdict for the HealthCheckSucceeded condition.
	reason, message string
	// nextCheck is when the earliest check still pending times out; zero when
	// no check is pending. A healthy Machine is looked at again then.
	nextCheck time.Time
}

// target is what the checks look at for one Machine.
type target struct {
	machine *clusterv1.Machine
	// node is the Machine's Node, nil when none has its providerID.
	node *corev1.Node
	// startedAt is when the Node startup clock started: the latest of the
	// Machine's creation and the readiness transitions it waits on.
	startedAt time.Time
}

// checkHealth evaluates checks against one Machine at now. It is pure: every
// observation comes in through t, so each timeout edge can be tested.
//
// The order follows what a user asked for most directly: the remediate-machine
// annotation, then a terminal failure of the infrastructure, then a Node that
// went away, then a Node that never came, then Node and Machine conditions
// held for their timeouts.
func checkHealth(checks clusterv1.MachineHealthCheckChecks, t target, now time.Time) health {
	m := t.machine
	if _, ok := m.Annotations[clusterv1.RemediateMachineAnnotation]; ok {
		return unhealthy(clusterv1.MachineHealthCheckSucceededHasRemediateAnnotationReason,
			"Machine is marked for remediation by the "+clusterv1.RemediateMachineAnnotation+" annotation")
	}
	// A terminal failure of the infrastructure (a failed or lost node Pod, a
	// failed bootstrap) cannot heal: waiting for a Node timeout would only
	// delay the replacement.
	if d := m.Status.Deprecated; d != nil && d.V1Beta1 != nil && d.V1Beta1.FailureReason != nil && *d.V1Beta1.FailureReason != "" {
		msg := *d.V1Beta1.FailureReason
		if d.V1Beta1.FailureMessage != nil {
			msg += ": " + *d.V1Beta1.FailureMessage
		}
		return unhealthy(clusterv1.MachineHealthCheckSucceededUnhealthyMachineReason, "Machine has failed: "+msg)
	}
	// status.nodeRef is kept once set, so a Machine with a nodeRef and no Node
	// lost its Node.
	if t.node == nil && m.Status.NodeRef.Name != "" {
		return unhealthy(clusterv1.MachineHealthCheckSucceededNodeDeletedReason,
			fmt.Sprintf("Node %s was deleted", m.Status.NodeRef.Name))
	}

	var h health
	var failed []string
	if t.node == nil {
		timeout := defaultNodeStartupTimeout
		if checks.NodeStartupTimeoutSeconds != nil {
			timeout = seconds(*checks.NodeStartupTimeoutSeconds)
		}
		switch {
		case timeout > 0 && infraReadyUnwritten(m):
			// The infrastructure provisioned (spec.providerID is set) but
			// the Machine's status, held while it is on its way, does not
			// say when yet: the clock started at a moment written within
			// seconds. Look again then rather than count from creation.
			h.nextCheck = now.Add(time.Second)
		case timeout > 0:
			deadline := t.startedAt.Add(timeout)
			if !now.Before(deadline) {
				return unhealthy(clusterv1.MachineHealthCheckSucceededNodeStartupTimeoutReason,
					fmt.Sprintf("Node failed to report startup in %s", timeout))
			}
			h.nextCheck = deadline
		}
	} else {
		for _, c := range checks.UnhealthyNodeConditions {
			nc := nodeCondition(t.node, c.Type)
			if nc == nil || nc.Status != c.Status {
				continue
			}
			failedMsg, next := held(fmt.Sprintf("Node condition %s is %s", c.Type, c.Status), nc.LastTransitionTime, c.TimeoutSeconds, now)
			if failedMsg != "" {
				failed = append(failed, failedMsg)
			}
			h.nextCheck = earliest(h.nextCheck, next)
		}
	}
	nodeFailures := len(failed)
	for _, c := range checks.UnhealthyMachineConditions {
		mc := conditions.Get(m.Status.Conditions, c.Type)
		if mc == nil || mc.Status != c.Status {
			continue
		}
		failedMsg, next := held(fmt.Sprintf("Machine condition %s is %s", c.Type, c.Status), mc.LastTransitionTime, c.TimeoutSeconds, now)
		if failedMsg != "" {
			failed = append(failed, failedMsg)
		}
		h.nextCheck = earliest(h.nextCheck, next)
	}
	if len(failed) > 0 {
		reason := clusterv1.MachineHealthCheckSucceededUnhealthyNodeReason
		if nodeFailures == 0 {
			reason = clusterv1.MachineHealthCheckSucceededUnhealthyMachineReason
		}
		return unhealthy(reason, strings.Join(failed, "; "))
	}
	h.healthy = true
	h.reason = clusterv1.MachineHealthCheckSucceededReason
	return h
}

// held reports a condition that has held since since for at least its
// timeout (a message), or else when it will have (next).
func held(what string, since metav1.Time, timeoutSeconds *int32, now time.Time) (failed string, next time.Time) {
	var timeout time.Duration
	if timeoutSeconds != nil {
		timeout = seconds(*timeoutSeconds)
	}
	deadline := since.Add(timeout)
	if !now.Before(deadline) {
		return fmt.Sprintf("%s for more than %s", what, timeout), time.Time{}
	}
	return "", deadline
}

func unhealthy(reason, message string) health {
	return health{reason: reason, message: message}
}

func nodeCondition(n *corev1.Node, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == t {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

// earliest returns the earlier of two times, where zero means none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func seconds(s int32) time.Duration { return time.Duration(s) * time.Second }

// infraReadyUnwritten says whether a Machine's infrastructure provisioned
// while its status does not say so yet: the Machine controller copies
// spec.providerID at once, and holds the status of a Machine on its way for
// a few seconds (see patch.Settler). status.initialization.infrastructureProvisioned
// is written with the InfrastructureReady transition and stays true, so once
// written this is false for good.
func infraReadyUnwritten(m *clusterv1.Machine) bool {
	provisioned := m.Status.Initialization.InfrastructureProvisioned
	return m.Spec.ProviderID != "" && (provisioned == nil || !*provisioned)
}

// startedAt is when the Node startup clock of a Machine starts: the latest of
// its creation and the True transitions of the readiness it waits on (the
// Cluster's infrastructure and control plane, the Machine's infrastructure).
// Readiness not reached yet does not hold the clock: the Machine's creation
// still counts, as does a Cluster without a control plane of its own.
func startedAt(cluster *clusterv1.Cluster, m *clusterv1.Machine) time.Time {
	at := m.CreationTimestamp.Time
	later := func(conds []metav1.Condition, t string) {
		if c := conditions.Get(conds, t); c != nil && c.Status == metav1.ConditionTrue && c.LastTransitionTime.After(at) {
			at = c.LastTransitionTime.Time
		}
	}
	if cluster != nil {
		later(cluster.Status.Conditions, clusterv1.ClusterInfrastructureReadyCondition)
		later(cluster.Status.Conditions, clusterv1.ClusterControlPlaneInitializedCondition)
	}
	later(m.Status.Conditions, clusterv1.MachineInfrastructureReadyCondition)
	return at
}

// allowance is whether spec.remediation.triggerIf lets unhealthy Machines be
// remediated, and how many more may turn unhealthy before it stops.
type allowance struct {
	allowed bool
	// remaining is status.remediationsAllowed.
	remaining int32
	// reason and message explain a refusal.
	reason, message string
}

// errInvalidRange is returned for an unhealthyInRange that is not "[min-max]" with min <= max.
var errInvalidRange = errors.New(`unhealthyInRange must be "[min-max]" with min <= max`)

// remediationAllowance applies triggerIf to expected targets of which
// unhealthy are unhealthy. Without triggerIf remediation is always allowed.
func remediationAllowance(trigger clusterv1.MachineHealthCheckRemediationTriggerIf, expected, unhealthy int) allowance {
	invalid := func(err error) allowance {
		return allowance{reason: clusterv1.MachineHealthCheckRemediationAllowedInvalidTriggerIfReason, message: err.Error()}
	}
	tooMany := func(limit string) allowance {
		return allowance{reason: clusterv1.MachineHealthCheckRemediationAllowedTooManyUnhealthyReason,
			message: fmt.Sprintf("Remediation is not allowed: %d of %d Machines are unhealthy, %s", unhealthy, expected, limit)}
	}
	switch {
	case trigger.UnhealthyInRange != "":
		lo, hi, err := parseRange(trigger.UnhealthyInRange)
		if err != nil {
			return invalid(err)
		}
		if unhealthy < lo || unhealthy > hi {
			return tooMany("outside unhealthyInRange " + trigger.UnhealthyInRange)
		}
		return allowance{allowed: true, remaining: clampInt32(hi - unhealthy)}
	case trigger.UnhealthyLessThanOrEqualTo != nil:
		limit, err := maxUnhealthy(trigger.UnhealthyLessThanOrEqualTo, expected)
		if err != nil {
			return invalid(err)
		}
		if unhealthy > limit {
			return tooMany(fmt.Sprintf("more than unhealthyLessThanOrEqualTo %s (%d)", trigger.UnhealthyLessThanOrEqualTo.String(), limit))
		}
		return allowance{allowed: true, remaining: clampInt32(limit - unhealthy)}
	default:
		return allowance{allowed: true, remaining: clampInt32(expected - unhealthy)}
	}
}

// maxUnhealthy turns unhealthyLessThanOrEqualTo into a number of Machines. A
// percentage of expected rounds down, so "40%" of 3 is 1: remediation stays on
// the cautious side.
func maxUnhealthy(v *intstr.IntOrString, expected int) (int, error) {
	n, err := intstr.GetScaledValueFromIntOrPercent(v, expected, false)
	if err != nil {
		return 0, fmt.Errorf("unhealthyLessThanOrEqualTo: %w", err)
	}
	if n < 0 {
		return 0, fmt.Errorf("unhealthyLessThanOrEqualTo must not be negative, got %d", n)
	}
	return n, nil
}

// parseRange parses "[min-max]".
func parseRange(s string) (lo, hi int, err error) {
	inner, ok := strings.CutPrefix(s, "[")
	if !ok {
		return 0, 0, fmt.Errorf("%w, got %q", errInvalidRange, s)
	}
	if inner, ok = strings.CutSuffix(inner, "]"); !ok {
		return 0, 0, fmt.Errorf("%w, got %q", errInvalidRange, s)
	}
	a, b, ok := strings.Cut(inner, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%w, got %q", errInvalidRange, s)
	}
	lo, errLo := strconv.Atoi(a)
	hi, errHi := strconv.Atoi(b)
	if errLo != nil || errHi != nil || lo < 0 || lo > hi {
		return 0, 0, fmt.Errorf("%w, got %q", errInvalidRange, s)
	}
	return lo, hi, nil
}

func clampInt32(n int) int32 {
	switch {
	case n < 0:
		return 0
	case n > math.MaxInt32:
		return math.MaxInt32
	default:
		return int32(n)
	}
}
