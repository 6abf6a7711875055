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
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/internal/pki"
)

// workloadAPIServer is a kube-apiserver the runtime started for a workload
// cluster, as kubeadm init would have started its static Pod.
type workloadAPIServer struct {
	// podUID is the node Pod that runs it; a recreated Pod boots anew.
	podUID string
	// host and port are where it listens: the endpoint clients use.
	host string
	port int
	// boot is the boot that started it; its remaining commands are played
	// once the API server is ready, as they run after kubeadm init.
	boot    *bootResult
	kubeadm *kubeadmConfig
	ca      *x509.CertPool
	caPEM   []byte
	// started is when the process started, to give up on one that never serves.
	started time.Time
	// admin is a system:masters client certificate signed by the cluster CA,
	// as kubeadm makes admin.conf from ca.key on the node.
	admin *pki.KeyPair
	log   string

	cmd  *exec.Cmd
	done chan struct{}
	// exitErr is the process's end, valid once done is closed.
	exitErr error
}

// apiServerArgs are the flags of kubeadm's kube-apiserver manifest that matter
// here. Workload clusters share one etcd under their own prefix.
func apiServerArgs(dir, root, etcdURL, prefix, host string, port int, cfg *kubeadmConfig) []string {
	pkiDir := filepath.Join(root, "etc", "kubernetes", "pki")
	serviceSubnet := cfg.ServiceSubnet
	if serviceSubnet == "" {
		serviceSubnet = "10.96.0.0/12"
	}
	dnsDomain := cfg.DNSDomain
	if dnsDomain == "" {
		dnsDomain = "cluster.local"
	}
	return []string{
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
		"--etcd-servers=" + etcdURL,
		"--etcd-prefix=" + prefix,
		"--authorization-mode=Node,RBAC",
		"--enable-bootstrap-token-auth=true",
		"--allow-privileged=true",
	}
}

// startAPIServer starts the workload cluster's kube-apiserver for the node
// Pod whose boot is res, listening on host:port. It returns at once; ready
// says when it serves.
func (r *Runtime) startAPIServer(podUID, dir string, res *bootResult, cfg *kubeadmConfig, prefix, host string, port int) (*workloadAPIServer, error) {
	if r.EtcdURL == "" {
		return nil, errors.New("the simulated runtime has no etcd (EtcdURL) for workload API servers")
	}
	pkiDir := filepath.Join(res.root, "etc", "kubernetes", "pki")
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
	ip := net.ParseIP(host)
	serving, err := ca.Sign(pki.CertOptions{
		CommonName: "kube-apiserver",
		DNSNames:   []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "localhost"},
		IPs:        []net.IP{ip, net.ParseIP("127.0.0.1")},
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
		podUID: podUID, host: host, port: port, boot: res, kubeadm: cfg, ca: pool, caPEM: caCert, admin: admin, started: time.Now(),
		log: filepath.Join(dir, "kube-apiserver.log"), done: make(chan struct{}),
	}
	logFile, err := os.Create(s.log)
	if err != nil {
		return nil, fmt.Errorf("kubeadm init: %w", err)
	}
	binary := "kube-apiserver"
	if r.BinDir != "" {
		binary = filepath.Join(r.BinDir, binary)
	}
	// Not tied to a reconcile's context: the API server outlives it.
	s.cmd = exec.Command(binary, apiServerArgs(dir, res.root, r.EtcdURL, prefix, host, port, cfg)...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("kubeadm init: starting kube-apiserver: %w", err)
	}
	go func() {
		s.exitErr = s.cmd.Wait()
		_ = logFile.Close()
		close(s.done)
	}()
	return s, nil
}

// exited says whether the process ended, and how.
func (s *workloadAPIServer) exited() (bool, error) {
	select {
	case <-s.done:
		return true, s.exitErr
	default:
		return false, nil
	}
}

// stop ends the API server: SIGTERM, then SIGKILL after a grace period.
func (s *workloadAPIServer) stop() {
	if ended, _ := s.exited(); ended {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// restConfig reaches the API server as a cluster admin.
func (s *workloadAPIServer) restConfig() *rest.Config {
	return &rest.Config{
		Host: "https://" + net.JoinHostPort(s.host, strconv.Itoa(s.port)),
		TLSClientConfig: rest.TLSClientConfig{
			CertData: s.admin.CertPEM, KeyData: s.admin.KeyPEM, CAData: s.caPEM,
		},
	}
}

// ready asks /readyz, as the control plane's readiness probe does.
func (s *workloadAPIServer) ready(ctx context.Context) bool {
	cert, err := tls.X509KeyPair(s.admin.CertPEM, s.admin.KeyPEM)
	if err != nil {
		return false
	}
	hc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.ca, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
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

// client is an admin client of the workload cluster.
func (s *workloadAPIServer) client() (client.Client, error) {
	c, err := client.New(s.restConfig(), client.Options{})
	if err != nil {
		return nil, fmt.Errorf("connecting to the workload API server: %w", err)
	}
	return c, nil
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

func (a *apiServers) put(key string, s *workloadAPIServer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.servers == nil {
		a.servers = map[string]*workloadAPIServer{}
	}
	a.servers[key] = s
}

// remove stops and forgets the Pod's API server, if any.
func (a *apiServers) remove(key string) {
	a.mu.Lock()
	s := a.servers[key]
	delete(a.servers, key)
	a.mu.Unlock()
	if s != nil {
		s.stop()
	}
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
