package kubeadmcontrolplane

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
)

// KubeadmConfigHashAnnotation records on each control-plane Machine a hash of
// the spec.kubeadmConfigSpec it was created from, so that a change of that
// spec is seen without comparing KubeadmConfigs field by field (the init
// Machine's config and the joins' differ from the spec by design). Machines
// without it, made before it existed, are not rolled out for their config.
const KubeadmConfigHashAnnotation = "controlplane.cluster.x-k8s.io/kubeadm-config-hash"

// kubeadmConfigHash hashes the KubeadmControlPlane's kubeadmConfigSpec.
func kubeadmConfigHash(kcp *controlplanev1.KubeadmControlPlane) string {
	data, err := json.Marshal(kcp.Spec.KubeadmConfigSpec)
	if err != nil {
		return "" // a spec that does not marshal cannot have been stored either
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// outdated says why a Machine no longer matches the control plane's spec, or
// "" when it does: another version, another kubeadmConfigSpec, another
// infrastructure template (from the cloned-from annotations of its
// infrastructure machine; nil when unknown), or a creation before
// spec.rollout.after once that time has passed. Pure.
func outdated(kcp *controlplanev1.KubeadmControlPlane, m *clusterv1.Machine, infra *unstructured.Unstructured, now time.Time) string {
	var reasons []string
	if m.Spec.Version != kcp.Spec.Version {
		reasons = append(reasons, fmt.Sprintf("Version %s, %s required", m.Spec.Version, kcp.Spec.Version))
	}
	if got, ok := m.Annotations[KubeadmConfigHashAnnotation]; ok && got != kubeadmConfigHash(kcp) {
		reasons = append(reasons, "KubeadmConfig is not up to date with spec.kubeadmConfigSpec")
	}
	if infra != nil {
		ref := kcp.Spec.MachineTemplate.Spec.InfrastructureRef
		name := infra.GetAnnotations()[clusterv1.TemplateClonedFromNameAnnotation]
		groupKind := infra.GetAnnotations()[clusterv1.TemplateClonedFromGroupKindAnnotation]
		if name != "" && (name != ref.Name || groupKind != ref.Kind+"."+ref.APIGroup) {
			reasons = append(reasons, fmt.Sprintf("%s is not up to date with %s %s", infra.GetKind(), ref.Kind, ref.Name))
		}
	}
	if after := kcp.Spec.Rollout.After; !after.IsZero() && !now.Before(after.Time) && m.CreationTimestamp.Before(&after) {
		reasons = append(reasons, "created before spec.rollout.after "+after.UTC().Format(time.RFC3339))
	}
	return strings.Join(reasons, "; ")
}

// maxSurge is spec.rollout.strategy.rollingUpdate.maxSurge as a count: 1 by
// default, a percentage of the replicas rounded up, and never more than 1
// (the API allows only 0 or 1).
func maxSurge(kcp *controlplanev1.KubeadmControlPlane) int {
	v := kcp.Spec.Rollout.Strategy.RollingUpdate.MaxSurge
	if v == nil {
		return 1
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(v, int(desiredReplicas(kcp)), true)
	if err != nil || n > 1 {
		return 1
	}
	return max(n, 0)
}

// observeUpToDate reads each Machine's infrastructure machine (from the
// cache) and records which Machines are outdated and why.
func (r *Reconciler) observeUpToDate(ctx context.Context, s *scope) {
	s.outdated = map[string]string{}
	for _, m := range s.machines {
		infra, err := r.Resolver.Get(ctx, r.Client, m.Spec.InfrastructureRef, m.Namespace)
		if err != nil {
			infra = nil // unknown: not a reason to replace it
		}
		if why := outdated(s.kcp, m, infra, s.now); why != "" {
			s.outdated[m.Name] = why
		}
	}
	// No event marks the moment spec.rollout.after passes: come back then.
	if after := s.kcp.Spec.Rollout.After; !after.IsZero() && s.now.Before(after.Time) {
		if wait := after.Sub(s.now); s.requeueAfter == 0 || wait < s.requeueAfter {
			s.requeueAfter = wait
		}
	}
}

// markUpToDate sets the UpToDate condition of each Machine, as its owner
// does upstream; the Machine controller leaves it to the owner for Machines
// a control plane controls. Only a change is written.
func markUpToDate(s *scope) {
	for _, m := range s.machines {
		want := conditions.True(clusterv1.MachineUpToDateCondition, clusterv1.MachineUpToDateReason, "")
		if why, ok := s.outdated[m.Name]; ok {
			want = conditions.False(clusterv1.MachineUpToDateCondition, clusterv1.MachineUpToDateNotUpToDateReason, why)
		}
		s.setMachineCondition(m, want)
	}
}

// setMachineCondition sets one condition the control plane owns on a Machine
// (UpToDate, OwnerRemediated, EtcdMemberHealthy, the Pod conditions) when its
// status, reason or message changes. The Machine in the scope changes at
// once, so that the status computed later sees it; the write waits for
// writeMachineConditions, which sends all of a Machine's changes in one patch.
func (s *scope) setMachineCondition(m *clusterv1.Machine, want metav1.Condition) {
	// conditions.Set writes the reason as the message of a condition that
	// is not True and has none: that is no change.
	if c := conditions.Get(m.Status.Conditions, want.Type); c != nil &&
		c.Status == want.Status && c.Reason == want.Reason && (c.Message == want.Message || (want.Message == "" && c.Message == want.Reason)) {
		return
	}
	if s.changed == nil {
		s.changed = map[string]*clusterv1.Machine{}
	}
	if _, ok := s.changed[m.Name]; !ok {
		s.changed[m.Name] = m.DeepCopy()
	}
	conditions.Set(&m.Status.Conditions, m.Generation, want)
}

// writeMachineConditions sends the condition changes of one Machine (only
// non-nil), or of every Machine, each in one status patch.
func (r *Reconciler) writeMachineConditions(ctx context.Context, s *scope, only *clusterv1.Machine) error {
	var errs []error
	for _, m := range s.machines {
		before, ok := s.changed[m.Name]
		if !ok || (only != nil && m != only) {
			continue
		}
		delete(s.changed, m.Name)
		if err := r.Client.Status().Patch(ctx, m, client.MergeFrom(before)); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("setting the conditions of Machine %s: %w", m.Name, err))
		}
	}
	return errors.Join(errs...)
}

// rollingOutCondition says whether outdated Machines are being replaced, and
// why each is. Pure.
func rollingOutCondition(s *scope) metav1.Condition {
	if len(s.outdated) == 0 {
		return conditions.False(controlplanev1.KubeadmControlPlaneRollingOutCondition, controlplanev1.KubeadmControlPlaneNotRollingOutReason, "")
	}
	var lines []string
	for _, m := range s.machines {
		if why, ok := s.outdated[m.Name]; ok {
			lines = append(lines, fmt.Sprintf("Machine %s: %s", m.Name, why))
		}
	}
	msg := fmt.Sprintf("Rolling out %d not up-to-date replicas\n%s", len(lines), strings.Join(lines, "\n"))
	return conditions.True(controlplanev1.KubeadmControlPlaneRollingOutCondition, controlplanev1.KubeadmControlPlaneRollingOutReason, msg)
}
