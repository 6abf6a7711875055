package external

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/contract"
	"github.com/podcluster/podcluster/internal/util"
)

// EnsureClusterOwnsTemplates adds the Cluster as an owner (not the
// controller) of each referenced template, as upstream's MachineSet,
// MachineDeployment and KubeadmControlPlane controllers do, so that deleting
// the Cluster garbage-collects the templates it used. A template shared by
// several Clusters gets each of them as an owner and goes with the last.
//
// References that are not templates (kind without the "Template" suffix), or
// are not set, are skipped. A template that does not exist is skipped too: it
// is the caller's to report; it gets its owner once it exists. A template
// already owned by this Cluster costs one cache read and no write.
func EnsureClusterOwnsTemplates(ctx context.Context, c client.Client, resolver *contract.Resolver, cluster *clusterv1.Cluster, namespace string, refs ...clusterv1.ContractVersionedObjectReference) error {
	if cluster == nil {
		return nil
	}
	owner := util.OwnerRef(cluster, clusterv1.GroupVersion.WithKind("Cluster"), false)
	for _, ref := range refs {
		if !ref.IsDefined() || !strings.HasSuffix(ref.Kind, "Template") {
			continue
		}
		tmpl, err := resolver.Get(ctx, c, ref, namespace)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading template %s %s/%s: %w", ref.Kind, namespace, ref.Name, err)
		}
		before := tmpl.DeepCopy()
		if !util.EnsureOwnerRef(tmpl, owner) {
			continue
		}
		ctrl.LoggerFrom(ctx).Info("Adding the Cluster as owner of the template", "kind", ref.Kind, "name", ref.Name)
		// Locked on the version read: a merge patch replaces the whole list
		// of owner references, and must not drop one added meanwhile.
		if err := c.Patch(ctx, tmpl, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
			return fmt.Errorf("adding Cluster %s as owner of %s %s/%s: %w", cluster.Name, ref.Kind, namespace, ref.Name, err)
		}
	}
	return nil
}
