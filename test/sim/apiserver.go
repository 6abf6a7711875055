package sim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/podcluster/podcluster/internal/pki"
)

// workloadAPIServer is a kube-apiserver the runtime started for a workload
// cluster, as kubeadm init would have started its static Pod, with the
// controller-manager and scheduler next to it once it serves.
type workloadAPIServer struct {
	// podUID is the node Pod that runs it; a recreated Pod boots anew.
	podUID string
	// key is the node Pod's namespace/name, set by apiServers.put; node and
	// nodeIP are the name and InternalIP of its Node, whose static Pods it
	// reports (node "" when unknown).
	key, node, nodeIP string
	// cluster is the workload cluster: the Pod's namespace and cluster name.
	cluster types.NamespacedName
	// host and port are where it listens: the endpoint clients use.
	host string
	port int
	// dir is the node Pod's scratch directory, root its boot root.
	dir, root string
	// boot is the boot that started it; its remaining commands are played
	// once the API server is ready, as they run after kubeadm init. Nil for
	// a server brought back by resume.
	boot    *bootResult
	kubeadm *kubeadmConfig
	// ca signs the components' client certificates, as kubeadm does from
	// ca.key on the node.
	ca     *pki.KeyPair
	caPool *x509.CertPool
	// started is when the process started, to give up on one that never serves.
	started time.Time
	// admin is a system:masters client certificate signed by the cluster CA,
	// as kubeadm makes admin.conf from ca.key on the node.
	admin *pki.KeyPair
	log   string
	proc  *process

	mu sync.Mutex
	// stopped is set once stop began: nothing starts after it.
	stopped bool
	// components run once the API server serves; nil before.
	components []*component
	// componentsStarted is set once startComponents ran.
	componentsStarted bool
	// reporter reports the node's static Pods once the components started.
	reporter *staticPodReporter
	// pods plays the kubelets of the cluster's Nodes for its Pods, next to
	// one API server of the cluster at a time (ensurePodKubelet).
	pods *podKubelet
	// join is set on the API server of a control-plane join: the cluster's
	// components and the kubelets of its Pods stay with the init node's.
	join bool
	// etcd is the etcd the API server keeps its data in.
	etcd apiServerEtcd
	// endpoint, on a node of a stacked control plane, is the control-plane
	// endpoint (host:port) whose load balancer routes to this API server
	// once it serves; empty when the API server listens on it itself.
	endpoint string
	// onStop takes the API server from behind its endpoint; set once it is.
	onStop func()
}

// apiServerEtcd is the etcd an API server uses: the runtime's shared one
// under a prefix, or its node's stacked member over TLS.
type apiServerEtcd struct {
	// servers is --etcd-servers.
	servers string
	// prefix is --etcd-prefix; empty keeps the API server's default.
	prefix string
	// caFile, certFile and keyFile are the etcd client TLS files of a
	// stacked member (kubeadm's etcd/ca.crt and apiserver-etcd-client.*).
	caFile, certFile, keyFile string
}

// apiServerArgs are the flags of kubeadm's kube-apiserver manifest that matter
// here. Workload clusters share one etcd under their own prefix.
func apiServerArgs(dir, root string, etcd apiServerEtcd, host string, port int, cfg *kubeadmConfig) []string {
	pkiDir := filepath.Join(root, "etc", "kubernetes", "pki")
	serviceSubnet := cfg.ServiceSubnet
	if serviceSubnet == "" {
		serviceSubnet = "10.96.0.0/12"
	}
	dnsDomain := cfg.DNSDomain
	if dnsDomain == "" {
		dnsDomain = "cluster.local"
	}
	args := []string{
		"--bind-address=" + host,
		"--advertise-address=" + host,
		// The endpoint reconciler refuses loopback addresses, and nothing in
		// the workload cluster routes to the kubernetes Service here anyway.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(dir, "apiserver-certs"),
		"--tls-cert-file=" + filepath.Join(dir, "apiserver.crt"),
		"--tls-private-key-file=" + filepath.Join(dir, "apiserver.key"),
		"--client-ca-file=" + filepath.Join(pkiDir, "ca.crt"),
		"--service-account-key-file=" + filepath.Join(pkiDir, "sa.pub"),
		"--service-account-signing-key-file=" + filepath.Join(pkiDir, "sa.key"),
		"--service-account-issuer=https://kubernetes.default.svc." + dnsDomain,
		"--service-cluster-ip-range=" + serviceSubnet,
		"--etcd-servers=" + etcd.servers,
		"--authorization-mode=Node,RBAC",
		"--enable-bootstrap-token-auth=true",
		"--allow-privileged=true",
	}
	if etcd.prefix != "" {
		args = append(args, "--etcd-prefix="+etcd.prefix)
	}
	if etcd.caFile != "" {
		args = append(args, "--etcd-cafile="+etcd.caFile, "--etcd-certfile="+etcd.certFile, "--etcd-keyfile="+etcd.keyFile)
	}
	return args
}

// startAPIServer starts the workload cluster's kube-apiserver for the node
// Pod podUID, from the files its boot wrote under root, listening on
// host:port and keeping its data in etcd. It returns at once; ready says
// when it serves. The serving certificate is signed afresh on every start
// (for host and, when set, the control-plane endpoint's address
// endpointHost); the CA and service-account keys are the boot's.
func (r *Runtime) startAPIServer(podUID string, cluster types.NamespacedName, dir, root string, cfg *kubeadmConfig, etcd apiServerEtcd, host string, port int, endpointHost string) (*workloadAPIServer, error) {
	if etcd.servers == "" {
		return nil, errors.New("the simulated runtime has no etcd (EtcdURL) for workload API servers")
	}
	pkiDir := filepath.Join(root, "etc", "kubernetes", "pki")
	caCert, err := os.ReadFile(filepath.Join(pkiDir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("kubeadm init: reading the cluster CA: %w", err)
	}
	caKey, err := os.ReadFile(filepath.Join(pkiDir, "ca.key"))
	if err != nil {
		return nil, fmt.Errorf("kubeadm init: reading the cluster CA key: %w", err)
	}
	for _, f := range []string{"sa.key", "sa.pub"} {
		if _, err := os.Stat(filepath.Join(pkiDir, f)); err != nil {
			return nil, fmt.Errorf("kubeadm init: the service account keys are missing: %w", err)
		}
	}
	ca, err := pki.ParseKeyPair(caCert, caKey)
	if err != nil {
		return nil, fmt.Errorf("kubeadm init: parsing the cluster CA: %w", err)
	}
	ips := []net.IP{net.ParseIP(host), net.ParseIP("127.0.0.1")}
	if ip := net.ParseIP(endpointHost); ip != nil {
		ips = append(ips, ip)
	}
	serving, err := ca.Sign(pki.CertOptions{
		CommonName: "kube-apiserver",
		DNSNames:   []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "localhost"},
		IPs:        ips,
		Usages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		Algorithm:  pki.ECDSAP256,
	})
	if err != nil {
		return nil, fmt.Errorf("kubeadm init: signing the serving certificate: %w", err)
	}
	admin, err := ca.Sign(pki.CertOptions{
		CommonName:   "podcluster-sim",
		Organization: []string{"system:masters"},
		Usages:       []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		Algorithm:    pki.ECDSAP256,
	})
	if err != nil {
		return nil, fmt.Errorf("kubeadm init: signing the admin certificate: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "apiserver.crt"), serving.CertPEM, 0o644); err != nil {
		return nil, fmt.Errorf("kubeadm init: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "apiserver.key"), serving.KeyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("kubeadm init: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)

	s := &workloadAPIServer{
		podUID: podUID, cluster: cluster, host: host, port: port, dir: dir, root: root, kubeadm: cfg,
		ca: ca, caPool: pool, admin: admin, started: time.Now(), log: filepath.Join(dir, "kube-apiserver.log"), etcd: etcd,
	}
	s.proc, err = startProcess("kube-apiserver", r.binary("kube-apiserver"), s.log,
		apiServerArgs(dir, root, etcd, host, port, cfg))
	if err != nil {
		return nil, fmt.Errorf("kubeadm init: %w", err)
	}
	return s, nil
}

// binary is the path of one of the Kubernetes binaries the runtime runs.
func (r *Runtime) binary(name string) string {
	if r.BinDir == "" {
		return name
	}
	return filepath.Join(r.BinDir, name)
}

// exited says whether the API server process ended, and how.
func (s *workloadAPIServer) exited() (bool, error) {
	return s.proc.exited()
}

// stop ends the API server with its components, which go first, as they
// would lose their API server anyway.
func (s *workloadAPIServer) stop() {
	s.mu.Lock()
	s.stopped = true
	components, pods, onStop, reporter := s.components, s.pods, s.onStop, s.reporter
	s.mu.Unlock()
	if onStop != nil {
		// The load balancer stops sending clients here first.
		onStop()
	}
	if reporter != nil {
		reporter.stop()
	}
	if pods != nil {
		pods.stop()
	}
	var wg sync.WaitGroup
	for _, c := range components {
		wg.Go(c.stop)
	}
	wg.Wait()
	s.proc.stop()
}

// memory is the resident set size in bytes of each process of the workload
// control plane, by name.
func (s *workloadAPIServer) memory() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int64{"kube-apiserver": s.proc.rss()}
	for _, c := range s.components {
		out[c.name] = c.rss()
	}
	return out
}

// restConfig reaches the API server as a cluster admin.
func (s *workloadAPIServer) restConfig() *rest.Config {
	return &rest.Config{
		Host: "https://" + net.JoinHostPort(s.host, strconv.Itoa(s.port)),
		TLSClientConfig: rest.TLSClientConfig{
			CertData: s.admin.CertPEM, KeyData: s.admin.KeyPEM, CAData: s.ca.CertPEM,
		},
		// The runtime's heartbeats and Pod updates come in bursts.
		QPS: 50, Burst: 100,
	}
}

// stacked says whether the API server is a node's of a stacked control
// plane, on its own etcd member.
func (s *workloadAPIServer) stacked() bool { return s.etcd.caFile != "" }

// endpointConfig reaches the cluster as an admin through its control-plane
// endpoint: with a stacked control plane, the load balancer in front of the
// API servers that serve, so that a client of the cluster does not depend on
// this one node; otherwise this API server, which is the endpoint.
func (s *workloadAPIServer) endpointConfig() *rest.Config {
	cfg := s.restConfig()
	if s.endpoint != "" {
		cfg.Host = "https://" + s.endpoint
	}
	return cfg
}

// kubeletConfig is how the node's kubelet reaches the cluster: its Node,
// Lease and static Pods. It is the control-plane endpoint, as kubeadm writes
// kubelet.conf on a control-plane node without ControlPlaneKubeletLocalMode
// (on by default since kubeadm 1.33, which points it at the node's own API
// server). Chosen so that a node whose etcd member stops goes on reporting,
// and the stop shows as what it is, that node's etcd Pod crash-looping and
// its API server not ready, rather than as the whole Node going silent;
// with local mode the Node would turn Unknown and its Pods' health unknown.
func (s *workloadAPIServer) kubeletConfig() *rest.Config {
	return s.endpointConfig()
}

// ready asks /readyz, as the control plane's readiness probe does.
func (s *workloadAPIServer) ready(ctx context.Context) bool {
	cert, err := tls.X509KeyPair(s.admin.CertPEM, s.admin.KeyPEM)
	if err != nil {
		return false
	}
	hc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.caPool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.restConfig().Host+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// apiServers are the running workload API servers by node Pod (namespace/name).
type apiServers struct {
	mu      sync.Mutex
	servers map[string]*workloadAPIServer
}

func (a *apiServers) get(key string) *workloadAPIServer {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.servers[key]
}

// put records the Pod's API server; one it replaces (an earlier Pod's of the
// same name) is stopped.
func (a *apiServers) put(key string, s *workloadAPIServer) {
	a.mu.Lock()
	if a.servers == nil {
		a.servers = map[string]*workloadAPIServer{}
	}
	old := a.servers[key]
	a.servers[key] = s
	s.key = key
	a.mu.Unlock()
	if old != nil && old != s {
		old.stop()
	}
}

// remove stops and forgets the Pod's API server, if any. It is forgotten
// only once stopped: a stopping API server still writes to etcd, and the
// cluster's cleanup waits for it through forCluster.
func (a *apiServers) remove(key string) {
	a.mu.Lock()
	s := a.servers[key]
	a.mu.Unlock()
	if s == nil {
		return
	}
	s.stop()
	a.mu.Lock()
	if a.servers[key] == s {
		delete(a.servers, key)
	}
	a.mu.Unlock()
}

// forCluster is a running API server of a workload cluster, if any: the
// init node's (which runs the components) when it runs.
func (a *apiServers) forCluster(cluster types.NamespacedName) *workloadAPIServer {
	a.mu.Lock()
	defer a.mu.Unlock()
	var found *workloadAPIServer
	for _, s := range a.servers {
		if s.cluster == cluster && (found == nil || !s.join) {
			found = s
		}
	}
	return found
}

// allFor are the API servers of a workload cluster: the init node's first,
// then by node Pod.
func (a *apiServers) allFor(cluster types.NamespacedName) []*workloadAPIServer {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []*workloadAPIServer
	for _, s := range a.servers {
		if s.cluster == cluster {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(x, y *workloadAPIServer) int {
		if x.join != y.join {
			if !x.join {
				return -1
			}
			return 1
		}
		return compareStrings(x.key, y.key)
	})
	return out
}

// clusters are the workload clusters with an API server.
func (a *apiServers) clusters() []types.NamespacedName {
	a.mu.Lock()
	defer a.mu.Unlock()
	seen := map[types.NamespacedName]bool{}
	var out []types.NamespacedName
	for _, s := range a.servers {
		if !seen[s.cluster] {
			seen[s.cluster] = true
			out = append(out, s.cluster)
		}
	}
	return out
}

// podKubelet is the cluster's running podKubelet, if any.
func (a *apiServers) podKubelet(cluster types.NamespacedName) *podKubelet {
	for _, s := range a.allFor(cluster) {
		s.mu.Lock()
		pods, stopped := s.pods, s.stopped
		s.mu.Unlock()
		if pods != nil && !stopped {
			return pods
		}
	}
	return nil
}

// stopAll stops every API server, when the runtime stops.
func (a *apiServers) stopAll() {
	a.mu.Lock()
	servers := a.servers
	a.servers = nil
	a.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Go(s.stop)
	}
	wg.Wait()
}
