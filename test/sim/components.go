package sim

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/podcluster/podcluster/internal/kubeconfig"
	"github.com/podcluster/podcluster/internal/pki"
)

// The control-plane components the runtime can run next to a workload API
// server (Runtime.Components).
const (
	// ControllerManager is kube-controller-manager: service accounts and
	// their CA, Deployments and ReplicaSets, garbage collection, and the node
	// lifecycle controller that marks silent Nodes Unknown.
	ControllerManager = "kube-controller-manager"
	// Scheduler is kube-scheduler: it binds Pods to Nodes that fit them.
	Scheduler = "kube-scheduler"
)

// DefaultComponents are the components run when Runtime.Components is nil.
var DefaultComponents = []string{ControllerManager, Scheduler}

const (
	// componentRestartDelay is the first wait before a component that exited
	// is started again; it doubles up to componentMaxRestartDelay, as the
	// kubelet's back-off for a static Pod's container.
	componentRestartDelay    = 5 * time.Second
	componentMaxRestartDelay = 5 * time.Minute
)

// component is a control-plane process kubeadm init would have run as a
// static Pod. It is started again when it exits, as the kubelet restarts a
// static Pod's container, until stop.
type component struct {
	name, binary, log string
	args              []string

	mu      sync.Mutex
	proc    *process
	stopped bool
	// started is when the running process started; restarts counts the
	// starts after the first; lastExit is how the last process ended.
	// The mirror Pod's container status says them.
	started  time.Time
	restarts int32
	lastExit *processExit
	stopCh   chan struct{}
	// done is closed once supervise returned.
	done chan struct{}
}

func newComponent(name, binary, log string, args []string) *component {
	return &component{name: name, binary: binary, log: log, args: args, stopCh: make(chan struct{}), done: make(chan struct{})}
}

// supervise runs the process until stop, starting it again when it exits.
func (c *component) supervise(ctx context.Context) {
	defer close(c.done)
	log := ctrl.LoggerFrom(ctx).WithValues("component", c.name)
	delay := componentRestartDelay
	for {
		c.mu.Lock()
		if c.stopped {
			c.mu.Unlock()
			return
		}
		if c.proc != nil {
			c.restarts++
		}
		p, err := startProcess(c.name, c.binary, c.log, c.args)
		c.proc, c.started = p, time.Now()
		c.mu.Unlock()
		if err != nil {
			// A missing binary leaves the cluster without the component, not
			// without its API server; the log says why.
			log.Error(err, "Cannot start a workload control-plane component", "log", c.log)
			appendLog(c.log, err.Error())
		} else {
			select {
			case <-p.done:
				c.mu.Lock()
				c.lastExit = p.exit()
				c.mu.Unlock()
				log.Info("A workload control-plane component exited; starting it again", "after", delay, "error", p.err, "log", c.log)
			case <-c.stopCh:
				return
			}
		}
		select {
		case <-time.After(delay):
		case <-c.stopCh:
			return
		}
		delay = min(2*delay, componentMaxRestartDelay)
	}
}

// stop ends the component and its supervision.
func (c *component) stop() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		<-c.done
		return
	}
	c.stopped = true
	p := c.proc
	close(c.stopCh)
	c.mu.Unlock()
	if p != nil {
		p.stop()
	}
	<-c.done
}

// state is the component's process as its mirror Pod reports it; ready
// while it runs, as kubeadm's manifests give the controller-manager and the
// scheduler no readiness probe.
func (c *component) state() staticPodState {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := staticPodState{restarts: c.restarts, lastExit: c.lastExit}
	if c.proc != nil {
		if ended, _ := c.proc.exited(); !ended {
			st.running, st.ready, st.started = true, true, c.started
		}
	}
	return st
}

// rss is the component's resident set size in bytes; 0 when not running.
func (c *component) rss() int64 {
	c.mu.Lock()
	p := c.proc
	c.mu.Unlock()
	if p == nil {
		return 0
	}
	return p.rss()
}

// appendLog adds a line to a component's log, for what happens outside it.
func appendLog(file, line string) {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer func() { _ = f.Close() }()
	_, _ = fmt.Fprintf(f, "podcluster-sim: %s: %s\n", time.Now().Format(time.RFC3339), line)
}

// componentUsers are the users kubeadm gives the components, whose roles the
// API server's bootstrap RBAC policy binds, and their kubeconfig files.
var componentUsers = map[string]struct{ user, kubeconfig string }{
	ControllerManager: {"system:kube-controller-manager", "controller-manager.conf"},
	Scheduler:         {"system:kube-scheduler", "scheduler.conf"},
}

// writeComponentKubeconfig writes the kubeconfig of a component into the
// Pod's scratch directory, with a client certificate of its user signed by
// the cluster CA, as kubeadm writes /etc/kubernetes/<component>.conf.
func (s *workloadAPIServer) writeComponentKubeconfig(name string) (string, error) {
	u := componentUsers[name]
	cert, err := s.ca.Sign(pki.CertOptions{
		CommonName: u.user,
		Usages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		Algorithm:  pki.ECDSAP256,
	})
	if err != nil {
		return "", fmt.Errorf("signing the client certificate of %s: %w", name, err)
	}
	data, err := kubeconfig.Write(kubeconfig.Config{
		ClusterName: s.cluster.Name, Server: "https://" + net.JoinHostPort(s.host, strconv.Itoa(s.port)), CAPEM: s.ca.CertPEM,
		UserName: u.user, ClientCertPEM: cert.CertPEM, ClientKeyPEM: cert.KeyPEM,
	})
	if err != nil {
		return "", fmt.Errorf("writing the kubeconfig of %s: %w", name, err)
	}
	file := filepath.Join(s.dir, u.kubeconfig)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		return "", fmt.Errorf("writing the kubeconfig of %s: %w", name, err)
	}
	return file, nil
}

// controllerManagerArgs are the flags of kubeadm's kube-controller-manager
// manifest that matter here, and the node lifecycle controller's periods.
// With leaderElect, one instance per control-plane node (a stacked control
// plane) elects the one that works, as kubeadm's do.
func controllerManagerArgs(kubeconfigFile, root, clusterName string, grace, period time.Duration, leaderElect bool) []string {
	pkiDir := filepath.Join(root, "etc", "kubernetes", "pki")
	if clusterName == "" {
		clusterName = "kubernetes"
	}
	return []string{
		"--kubeconfig=" + kubeconfigFile,
		"--authentication-kubeconfig=" + kubeconfigFile,
		"--authorization-kubeconfig=" + kubeconfigFile,
		"--cluster-name=" + clusterName,
		"--service-account-private-key-file=" + filepath.Join(pkiDir, "sa.key"),
		"--root-ca-file=" + filepath.Join(pkiDir, "ca.crt"),
		"--cluster-signing-cert-file=" + filepath.Join(pkiDir, "ca.crt"),
		"--cluster-signing-key-file=" + filepath.Join(pkiDir, "ca.key"),
		// Each controller with its own service account and bootstrap role.
		"--use-service-account-credentials=true",
		"--controllers=*,bootstrapsigner,tokencleaner",
		"--leader-elect=" + strconv.FormatBool(leaderElect),
		// Nothing scrapes it, and workload clusters would contend for ports.
		"--secure-port=0",
		"--node-monitor-grace-period=" + grace.String(),
		"--node-monitor-period=" + period.String(),
	}
}

// schedulerArgs are the flags of kubeadm's kube-scheduler manifest that
// matter here; leaderElect as for the controller-manager.
func schedulerArgs(kubeconfigFile string, leaderElect bool) []string {
	return []string{
		"--kubeconfig=" + kubeconfigFile,
		"--authentication-kubeconfig=" + kubeconfigFile,
		"--authorization-kubeconfig=" + kubeconfigFile,
		"--leader-elect=" + strconv.FormatBool(leaderElect),
		"--secure-port=0",
	}
}

// startComponents starts the workload control plane around a serving API
// server: the configured components, the report of its node's static Pods
// (see staticPodReporter) and, when the cluster has none yet, the kubelets'
// part for the cluster's Pods. It does so once; a stopped server starts
// nothing.
//
// Which API servers run components: with a stacked control plane every
// control-plane node runs its own controller-manager and scheduler against
// its own API server, with leader election, as kubeadm lays them out, so
// that the cluster keeps them when any node goes (a rollout replaces every
// node). That costs about 155 MiB per node more than one pair per cluster,
// which only clusters that asked for etcd.local pay. Otherwise the one API
// server of the cluster (the init node's) runs the only pair, without an
// election.
func (r *Runtime) startComponents(ctx context.Context, s *workloadAPIServer) error {
	s.mu.Lock()
	if s.stopped || s.componentsStarted {
		s.mu.Unlock()
		return nil
	}
	log := ctrl.LoggerFrom(ctx)
	elect := s.stacked()
	for _, name := range r.Components {
		file, err := s.writeComponentKubeconfig(name)
		if err != nil {
			s.mu.Unlock()
			return err
		}
		args := schedulerArgs(file, elect)
		if name == ControllerManager {
			args = controllerManagerArgs(file, s.root, s.kubeadm.ClusterName, r.NodeMonitorGracePeriod, r.NodeMonitorPeriod, elect)
		}
		c := newComponent(name, r.binary(name), filepath.Join(s.dir, name+".log"), args)
		log.Info("Starting a workload control-plane component", "component", name, "leaderElection", elect, "log", c.log)
		// The component outlives the reconcile that starts it.
		go c.supervise(ctrl.LoggerInto(context.Background(), log))
		s.components = append(s.components, c)
	}
	cs, err := kubernetes.NewForConfig(s.kubeletConfig())
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("connecting to the workload cluster: %w", err)
	}
	s.componentsStarted = true
	if s.node != "" {
		s.reporter = newStaticPodReporter(r, s, cs, log)
		go s.reporter.run()
	}
	s.mu.Unlock()
	return r.ensurePodKubelet(ctx, s.cluster)
}

// ensurePodKubelet makes sure one serving API server of the cluster carries
// the kubelets' part for the cluster's Pods (podKubelet), the init node's by
// preference: when the one that carried it stops (its node is deleted), the
// next call starts it next to another. The heartbeat loop calls it every
// round, so the Pods are looked after again within a heartbeat.
func (r *Runtime) ensurePodKubelet(ctx context.Context, cluster types.NamespacedName) error {
	r.podKubeletMu.Lock()
	defer r.podKubeletMu.Unlock()
	servers := r.servers.allFor(cluster)
	for _, s := range servers {
		s.mu.Lock()
		carries := s.pods != nil && !s.stopped
		s.mu.Unlock()
		if carries {
			return nil
		}
	}
	for _, s := range servers {
		s.mu.Lock()
		if s.stopped || !s.componentsStarted || s.pods != nil {
			s.mu.Unlock()
			continue
		}
		cs, err := kubernetes.NewForConfig(s.endpointConfig())
		if err != nil {
			s.mu.Unlock()
			return fmt.Errorf("connecting to the workload cluster %s: %w", cluster, err)
		}
		ctrl.LoggerFrom(ctx).V(1).Info("Playing the kubelets of the workload cluster's Pods next to an API server", "cluster", cluster, "node", s.node)
		s.pods = newPodKubelet(r, s.cluster, cs, ctrl.LoggerFrom(ctx))
		s.pods.start()
		s.mu.Unlock()
		return nil
	}
	return nil
}
