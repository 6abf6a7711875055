package machinehealthcheck

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
	"github.com/podcluster/podcluster/internal/external"
	"github.com/podcluster/podcluster/internal/util"
)

// External remediation: with spec.remediation.templateRef set, an unhealthy
// Machine is not handed to its owner. A remediation request is made from the
// template instead (kind: the template's without "Template"; name and
// namespace: the Machine's; owned by the Machine, so it goes with it), and a
// controller outside Cluster API acts on it. The request is deleted when the
// Machine is healthy again. Templates and requests are read and written
// directly, not through a cache: they are rare, and a cache would need a
// watch on every kind a user may name.

// requestKind is the GroupVersionKind of the requests a template makes.
func requestKind(ref clusterv1.MachineHealthCheckRemediationTemplateReference) schema.GroupVersionKind {
	return schema.FromAPIVersionAndKind(ref.APIVersion, strings.TrimSuffix(ref.Kind, "Template"))
}

// requestRemediation creates the remediation request of an unhealthy Machine
// and returns the ExternallyRemediated condition that says how it went.
func (r *Reconciler) requestRemediation(ctx context.Context, mhc *clusterv1.MachineHealthCheck, m *clusterv1.Machine, h health) (metav1.Condition, error) {
	ref := mhc.Spec.Remediation.TemplateRef
	tmpl := &unstructured.Unstructured{}
	tmpl.SetGroupVersionKind(schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind))
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: mhc.Namespace, Name: ref.Name}, tmpl); err != nil {
		return conditions.False(clusterv1.MachineExternallyRemediatedCondition, clusterv1.MachineExternallyRemediatedRemediationTemplateNotFoundReason,
				fmt.Sprintf("Error reading remediation template %s %s/%s: %v", ref.Kind, mhc.Namespace, ref.Name, err)),
			fmt.Errorf("reading remediation template %s %s: %w", ref.Kind, ref.Name, err)
	}
	req, err := external.FromTemplate(tmpl, external.Instance{
		Name: m.Name, Namespace: m.Namespace,
		Labels: map[string]string{clusterv1.ClusterNameLabel: m.Spec.ClusterName},
		// Not a controller reference: the Machine's controller is its owner,
		// and the request only has to go when the Machine goes.
		Owner: util.OwnerRef(m, clusterv1.GroupVersion.WithKind("Machine"), false),
	})
	if err == nil {
		ctrl.LoggerFrom(ctx).Info("Creating an external remediation request for an unhealthy Machine",
			"machine", m.Name, "kind", req.GetKind(), "reason", h.reason, "message", h.message)
		err = r.Client.Create(ctx, req)
	}
	// A request of that name is one this controller made earlier, whose
	// condition did not reach the Machine.
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return conditions.False(clusterv1.MachineExternallyRemediatedCondition, clusterv1.MachineExternallyRemediatedRemediationRequestCreationFailedReason,
				fmt.Sprintf("Error creating remediation request %s %s: %v", requestKind(ref).Kind, m.Name, err)),
			fmt.Errorf("creating remediation request for Machine %s: %w", m.Name, err)
	}
	return conditions.False(clusterv1.MachineExternallyRemediatedCondition, clusterv1.MachineExternallyRemediatedWaitingForRemediationReason,
		fmt.Sprintf("Waiting for %s %s: %s", requestKind(ref).Kind, m.Name, h.message)), nil
}

// deleteRemediationRequest deletes the remediation request of a Machine that
// is healthy again; one already gone is fine.
func (r *Reconciler) deleteRemediationRequest(ctx context.Context, ref clusterv1.MachineHealthCheckRemediationTemplateReference, m *clusterv1.Machine) error {
	if ref.Kind == "" {
		return nil
	}
	req := &unstructured.Unstructured{}
	req.SetGroupVersionKind(requestKind(ref))
	req.SetNamespace(m.Namespace)
	req.SetName(m.Name)
	ctrl.LoggerFrom(ctx).Info("Machine is healthy again, deleting its external remediation request", "machine", m.Name, "kind", req.GetKind())
	if err := r.Client.Delete(ctx, req); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting remediation request %s %s: %w", req.GetKind(), m.Name, err)
	}
	return nil
}
