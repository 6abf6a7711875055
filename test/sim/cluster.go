package sim

import (
	"context"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// clusterReconciler removes what a workload cluster leaves behind once its
// Cluster is gone and none of its node Pods remain: its data in the shared
// etcd, so that a Cluster created again under the same name starts empty, as
// a new control plane's own etcd would.
type clusterReconciler struct {
	client client.Client
	rt     *Runtime
}

func (r *clusterReconciler) setup(mgr ctrl.Manager) error {
	isNodePodLabelled := predicate.NewPredicateFuncs(func(o client.Object) bool {
		_, ok := o.GetLabels()[clusterv1.ClusterNameLabel]
		return ok
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("sim-cluster").
		For(&clusterv1.Cluster{}).
		// The last node Pod going is what a deleted Cluster's cleanup waits for.
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(podToCluster), builder.WithPredicates(isNodePodLabelled)).
		// Clusters deleted while the runtime was down are found from the records.
		WatchesRawSource(source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			keys, err := r.rt.clusterRecords()
			if err != nil {
				return fmt.Errorf("reading the workload cluster records: %w", err)
			}
			for _, k := range keys {
				q.Add(reconcile.Request{NamespacedName: k})
			}
			return nil
		})).
		Complete(r)
}

// podToCluster maps a node Pod to its Cluster.
func podToCluster(_ context.Context, o client.Object) []reconcile.Request {
	name := o.GetLabels()[clusterv1.ClusterNameLabel]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
}

func (r *clusterReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	rec, err := r.rt.readClusterRecord(req.NamespacedName)
	if err != nil || rec == nil {
		return ctrl.Result{}, err
	}
	cluster := &clusterv1.Cluster{}
	err = r.client.Get(ctx, req.NamespacedName, cluster)
	gone := apierrors.IsNotFound(err) || meta.IsNoMatchError(err)
	if err != nil && !gone {
		return ctrl.Result{}, fmt.Errorf("reading Cluster %s: %w", req, err)
	}
	// A Cluster created again under the same name: the record is the old one's.
	recreated := !gone && rec.UID != "" && string(cluster.UID) != rec.UID
	if !gone && !recreated && cluster.DeletionTimestamp == nil {
		return ctrl.Result{}, nil
	}
	if r.rt.servers.forCluster(req.NamespacedName) != nil {
		// Its node Pod is going: the kubelet controller stops it shortly.
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	if !recreated {
		// The node Pods of a re-created Cluster are the new one's; otherwise
		// the data stays while a node of the cluster may still use it.
		pods := &corev1.PodList{}
		if err := r.client.List(ctx, pods, client.InNamespace(req.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: req.Name}); err != nil {
			return ctrl.Result{}, fmt.Errorf("listing the node Pods of cluster %s: %w", req, err)
		}
		if len(pods.Items) > 0 {
			return ctrl.Result{}, nil
		}
	}
	return ctrl.Result{}, r.rt.forgetCluster(ctx, rec)
}

// forgetCluster deletes a gone cluster's etcd data and its record, unless a
// new kubeadm init claimed the record meanwhile.
func (r *Runtime) forgetCluster(ctx context.Context, rec *clusterRecord) error {
	key := types.NamespacedName{Namespace: rec.Namespace, Name: rec.Name}
	r.clusterMu.Lock()
	defer r.clusterMu.Unlock()
	now, err := r.readClusterRecord(key)
	if err != nil || now == nil || now.UID != rec.UID {
		return err
	}
	r.nodes.removeCluster(key)
	ctrl.LoggerFrom(ctx).Info("Deleting the etcd data of a deleted workload cluster", "cluster", key, "etcdPrefix", rec.EtcdPrefix)
	n, err := deleteEtcdPrefix(ctx, r.EtcdURL, rec.EtcdPrefix+"/")
	if err != nil {
		return fmt.Errorf("deleting the etcd data of cluster %s: %w", key, err)
	}
	ctrl.LoggerFrom(ctx).Info("Deleted the etcd data of a deleted workload cluster", "cluster", key, "keys", n)
	if err := os.Remove(r.clusterRecordFile(key)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("removing the record of cluster %s: %w", key, err)
	}
	return nil
}

// claimCluster records, before kubeadm init starts a workload API server,
// which Cluster owns the data under prefix. Data left by an earlier Cluster
// of the same name (one deleted while the runtime was down, or re-created
// faster than its cleanup) is deleted first: a new control plane starts
// with an empty etcd.
func (r *Runtime) claimCluster(ctx context.Context, c client.Client, key types.NamespacedName, prefix string) error {
	uid := ""
	cluster := &clusterv1.Cluster{}
	switch err := c.Get(ctx, key, cluster); {
	case err == nil:
		uid = string(cluster.UID)
	case !apierrors.IsNotFound(err) && !meta.IsNoMatchError(err):
		return fmt.Errorf("reading Cluster %s: %w", key, err)
	}
	r.clusterMu.Lock()
	defer r.clusterMu.Unlock()
	old, err := r.readClusterRecord(key)
	if err != nil {
		return err
	}
	if old != nil && old.UID != uid && r.servers.forCluster(key) == nil {
		ctrl.LoggerFrom(ctx).Info("Deleting the etcd data an earlier Cluster of the same name left", "cluster", key, "etcdPrefix", old.EtcdPrefix)
		if _, err := deleteEtcdPrefix(ctx, r.EtcdURL, old.EtcdPrefix+"/"); err != nil {
			return fmt.Errorf("deleting the etcd data of an earlier cluster %s: %w", key, err)
		}
	}
	return writeJSON(r.clusterRecordFile(key), &clusterRecord{Namespace: key.Namespace, Name: key.Name, UID: uid, EtcdPrefix: prefix})
}
