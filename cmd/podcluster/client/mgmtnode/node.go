package mgmtnode

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/internal/kubeconfig"
	"github.com/podcluster/podcluster/internal/pki"
)

// DefaultNodeName is the management Node's name.
const DefaultNodeName = "podcluster-management"

// Timeouts of the node's steps.
const (
	startTimeout   = 2 * time.Minute
	importTimeout  = 5 * time.Minute
	readyTimeout   = 3 * time.Minute
	stopTimeout    = 20 * time.Second
	nodeStopGrace  = 20 * time.Second
	nodeStopSignal = "37" // SIGRTMIN+3: systemd in a node container halts
)

// Options configure a management node.
type Options struct {
	// Dir holds the node's state: containerd's root and state, the kubelet's
	// root, logs and configuration. Kept between runs.
	Dir string
	// NodeName is the Node's name; DefaultNodeName if empty.
	NodeName string
	// Server is the management plane's API server URL, https://127.0.0.1:<port>:
	// inside the node's network namespace the same address reaches it.
	Server string
	// CACertFile and CAKeyFile are the plane's CA; the kubelet's client
	// certificate is signed with it.
	CACertFile, CAKeyFile string
	// Kubelet is the kubelet binary.
	Kubelet string
	// NodeImageDir is the node image's cache folder (hack/node-image): its
	// node-image.tar and image-name, and rootfs.tar, whose preloaded
	// Kubernetes images give the management node its pause image.
	NodeImageDir string
	// ServiceAddr is the plane's kubernetes Service, ClusterIP:port
	// (10.0.0.1:443), where in-cluster clients find the API server
	// (KUBERNETES_SERVICE_HOST). Inside the node's network namespace the
	// ClusterIP is made local and forwards to the plane, so that the node's
	// Pods reach the API server as in any cluster, without kube-proxy. Empty:
	// not served.
	ServiceAddr string
	// Images are more image archives (OCI or Docker, such as the manager
	// image of hack/manager-image) to import into the node's containerd, in
	// the CRI's namespace, on every start.
	Images []string
	// LoadBalancerBase is the first LoadBalancer address (see LoadBalancer);
	// node Pods reach the /16 around it.
	LoadBalancerBase netip.Addr
	// Client reads the plane (the Node's readiness).
	Client client.Client
	// Progress receives one line per step, for people. May be nil.
	Progress io.Writer
	// Log receives the details.
	Log logr.Logger
}

// Node is a running management node.
type Node struct {
	// Name is the Node's name.
	Name string
	// NetnsPath names the node's network namespace while it runs.
	NetnsPath string
	// ContainerdSocket is the node's containerd (CRI and ctr).
	ContainerdSocket string
	// Image is the node image's name, as imported.
	Image string

	opts       Options
	spawner    *spawner
	holder     *process
	containerd *process
	kubelet    *process
	// apiProxies forward to the plane's API server from inside the node's
	// network namespace: at its host address and at the Service's.
	apiProxies []*forwarder
	lock       *hostLock
}

// Start starts the management node and waits until its Node is Ready. On
// error, whatever started is stopped again.
func Start(ctx context.Context, opts Options) (_ *Node, err error) {
	if opts.NodeName == "" {
		opts.NodeName = DefaultNodeName
	}
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if !opts.LoadBalancerBase.Is4() || !opts.LoadBalancerBase.IsLoopback() {
		return nil, fmt.Errorf("the LoadBalancer base %s is not an IPv4 loopback address", opts.LoadBalancerBase)
	}
	if err := checkHost(opts); err != nil {
		return nil, err
	}
	if free, ok := FreeInotifyInstances(); ok && free < InotifyInstancesNeeded {
		fmt.Fprintf(opts.Progress, " • WARNING: only about %d inotify instances are left for root (fs.inotify.max_user_instances); "+
			"a management node with two node Pods needs about %d, and node Pods fail without them\n", free, InotifyInstancesNeeded)
	}
	lock, err := lockHost(opts.Dir)
	if err != nil {
		return nil, err
	}
	n := &Node{Name: opts.NodeName, opts: opts, spawner: newSpawner(), lock: lock,
		ContainerdSocket: filepath.Join(opts.Dir, "containerd", "containerd.sock")}
	defer func() {
		if err != nil {
			if stopErr := n.Stop(); stopErr != nil {
				err = errors.Join(err, stopErr)
			}
		}
	}()
	for _, d := range []string{"containerd", "kubelet", "cni/net.d", "cni/ipam", "cni/bin", "pod-logs", "logs", "pki"} {
		if err := os.MkdirAll(n.path(d), 0o700); err != nil {
			return nil, fmt.Errorf("creating the management node's state: %w", err)
		}
	}
	if err := n.endLeftovers(); err != nil {
		return nil, err
	}
	if err := n.removeCreatedDirs(); err != nil {
		return nil, err
	}

	n.step("Creating the management node's network and mount namespaces")
	if err := n.startNamespaces(ctx); err != nil {
		return nil, err
	}
	if err := n.startAPIProxies(); err != nil {
		return nil, err
	}

	n.step("Starting the management node's containerd")
	if err := n.startContainerd(ctx); err != nil {
		return nil, err
	}
	if err := n.importImages(ctx); err != nil {
		return nil, err
	}

	n.step("Starting the management node's kubelet")
	start := time.Now()
	if err := n.startKubelet(); err != nil {
		return nil, err
	}
	if err := n.waitReady(ctx, start); err != nil {
		return nil, err
	}
	n.step(fmt.Sprintf("  Ready after %s", time.Since(start).Round(100*time.Millisecond)))
	return n, nil
}

// checkHost says what this host lacks to run a management node.
func checkHost(opts Options) error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("a management node needs Linux, not %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return errors.New("a management node needs root (namespaces, mounts, cgroups)")
	}
	var missing []string
	for _, bin := range []string{"containerd", "containerd-shim-runc-v2", "runc", "ctr", "unshare", "nsenter", "ip", "iptables", "mount", "tar"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		missing = append(missing, "/usr/lib/cni/bridge (containernetworking-plugins)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("a management node needs %s (hack/ensure-test-packages.sh installs them)", strings.Join(missing, ", "))
	}
	for _, f := range []string{"node-image.tar", "image-name", "rootfs.tar"} {
		if _, err := os.Stat(filepath.Join(opts.NodeImageDir, f)); err != nil {
			return fmt.Errorf("the node image is not built (%w); run `make node-image`", err)
		}
	}
	if _, err := os.Stat(opts.Kubelet); err != nil {
		return fmt.Errorf("the kubelet (hack/tools/ensure.sh kubelet): %w", err)
	}
	return nil
}

func (n *Node) path(parts ...string) string {
	return filepath.Join(append([]string{n.opts.Dir}, parts...)...)
}

func (n *Node) step(msg string) { fmt.Fprintf(n.opts.Progress, " • %s\n", msg) }

// startNamespaces starts the process that creates and holds the node's
// namespaces, and waits until it has set them up.
func (n *Node) startNamespaces(ctx context.Context) error {
	cmd := exec.Command("unshare", "--net", "--mount", "--propagation", "private", "--",
		"/bin/sh", "-c", namespacesScript, "podcluster-namespaces", n.opts.Dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	proc, err := n.start("namespaces", cmd, false)
	if err != nil {
		return err
	}
	n.holder = proc
	n.NetnsPath = fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid)
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "ready" {
			err = fmt.Errorf("unexpected output %q", line)
		}
		ready <- err
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case err := <-ready:
		if err != nil {
			return fmt.Errorf("setting up the namespaces (log: %s): %w", proc.log.Name(), err)
		}
		return nil
	case <-proc.done:
		return fmt.Errorf("setting up the namespaces failed (log: %s): %w", proc.log.Name(), proc.err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startAPIProxies makes the plane's API server reachable inside the node's
// network namespace: at the same address as on the host, for the kubelet, and
// at the kubernetes Service's ClusterIP:port, for the Pods' in-cluster
// clients. The ClusterIP becomes a local address of the namespace (a route in
// its local table, like LoadBalancerSubnet's): a Pod's packets to it go to
// its gateway, the bridge, and arrive here. The API server's certificate
// names the ClusterIP, so TLS passes through unchanged.
func (n *Node) startAPIProxies() error {
	u, err := url.Parse(n.opts.Server)
	if err != nil {
		return fmt.Errorf("the plane's server %q: %w", n.opts.Server, err)
	}
	addrs := []string{u.Host}
	if n.opts.ServiceAddr != "" {
		ip, _, err := net.SplitHostPort(n.opts.ServiceAddr)
		if err != nil {
			return fmt.Errorf("the kubernetes Service's address %q: %w", n.opts.ServiceAddr, err)
		}
		if out, err := n.nsenter("ip", "route", "add", "local", ip+"/32", "dev", "lo").CombinedOutput(); err != nil {
			return fmt.Errorf("making the kubernetes Service's address %s local in the management node: %w: %s", ip, err, strings.TrimSpace(string(out)))
		}
		addrs = append(addrs, n.opts.ServiceAddr)
	}
	for _, addr := range addrs {
		l, err := listenIn(n.NetnsPath, addr)
		if err != nil {
			return fmt.Errorf("listening on %s in the management node's network namespace: %w", addr, err)
		}
		n.apiProxies = append(n.apiProxies, newForwarder(l, n.opts.Log.WithName("api-proxy").WithValues("listener", addr),
			func(ctx context.Context) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "tcp", u.Host)
			}))
	}
	return nil
}

// nsenter returns a command that runs name inside the node's namespaces.
func (n *Node) nsenter(name string, args ...string) *exec.Cmd {
	pid := strconv.Itoa(n.holder.cmd.Process.Pid)
	return exec.Command("nsenter", append([]string{"--target", pid, "--net", "--mount", "--", name}, args...)...)
}

func (n *Node) startContainerd(ctx context.Context) error {
	dir := n.path("containerd")
	config := n.path("containerd", "config.toml")
	if err := os.WriteFile(config, []byte(containerdConfig(dir, n.path("cni", "bin"), n.path("cni", "net.d"))), 0o600); err != nil {
		return err
	}
	if err := n.writeCNIPlugins(); err != nil {
		return err
	}
	cni, err := cniConfig(n.path("cni", "ipam"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(n.path("cni", "net.d", "10-podcluster.conflist"), cni, 0o600); err != nil {
		return err
	}
	proc, err := n.start("containerd", n.nsenter("containerd", "--config", config), true)
	if err != nil {
		return err
	}
	n.containerd = proc
	if err := n.poll(ctx, proc, startTimeout, "containerd to answer", func(ctx context.Context) (bool, error) {
		_, err := n.ctr(ctx, "version")
		return err == nil, nil
	}); err != nil {
		return err
	}
	// containerd runs on when its CRI plugin fails to load; the kubelet would
	// then only say that the CRI is not implemented.
	out, err := n.ctr(ctx, "plugins", "list")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[0] == "io.containerd.grpc.v1" && f[1] == "cri" && f[len(f)-1] != "ok" {
			return fmt.Errorf("containerd's CRI plugin did not load (%s); its log, %s, says why. Without inotify instances "+
				"left (fs.inotify.max_user_instances counts every process of the user) it fails to watch the CNI configuration",
				f[len(f)-1], proc.log.Name())
		}
	}
	return nil
}

// writeCNIPlugins fills the CNI plugin folder: the Debian plugins (links to
// /usr/lib/cni) and podcluster-loopback.
func (n *Node) writeCNIPlugins() error {
	dir := n.path("cni", "bin")
	plugins, err := os.ReadDir("/usr/lib/cni")
	if err != nil {
		return fmt.Errorf("the CNI plugins (containernetworking-plugins): %w", err)
	}
	for _, p := range plugins {
		link := filepath.Join(dir, p.Name())
		_ = os.Remove(link)
		if err := os.Symlink(filepath.Join("/usr/lib/cni", p.Name()), link); err != nil {
			return err
		}
	}
	script := fmt.Sprintf(loopbackPlugin, LoadBalancerPrefix(n.opts.LoadBalancerBase), LoadBalancerSubnet)
	return os.WriteFile(filepath.Join(dir, loopbackPluginName), []byte(script), 0o700) //nolint:gosec // a plugin must be executable
}

// ctr runs ctr against the node's containerd, in the CRI's namespace.
func (n *Node) ctr(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "ctr", append([]string{"--address", n.ContainerdSocket, "--namespace", "k8s.io"}, args...)...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// startKubelet writes the kubelet's configuration and credentials (a client
// certificate of system:node:<name>, signed by the plane's CA) and starts it.
func (n *Node) startKubelet() error {
	caCert, err := os.ReadFile(n.opts.CACertFile)
	if err != nil {
		return err
	}
	caKey, err := os.ReadFile(n.opts.CAKeyFile)
	if err != nil {
		return err
	}
	ca, err := pki.ParseKeyPair(caCert, caKey)
	if err != nil {
		return fmt.Errorf("reading the plane's CA: %w", err)
	}
	kubeconfigPath := n.path("pki", "kubelet.kubeconfig")
	if _, err := os.Stat(kubeconfigPath); errors.Is(err, os.ErrNotExist) {
		cert, err := ca.Sign(pki.CertOptions{CommonName: "system:node:" + n.Name, Organization: []string{"system:nodes"},
			Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Algorithm: pki.ECDSAP256, Validity: pki.CAValidity})
		if err != nil {
			return err
		}
		data, err := kubeconfig.Write(kubeconfig.Config{ClusterName: "podcluster", Server: n.opts.Server, CAPEM: ca.CertPEM,
			UserName: "system:node:" + n.Name, ClientCertPEM: cert.CertPEM, ClientKeyPEM: cert.KeyPEM})
		if err != nil {
			return err
		}
		if err := os.WriteFile(kubeconfigPath, data, 0o600); err != nil {
			return err
		}
	}
	resolvConf := n.path("kubelet", "resolv.conf")
	if err := os.WriteFile(resolvConf, []byte("nameserver "+NodeIP+"\noptions timeout:1 attempts:1\n"), 0o644); err != nil { //nolint:gosec // read by every node Pod
		return err
	}
	if err := n.ensureCgroupRoot(); err != nil {
		return err
	}
	config := n.path("kubelet", "config.yaml")
	if err := os.WriteFile(config, []byte(kubeletConfig(kubeletInput{
		cgroupRoot:      "/" + n.cgroupRoot(),
		runtimeEndpoint: "unix://" + n.ContainerdSocket,
		podLogsDir:      n.path("pod-logs"),
		resolvConf:      resolvConf,
		clientCAFile:    n.opts.CACertFile,
	})), 0o600); err != nil {
		return err
	}
	proc, err := n.start("kubelet", n.nsenter(n.opts.Kubelet,
		"--config="+config,
		"--kubeconfig="+kubeconfigPath,
		"--root-dir="+n.path("kubelet", "root"),
		"--hostname-override="+n.Name,
		"--node-ip="+NodeIP,
		"--v=2",
	), true)
	if err != nil {
		return err
	}
	n.kubelet = proc
	return nil
}

// waitReady waits until the Node is registered and this kubelet reported it
// Ready: a Node left from an earlier run still says Ready from then, so the
// condition must have been posted since the kubelet started (the API keeps
// whole seconds).
func (n *Node) waitReady(ctx context.Context, since time.Time) error {
	n.step(fmt.Sprintf("Waiting for the management Node %s to be Ready", n.Name))
	since = since.Truncate(time.Second)
	return n.poll(ctx, n.kubelet, readyTimeout, "the management Node to be Ready", func(ctx context.Context) (bool, error) {
		node := &corev1.Node{}
		if err := n.opts.Client.Get(ctx, client.ObjectKey{Name: n.Name}, node); err != nil {
			return false, nil //nolint:nilerr // not registered yet
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionTrue && !c.LastHeartbeatTime.Time.Before(since), nil
			}
		}
		return false, nil
	})
}

// poll checks until check passes, proc exits, or timeout passes.
func (n *Node) poll(ctx context.Context, proc *process, timeout time.Duration, what string, check wait.ConditionWithContextFunc) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		select {
		case <-proc.done:
			return false, fmt.Errorf("%s exited: %w", proc.name, proc.err)
		default:
		}
		return check(ctx)
	})
	if err != nil {
		return fmt.Errorf("waiting for %s (log: %s): %w", what, proc.log.Name(), err)
	}
	return nil
}
