// Package localplane runs a private Kubernetes management plane on loopback:
// etcd, kube-apiserver and kube-controller-manager (and kube-scheduler when
// asked), the binaries hack/tools builds. The controller-manager is there so the plane behaves like a real
// cluster: owner-reference garbage collection, namespace deletion,
// service-account tokens and Service endpoints.
//
// Everything lives under a state directory: the PKI, etcd's data, the chosen
// ports, the process logs and an admin kubeconfig. Starting again with the same
// directory resumes the same cluster: certificates and ports are reused and
// etcd keeps its data.
//
// The processes die with the process that started them, even when it is
// killed: they get SIGKILL as their parent-death signal. A plane that did not
// stop cleanly leaves <state-dir>/processes.json behind, and the next Start on
// the directory ends whatever of that run still runs before it starts etcd.
package localplane

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/podcluster/podcluster/internal/kubeconfig"
	"github.com/podcluster/podcluster/internal/pki"
)

// Options configure a plane.
type Options struct {
	// StateDir holds everything the plane keeps between runs.
	StateDir string
	// BinDir holds etcd, kube-apiserver and kube-controller-manager.
	BinDir string
	// Progress receives one line per step, for people to read. May be nil.
	Progress io.Writer
	// Scheduler adds a kube-scheduler (from BinDir), for planes with Nodes
	// of their own (a management node).
	Scheduler bool
	// EgressSocket, when set, is a Unix socket where the caller serves an
	// HTTP CONNECT proxy (mgmtnode.EgressProxy): the API server sends its
	// traffic to the cluster there (webhooks, which it then dials at their
	// Services' endpoints, and kubelets, at their InternalIP), because this
	// API server, on the host's loopback, has no route to the Pods and Nodes
	// of a management node.
	EgressSocket string
}

// Plane is a running management plane.
type Plane struct {
	// KubeconfigPath is the admin kubeconfig, <state-dir>/kubeconfig.
	KubeconfigPath string
	// Config reaches the API server as a cluster admin.
	Config *rest.Config
	// EtcdURL is the plane's etcd, which workload API servers of the
	// simulated runtime share under their own key prefixes.
	EtcdURL string
	// BinDir holds the Kubernetes binaries the plane runs.
	BinDir string

	opts  Options
	procs []*process
	// spawner starts procs from a thread of its own; nil once stopped.
	spawner *spawner
}

// The plane's Service network. The API server serves the kubernetes Service
// at ServiceIP:443 (its certificate names that address), but no endpoint is
// published and nothing routes the range: a management node makes ServiceIP
// reach the API server for its Pods (mgmtnode).
const (
	// ServiceCIDR is --service-cluster-ip-range.
	ServiceCIDR = "10.0.0.0/24"
	// ServiceIP is the kubernetes Service's ClusterIP, the range's first address.
	ServiceIP = "10.0.0.1"
	// ServiceAddr is where in-cluster clients find the API server
	// (KUBERNETES_SERVICE_HOST and _PORT): ServiceIP, on the Service's port.
	ServiceAddr = ServiceIP + ":443"
)

// ports are chosen once and kept in <state-dir>/ports.json.
type ports struct {
	EtcdClient int `json:"etcdClient"`
	EtcdPeer   int `json:"etcdPeer"`
	APIServer  int `json:"apiServer"`
}

// leftoverTimeout bounds the wait for an earlier run's processes to go and
// free the plane's ports.
const leftoverTimeout = 30 * time.Second

// Start starts the plane and waits until it serves requests and the
// controller-manager works. The caller owns the state directory (see Claim):
// processes of an earlier run on it are ended first. On error, whatever
// started is stopped again.
func Start(ctx context.Context, opts Options) (_ *Plane, err error) {
	// Absolute, so that the processes' arguments name the state directory
	// wherever they run, and a later run finds them by it.
	if opts.StateDir, err = filepath.Abs(opts.StateDir); err != nil {
		return nil, fmt.Errorf("resolving the state dir: %w", err)
	}
	p := &Plane{opts: opts, KubeconfigPath: filepath.Join(opts.StateDir, "kubeconfig"), BinDir: opts.BinDir, spawner: newSpawner()}
	defer func() {
		if err != nil {
			_ = p.Stop()
		}
	}()
	for _, bin := range []string{"etcd", "kube-apiserver", "kube-controller-manager"} {
		if _, err := os.Stat(filepath.Join(opts.BinDir, bin)); err != nil {
			return nil, fmt.Errorf("%s not found in %s (run hack/tools/ensure.sh): %w", bin, opts.BinDir, err)
		}
	}
	for _, dir := range []string{"pki", "etcd", "logs"} {
		if err := os.MkdirAll(filepath.Join(opts.StateDir, dir), 0o700); err != nil {
			return nil, fmt.Errorf("creating state dir: %w", err)
		}
	}
	pt, err := p.loadOrPickPorts()
	if err != nil {
		return nil, err
	}
	p.step("Preparing certificates")
	if err := p.ensurePKI(pt); err != nil {
		return nil, err
	}
	if err := p.endLeftovers(ctx, pt); err != nil {
		return nil, err
	}

	p.step("Starting etcd")
	if err := p.startEtcd(ctx, pt); err != nil {
		return nil, err
	}
	p.step("Starting kube-apiserver")
	if err := p.startAPIServer(ctx, pt); err != nil {
		return nil, err
	}
	p.step("Starting kube-controller-manager")
	if err := p.startControllerManager(ctx); err != nil {
		return nil, err
	}
	if opts.Scheduler {
		p.step("Starting kube-scheduler")
		if err := p.startScheduler(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Stop stops every process the plane started, newest first, and waits for
// them. Then it kills any server still working on the state directory's
// files, such as a workload API server the simulated runtime left behind,
// so that nothing outlives the plane.
func (p *Plane) Stop() error {
	var errs []error
	for i := len(p.procs) - 1; i >= 0; i-- {
		errs = append(errs, p.procs[i].stop())
	}
	p.procs = nil
	if p.spawner != nil {
		p.spawner.close()
		p.spawner = nil
	}
	if left, err := endLeftovers(context.Background(), p.opts.StateDir, leftoverTimeout); err != nil {
		errs = append(errs, err)
	} else if len(left) > 0 {
		p.step(fmt.Sprintf("Killed what was left running: %s", describe(left)))
	}
	if err := writeRecords(p.opts.StateDir, nil); err != nil {
		errs = append(errs, fmt.Errorf("removing %s: %w", processesFile, err))
	}
	return errors.Join(errs...)
}

// endLeftovers ends the processes an earlier run on the state directory left
// running, and waits until the plane's ports are free.
func (p *Plane) endLeftovers(ctx context.Context, pt ports) error {
	left, err := endLeftovers(ctx, p.opts.StateDir, leftoverTimeout)
	if len(left) > 0 {
		p.step(fmt.Sprintf("Killed what an earlier run left running: %s", describe(left)))
	}
	if err != nil {
		return err
	}
	return waitForPorts(ctx, pt, leftoverTimeout)
}

// Wait blocks until one of the plane's processes exits, and says which.
func (p *Plane) Wait(ctx context.Context) error {
	exited := make(chan error, len(p.procs))
	for _, proc := range p.procs {
		go func() {
			<-proc.done
			exited <- fmt.Errorf("%s exited: %w (log: %s)", proc.name, proc.err, proc.logPath)
		}()
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-exited:
		return err
	}
}

func (p *Plane) step(msg string) {
	if p.opts.Progress != nil {
		fmt.Fprintf(p.opts.Progress, " • %s\n", msg)
	}
}

func (p *Plane) path(parts ...string) string {
	return filepath.Join(append([]string{p.opts.StateDir}, parts...)...)
}

func (p *Plane) loadOrPickPorts() (ports, error) {
	var pt ports
	file := p.path("ports.json")
	data, err := os.ReadFile(file)
	if err == nil {
		if err := json.Unmarshal(data, &pt); err != nil {
			return pt, fmt.Errorf("reading %s: %w", file, err)
		}
		return pt, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return pt, err
	}
	free := make([]int, 3)
	for i := range free {
		if free[i], err = freePort(); err != nil {
			return pt, err
		}
	}
	pt = ports{EtcdClient: free[0], EtcdPeer: free[1], APIServer: free[2]}
	data, _ = json.Marshal(pt)
	return pt, os.WriteFile(file, data, 0o600)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ensurePKI creates the CA, the API server's serving certificate, the
// service-account key pair and the kubeconfigs, unless they exist already.
func (p *Plane) ensurePKI(pt ports) error {
	caCert, caKey := p.path("pki", "ca.crt"), p.path("pki", "ca.key")
	var ca *pki.KeyPair
	if certPEM, err := os.ReadFile(caCert); err == nil {
		keyPEM, err := os.ReadFile(caKey)
		if err != nil {
			return fmt.Errorf("reading %s: %w", caKey, err)
		}
		if ca, err = pki.ParseKeyPair(certPEM, keyPEM); err != nil {
			return fmt.Errorf("reading the plane's CA: %w", err)
		}
	} else {
		var err error
		if ca, err = pki.NewCA("podcluster-management", pki.ECDSAP256, pki.CAValidity); err != nil {
			return err
		}
		if err := writePair(caCert, caKey, ca.CertPEM, ca.KeyPEM); err != nil {
			return err
		}
	}

	server := fmt.Sprintf("https://127.0.0.1:%d", pt.APIServer)
	if _, err := os.Stat(p.path("pki", "apiserver.crt")); errors.Is(err, os.ErrNotExist) {
		serving, err := ca.Sign(pki.CertOptions{
			CommonName: "kube-apiserver",
			DNSNames:   []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
			IPs:        []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(ServiceIP)},
			Usages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			Algorithm:  pki.ECDSAP256,
			Validity:   pki.CAValidity,
		})
		if err != nil {
			return err
		}
		if err := writePair(p.path("pki", "apiserver.crt"), p.path("pki", "apiserver.key"), serving.CertPEM, serving.KeyPEM); err != nil {
			return err
		}
	}
	// The API server's client certificate for kubelets (logs, exec), which
	// trust the plane's CA; system:masters may do anything there.
	if _, err := os.Stat(p.path("pki", "apiserver-kubelet-client.crt")); errors.Is(err, os.ErrNotExist) {
		client, err := ca.Sign(pki.CertOptions{CommonName: "kube-apiserver-kubelet-client", Organization: []string{"system:masters"},
			Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Algorithm: pki.ECDSAP256, Validity: pki.CAValidity})
		if err != nil {
			return err
		}
		if err := writePair(p.path("pki", "apiserver-kubelet-client.crt"), p.path("pki", "apiserver-kubelet-client.key"), client.CertPEM, client.KeyPEM); err != nil {
			return err
		}
	}
	if _, err := os.Stat(p.path("pki", "sa.key")); errors.Is(err, os.ErrNotExist) {
		priv, pub, err := pki.NewServiceAccountKey()
		if err != nil {
			return err
		}
		if err := writePair(p.path("pki", "sa.pub"), p.path("pki", "sa.key"), pub, priv); err != nil {
			return err
		}
	}
	for _, kc := range []struct{ file, user string }{
		{p.KubeconfigPath, "podcluster-admin"},
		{p.path("pki", "controller-manager.kubeconfig"), "system:kube-controller-manager"},
		{p.path("pki", "scheduler.kubeconfig"), "system:kube-scheduler"},
	} {
		if _, err := os.Stat(kc.file); err == nil {
			continue
		}
		org := []string{"system:masters"}
		if kc.user != "podcluster-admin" {
			org = nil // its own RBAC role binds the user name
		}
		client, err := ca.Sign(pki.CertOptions{CommonName: kc.user, Organization: org,
			Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Algorithm: pki.ECDSAP256, Validity: pki.CAValidity})
		if err != nil {
			return err
		}
		data, err := kubeconfig.Write(kubeconfig.Config{ClusterName: "podcluster", Server: server, CAPEM: ca.CertPEM,
			UserName: kc.user, ClientCertPEM: client.CertPEM, ClientKeyPEM: client.KeyPEM})
		if err != nil {
			return err
		}
		if err := os.WriteFile(kc.file, data, 0o600); err != nil {
			return fmt.Errorf("writing %s: %w", kc.file, err)
		}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", p.KubeconfigPath)
	if err != nil {
		return fmt.Errorf("loading %s: %w", p.KubeconfigPath, err)
	}
	if cfg.Host != server {
		return fmt.Errorf("%s points at %s, but the plane serves %s: remove the state dir or fix ports.json", p.KubeconfigPath, cfg.Host, server)
	}
	cfg.QPS, cfg.Burst = 200, 400
	p.Config = cfg
	return nil
}

func writePair(certFile, keyFile string, certPEM, keyPEM []byte) error {
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", keyFile, err)
	}
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil { //nolint:gosec // a certificate is public
		return fmt.Errorf("writing %s: %w", certFile, err)
	}
	return nil
}

func (p *Plane) startEtcd(ctx context.Context, pt ports) error {
	client := fmt.Sprintf("http://127.0.0.1:%d", pt.EtcdClient)
	peer := fmt.Sprintf("http://127.0.0.1:%d", pt.EtcdPeer)
	p.EtcdURL = client
	if err := p.run("etcd",
		"--name=podcluster",
		"--data-dir="+p.path("etcd"),
		"--listen-client-urls="+client,
		"--advertise-client-urls="+client,
		"--listen-peer-urls="+peer,
		"--initial-advertise-peer-urls="+peer,
		"--initial-cluster=podcluster="+peer,
		"--quota-backend-bytes=8589934592",
	); err != nil {
		return err
	}
	return p.waitFor(ctx, "etcd", func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, client+"/health", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

func (p *Plane) startAPIServer(ctx context.Context, pt ports) error {
	var extra []string
	// A debugging aid for write counts (bench/README.md): with an audit
	// policy, the management API server logs each request to audit.log in
	// the plane's state folder.
	if pol := os.Getenv("PODCLUSTER_DEBUG_AUDIT_POLICY"); pol != "" {
		extra = []string{"--audit-policy-file=" + pol, "--audit-log-path=" + p.path("audit.log"), "--audit-log-format=json"}
	}
	if p.opts.EgressSocket != "" {
		config := p.path("egress-selector.yaml")
		if err := os.WriteFile(config, []byte(egressSelectorConfig(p.opts.EgressSocket)), 0o600); err != nil {
			return err
		}
		extra = append(extra, "--egress-selector-config-file="+config,
			// Webhooks at their Services' endpoints: no kube-proxy serves
			// ClusterIPs here.
			"--enable-aggregator-routing=true",
			// A management node's Hostname means nothing to this host.
			"--kubelet-preferred-address-types=InternalIP,Hostname")
	}
	if err := p.run("kube-apiserver", append([]string{
		"--etcd-servers=" + fmt.Sprintf("http://127.0.0.1:%d", pt.EtcdClient),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// A server bound to loopback cannot publish itself as the kubernetes
		// Service's endpoint.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(pt.APIServer),
		"--cert-dir=" + p.path("pki"),
		"--tls-cert-file=" + p.path("pki", "apiserver.crt"),
		"--tls-private-key-file=" + p.path("pki", "apiserver.key"),
		"--client-ca-file=" + p.path("pki", "ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.path("pki", "sa.pub"),
		"--service-account-signing-key-file=" + p.path("pki", "sa.key"),
		"--service-cluster-ip-range=" + ServiceCIDR,
		// Node lets a management node's kubelet (system:node:<name>) read what
		// its Pods need and nothing else.
		"--authorization-mode=Node,RBAC",
		"--kubelet-client-certificate=" + p.path("pki", "apiserver-kubelet-client.crt"),
		"--kubelet-client-key=" + p.path("pki", "apiserver-kubelet-client.key"),
		"--allow-privileged=true",
	}, extra...)...); err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(p.Config)
	if err != nil {
		return err
	}
	return p.waitFor(ctx, "kube-apiserver", func(ctx context.Context) (bool, error) {
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", nil
	})
}

// egressSelectorConfig sends the API server's traffic to the cluster through
// the HTTP CONNECT proxy on the Unix socket; the rest (etcd, its own loopback)
// goes direct.
func egressSelectorConfig(socket string) string {
	return fmt.Sprintf(`apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: %q
`, socket)
}

func (p *Plane) startControllerManager(ctx context.Context) error {
	if err := p.run("kube-controller-manager",
		"--kubeconfig="+p.path("pki", "controller-manager.kubeconfig"),
		"--authentication-kubeconfig="+p.path("pki", "controller-manager.kubeconfig"),
		"--authorization-kubeconfig="+p.path("pki", "controller-manager.kubeconfig"),
		"--bind-address=127.0.0.1",
		"--secure-port=0",
		"--leader-elect=false",
		// Each controller uses its own service account and bootstrap RBAC role, as
		// on a kubeadm cluster; the controller-manager's own identity is too narrow.
		"--use-service-account-credentials=true",
		"--service-account-private-key-file="+p.path("pki", "sa.key"),
		"--root-ca-file="+p.path("pki", "ca.crt"),
		"--cluster-signing-cert-file="+p.path("pki", "ca.crt"),
		"--cluster-signing-key-file="+p.path("pki", "ca.key"),
	); err != nil {
		return err
	}
	// The service-account controller creates "default" in every namespace: once
	// it exists, the controller-manager is reconciling.
	cs, err := kubernetes.NewForConfig(p.Config)
	if err != nil {
		return err
	}
	return p.waitFor(ctx, "kube-controller-manager", func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(corev1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, nil
	})
}

// startScheduler starts kube-scheduler with its own identity. It binds Pods
// from the first scheduling loop on, so there is nothing to wait for.
func (p *Plane) startScheduler() error {
	kc := p.path("pki", "scheduler.kubeconfig")
	return p.run("kube-scheduler",
		"--kubeconfig="+kc,
		"--authentication-kubeconfig="+kc,
		"--authorization-kubeconfig="+kc,
		"--bind-address=127.0.0.1",
		"--secure-port=0",
		"--leader-elect=false",
	)
}

// waitFor polls until check passes, the process dies, or two minutes pass.
func (p *Plane) waitFor(ctx context.Context, name string, check wait.ConditionWithContextFunc) error {
	proc := p.procs[len(p.procs)-1]
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		select {
		case <-proc.done:
			return false, fmt.Errorf("%s exited: %w", name, proc.err)
		default:
		}
		return check(ctx)
	})
	if err != nil {
		return fmt.Errorf("waiting for %s (log: %s): %w", name, proc.logPath, err)
	}
	return nil
}

// process is one child process with its log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	log     *os.File
	done    chan struct{}
	err     error
}

func (p *Plane) run(name string, args ...string) error {
	logPath := p.path("logs", name+".log")
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening %s: %w", logPath, err)
	}
	cmd := exec.Command(filepath.Join(p.opts.BinDir, name), args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := p.spawner.start(cmd); err != nil {
		_ = log.Close()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	proc := &process{name: name, cmd: cmd, logPath: logPath, log: log, done: make(chan struct{})}
	go func() {
		proc.err = cmd.Wait()
		_ = log.Close()
		close(proc.done)
	}()
	p.procs = append(p.procs, proc)
	return p.record()
}

// record writes the running processes to processesFile.
func (p *Plane) record() error {
	records := make([]record, 0, len(p.procs))
	for _, proc := range p.procs {
		pid := proc.cmd.Process.Pid
		st, err := readStat(pid)
		if err != nil {
			// It exited already; waitFor says so.
			continue
		}
		records = append(records, record{Name: proc.name, PID: pid, Start: st.start})
	}
	if err := writeRecords(p.opts.StateDir, records); err != nil {
		return fmt.Errorf("recording the plane's processes: %w", err)
	}
	return nil
}

// stop asks the process to end with SIGTERM and kills it after 15 seconds.
func (proc *process) stop() error {
	select {
	case <-proc.done:
		return nil
	default:
	}
	_ = proc.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-proc.done:
		return nil
	case <-time.After(15 * time.Second):
		_ = proc.cmd.Process.Kill()
		<-proc.done
		return fmt.Errorf("%s did not stop within 15s and was killed", proc.name)
	}
}
