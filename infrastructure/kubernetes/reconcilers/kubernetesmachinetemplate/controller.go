// Package kubernetesmachinetemplate is the KubernetesMachineTemplate controller
// of the infrastructure provider. It reports what a Node made from the template
// offers, status.capacity and status.nodeInfo, so that the cluster autoscaler
// can scale a node group up from zero.
package kubernetesmachinetemplate

import (
	"context"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/internal/patch"
	"github.com/podcluster/podcluster/internal/util"
)

// Reconciler reconciles KubernetesMachineTemplates.
type Reconciler struct {
	Client client.Client
	// WatchFilter, when set, limits the controller to objects labelled
	// cluster.x-k8s.io/watch-filter=<WatchFilter>.
	WatchFilter string
}

// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=kubernetesmachinetemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=kubernetesmachinetemplates/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=clusters,verbs=get;list;watch

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(_ context.Context, mgr ctrl.Manager, options controller.Options) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&infrav1.KubernetesMachineTemplate{}, builder.WithPredicates(util.WatchFilterPredicate(r.WatchFilter))).
		WithOptions(options).
		Named("kubernetesmachinetemplate").
		Complete(r)
}

// Reconcile reports the template's capacity and node info.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	t := &infrav1.KubernetesMachineTemplate{}
	if err := r.Client.Get(ctx, req.NamespacedName, t); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	cluster, err := r.ownerCluster(ctx, t)
	if err != nil {
		return ctrl.Result{}, err
	}
	// A template has no conditions to report a pause in: it is left alone.
	if util.IsPaused(cluster, t) {
		return ctrl.Result{}, nil
	}
	helper, err := patch.NewHelper(t, r.Client)
	if err != nil {
		return ctrl.Result{}, err
	}
	setStatus(t)
	if err := helper.Patch(ctx, t); err != nil {
		retErr = kerrors.NewAggregate([]error{retErr, err})
	}
	return ctrl.Result{}, retErr
}

// ownerCluster is the Cluster that owns the template, if any (templates of a
// ClusterClass-based Cluster are owned by it); nil otherwise.
func (r *Reconciler) ownerCluster(ctx context.Context, t *infrav1.KubernetesMachineTemplate) (*clusterv1.Cluster, error) {
	for _, ref := range t.OwnerReferences {
		group, _, _ := strings.Cut(ref.APIVersion, "/")
		if ref.Kind != "Cluster" || group != clusterv1.GroupVersion.Group {
			continue
		}
		cluster, err := util.GetCluster(ctx, r.Client, t.Namespace, ref.Name)
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return cluster, err
	}
	return nil, nil
}
