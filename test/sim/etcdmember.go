package sim

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/etcd"
	"github.com/podcluster/podcluster/internal/pki"
)

// StopEtcdAnnotation, on a booted control-plane node Pod of a cluster with
// stacked etcd or on its KubernetesMachine, stops the node's etcd member
// (the process ends; its data stays) until the annotation goes, when it is
// started again on its data, as the kubelet restarts a static Pod.
const StopEtcdAnnotation = "sim.podcluster.io/stop-etcd"

const (
	// etcdAddTimeout bounds how long a control-plane join tries to add its
	// member: etcd refuses a member add until its leader has been connected
	// to its peers for a while, and kubeadm retries.
	etcdAddTimeout = time.Minute
	// etcdAddRetry spaces the attempts.
	etcdAddRetry = 500 * time.Millisecond
	// etcdClientFile is the API server's etcd client certificate (and .key),
	// as kubeadm names it.
	etcdClientFile = "apiserver-etcd-client"
)

// etcdMember is a stacked etcd member a control-plane node runs, as kubeadm's
// etcd static Pod: on the node Pod's IP, with its data in the Pod's scratch
// directory (gone with the Pod) and TLS certificates signed by the cluster's
// etcd CA, which the boot wrote to etc/kubernetes/pki/etcd.
type etcdMember struct {
	podKey  string
	podUID  string
	cluster types.NamespacedName
	cfg     etcd.MemberConfig
	binary  string
	log     string

	mu   sync.Mutex
	proc *process
	// started is when the running process started; restarts counts the
	// starts after the first; lastExit is how the last process ended. The
	// etcd mirror Pod's container status says them.
	started  time.Time
	restarts int32
	lastExit *processExit
	ran      bool
}

// start runs the member's process unless it runs.
func (m *etcdMember) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc != nil {
		if ended, _ := m.proc.exited(); !ended {
			return nil
		}
		m.lastExit = m.proc.exit()
	}
	p, err := startProcess("etcd", m.binary, m.log, m.cfg.Args())
	if err != nil {
		return err
	}
	if m.ran {
		m.restarts++
	}
	m.proc, m.started, m.ran = p, time.Now(), true
	return nil
}

// stop ends the member's process; its data stays.
func (m *etcdMember) stop() {
	m.mu.Lock()
	p := m.proc
	m.proc = nil
	m.mu.Unlock()
	if p != nil {
		p.stop()
		m.mu.Lock()
		m.lastExit = p.exit()
		m.mu.Unlock()
	}
}

// state is the member's process as its etcd mirror Pod reports it: ready
// while it runs, as kubeadm's etcd manifest has no readiness probe.
func (m *etcdMember) state() staticPodState {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := staticPodState{restarts: m.restarts, lastExit: m.lastExit}
	if m.proc != nil {
		if ended, _ := m.proc.exited(); ended {
			st.lastExit = m.proc.exit()
		} else {
			st.running, st.ready, st.started = true, true, m.started
		}
	}
	return st
}

// running says whether the member's process runs.
func (m *etcdMember) running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		return false
	}
	ended, _ := m.proc.exited()
	return !ended
}

// etcdMembers are the running stacked members by node Pod (namespace/name).
type etcdMembers struct {
	mu      sync.Mutex
	members map[string]*etcdMember
}

func (e *etcdMembers) get(key string) *etcdMember {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.members[key]
}

// put records the Pod's member; one it replaces is stopped.
func (e *etcdMembers) put(m *etcdMember) {
	e.mu.Lock()
	if e.members == nil {
		e.members = map[string]*etcdMember{}
	}
	old := e.members[m.podKey]
	e.members[m.podKey] = m
	e.mu.Unlock()
	if old != nil && old != m {
		old.stop()
	}
}

// remove stops and forgets the Pod's member, if any.
func (e *etcdMembers) remove(key string) {
	e.mu.Lock()
	m := e.members[key]
	delete(e.members, key)
	e.mu.Unlock()
	if m != nil {
		m.stop()
	}
}

// forCluster are the members of a workload cluster this runtime runs.
func (e *etcdMembers) forCluster(cluster types.NamespacedName) []*etcdMember {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*etcdMember
	for _, m := range e.members {
		if m.cluster == cluster {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *etcdMember) int { return compareStrings(a.podKey, b.podKey) })
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// stopAll stops every member, when the runtime stops.
func (e *etcdMembers) stopAll() {
	e.mu.Lock()
	members := e.members
	e.members = nil
	e.mu.Unlock()
	var wg sync.WaitGroup
	for _, m := range members {
		wg.Go(m.stop)
	}
	wg.Wait()
}

// etcdCA reads the cluster's etcd CA the boot wrote.
func etcdCA(root string) (*pki.KeyPair, error) {
	dir := filepath.Join(root, "etc", "kubernetes", "pki", "etcd")
	cert, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("reading the etcd CA: %w", err)
	}
	key, err := os.ReadFile(filepath.Join(dir, "ca.key"))
	if err != nil {
		return nil, fmt.Errorf("reading the etcd CA key: %w", err)
	}
	ca, err := pki.ParseKeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("parsing the etcd CA: %w", err)
	}
	return ca, nil
}

// memberConfig is the member a node Pod runs: named after its Node, on the
// Pod's IP, its data and certificates in the Pod's scratch directory.
func memberConfig(dir, name, ip string) etcd.MemberConfig {
	return etcd.MemberConfig{
		Name: name, IP: ip,
		DataDir: filepath.Join(dir, "etcd-data"), CertDir: filepath.Join(dir, "etcd-pki"),
	}
}

// startEtcdMember plays kubeadm's local etcd phase on a control-plane node:
// it generates the member's certificates from the cluster's etcd CA and starts
// the member. On init the member founds the cluster; on a join it is first
// added to the cluster through the members this runtime runs for it (a
// member add, as kubeadm join does) and starts with
// initial-cluster-state=existing. It returns the etcd the node's API server
// uses: its own member, with a client certificate of the etcd CA.
func (r *Runtime) startEtcdMember(ctx context.Context, pod *corev1.Pod, dir, root, name string, join bool) (*etcdMember, apiServerEtcd, error) {
	ca, err := etcdCA(root)
	if err != nil {
		return nil, apiServerEtcd{}, err
	}
	cluster := types.NamespacedName{Namespace: pod.Namespace, Name: pod.Labels[clusterv1.ClusterNameLabel]}
	cfg := memberConfig(dir, name, pod.Status.PodIP)
	if err := cfg.WriteCertificates(ca); err != nil {
		return nil, apiServerEtcd{}, err
	}
	backend, err := writeAPIServerEtcdClient(ca, cfg)
	if err != nil {
		return nil, apiServerEtcd{}, err
	}
	if join {
		if cfg.InitialCluster, err = r.addEtcdMember(ctx, ca, cluster, cfg); err != nil {
			return nil, apiServerEtcd{}, err
		}
		cfg.Existing = true
	} else {
		cfg.InitialCluster = []string{cfg.Name + "=" + cfg.PeerURL()}
	}
	m := &etcdMember{
		podKey: client.ObjectKeyFromObject(pod).String(), podUID: string(pod.UID), cluster: cluster,
		cfg: cfg, binary: r.binary("etcd"), log: filepath.Join(dir, "etcd.log"),
	}
	ctrl.LoggerFrom(ctx).Info("Starting a stacked etcd member", "member", name, "clientURL", cfg.ClientURL(), "existing", join, "log", m.log)
	if err := m.start(); err != nil {
		return nil, apiServerEtcd{}, fmt.Errorf("starting the etcd member: %w", err)
	}
	r.etcd.put(m)
	return m, backend, nil
}

// addEtcdMember adds a member at cfg's peer URL to the cluster's etcd and
// returns its --initial-cluster. A member at that URL added earlier and never
// started (a boot that failed after the add) is taken over; one that ran
// before (its data is gone with the earlier boot) is removed and added anew.
func (r *Runtime) addEtcdMember(ctx context.Context, ca *pki.KeyPair, cluster types.NamespacedName, cfg etcd.MemberConfig) ([]string, error) {
	var endpoints []string
	for _, m := range r.etcd.forCluster(cluster) {
		if m.cfg.IP != cfg.IP && m.running() {
			endpoints = append(endpoints, m.cfg.ClientURL())
		}
	}
	if len(endpoints) == 0 {
		return nil, fmt.Errorf("cluster %s has no running etcd member to join", cluster)
	}
	tlsConfig, err := etcd.TLSConfig(ca, "kube-etcd-healthcheck-client")
	if err != nil {
		return nil, err
	}
	c, err := etcd.New(endpoints, tlsConfig)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close() }()
	log := ctrl.LoggerFrom(ctx)
	deadline := time.Now().Add(etcdAddTimeout)
	for {
		id, members, err := addOrReuse(ctx, c, cfg.PeerURL())
		if err == nil {
			log.Info("Added the etcd member", "member", cfg.Name, "id", fmt.Sprintf("%x", id))
			return etcd.InitialCluster(members, id, cfg.Name), nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("adding the etcd member %s to cluster %s: %w", cfg.Name, cluster, err)
		}
		log.Info("The etcd member add was refused; retrying", "member", cfg.Name, "error", err.Error())
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(etcdAddRetry):
		}
	}
}

// addOrReuse adds a member at peerURL, or takes over one added and never
// started.
func addOrReuse(ctx context.Context, c etcd.Client, peerURL string) (uint64, []etcd.Member, error) {
	members, err := c.Members(ctx)
	if err != nil {
		return 0, nil, err
	}
	for _, m := range members {
		if !slices.Contains(m.PeerURLs, peerURL) {
			continue
		}
		if m.Name == "" {
			return m.ID, members, nil
		}
		if err := c.RemoveMember(ctx, m.ID); err != nil {
			return 0, nil, err
		}
	}
	return c.AddMember(ctx, peerURL)
}

// writeAPIServerEtcdClient writes the API server's etcd client certificate,
// signed by the etcd CA as kubeadm's apiserver-etcd-client, next to the
// member's certificates, and returns the API server's etcd settings.
func writeAPIServerEtcdClient(ca *pki.KeyPair, cfg etcd.MemberConfig) (apiServerEtcd, error) {
	kp, err := ca.Sign(pki.CertOptions{
		CommonName: "kube-apiserver-etcd-client",
		Usages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		Algorithm:  pki.ECDSAP256,
	})
	if err != nil {
		return apiServerEtcd{}, fmt.Errorf("signing the API server's etcd client certificate: %w", err)
	}
	certFile := filepath.Join(cfg.CertDir, etcdClientFile+".crt")
	keyFile := filepath.Join(cfg.CertDir, etcdClientFile+".key")
	if err := os.WriteFile(certFile, kp.CertPEM, 0o600); err != nil {
		return apiServerEtcd{}, fmt.Errorf("writing the API server's etcd client certificate: %w", err)
	}
	if err := os.WriteFile(keyFile, kp.KeyPEM, 0o600); err != nil {
		return apiServerEtcd{}, fmt.Errorf("writing the API server's etcd client key: %w", err)
	}
	return apiServerEtcd{
		servers: cfg.ClientURL(),
		caFile:  filepath.Join(cfg.CertDir, etcd.CACertFile), certFile: certFile, keyFile: keyFile,
	}, nil
}

// playEtcdInjection stops the node's member while StopEtcdAnnotation is
// injected, and starts it again once the annotation is gone.
func (r *Runtime) playEtcdInjection(ctx context.Context, key string, podUID string, stopped bool) error {
	m := r.etcd.get(key)
	if m == nil || m.podUID != podUID {
		return nil
	}
	switch {
	case stopped && m.running():
		ctrl.LoggerFrom(ctx).Info("Injected: stopping the etcd member", "member", m.cfg.Name)
		m.stop()
	case !stopped && !m.running():
		ctrl.LoggerFrom(ctx).Info("Starting the etcd member again", "member", m.cfg.Name)
		if err := m.start(); err != nil {
			return fmt.Errorf("starting the etcd member %s again: %w", m.cfg.Name, err)
		}
	default:
		return nil
	}
	// Its mirror Pod says so at once, not at the next report.
	if s := r.servers.get(key); s != nil {
		s.kickReporter()
	}
	return nil
}
