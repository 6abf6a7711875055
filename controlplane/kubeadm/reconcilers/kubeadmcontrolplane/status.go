package kubeadmcontrolplane

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
	"github.com/podcluster/podcluster/internal/etcd"
	"github.com/podcluster/podcluster/internal/machinecount"
)

// setStatus computes the KubeadmControlPlane's status from the scope. Pure.
func setStatus(s *scope) {
	kcp := s.kcp
	gen := kcp.Generation
	st := &kcp.Status
	st.ObservedGeneration = gen
	if s.cluster != nil {
		// The scale subresource reads the selector from here.
		st.Selector = selectorFor(s.cluster.Name)
	}
	// Counters are written even while paused: they describe Machines that
	// exist, not decisions the controller made.
	c := machinecount.Count(s.machines)
	setReplicas(st, c)

	if s.paused {
		conditions.Set(&st.Conditions, gen, conditions.True(controlplanev1.KubeadmControlPlanePausedCondition, controlplanev1.KubeadmControlPlanePausedReason, "reconciliation is paused"))
		return
	}
	conditions.Set(&st.Conditions, gen, conditions.False(controlplanev1.KubeadmControlPlanePausedCondition, controlplanev1.KubeadmControlPlaneNotPausedReason, ""))

	want := desiredReplicas(kcp)
	if s.certificates != nil {
		conditions.Set(&st.Conditions, gen, certificatesCondition(*s.certificates))
	}
	conditions.Set(&st.Conditions, gen, initializedCondition(s))
	conditions.Set(&st.Conditions, gen, availableCondition(s, c))
	conditions.Set(&st.Conditions, gen, machinesCondition(s.machines, clusterv1.ReadyCondition, controlplanev1.KubeadmControlPlaneMachinesReadyCondition,
		controlplanev1.KubeadmControlPlaneMachinesReadyReason, controlplanev1.KubeadmControlPlaneMachinesNotReadyReason, controlplanev1.KubeadmControlPlaneMachinesReadyNoReplicasReason))
	conditions.Set(&st.Conditions, gen, machinesCondition(s.machines, clusterv1.UpToDateCondition, controlplanev1.KubeadmControlPlaneMachinesUpToDateCondition,
		controlplanev1.KubeadmControlPlaneMachinesUpToDateReason, controlplanev1.KubeadmControlPlaneMachinesNotUpToDateReason, controlplanev1.KubeadmControlPlaneMachinesUpToDateNoReplicasReason))
	conditions.Set(&st.Conditions, gen, scalingUpCondition(s, c, want))
	conditions.Set(&st.Conditions, gen, scalingDownCondition(s, c, want))
	conditions.Set(&st.Conditions, gen, rollingOutCondition(s))
	conditions.Set(&st.Conditions, gen, remediatingCondition(s))
	if s.etcd != nil {
		cond, _ := etcdConditions(s.machines, s.etcd)
		conditions.Set(&st.Conditions, gen, cond)
	}
	if s.components != nil {
		cond, _ := componentConditions(s.machines, s.components, stackedEtcd(kcp))
		conditions.Set(&st.Conditions, gen, cond)
	}
	conditions.Set(&st.Conditions, gen, deletingCondition(s, c))
}

// setReplicas writes the counters, the versions and their v1beta1 copies.
func setReplicas(st *controlplanev1.KubeadmControlPlaneStatus, c machinecount.Counts) {
	st.Replicas = &c.Replicas
	st.ReadyReplicas = &c.Ready
	st.AvailableReplicas = &c.Available
	st.UpToDateReplicas = &c.UpToDate
	st.Versions = c.Versions
	// The deprecated field is still written: older clients read it.
	st.Version = "" //nolint:staticcheck // written for older clients, as upstream does
	if len(c.Versions) > 0 {
		st.Version = c.Versions[0].Version //nolint:staticcheck // as above
	}
	if st.Deprecated == nil {
		st.Deprecated = &controlplanev1.KubeadmControlPlaneDeprecatedStatus{}
	}
	if st.Deprecated.V1Beta1 == nil {
		st.Deprecated.V1Beta1 = &controlplanev1.KubeadmControlPlaneV1Beta1DeprecatedStatus{}
	}
	st.Deprecated.V1Beta1.ReadyReplicas = c.Ready
	st.Deprecated.V1Beta1.UpdatedReplicas = c.UpToDate
	st.Deprecated.V1Beta1.UnavailableReplicas = max(c.Replicas-c.Available, 0)
}

// certificatesCondition is CertificatesAvailable from what
// reconcileCertificates found: problem is empty when all key pairs are there.
// Pure.
func certificatesCondition(problem string) metav1.Condition {
	if problem == "" {
		return conditions.True(controlplanev1.KubeadmControlPlaneCertificatesAvailableCondition, controlplanev1.KubeadmControlPlaneCertificatesAvailableReason, "")
	}
	return conditions.False(controlplanev1.KubeadmControlPlaneCertificatesAvailableCondition,
		controlplanev1.KubeadmControlPlaneCertificatesAvailableInternalErrorReason, problem)
}

func initializedCondition(s *scope) metav1.Condition {
	if initialized(s.kcp) {
		return conditions.True(controlplanev1.KubeadmControlPlaneInitializedCondition, controlplanev1.KubeadmControlPlaneInitializedReason, "")
	}
	msg := "waiting for the first control-plane Machine to register its Node"
	if s.infraWaiting != "" {
		msg = s.infraWaiting
	}
	return conditions.False(controlplanev1.KubeadmControlPlaneInitializedCondition, controlplanev1.KubeadmControlPlaneNotInitializedReason, msg)
}

// availableCondition says whether the control plane serves, as upstream
// decides it: it is initialized and not being deleted; with stacked etcd, the
// etcd members match the Machines' Nodes and a quorum of them is healthy
// (counted over the members, which may briefly outnumber the Machines while
// one joins); and at least one Machine not being deleted has healthy
// control-plane components. With stacked etcd that Machine also needs a
// healthy etcd Pod and member, since kubeadm points each API server at its
// own node's member only. When the components were not inspected (no access
// to workload clusters), a Ready Machine stands in for them. Pure.
func availableCondition(s *scope, c machinecount.Counts) metav1.Condition {
	notAvailable := func(msg string) metav1.Condition {
		return conditions.False(controlplanev1.KubeadmControlPlaneAvailableCondition, controlplanev1.KubeadmControlPlaneNotAvailableReason, msg)
	}
	if s.kcp.DeletionTimestamp != nil {
		return notAvailable("the control plane is being deleted")
	}
	if !initialized(s.kcp) {
		return notAvailable("the control plane is not initialized")
	}
	var problems []string
	// As upstream: a control plane whose certificates are missing is not
	// available. A control plane that never looked (made before this
	// condition existed) is not held back by its absence.
	if cond := conditions.Get(s.kcp.Status.Conditions, controlplanev1.KubeadmControlPlaneCertificatesAvailableCondition); cond != nil && cond.Status != metav1.ConditionTrue {
		problems = append(problems, "* Control plane certificates are not available")
	}
	if s.etcd != nil {
		if s.etcd.err != "" {
			return conditions.Unknown(controlplanev1.KubeadmControlPlaneAvailableCondition, controlplanev1.KubeadmControlPlaneAvailableInspectionFailedReason,
				"Failed to inspect etcd: "+s.etcd.err)
		}
		problems = append(problems, etcdMembersMismatch(s.machines, s.etcd.members)...)
		healthy := 0
		for _, m := range s.etcd.members {
			if h, ok := s.etcd.health[m.ID]; ok && h == "" {
				healthy++
			}
		}
		if quorum := len(s.etcd.members)/2 + 1; healthy < quorum {
			// Upstream's words.
			switch healthy {
			case 0:
				problems = append(problems, fmt.Sprintf("* No etcd member is healthy, at least %d required for etcd quorum", quorum))
			case 1:
				problems = append(problems, fmt.Sprintf("* 1 of %d etcd members is healthy, at least %d required for etcd quorum", len(s.etcd.members), quorum))
			default:
				problems = append(problems, fmt.Sprintf("* %d of %d etcd members are healthy, at least %d required for etcd quorum", healthy, len(s.etcd.members), quorum))
			}
		}
	}
	if !hasHealthyMachine(s) {
		switch {
		case s.components == nil:
			problems = append(problems, fmt.Sprintf("* none of the %d control-plane Machines is Ready", c.Active))
		case s.etcd != nil:
			problems = append(problems, fmt.Sprintf("* none of the %d control-plane Machines has healthy control plane components and a healthy etcd member", c.Active))
		default:
			problems = append(problems, fmt.Sprintf("* none of the %d control-plane Machines has healthy control plane components", c.Active))
		}
	}
	if len(problems) > 0 {
		return notAvailable(strings.Join(problems, "\n"))
	}
	return conditions.True(controlplanev1.KubeadmControlPlaneAvailableCondition, controlplanev1.KubeadmControlPlaneAvailableReason, "")
}

// hasHealthyMachine says whether a Machine not being deleted has healthy
// control-plane components (its Pod conditions, and with stacked etcd its
// EtcdMemberHealthy), or is Ready when the components were not inspected.
func hasHealthyMachine(s *scope) bool {
	for _, m := range s.machines {
		if !m.DeletionTimestamp.IsZero() {
			continue
		}
		if s.components == nil {
			if conditions.IsTrue(m.Status.Conditions, clusterv1.ReadyCondition) {
				return true
			}
			continue
		}
		healthy := s.etcd == nil || conditions.IsTrue(m.Status.Conditions, controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyCondition)
		for _, p := range staticPods(s.etcd != nil) {
			healthy = healthy && conditions.IsTrue(m.Status.Conditions, p.condition)
		}
		if healthy {
			return true
		}
	}
	return false
}

// etcdMembersMismatch lists how the etcd members and the Machines' Nodes
// differ: a Machine with a Node but no member, a member without a Machine.
// Two differences are expected and not listed: a member whose Machine has no
// Node yet, while a Machine provisions (its member joins before its kubelet
// registers), and a Machine being deleted without a member (its member goes
// first, on purpose). Pure.
func etcdMembersMismatch(machines []*clusterv1.Machine, members []etcd.Member) []string {
	byName := map[string]bool{}
	for _, m := range members {
		byName[m.Name] = true
	}
	var out []string
	provisioning := false
	nodes := map[string]bool{}
	for _, m := range machines {
		node := m.Status.NodeRef.Name
		if node == "" {
			provisioning = true
			continue
		}
		nodes[node] = true
		if !byName[node] && m.DeletionTimestamp.IsZero() {
			out = append(out, fmt.Sprintf("* Machine %s has no etcd member for its Node %s", m.Name, node))
		}
	}
	if provisioning {
		return out
	}
	for _, m := range members {
		if !nodes[m.Name] {
			name := m.Name
			if name == "" {
				name = fmt.Sprintf("%x (not started)", m.ID)
			}
			out = append(out, fmt.Sprintf("* etcd member %s has no control-plane Machine", name))
		}
	}
	return out
}

// machinesCondition summarises one condition over the Machines, with
// noneReason when there are none (nothing is wrong), otherwise as
// machinecount.Aggregate does for every owner of Machines.
func machinesCondition(machines []*clusterv1.Machine, from, to, goodReason, badReason, noneReason string) metav1.Condition {
	if len(machines) == 0 {
		return conditions.True(to, noneReason, "")
	}
	return machinecount.Aggregate(machines, from, to, goodReason, badReason)
}

// scalingUpCondition compares the Machines not being deleted with
// spec.replicas, and says what the next Machine waits for.
func scalingUpCondition(s *scope, c machinecount.Counts, want int32) metav1.Condition {
	if c.Active >= want {
		return conditions.False(controlplanev1.KubeadmControlPlaneScalingUpCondition, controlplanev1.KubeadmControlPlaneNotScalingUpReason, "")
	}
	msg := fmt.Sprintf("scaling up from %d to %d replicas", c.Active, want)
	for _, why := range []string{s.templateErr, s.infraWaiting, s.scaleUpWaiting} {
		if why != "" {
			msg += "; " + why
			break
		}
	}
	return conditions.True(controlplanev1.KubeadmControlPlaneScalingUpCondition, controlplanev1.KubeadmControlPlaneScalingUpReason, msg)
}

// scalingDownCondition compares all Machines, including those being deleted,
// with spec.replicas: scaling down ends when they are gone.
func scalingDownCondition(s *scope, c machinecount.Counts, want int32) metav1.Condition {
	if s.kcp.DeletionTimestamp != nil || c.Replicas <= want {
		return conditions.False(controlplanev1.KubeadmControlPlaneScalingDownCondition, controlplanev1.KubeadmControlPlaneNotScalingDownReason, "")
	}
	msg := fmt.Sprintf("scaling down from %d to %d replicas", c.Replicas, want)
	if s.scaleDownWaiting != "" {
		msg += "; " + s.scaleDownWaiting
	}
	return conditions.True(controlplanev1.KubeadmControlPlaneScalingDownCondition, controlplanev1.KubeadmControlPlaneScalingDownReason, msg)
}

// deletingCondition says what a deleted control plane waits for.
func deletingCondition(s *scope, c machinecount.Counts) metav1.Condition {
	switch {
	case s.kcp.DeletionTimestamp.IsZero():
		return conditions.False(controlplanev1.KubeadmControlPlaneDeletingCondition, controlplanev1.KubeadmControlPlaneNotDeletingReason, "")
	case s.workersLeft > 0:
		return conditions.True(controlplanev1.KubeadmControlPlaneDeletingCondition, controlplanev1.KubeadmControlPlaneDeletingWaitingForWorkersDeletionReason,
			fmt.Sprintf("waiting for %d worker Machines to be deleted", s.workersLeft))
	case c.Replicas > 0:
		return conditions.True(controlplanev1.KubeadmControlPlaneDeletingCondition, controlplanev1.KubeadmControlPlaneDeletingWaitingForMachineDeletionReason,
			fmt.Sprintf("deleting %d control-plane Machines", c.Replicas))
	}
	return conditions.True(controlplanev1.KubeadmControlPlaneDeletingCondition, controlplanev1.KubeadmControlPlaneDeletingDeletionCompletedReason, "")
}
