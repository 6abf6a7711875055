// Package remote gives controllers access to workload clusters: one connection
// per cluster, built from the cluster's "<cluster>-kubeconfig" Secret, with an
// informer on the cluster's Nodes so that Node events reach the controllers.
//
// An entry is dropped, and rebuilt on the next use, when the kubeconfig Secret
// changes, the cluster fails its health probe (GET /, see probe) several times
// in a row, or the API server refuses the kubeconfig's credentials. Every
// connection attempt and request has a timeout, so an unreachable cluster
// slows down only the reconciles that need it.
package remote

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ErrClusterNotConnected means the workload cluster cannot be reached yet:
// its kubeconfig is missing or its API server does not answer.
var ErrClusterNotConnected = errors.New("workload cluster is not connected")

// Options tune a ClusterCache.
type Options struct {
	// Timeout bounds each connection attempt and each request. Default 10s.
	Timeout time.Duration
	// HealthProbeInterval is how often a connected cluster is probed. Default 10s.
	HealthProbeInterval time.Duration
	// FailureThreshold is how many failed probes in a row drop the connection. Default 3.
	FailureThreshold int
	// QPS and Burst of each workload client. Defaults 20 and 40.
	QPS   float32
	Burst int
}

// NodeHandler is told about every Node change in a connected cluster.
type NodeHandler func(cluster client.ObjectKey, node *corev1.Node)

// DisconnectHandler is told when a connected cluster stops answering and its
// connection is dropped: what its Node informer said may no longer hold, and
// no Node event will say so.
type DisconnectHandler func(cluster client.ObjectKey)

// ClusterCache holds the connections to workload clusters.
type ClusterCache struct {
	reader client.Reader
	scheme *runtime.Scheme
	opts   Options

	mu          sync.Mutex
	clusters    map[client.ObjectKey]*entry
	handlers    []NodeHandler
	disconnects []DisconnectHandler
	ctx         context.Context
}

type entry struct {
	once   sync.Once // connect runs once per entry
	ready  chan struct{}
	err    error
	hash   [32]byte
	client client.Client
	nodes  cache.Cache
	cancel context.CancelFunc
}

// New returns a cache that reads kubeconfig Secrets with reader.
func New(reader client.Reader, scheme *runtime.Scheme, opts Options) *ClusterCache {
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.HealthProbeInterval == 0 {
		opts.HealthProbeInterval = 10 * time.Second
	}
	if opts.FailureThreshold == 0 {
		opts.FailureThreshold = 3
	}
	if opts.QPS == 0 {
		opts.QPS, opts.Burst = 20, 40
	}
	return &ClusterCache{reader: reader, scheme: scheme, opts: opts, clusters: map[client.ObjectKey]*entry{}, ctx: context.Background()}
}

// Start ties the connections' lifetime to ctx; it returns when ctx ends and
// implements manager.Runnable.
func (c *ClusterCache) Start(ctx context.Context) error {
	c.mu.Lock()
	c.ctx = ctx
	c.mu.Unlock()
	<-ctx.Done()
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, e := range c.clusters {
		if e.cancel != nil {
			e.cancel()
		}
		delete(c.clusters, key)
	}
	return nil
}

// AddDisconnectHandler registers a handler for dropped connections.
func (c *ClusterCache) AddDisconnectHandler(h DisconnectHandler) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.disconnects = append(c.disconnects, h)
}

// AddNodeHandler registers a handler for Node events of every cluster.
func (c *ClusterCache) AddNodeHandler(h NodeHandler) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.handlers = append(c.handlers, h)
}

// Client returns a client for the workload cluster. Node reads come from the
// Node informer; everything else goes to the API server.
func (c *ClusterCache) Client(ctx context.Context, cluster client.ObjectKey) (client.Client, error) {
	kubeconfig, err := c.kubeconfig(ctx, cluster)
	if err != nil {
		return nil, err
	}
	hash := sha256.Sum256(kubeconfig)

	c.mu.Lock()
	e, ok := c.clusters[cluster]
	if ok && e.hash != hash {
		// The kubeconfig changed: forget the old connection.
		c.dropLocked(cluster, e)
		ok = false
	}
	if !ok {
		e = &entry{hash: hash, ready: make(chan struct{})}
		c.clusters[cluster] = e
	}
	parent := c.ctx
	c.mu.Unlock()

	e.once.Do(func() {
		e.err = c.connect(parent, cluster, kubeconfig, e)
		close(e.ready)
		if e.err != nil {
			c.mu.Lock()
			c.dropLocked(cluster, e)
			c.mu.Unlock()
		}
	})
	select {
	case <-e.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if e.err != nil {
		return nil, e.err
	}
	return e.client, nil
}

// Drop forgets the connection to a cluster, for example once it is deleted.
func (c *ClusterCache) Drop(cluster client.ObjectKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.clusters[cluster]; ok {
		c.dropLocked(cluster, e)
	}
}

func (c *ClusterCache) dropLocked(cluster client.ObjectKey, e *entry) {
	if c.clusters[cluster] == e {
		delete(c.clusters, cluster)
	}
	if e.cancel != nil {
		e.cancel()
	}
}

func (c *ClusterCache) kubeconfig(ctx context.Context, cluster client.ObjectKey) ([]byte, error) {
	secret := &corev1.Secret{}
	key := client.ObjectKey{Namespace: cluster.Namespace, Name: cluster.Name + "-kubeconfig"}
	if err := c.reader.Get(ctx, key, secret); err != nil {
		return nil, fmt.Errorf("%w: reading Secret %s: %w", ErrClusterNotConnected, key, err)
	}
	data := secret.Data["value"]
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: Secret %s has no key \"value\"", ErrClusterNotConnected, key)
	}
	return data, nil
}

// RESTConfig returns a rest.Config for the workload cluster from its kubeconfig Secret.
func (c *ClusterCache) RESTConfig(ctx context.Context, cluster client.ObjectKey) (*rest.Config, error) {
	kubeconfig, err := c.kubeconfig(ctx, cluster)
	if err != nil {
		return nil, err
	}
	return c.restConfig(kubeconfig)
}

func (c *ClusterCache) restConfig(kubeconfig []byte) (*rest.Config, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("parsing kubeconfig: %w", err)
	}
	cfg.Timeout = c.opts.Timeout
	cfg.QPS, cfg.Burst = c.opts.QPS, c.opts.Burst
	cfg.UserAgent = "podcluster"
	return cfg, nil
}

func (c *ClusterCache) connect(parent context.Context, cluster client.ObjectKey, kubeconfig []byte, e *entry) error {
	log := ctrl.LoggerFrom(parent).WithValues("cluster", cluster.String())
	cfg, err := c.restConfig(kubeconfig)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrClusterNotConnected, err)
	}
	direct, err := client.New(cfg, client.Options{Scheme: c.scheme})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrClusterNotConnected, err)
	}
	// Probe before building the informer, so an unreachable cluster fails fast.
	probeCtx, cancelProbe := context.WithTimeout(parent, c.opts.Timeout)
	err = probe(probeCtx, cfg)
	cancelProbe()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrClusterNotConnected, err)
	}

	nodes, err := cache.New(cfg, cache.Options{Scheme: c.scheme, ByObject: map[client.Object]cache.ByObject{&corev1.Node{}: {}}})
	if err != nil {
		return fmt.Errorf("%w: creating Node cache: %w", ErrClusterNotConnected, err)
	}
	informer, err := nodes.GetInformer(parent, &corev1.Node{})
	if err != nil {
		return fmt.Errorf("%w: creating Node informer: %w", ErrClusterNotConnected, err)
	}
	notify := func(obj any) {
		if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		node, ok := obj.(*corev1.Node)
		if !ok {
			return
		}
		c.mu.Lock()
		handlers := append([]NodeHandler(nil), c.handlers...)
		c.mu.Unlock()
		for _, h := range handlers {
			h(cluster, node)
		}
	}
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(_, obj any) { notify(obj) },
		DeleteFunc: notify,
	}); err != nil {
		return fmt.Errorf("%w: %w", ErrClusterNotConnected, err)
	}

	ctx, cancel := context.WithCancel(parent)
	// e.cancel is read under c.mu by Drop and by Start's shutdown, so it is
	// written under it too. An entry dropped while it was connecting (the
	// manager stopping, the kubeconfig rotated) must not leave an informer
	// running that nothing can stop.
	c.mu.Lock()
	dropped := c.clusters[cluster] != e
	e.cancel = cancel
	c.mu.Unlock()
	if dropped {
		cancel()
		return fmt.Errorf("%w: the connection was dropped while it was being made", ErrClusterNotConnected)
	}
	go func() {
		if err := nodes.Start(ctx); err != nil {
			log.Error(err, "Node cache of workload cluster stopped")
		}
	}()
	syncCtx, cancelSync := context.WithTimeout(ctx, 2*c.opts.Timeout)
	synced := nodes.WaitForCacheSync(syncCtx)
	cancelSync()
	if !synced {
		cancel()
		return fmt.Errorf("%w: Node cache did not sync within %s", ErrClusterNotConnected, 2*c.opts.Timeout)
	}
	e.client = &workloadClient{Client: direct, nodes: nodes}
	e.nodes = nodes
	go c.watchHealth(ctx, cluster, cfg, e)
	log.V(1).Info("Connected to workload cluster")
	return nil
}

// watchHealth probes the cluster and drops the entry after FailureThreshold
// failures in a row.
func (c *ClusterCache) watchHealth(ctx context.Context, cluster client.ObjectKey, cfg *rest.Config, e *entry) {
	failures := 0
	ticker := time.NewTicker(c.opts.HealthProbeInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		probeCtx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
		err := probe(probeCtx, cfg)
		cancel()
		if err == nil {
			failures = 0
			continue
		}
		failures++
		// Rejected credentials drop the connection at once: the next use
		// connects again with the kubeconfig Secret as it is then.
		if failures >= c.opts.FailureThreshold || errors.Is(err, errUnauthorized) {
			ctrl.LoggerFrom(ctx).Info("Dropping connection to unhealthy workload cluster", "cluster", cluster.String(), "error", err.Error())
			c.mu.Lock()
			c.dropLocked(cluster, e)
			disconnects := append([]DisconnectHandler(nil), c.disconnects...)
			c.mu.Unlock()
			for _, h := range disconnects {
				h(cluster)
			}
			return
		}
	}
}

// errUnauthorized marks a probe the API server refused for the kubeconfig's
// credentials: asking again with the same credentials cannot succeed.
var errUnauthorized = errors.New("the API server refused the kubeconfig's credentials")

// probe asks whether the workload API server answers. It requests "/", as
// upstream's cluster cache does: every conformant API server serves it, and so
// does upstream's in-memory test server, which has no /readyz. The question is
// reachability, not authorization: any answer below 500 counts, 403 and 404
// included (an identity without the discovery role, or a server that serves
// no root document, still answers requests), except 401, which is
// errUnauthorized. Transport errors, timeouts and 5xx answers are failures.
func probe(ctx context.Context, cfg *rest.Config) error {
	rc, err := rest.UnversionedRESTClientFor(withCodec(cfg))
	if err != nil {
		return err
	}
	var code int
	err = rc.Get().AbsPath("/").Do(ctx).StatusCode(&code).Error()
	// An answer client-go could not decode (a plain-text 404, say) carries its
	// code only in the error.
	var status apierrors.APIStatus
	if code == 0 && errors.As(err, &status) {
		code = int(status.Status().Code)
	}
	switch {
	case err == nil:
		return nil
	case code == http.StatusUnauthorized:
		return fmt.Errorf("%w: %w", errUnauthorized, err)
	case code >= 400 && code < 500:
		return nil
	}
	return fmt.Errorf("probing %s: %w", cfg.Host, err)
}

// workloadClient reads Nodes from the informer and everything else directly.
type workloadClient struct {
	client.Client
	nodes client.Reader
}

func (w *workloadClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*corev1.Node); ok {
		return w.nodes.Get(ctx, key, obj, opts...)
	}
	return w.Client.Get(ctx, key, obj, opts...)
}

func (w *workloadClient) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if _, ok := list.(*corev1.NodeList); ok {
		return w.nodes.List(ctx, list, opts...)
	}
	return w.Client.List(ctx, list, opts...)
}

// ClusterKey is the key of the Cluster an object belongs to.
func ClusterKey(namespace, clusterName string) client.ObjectKey {
	return client.ObjectKey{Namespace: namespace, Name: clusterName}
}

// KubeconfigSecretName is the name of a cluster's admin kubeconfig Secret.
func KubeconfigSecretName(cluster string) string { return cluster + "-kubeconfig" }

func withCodec(cfg *rest.Config) *rest.Config {
	out := rest.CopyConfig(cfg)
	if out.NegotiatedSerializer == nil {
		out.NegotiatedSerializer = serializer.NewCodecFactory(runtime.NewScheme()).WithoutConversion()
	}
	return out
}
