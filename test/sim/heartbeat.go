package sim

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
)

// The periods of node heartbeats and of the workload controller-manager's
// node lifecycle controller. They keep the kubelet's ratios (a Lease renewed
// every 10s lasts 40s; the controller-manager's grace is 50s and it looks
// every 5s) at about half the time, so that a silent Node turns Unknown in
// tests within half a minute.
const (
	// DefaultHeartbeatInterval is how often a node renews its Lease (the
	// kubelet's is 10s).
	DefaultHeartbeatInterval = 5 * time.Second
	// DefaultNodeStatusReportInterval is how often a node posts an unchanged
	// status, refreshing the Ready condition's lastHeartbeatTime (the
	// kubelet's nodeStatusReportFrequency is 5m). A changed status is posted
	// at the next heartbeat.
	DefaultNodeStatusReportInterval = time.Minute
	// DefaultNodeMonitorGracePeriod is the controller-manager's
	// --node-monitor-grace-period: how long a Node may stay silent before it
	// is marked Ready=Unknown (its default is 50s).
	DefaultNodeMonitorGracePeriod = 20 * time.Second
	// DefaultNodeMonitorPeriod is the controller-manager's
	// --node-monitor-period: how often it looks (its default is 5s).
	DefaultNodeMonitorPeriod = 2 * time.Second
)

// nodeLeaseNamespace holds the Nodes' Leases.
const nodeLeaseNamespace = corev1.NamespaceNodeLease

// nodeEntry is a booted node whose kubelet the runtime plays: it heartbeats
// and runs the Pods bound to it.
type nodeEntry struct {
	// podKey (namespace/name) and podUID are the node Pod's.
	podKey, podUID string
	cluster        types.NamespacedName
	name           string
	// internalIP is the node Pod's IP, the Node's InternalIP and its Pods' hostIP.
	internalIP string
	// cs reaches the workload cluster.
	cs kubernetes.Interface

	// mu serialises the node's heartbeats and guards the fields below.
	mu sync.Mutex
	// notReady is the message of an injected NotReady; empty when Ready.
	notReady string
	// reported is when the node last posted its status.
	reported time.Time
	// lease is the node's Lease as last renewed, nil to read it first.
	lease *coordinationv1.Lease
	// readDirect says the next beat reads the Node from the API server: the
	// last status post met a newer Node than the watch had.
	readDirect bool
}

// nodeRegistry holds the booted nodes by node Pod.
type nodeRegistry struct {
	mu    sync.Mutex
	nodes map[string]*nodeEntry
}

func (n *nodeRegistry) add(e *nodeEntry) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.nodes == nil {
		n.nodes = map[string]*nodeEntry{}
	}
	n.nodes[e.podKey] = e
}

func (n *nodeRegistry) get(podKey string) *nodeEntry {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.nodes[podKey]
}

// remove stops the node Pod's heartbeats.
func (n *nodeRegistry) remove(podKey string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.nodes, podKey)
}

// removeCluster stops the heartbeats of a cluster's nodes.
func (n *nodeRegistry) removeCluster(cluster types.NamespacedName) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k, e := range n.nodes {
		if e.cluster == cluster {
			delete(n.nodes, k)
		}
	}
}

// all is every node, grouped by cluster.
func (n *nodeRegistry) all() []*nodeEntry {
	n.mu.Lock()
	out := make([]*nodeEntry, 0, len(n.nodes))
	for _, e := range n.nodes {
		out = append(out, e)
	}
	n.mu.Unlock()
	slices.SortFunc(out, func(a, b *nodeEntry) int {
		return cmp.Or(cmp.Compare(a.cluster.String(), b.cluster.String()), cmp.Compare(a.name, b.name))
	})
	return out
}

// alive returns the InternalIP of a cluster's Node whose node Pod runs.
func (n *nodeRegistry) alive(cluster types.NamespacedName, node string) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, e := range n.nodes {
		if e.cluster == cluster && e.name == node {
			return e.internalIP, true
		}
	}
	return "", false
}

// registerHeartbeat starts playing the kubelet of a booted node: heartbeats,
// and the Pods bound to it.
func (r *Runtime) registerHeartbeat(e *nodeEntry) {
	if old := r.nodes.get(e.podKey); old != nil && old.podUID == e.podUID {
		// A reboot of the same Pod keeps an injected NotReady.
		old.mu.Lock()
		e.notReady = old.notReady
		old.mu.Unlock()
	}
	r.nodes.add(e)
	if pods := r.servers.podKubelet(e.cluster); pods != nil {
		pods.nodeUp(e.name)
	}
}

// heartbeatWorkers is how many nodes beat at once. One at a time, a round
// over a thousand nodes (two or three requests each) outlasts the Lease it
// renews, and live Nodes turn Unknown.
const heartbeatWorkers = 16

// heartbeats renews every booted node's Lease each HeartbeatInterval, and
// posts their status when it changed or is due, until ctx ends. One loop
// serves every node of every cluster, heartbeatWorkers nodes at a time.
func (r *Runtime) heartbeats(ctx context.Context) error {
	ticker := time.NewTicker(r.HeartbeatInterval)
	defer ticker.Stop()
	watches := nodeWatches{}
	defer watches.stopAll()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		nodes := r.nodes.all()
		watches.sync(ctx, nodes)
		r.beatAll(ctx, nodes, watches)
		// A cluster whose Pods were looked after next to an API server
		// that stopped gets them looked after next to another.
		for _, cluster := range r.servers.clusters() {
			if err := r.ensurePodKubelet(ctx, cluster); err != nil {
				ctrl.LoggerFrom(ctx).Error(err, "Cannot play the kubelets of a workload cluster's Pods", "cluster", cluster)
			}
		}
	}
}

// beatAll is one round of heartbeats over nodes.
func (r *Runtime) beatAll(ctx context.Context, nodes []*nodeEntry, watches nodeWatches) {
	var mu sync.Mutex
	down := map[types.NamespacedName]bool{}
	work := make(chan *nodeEntry)
	var wg sync.WaitGroup
	for range heartbeatWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range work {
				mu.Lock()
				skip := down[e.cluster]
				mu.Unlock()
				if skip {
					// Its API server did not answer another node: this
					// one would wait as long for nothing.
					continue
				}
				if err := r.beat(ctx, e, watches.lister(e.cluster)); err != nil {
					mu.Lock()
					down[e.cluster] = true
					mu.Unlock()
					ctrl.LoggerFrom(ctx).V(1).Info("Node heartbeat failed", "cluster", e.cluster, "node", e.name, "error", err.Error())
				}
			}
		}()
	}
	for _, e := range nodes {
		if ctx.Err() != nil {
			break
		}
		work <- e
	}
	close(work)
	wg.Wait()
}

// beat is one heartbeat of a node: its Lease renewed, and its status posted
// when it changed (an injected NotReady, or the controller-manager marked it
// Unknown while the node was in fact alive) or when the report is due.
func (r *Runtime) beat(ctx context.Context, e *nodeEntry, nodes corelisters.NodeLister) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, r.HeartbeatInterval)
	defer cancel()
	node, err := e.readNode(ctx, nodes)
	if apierrors.IsNotFound(err) {
		// The kubelet registers once; a Node deleted under it stays gone
		// until the node boots again.
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading Node %s: %w", e.name, err)
	}
	if e.lease, err = renewLease(ctx, e.cs, node, r.HeartbeatInterval, e.lease); err != nil {
		return err
	}
	now := metav1.Now()
	want := kubeletConditions(node.Status.Conditions, e.notReady, now)
	if !conditionsDiffer(node.Status.Conditions, want) && time.Since(e.reported) < r.NodeStatusReportInterval {
		return nil
	}
	node.Status.Conditions = want
	if _, err := e.cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsConflict(err) {
			// Someone else wrote the Node meanwhile; the next beat reads it
			// from the API server and posts.
			e.readDirect = true
			return nil
		}
		return fmt.Errorf("posting the status of Node %s: %w", e.name, err)
	}
	e.reported = time.Now()
	e.readDirect = false
	return nil
}

// readNode is the node's Node as the cluster's Node watch has it, a copy;
// from the API server's cache instead, as the kubelet reads its Node for a
// status update, when there is no watch, the watch has not synced or has no
// such Node, or the last post met a newer Node.
func (e *nodeEntry) readNode(ctx context.Context, nodes corelisters.NodeLister) (*corev1.Node, error) {
	if nodes != nil && !e.readDirect {
		if node, err := nodes.Get(e.name); err == nil {
			return node.DeepCopy(), nil
		}
	}
	return e.cs.CoreV1().Nodes().Get(ctx, e.name, metav1.GetOptions{ResourceVersion: "0"})
}

// nodeWatches holds a watch of the Nodes of each cluster that has booted
// nodes, for their heartbeats: a heartbeat that read its Node with a GET
// every HeartbeatInterval made Node reads the workload API server's most
// frequent request, and its cost grow with nodes times time. Only the
// heartbeat loop uses it.
type nodeWatches map[types.NamespacedName]*nodeWatch

type nodeWatch struct {
	stop   context.CancelFunc
	synced toolscache.InformerSynced
	lister corelisters.NodeLister
}

// sync starts a watch for each cluster of nodes that has none, through the
// first of its nodes' clients, and stops those of clusters without nodes.
func (w nodeWatches) sync(ctx context.Context, nodes []*nodeEntry) {
	want := map[types.NamespacedName]bool{}
	for _, e := range nodes {
		want[e.cluster] = true
		if _, ok := w[e.cluster]; ok {
			continue
		}
		wctx, stop := context.WithCancel(ctx)
		factory := informers.NewSharedInformerFactory(e.cs, 0)
		informer := factory.Core().V1().Nodes()
		nw := &nodeWatch{stop: stop, synced: informer.Informer().HasSynced, lister: informer.Lister()}
		factory.Start(wctx.Done())
		w[e.cluster] = nw
	}
	for cluster, nw := range w {
		if !want[cluster] {
			nw.stop()
			delete(w, cluster)
		}
	}
}

// lister is the cluster's Node lister once its watch has synced, else nil.
func (w nodeWatches) lister(cluster types.NamespacedName) corelisters.NodeLister {
	if nw, ok := w[cluster]; ok && nw.synced() {
		return nw.lister
	}
	return nil
}

func (w nodeWatches) stopAll() {
	for cluster, nw := range w {
		nw.stop()
		delete(w, cluster)
	}
}

// renewLease renews the node's Lease in kube-node-lease, creating it as the
// kubelet does: held by the node, owned by its Node, lasting four heartbeats.
// Like the kubelet, it renews the Lease it last wrote (last) without reading
// it first, and reads it only when that fails or there is none; it returns
// the Lease as written, or nil when the next renewal must read it.
func renewLease(ctx context.Context, cs kubernetes.Interface, node *corev1.Node, interval time.Duration, last *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	leases := cs.CoordinationV1().Leases(nodeLeaseNamespace)
	now := metav1.NewMicroTime(time.Now())
	// Owned by the Node, so that the garbage collector removes it with the Node.
	owners := []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
	lease := last
	if lease == nil || len(lease.OwnerReferences) != 1 || lease.OwnerReferences[0].UID != node.UID {
		var err error
		lease, err = leases.Get(ctx, node.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			lease = &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: node.Name, Namespace: nodeLeaseNamespace, OwnerReferences: owners},
				Spec: coordinationv1.LeaseSpec{
					HolderIdentity:       ptrTo(node.Name),
					LeaseDurationSeconds: ptrTo(int32(4 * interval / time.Second)),
					RenewTime:            &now,
				},
			}
			created, err := leases.Create(ctx, lease, metav1.CreateOptions{})
			switch {
			case err == nil:
				return created, nil
			case apierrors.IsAlreadyExists(err):
				return nil, nil // made meanwhile: read it at the next beat
			}
			return nil, fmt.Errorf("creating the Lease of Node %s: %w", node.Name, err)
		}
		if err != nil {
			return nil, fmt.Errorf("reading the Lease of Node %s: %w", node.Name, err)
		}
	}
	// A Node registered again has a new UID.
	lease = lease.DeepCopy()
	lease.OwnerReferences = owners
	lease.Spec.HolderIdentity = ptrTo(node.Name)
	lease.Spec.LeaseDurationSeconds = ptrTo(int32(4 * interval / time.Second))
	lease.Spec.RenewTime = &now
	updated, err := leases.Update(ctx, lease, metav1.UpdateOptions{})
	switch {
	case err == nil:
		return updated, nil
	case apierrors.IsConflict(err), apierrors.IsNotFound(err):
		// Someone else wrote or removed it: read it at the next beat.
		return nil, nil
	}
	return nil, fmt.Errorf("renewing the Lease of Node %s: %w", node.Name, err)
}

// setNotReady injects (msg not empty) or lifts (msg empty) a NotReady on a
// booted node, and posts the node's status at once when that changed it.
func (r *Runtime) setNotReady(ctx context.Context, podKey, msg string) error {
	e := r.nodes.get(podKey)
	if e == nil {
		return nil
	}
	e.mu.Lock()
	changed := e.notReady != msg
	e.notReady = msg
	e.mu.Unlock()
	if !changed {
		return nil
	}
	if msg != "" {
		ctrl.LoggerFrom(ctx).Info("Injected: the Node goes NotReady", "node", e.name)
	} else {
		ctrl.LoggerFrom(ctx).Info("The injected NotReady is lifted", "node", e.name)
	}
	// Outside the heartbeat loop, without its watches: from the API server.
	return r.beat(ctx, e, nil)
}
