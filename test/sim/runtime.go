package sim

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

const (
	// FailBootstrapAnnotation, on a node Pod or its KubernetesMachine, makes the
	// simulated boot fail; its value is the termination message.
	FailBootstrapAnnotation = "sim.podcluster.io/fail-bootstrap"
	// FailCommandAnnotation, on a node Pod or its KubernetesMachine, makes
	// each command of the boot whose argv, as the dry run prints it in JSON,
	// holds the annotation's value fail with exit code 1
	// (PODCLUSTER_BOOT_DRY_RUN_FAIL): the boot script decides, by its own
	// rules, whether the boot goes on.
	FailCommandAnnotation = "sim.podcluster.io/fail-command"
	// CrashAnnotation, on a booted node Pod or its KubernetesMachine, makes the
	// node container exit with CrashExitCode; its value is the termination
	// message.
	CrashAnnotation = "sim.podcluster.io/crash"
	// LosePodAnnotation, on a booted node Pod or its KubernetesMachine, makes
	// the Pod disappear, as when its management Node is lost.
	LosePodAnnotation = "sim.podcluster.io/lose-pod"
	// NodeNotReadyAnnotation, on a booted node Pod or its KubernetesMachine,
	// makes its kubelet report the Node Ready=False (it keeps renewing its
	// Lease, as a kubelet whose runtime is down does) until the annotation
	// goes; the value is the condition's message.
	NodeNotReadyAnnotation = "sim.podcluster.io/node-not-ready"
	// CrashExitCode is the exit code of an injected crash: systemd killed.
	CrashExitCode = 137
)

var (
	// DefaultLoopbackBase is the first address the LoadBalancer controller hands out.
	DefaultLoopbackBase = netip.MustParseAddr("127.1.0.1")
	// DefaultPodIPBase is the first address given to a node Pod.
	DefaultPodIPBase = netip.MustParseAddr("127.2.0.1")
	// HostIP is the hostIP of every node Pod: the one simulated host.
	HostIP = "127.0.0.1"
)

// Runtime plays the management cluster's kubelet and LoadBalancer controller
// and the boot of node Pods (see the package doc). Set the options, then call
// Setup once.
type Runtime struct {
	// ScratchDir holds one directory per node Pod, <namespace>/<pod>, with the
	// boot script, its root and its termination log. Required.
	ScratchDir string
	// EtcdURL is the etcd the workload API servers share, each under the
	// prefix /<namespace>/<cluster>. Required to play kubeadm init.
	EtcdURL string
	// BinDir holds kube-apiserver for the workload clusters; PATH if empty.
	BinDir string
	// LoopbackBase is the first LoadBalancer address; DefaultLoopbackBase if unset.
	LoopbackBase netip.Addr
	// PodIPBase is the first node Pod address; DefaultPodIPBase if unset.
	PodIPBase netip.Addr
	// LoadBalancerClass, when set, limits the LoadBalancer controller to
	// Services of that class; when empty it serves Services without a class,
	// as a cloud's default controller does.
	LoadBalancerClass string
	// Bash runs the boot scripts; "bash" from PATH if empty.
	Bash string
	// Components are the control-plane components run from BinDir next to
	// each workload API server, once it serves: ControllerManager and
	// Scheduler. Nil means DefaultComponents; an empty slice runs none.
	Components []string
	// HeartbeatInterval is how often a booted node renews its Lease;
	// DefaultHeartbeatInterval if zero.
	HeartbeatInterval time.Duration
	// NodeStatusReportInterval is how often a node posts an unchanged
	// status; DefaultNodeStatusReportInterval if zero.
	NodeStatusReportInterval time.Duration
	// NodeMonitorGracePeriod is how long the workload controller-manager lets
	// a Node stay silent before it marks it Ready=Unknown;
	// DefaultNodeMonitorGracePeriod if zero. It must exceed HeartbeatInterval.
	NodeMonitorGracePeriod time.Duration
	// NodeMonitorPeriod is how often the workload controller-manager looks
	// at the Nodes; DefaultNodeMonitorPeriod if zero.
	NodeMonitorPeriod time.Duration
	// WorkloadPodIPBase is the first address of the Pods of each workload
	// cluster; DefaultWorkloadPodIPBase if unset.
	WorkloadPodIPBase netip.Addr

	servers  apiServers
	etcd     etcdMembers
	proxies  endpointProxies
	nodes    nodeRegistry
	lbAddrs  *allocator
	podAddrs *allocator
	// clusterMu serialises the claims and cleanups of workload clusters' data.
	clusterMu sync.Mutex
	// podKubeletMu serialises ensurePodKubelet.
	podKubeletMu sync.Mutex
	// hostCapacity is what a node without resources reports.
	hostCapacity corev1.ResourceList
}

// Setup registers the runtime's controllers with mgr.
func (r *Runtime) Setup(mgr ctrl.Manager) error {
	if r.ScratchDir == "" {
		return errors.New("sim: ScratchDir is required")
	}
	if !r.LoopbackBase.IsValid() {
		r.LoopbackBase = DefaultLoopbackBase
	}
	if !r.PodIPBase.IsValid() {
		r.PodIPBase = DefaultPodIPBase
	}
	if !r.WorkloadPodIPBase.IsValid() {
		r.WorkloadPodIPBase = DefaultWorkloadPodIPBase
	}
	for _, a := range []netip.Addr{r.LoopbackBase, r.PodIPBase, r.WorkloadPodIPBase} {
		if !a.Is4() || !a.IsLoopback() {
			return fmt.Errorf("sim: %s is not an IPv4 loopback address", a)
		}
	}
	if r.Bash == "" {
		r.Bash = "bash"
	}
	if err := r.defaultPeriods(); err != nil {
		return err
	}
	if r.Components == nil {
		r.Components = slices.Clone(DefaultComponents)
	}
	for _, c := range r.Components {
		if _, ok := componentUsers[c]; !ok {
			return fmt.Errorf("sim: unknown component %q: the runtime runs %s and %s", c, ControllerManager, Scheduler)
		}
	}
	r.lbAddrs = newAllocator(r.LoopbackBase)
	r.podAddrs = newAllocator(r.PodIPBase)
	r.hostCapacity = hostCapacity()
	// Workload API servers are processes of this runtime: they stop with it.
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		<-ctx.Done()
		r.proxies.stopAll()
		r.servers.stopAll()
		r.etcd.stopAll()
		return nil
	})); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if err := mgr.Add(manager.RunnableFunc(r.heartbeats)); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if err := (&loadBalancerReconciler{client: mgr.GetClient(), rt: r}).setup(mgr); err != nil {
		return fmt.Errorf("sim: setting up the LoadBalancer controller: %w", err)
	}
	if err := (&kubeletReconciler{client: mgr.GetClient(), apiReader: mgr.GetAPIReader(), rt: r}).setup(mgr); err != nil {
		return fmt.Errorf("sim: setting up the kubelet controller: %w", err)
	}
	if err := (&clusterReconciler{client: mgr.GetClient(), rt: r}).setup(mgr); err != nil {
		return fmt.Errorf("sim: setting up the cluster controller: %w", err)
	}
	return nil
}

// defaultPeriods fills in the heartbeat and node monitor periods and checks
// that a live node cannot be taken for a silent one.
func (r *Runtime) defaultPeriods() error {
	for _, d := range []struct {
		field *time.Duration
		def   time.Duration
	}{
		{&r.HeartbeatInterval, DefaultHeartbeatInterval},
		{&r.NodeStatusReportInterval, DefaultNodeStatusReportInterval},
		{&r.NodeMonitorGracePeriod, DefaultNodeMonitorGracePeriod},
		{&r.NodeMonitorPeriod, DefaultNodeMonitorPeriod},
	} {
		if *d.field < 0 {
			return fmt.Errorf("sim: negative period %s", *d.field)
		}
		if *d.field == 0 {
			*d.field = d.def
		}
	}
	if r.HeartbeatInterval < time.Second {
		return fmt.Errorf("sim: HeartbeatInterval %s is below a second, the unit of a Lease's duration", r.HeartbeatInterval)
	}
	if r.NodeMonitorGracePeriod <= r.HeartbeatInterval {
		return fmt.Errorf("sim: NodeMonitorGracePeriod %s must exceed HeartbeatInterval %s, or live Nodes turn Unknown",
			r.NodeMonitorGracePeriod, r.HeartbeatInterval)
	}
	return nil
}

// runs says whether the runtime runs a component next to workload API servers.
func (r *Runtime) runs(component string) bool {
	return slices.Contains(r.Components, component)
}

// allocator hands out loopback addresses from a base. The objects' status is
// the durable record of what is taken; the allocator also remembers what it
// handed out itself, because the manager's cache may not show a status update
// yet when the next object is reconciled.
type allocator struct {
	base netip.Addr
	mu   sync.Mutex
	// owners maps an address this process gave to its owner's key.
	owners map[netip.Addr]string
}

func newAllocator(base netip.Addr) *allocator {
	return &allocator{base: base, owners: map[netip.Addr]string{}}
}

// allocate returns the first address from the base that is neither in used
// nor given out before, and records it for owner. An owner that holds an
// address already gets it back.
func (a *allocator) allocate(owner string, used map[netip.Addr]bool) (netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for addr, o := range a.owners {
		if o == owner {
			return addr, nil
		}
	}
	for addr := a.base; addr.IsValid() && addr.IsLoopback(); addr = addr.Next() {
		last := addr.As4()[3]
		if last == 0 || last == 255 {
			// Valid on loopback, but easily taken for a network or broadcast address.
			continue
		}
		if used[addr] {
			continue
		}
		if _, taken := a.owners[addr]; taken {
			continue
		}
		a.owners[addr] = owner
		return addr, nil
	}
	return netip.Addr{}, fmt.Errorf("no free loopback address from %s", a.base)
}

// hold records that owner has addr, as its object's status says.
func (a *allocator) hold(owner string, addr netip.Addr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.owners[addr] = owner
}

// release forgets what owner holds.
func (a *allocator) release(owner string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for addr, o := range a.owners {
		if o == owner {
			delete(a.owners, addr)
		}
	}
}
