// Package initlock makes sure that exactly one Machine of a cluster runs
// `kubeadm init`. Two control-plane Machines that both ran it would each
// create their own etcd and their own cluster behind the same endpoint, and
// neither could ever join the other: the cluster would be broken for good.
//
// The lock is a ConfigMap "<cluster>-lock" in the Cluster's namespace whose
// data names the Machine that holds it. The API server creates an object
// atomically, so of two Machines that race exactly one wins; the lock survives
// controller restarts because it lives in the API server, not in memory. A
// lock whose holder Machine no longer exists is taken over, so a Machine
// deleted halfway through init never blocks the cluster. The lock is owned by
// the Cluster, so it goes away with it, and it is released (deleted) once the
// control plane is initialized.
package initlock

import (
	"context"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/util"
)

// HolderKey is the key of the lock ConfigMap's data that names the holder Machine.
const HolderKey = "machine"

// attempts bounds the take-over loop: each round either wins, finds a live
// holder or removes a dead one, so more rounds only happen when other Machines
// keep taking and dropping the lock at the same moment; the caller retries later.
const attempts = 3

// Client is what the lock needs from the API server. Its reads must not come
// from a cache: a stale read could show a dead holder as alive, or a lock
// that was just taken as free.
type Client interface {
	client.Reader
	client.Writer
}

// Name is the name of the lock ConfigMap of a cluster.
func Name(cluster string) string { return cluster + "-lock" }

// Acquire tries to take the init lock of cluster for machine. held is true
// when machine holds the lock (now or from an earlier call); otherwise holder
// names the Machine that does. Acquire never waits: a caller that did not get
// the lock looks again later.
func Acquire(ctx context.Context, c Client, cluster *clusterv1.Cluster, machine *clusterv1.Machine) (held bool, holder string, err error) {
	log := ctrl.LoggerFrom(ctx)
	for range attempts {
		lock := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Name: Name(cluster.Name), Namespace: cluster.Namespace,
				Labels:          map[string]string{clusterv1.ClusterNameLabel: cluster.Name},
				OwnerReferences: []metav1.OwnerReference{util.OwnerRef(cluster, clusterv1.GroupVersion.WithKind("Cluster"), false)},
			},
			Data: map[string]string{HolderKey: machine.Name},
		}
		// Create is the atomic test-and-set: only one creator succeeds.
		err := c.Create(ctx, lock)
		if err == nil {
			log.Info("Took the init lock", "machine", machine.Name)
			return true, machine.Name, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return false, "", fmt.Errorf("creating init lock %s: %w", lock.Name, err)
		}

		existing := &corev1.ConfigMap{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(lock), existing); err != nil {
			if apierrors.IsNotFound(err) {
				continue // released between our Create and Get: race for it again
			}
			return false, "", err
		}
		holder = existing.Data[HolderKey]
		if holder == machine.Name {
			return true, holder, nil // ours from an earlier reconcile
		}
		err = c.Get(ctx, client.ObjectKey{Namespace: cluster.Namespace, Name: holder}, &clusterv1.Machine{})
		if !apierrors.IsNotFound(err) {
			return false, holder, client.IgnoreNotFound(err) // a live holder, or we cannot tell
		}

		// The holder is gone and will never finish init. The UID precondition
		// deletes exactly the lock we read, never one another Machine took
		// over meanwhile; then the next round races for a fresh lock.
		log.Info("Releasing the init lock of a Machine that no longer exists", "holder", holder)
		uid := existing.UID
		if err := c.Delete(ctx, existing, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil && !apierrors.IsConflict(err) {
			return false, holder, err
		}
	}
	return false, "", errors.New("init lock changed hands repeatedly; retrying")
}

// Release deletes the init lock of cluster. It is called once the control
// plane is initialized, when nobody needs the lock any more; a lock that is
// already gone is no error.
func Release(ctx context.Context, c client.Writer, cluster *clusterv1.Cluster) error {
	lock := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: Name(cluster.Name), Namespace: cluster.Namespace}}
	if err := c.Delete(ctx, lock); err != nil {
		return client.IgnoreNotFound(err)
	}
	ctrl.LoggerFrom(ctx).Info("Released the init lock: the control plane is initialized")
	return nil
}

// Releaser releases each cluster's lock once per process. Every join after
// initialization asks for the release, and all but the first would send a
// DELETE that finds nothing: once initialized, a cluster never takes its lock
// again. Clusters are remembered by UID, so a new cluster of the same name is
// released anew. The zero value is ready to use.
type Releaser struct {
	released sync.Map // cluster UID -> struct{}
}

// Released says whether this Releaser has released cluster's lock.
func (r *Releaser) Released(cluster *clusterv1.Cluster) bool {
	_, done := r.released.Load(cluster.UID)
	return done
}

// Release deletes the init lock of cluster unless this Releaser already did.
func (r *Releaser) Release(ctx context.Context, c client.Writer, cluster *clusterv1.Cluster) error {
	if r.Released(cluster) {
		return nil
	}
	if err := Release(ctx, c, cluster); err != nil {
		return err
	}
	r.released.Store(cluster.UID, struct{}{})
	return nil
}
