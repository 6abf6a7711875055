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
	"syscall"
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
	apiProxy   *forwarder
}

// process is one child of the node with its log.
type process struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error
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
	n := &Node{Name: opts.NodeName, opts: opts, spawner: newSpawner(),
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
	if err := n.removeCreatedDirs(); err != nil {
		return nil, err
	}

	n.step("Creating the management node's network and mount namespaces")
	if err := n.startNamespaces(ctx); err != nil {
		return nil, err
	}
	if err := n.startAPIProxy(); err != nil {
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
	if err := n.startKubelet(); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := n.waitReady(ctx); err != nil {
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
	for _, bin := range []string{"containerd", "containerd-shim-runc-v2", "runc", "ctr", "unshare", "nsenter", "ip", "mount"} {
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

// startAPIProxy makes the plane's API server reachable inside the node's
// network namespace, at the same address as on the host.
func (n *Node) startAPIProxy() error {
	u, err := url.Parse(n.opts.Server)
	if err != nil {
		return fmt.Errorf("the plane's server %q: %w", n.opts.Server, err)
	}
	l, err := listenIn(n.NetnsPath, u.Host)
	if err != nil {
		return fmt.Errorf("listening on %s in the management node's network namespace: %w", u.Host, err)
	}
	n.apiProxy = newForwarder(l, n.opts.Log.WithName("api-proxy"), func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", u.Host)
	})
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
	return n.poll(ctx, proc, startTimeout, "containerd to answer", func(ctx context.Context) (bool, error) {
		_, err := n.ctr(ctx, "version")
		return err == nil, nil
	})
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

// importImages imports the node image and the Kubernetes images preloaded in
// it (among them the pause image), unless an earlier run did.
func (n *Node) importImages(ctx context.Context) error {
	name, err := os.ReadFile(filepath.Join(n.opts.NodeImageDir, "image-name"))
	if err != nil {
		return err
	}
	n.Image = strings.TrimSpace(string(name))
	ctx, cancel := context.WithTimeout(ctx, importTimeout)
	defer cancel()
	have, err := n.ctr(ctx, "images", "list", "--quiet")
	if err != nil {
		return err
	}
	images := strings.Fields(have)
	if !contains(images, SandboxImage) {
		n.step("Importing the Kubernetes images into the management node")
		start := time.Now()
		if err := n.importPreloaded(ctx); err != nil {
			return err
		}
		n.step(fmt.Sprintf("  imported in %s", time.Since(start).Round(100*time.Millisecond)))
	}
	if !contains(images, n.Image) {
		n.step(fmt.Sprintf("Importing the node image %s into the management node", n.Image))
		start := time.Now()
		if _, err := n.ctr(ctx, "images", "import", filepath.Join(n.opts.NodeImageDir, "node-image.tar")); err != nil {
			return fmt.Errorf("importing the node image: %w", err)
		}
		n.step(fmt.Sprintf("  imported in %s", time.Since(start).Round(100*time.Millisecond)))
	}
	return nil
}

// importPreloaded imports the archive of Kubernetes images the node image
// keeps in /usr/share/podcluster/images, read from rootfs.tar.
func (n *Node) importPreloaded(ctx context.Context) error {
	rootfs := filepath.Join(n.opts.NodeImageDir, "rootfs.tar")
	list, err := exec.CommandContext(ctx, "tar", "-tf", rootfs, "--wildcards", "*usr/share/podcluster/images/*.tar").Output()
	if err != nil {
		return fmt.Errorf("finding the preloaded images in %s: %w", rootfs, err)
	}
	member := strings.TrimSpace(strings.SplitN(string(list), "\n", 2)[0])
	if member == "" {
		return fmt.Errorf("%s holds no preloaded images", rootfs)
	}
	archive := n.path("kubernetes-images.tar")
	defer func() { _ = os.Remove(archive) }()
	out, err := os.Create(archive)
	if err != nil {
		return err
	}
	extract := exec.CommandContext(ctx, "tar", "-xOf", rootfs, member)
	extract.Stdout = out
	err = extract.Run()
	if closeErr := out.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("extracting %s from %s: %w", member, rootfs, err)
	}
	if _, err := n.ctr(ctx, "images", "import", archive); err != nil {
		return fmt.Errorf("importing the preloaded images: %w", err)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
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

func (n *Node) cgroupRoot() string { return CgroupRootPrefix + n.Name }

// cgroupHierarchies are the host's cgroup v1 hierarchies (and the unified one).
func cgroupHierarchies() []string {
	var roots []string
	entries, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range entries {
		p := filepath.Join("/sys/fs/cgroup", e.Name())
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			roots = append(roots, p)
		}
	}
	return roots
}

// ensureCgroupRoot creates the kubelet's cgroup root in every hierarchy (the
// kubelet refuses a root that does not exist). A new cpuset cgroup starts
// without CPUs and memory nodes; it takes its parent's.
func (n *Node) ensureCgroupRoot() error {
	for _, h := range cgroupHierarchies() {
		if _, err := os.Stat(filepath.Join(h, "cgroup.procs")); err != nil {
			continue // not a hierarchy
		}
		d := filepath.Join(h, n.cgroupRoot())
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("creating the cgroup %s: %w", d, err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			parent, err := os.ReadFile(filepath.Join(h, f))
			if err != nil {
				continue
			}
			if cur, _ := os.ReadFile(filepath.Join(d, f)); strings.TrimSpace(string(cur)) == "" {
				if err := os.WriteFile(filepath.Join(d, f), parent, 0o644); err != nil { //nolint:gosec // a cgroup file
					return fmt.Errorf("setting %s of %s: %w", f, d, err)
				}
			}
		}
	}
	return nil
}

// removeCgroupRoot removes the kubelet's cgroup root and everything below it,
// deepest first. Only empty cgroups can be removed: one that still holds a
// process is reported.
func (n *Node) removeCgroupRoot() error {
	var errs []error
	for _, h := range cgroupHierarchies() {
		root := filepath.Join(h, n.cgroupRoot())
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := os.Remove(dirs[i]); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("removing the cgroup %s: %w", dirs[i], err))
			}
		}
	}
	return errors.Join(errs...)
}

// waitReady waits until the Node is registered and Ready.
func (n *Node) waitReady(ctx context.Context) error {
	n.step(fmt.Sprintf("Waiting for the management Node %s to be Ready", n.Name))
	return n.poll(ctx, n.kubelet, readyTimeout, "the management Node to be Ready", func(ctx context.Context) (bool, error) {
		node := &corev1.Node{}
		if err := n.opts.Client.Get(ctx, client.ObjectKey{Name: n.Name}, node); err != nil {
			return false, nil //nolint:nilerr // not registered yet
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionTrue, nil
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

// start starts a child with its output in logs/<name>.log.
func (n *Node) start(name string, cmd *exec.Cmd, logStdout bool) (*process, error) {
	log, err := os.OpenFile(n.path("logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	if logStdout {
		cmd.Stdout = log
	}
	cmd.Stderr = log
	if err := n.spawner.start(cmd); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	n.opts.Log.Info("Started", "process", name, "pid", cmd.Process.Pid)
	proc := &process{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		proc.err = cmd.Wait()
		_ = log.Close()
		close(proc.done)
	}()
	return proc, nil
}

// stop ends the process with sig, then SIGKILL after timeout.
func (proc *process) stop(sig syscall.Signal, timeout time.Duration) error {
	if proc == nil {
		return nil
	}
	select {
	case <-proc.done:
		return nil
	default:
	}
	_ = proc.cmd.Process.Signal(sig)
	select {
	case <-proc.done:
		return nil
	case <-time.After(timeout):
		_ = proc.cmd.Process.Kill()
		<-proc.done
		return fmt.Errorf("%s did not stop within %s and was killed", proc.name, timeout)
	}
}

// Stop stops the node: the kubelet first, so that it restarts nothing; then
// every container (node containers with SIGRTMIN+3, so that their systemd
// halts, then SIGKILL), containerd, and the namespaces, which takes their
// mounts and interfaces with them. Last it removes the Pods' cgroups. The
// state folder stays for the next run; the Pods that ran do not come back
// (their restart policy is Never).
func (n *Node) Stop() error {
	var errs []error
	if n.kubelet != nil {
		n.step("Stopping the management node's kubelet")
		errs = append(errs, n.kubelet.stop(syscall.SIGTERM, stopTimeout))
	}
	if n.containerd != nil {
		n.step("Stopping the management node's containers")
		errs = append(errs, n.stopContainers())
		errs = append(errs, n.containerd.stop(syscall.SIGTERM, stopTimeout))
	}
	if n.apiProxy != nil {
		n.apiProxy.close()
	}
	if n.holder != nil {
		errs = append(errs, n.holder.stop(syscall.SIGKILL, stopTimeout))
	}
	n.spawner.close()
	errs = append(errs, n.removeCgroupRoot(), n.removeCreatedDirs())
	return errors.Join(errs...)
}

// stopContainers stops every task of the node's containerd: node containers
// (of the node image) with SIGRTMIN+3, the rest with SIGTERM; what still runs
// after the grace period gets SIGKILL. Then it deletes the tasks, so that runc
// removes their cgroups.
func (n *Node) stopContainers() error {
	ctx, cancel := context.WithTimeout(context.Background(), nodeStopGrace+time.Minute)
	defer cancel()
	tasks, err := n.tasks(ctx)
	if err != nil {
		return err
	}
	if len(tasks) == 0 {
		return nil
	}
	containers, _ := n.ctr(ctx, "containers", "list")
	for id := range tasks {
		sig := "SIGTERM"
		if n.Image != "" && imageOf(containers, id) == n.Image {
			sig = nodeStopSignal
		}
		_, _ = n.ctr(ctx, "tasks", "kill", "--signal", sig, id)
	}
	deadline := time.Now().Add(nodeStopGrace)
	for time.Now().Before(deadline) {
		if tasks, err = n.tasks(ctx); err != nil || len(tasks) == 0 {
			break
		}
		running := false
		for _, st := range tasks {
			running = running || st != "STOPPED"
		}
		if !running {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	tasks, _ = n.tasks(ctx)
	var errs []error
	for id, st := range tasks {
		if st != "STOPPED" {
			n.opts.Log.Info("Killing a container that did not stop", "container", id)
			_, _ = n.ctr(ctx, "tasks", "kill", "--signal", "SIGKILL", id)
		}
	}
	for id := range tasks {
		if _, err := n.ctr(ctx, "tasks", "delete", "--force", id); err != nil && !strings.Contains(err.Error(), "not found") {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// tasks maps the node's task IDs to their status.
func (n *Node) tasks(ctx context.Context) (map[string]string, error) {
	out, err := n.ctr(ctx, "tasks", "list")
	if err != nil {
		return nil, err
	}
	tasks := map[string]string{}
	for _, line := range strings.Split(out, "\n")[1:] {
		if f := strings.Fields(line); len(f) >= 3 {
			tasks[f[0]] = f[2]
		}
	}
	return tasks, nil
}

// imageOf finds a container's image in `ctr containers list` output.
func imageOf(list, id string) string {
	for _, line := range strings.Split(list, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == id {
			return f[1]
		}
	}
	return ""
}

// removeCreatedDirs removes the host folders an earlier run of the
// namespaces created only to mount on (recorded in created-dirs), when they
// are still empty.
func (n *Node) removeCreatedDirs() error {
	data, err := os.ReadFile(n.path("created-dirs"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if n.holder != nil {
		select {
		case <-n.holder.done:
		default:
			return nil // still mounted on
		}
	}
	for _, d := range strings.Fields(string(data)) {
		if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			n.opts.Log.Info("Could not remove a folder the management node created", "folder", d, "err", err.Error())
		}
	}
	return os.Remove(n.path("created-dirs"))
}

// spawner starts processes from one OS thread that outlives them: a child's
// parent-death signal fires when the thread that forked it ends.
type spawner struct{ starts chan func() }

func newSpawner() *spawner {
	s := &spawner{starts: make(chan func())}
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		for f := range s.starts {
			f()
		}
	}()
	return s
}

// start starts cmd from the spawner's thread. It dies with this process
// (SIGKILL) and leads a process group of its own, so that a Ctrl-C reaches
// only this process, which stops the node in order.
func (s *spawner) start(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	done := make(chan error, 1)
	s.starts <- func() { done <- cmd.Start() }
	return <-done
}

func (s *spawner) close() {
	defer func() { _ = recover() }() // closed twice
	close(s.starts)
}
