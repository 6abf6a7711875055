// Package up is the `podcluster up` verb: a local management plane on loopback
// with podcluster's CRDs installed, in the foreground until Ctrl-C.
package up

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/cmd/podcluster/client/localplane"
	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/cmd/podcluster/client/mgmtnode"
	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
	"github.com/podcluster/podcluster/cmd/podcluster/client/tools"
	"github.com/podcluster/podcluster/cmd/podcluster/providers"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
	"github.com/podcluster/podcluster/internal/conditions"
	"github.com/podcluster/podcluster/internal/manager"
	"github.com/podcluster/podcluster/internal/scheme"
	"github.com/podcluster/podcluster/test/sim"
)

type options struct {
	stateDir       string
	apply          []string
	namespace      string
	providers      []string
	simulate       string
	runtime        string
	nodeImageDir   string
	loadImages     []string
	wait           time.Duration
	stopWithParent bool
	// lbBase and podIPBase are the first addresses the simulated runtime
	// hands out; two planes side by side need different ones.
	lbBase, podIPBase string
}

// parentPollInterval is how often --stop-with-parent checks the parent.
const parentPollInterval = 500 * time.Millisecond

// NewCommand returns the up verb.
func NewCommand(s streams.IO) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a local management plane with podcluster's APIs",
		Long: `up starts etcd, kube-apiserver and kube-controller-manager on loopback, installs
podcluster's CRDs, optionally applies manifests, and runs in the foreground until
Ctrl-C, SIGTERM or SIGHUP, when it stops everything it started and exits 0; a
second signal stops it at once. Its state (certificates, etcd data, logs, an
admin kubeconfig) lives in --state-dir; running up again resumes the same plane.

The processes up starts die with it even when it is killed, and a later up on
the same --state-dir ends whatever a killed one left running before it starts.

--runtime chooses what runs the infrastructure provider's node Pods. The
default, auto, simulates them when the plane has no Nodes. real (root, Linux)
adds a kube-scheduler to the plane and a management node: containerd and a
kubelet in network and mount namespaces of their own, registered as a Node,
with the node image (make node-image) loaded, so that node Pods boot for real
and run kubeadm. LoadBalancer Services then get 127.x addresses that reach
them from the host and from the node Pods; nothing on the host's network
changes (docs/real-nodes.md). With --providers="" and --load-image of the
manager image (make manager-image), 'podcluster init --image' runs the
providers as Pods of the management node instead, as users deploy them.`,
		Example: `  # Start the plane and apply the seed walkthrough
  podcluster up --apply examples/seed

  # In another terminal
  export KUBECONFIG=~/.podcluster/kubeconfig
  kubectl get clusters,machines

  # Real node Pods on a management node (root)
  podcluster up --runtime=real --state-dir ~/.podcluster-real --apply examples/real

  # The same with the managers as Pods of the management node
  podcluster up --runtime=real --state-dir ~/.podcluster-real --providers="" \
    --load-image "$(hack/manager-image/build.sh)"
  podcluster init --kubeconfig ~/.podcluster-real/kubeconfig \
    --image "$(hack/manager-image/build.sh --print-name | tail -1)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.Context(), s) },
	}
	cmd.Flags().StringVar(&o.stateDir, "state-dir", localplane.DefaultStateDir(), "folder for the plane's certificates, data, logs and kubeconfig")
	cmd.Flags().StringSliceVarP(&o.apply, "apply", "f", nil, "manifest files or folders to apply once the plane is up (repeatable)")
	cmd.Flags().StringVarP(&o.namespace, "namespace", "n", "default", "namespace for applied objects that name none")
	cmd.Flags().DurationVar(&o.wait, "wait", 10*time.Minute, "after --apply, wait this long for the applied Clusters to be Available and list their Nodes; 0 skips")
	cmd.Flags().StringVar(&o.runtime, "runtime", runtimeAuto, "what runs node Pods: "+runtimeReal+" (a management node: containerd and a kubelet in namespaces of their own, and the node image; root, Linux), "+
		runtimeSim+" (the simulated runtime), "+runtimeNone+" (the plane's own Nodes, started elsewhere), or "+runtimeAuto+" ("+runtimeSim+" when the plane has no Nodes, else "+runtimeNone+")")
	cmd.Flags().StringVar(&o.simulate, "simulate", "", "the older form of --runtime, kept working: true is --runtime=sim, false is --runtime=none, auto is --runtime=auto")
	cmd.Flags().StringVar(&o.nodeImageDir, "node-image-dir", "", "with --runtime=real, the node image's folder (default: hack/node-image/build.sh --print-dir of the checkout)")
	cmd.Flags().StringArrayVar(&o.loadImages, "load-image", nil, "with --runtime=real, an image archive (OCI or Docker, such as hack/manager-image/build.sh makes) to import into the management node's containerd (repeatable)")
	cmd.Flags().StringSliceVar(&o.providers, "providers", providers.Names(), "providers to run in-process ("+strings.Join(providers.Names(), ", ")+"); none with --providers=\"\"")
	cmd.Flags().StringVar(&o.lbBase, "sim-loadbalancer-base", envOr(LoadBalancerBaseEnv, sim.DefaultLoopbackBase.String()), "first 127.x.y.z address the simulated runtime, or the management node of --runtime=real, gives LoadBalancer Services (a plane running next to another needs its own; default from $"+LoadBalancerBaseEnv+")")
	cmd.Flags().StringVar(&o.podIPBase, "sim-pod-ip-base", envOr(PodIPBaseEnv, sim.DefaultPodIPBase.String()), "first 127.x.y.z address the simulated runtime gives node Pods (a plane running next to another needs its own; default from $"+PodIPBaseEnv+")")
	cmd.Flags().BoolVar(&o.stopWithParent, "stop-with-parent", false, "stop as on SIGTERM when the process that started up exits (make up uses it)")
	return cmd
}

// The values of --runtime.
const (
	runtimeAuto = "auto"
	runtimeSim  = "sim"
	runtimeReal = "real"
	runtimeNone = "none"
)

// The environment variables that change the defaults of
// --sim-loadbalancer-base and --sim-pod-ip-base, so that planes started by
// tools (the e2e suite, bench/) can run side by side on one host.
const (
	LoadBalancerBaseEnv = "PODCLUSTER_SIM_LOADBALANCER_BASE"
	PodIPBaseEnv        = "PODCLUSTER_SIM_POD_IP_BASE"
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func (o *options) run(parent context.Context, s streams.IO) error {
	if parent == nil {
		parent = context.Background()
	}
	var err error
	if o.stateDir, err = filepath.Abs(o.stateDir); err != nil {
		return fmt.Errorf("resolving --state-dir: %w", err)
	}
	ctx, stop := context.WithCancelCause(parent)
	defer stop(nil)
	defer stopOnSignals(stop, s)()
	if o.stopWithParent {
		go stopWithParent(ctx, stop)
	}

	release, err := localplane.Claim(o.stateDir)
	if err != nil {
		return err
	}
	defer release()

	err = o.serve(ctx, s)
	if ctx.Err() != nil {
		// Asked to stop: whatever the work in progress said, that is no failure.
		fmt.Fprintf(s.ErrOut, "Stopped (%v)\n", context.Cause(ctx))
		return nil
	}
	return err
}

// stopOnSignals stops ctx on SIGINT, SIGTERM or SIGHUP, all the same way. A
// second one kills the process at once, by the signal's default action: the
// plane's processes die with it, and the next up ends what else is left. A
// SIGHUP that was ignored (nohup) stays ignored. It returns a function that
// stops listening.
func stopOnSignals(stop context.CancelCauseFunc, s streams.IO) func() {
	want := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if !signal.Ignored(syscall.SIGHUP) {
		want = append(want, syscall.SIGHUP)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, want...)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		select {
		case sig := <-sigs:
			signal.Reset(want...)
			fmt.Fprintf(s.ErrOut, "\nGot %s: stopping the providers, the runtime and the plane (again to stop at once)\n", sig)
			stop(fmt.Errorf("got %s", sig))
		case <-quit:
		}
	}()
	return func() {
		close(quit)
		<-done
		signal.Stop(sigs)
	}
}

// stopWithParent stops ctx once the process that started this one exits,
// which shows as a new parent PID: make starts up this way, and SIGTERM to
// make ends the shell between them without passing it on (see the Makefile).
func stopWithParent(ctx context.Context, stop context.CancelCauseFunc) {
	ppid := os.Getppid()
	t := time.NewTicker(parentPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if os.Getppid() != ppid {
				stop(fmt.Errorf("the parent process %d exited", ppid))
				return
			}
		}
	}
}

// serve starts the plane, the management node (--runtime=real), the
// providers and the simulated runtime, and runs until ctx ends or a process of
// the plane exits. Then it stops the providers and the runtime (which stops
// the workload API servers or the node Pods), and the plane last.
func (o *options) serve(ctx context.Context, s streams.IO) error {
	rt, err := o.runtimeFlag()
	if err != nil {
		return err
	}
	if err := o.resolveLoadImages(rt); err != nil {
		return err
	}
	fmt.Fprintf(s.ErrOut, "Starting the podcluster management plane in %s\n", o.stateDir)
	binaries := []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}
	if rt == runtimeReal {
		binaries = append(binaries, "kubelet")
	}
	bin, err := tools.EnsureBinDir(s.ErrOut, binaries...)
	if err != nil {
		return err
	}
	planeOpts := localplane.Options{StateDir: o.stateDir, BinDir: bin, Progress: s.ErrOut, Scheduler: rt == runtimeReal}
	var egress *mgmtnode.EgressProxy
	if rt == runtimeReal {
		// Stops after the plane (deferred first).
		if egress, err = o.startEgress(); err != nil {
			return err
		}
		defer egress.Close()
		planeOpts.EgressSocket = egress.Socket
	}
	plane, err := localplane.Start(ctx, planeOpts)
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(s.ErrOut, "Stopping the management plane")
		if err := plane.Stop(); err != nil {
			fmt.Fprintf(s.ErrOut, "ERROR: %v\n", err)
		}
	}()

	c, err := client.New(plane.Config, client.Options{Scheme: scheme.New()})
	if err != nil {
		return err
	}
	if err := o.installCRDs(ctx, s, c); err != nil {
		return err
	}
	var node *mgmtnode.Node
	if rt == runtimeReal {
		var closeLog func()
		if node, closeLog, err = o.startNode(ctx, s, plane, c); err != nil {
			return err
		}
		// The plane's webhooks and kubelet connections reach the node's
		// Pods and kubelet from now on.
		egress.SetNode(node.NetnsPath)
		// After the providers stop, before the plane does.
		defer func() {
			egress.SetNode("")
			if err := node.Stop(); err != nil {
				fmt.Fprintf(s.ErrOut, "ERROR: stopping the management node: %v\n", err)
			}
			closeLog()
		}()
		if err := o.mapNodeImage(ctx, s, c, node.Image); err != nil {
			return err
		}
	}
	// The management node's LoadBalancer controller runs here even without
	// providers: it is the management cluster's, as a cloud's would be.
	if len(o.providers) > 0 || node != nil {
		simulate := rt == runtimeSim
		if rt == runtimeAuto {
			if simulate, err = planeHasNoNodes(ctx, c); err != nil {
				return err
			}
		}
		mgrCtx, stopMgr := context.WithCancel(ctx)
		stopped, err := o.startProviders(mgrCtx, plane, simulate, node)
		if err != nil {
			stopMgr()
			return err
		}
		// Before the plane stops: the runtime's workload API servers use its etcd.
		defer func() {
			fmt.Fprintln(s.ErrOut, "Stopping the providers and the runtime")
			stopMgr()
			<-stopped
		}()
		switch {
		case simulate:
			fmt.Fprintln(s.ErrOut, " • Running the simulated runtime (node Pods boot without a kubelet)")
		case node != nil:
			fmt.Fprintf(s.ErrOut, " • Running node Pods on the management node %s (LoadBalancer addresses from %s)\n", node.Name, o.lbBase)
		}
		if len(o.providers) > 0 {
			fmt.Fprintf(s.ErrOut, " • Running providers %s (log: %s)\n", strings.Join(o.providers, ", "), filepath.Join(o.stateDir, "logs", "providers.log"))
		} else {
			fmt.Fprintf(s.ErrOut, " • Running no provider in-process (--providers=\"\"): deploy them with podcluster init (log: %s)\n",
				filepath.Join(o.stateDir, "logs", "providers.log"))
		}
	}
	if len(o.apply) > 0 {
		objs, err := manifest.ReadPaths(o.apply...)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.ErrOut, " • Applying %d objects from %v\n", len(objs), o.apply)
		applyCtx, cancel := context.WithTimeout(ctx, time.Minute)
		err = manifest.Apply(applyCtx, c, o.namespace, objs...)
		cancel()
		if err != nil {
			return err
		}
		if o.wait > 0 && len(o.providers) > 0 {
			for _, obj := range objs {
				if obj.GetKind() == "Cluster" && obj.GroupVersionKind().Group == clusterv1.GroupVersion.Group {
					if err := o.waitForCluster(ctx, s, plane, c, client.ObjectKeyFromObject(obj)); err != nil {
						return err
					}
				}
			}
		}
	}

	fmt.Fprintf(s.Out, `
The management plane is ready. In another terminal:

  export KUBECONFIG=%s
  kubectl get clusters,machines,machinedeployments -A

Press Ctrl-C to stop it; 'podcluster up --state-dir %s' resumes it later.
`, plane.KubeconfigPath, o.stateDir)
	return plane.Wait(ctx)
}

// startEgress serves the plane's API server's way into the management node
// (mgmtnode.EgressProxy) on <state-dir>/egress.sock, logging to
// <state-dir>/logs/egress.log.
func (o *options) startEgress() (*mgmtnode.EgressProxy, error) {
	if err := os.MkdirAll(filepath.Join(o.stateDir, "logs"), 0o700); err != nil {
		return nil, err
	}
	socket := filepath.Join(o.stateDir, "egress.sock")
	// A socket file left by an earlier run (we hold the state folder).
	if err := os.Remove(socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(o.stateDir, "logs", "egress.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	e, err := mgmtnode.ListenEgress(socket, zap.New(zap.WriteTo(logFile)))
	if err != nil {
		_ = logFile.Close()
		return nil, err
	}
	e.OnClose(func() { _ = logFile.Close() })
	return e, nil
}

// startNode starts the management node of --runtime=real, in
// <state-dir>/node, logging to <state-dir>/logs/management-node.log; closeLog
// closes that log once the node has stopped.
func (o *options) startNode(ctx context.Context, s streams.IO, plane *localplane.Plane, c client.Client) (_ *mgmtnode.Node, closeLog func(), err error) {
	imageDir := o.nodeImageDir
	if imageDir == "" {
		if imageDir, err = defaultNodeImageDir(); err != nil {
			return nil, nil, err
		}
	}
	lbBase, err := netip.ParseAddr(o.lbBase)
	if err != nil {
		return nil, nil, fmt.Errorf("--sim-loadbalancer-base: %w", err)
	}
	// The node's own log lines; its processes log to <state-dir>/node/logs.
	logFile, err := os.OpenFile(filepath.Join(o.stateDir, "logs", "management-node.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	closeLog = func() { _ = logFile.Close() }
	node, err := mgmtnode.Start(ctx, mgmtnode.Options{
		Dir:    filepath.Join(o.stateDir, "node"),
		Server: plane.Config.Host,
		// In-cluster clients of the node's Pods use the kubernetes Service.
		ServiceAddr:      localplane.ServiceAddr,
		Images:           o.loadImages,
		CACertFile:       filepath.Join(o.stateDir, "pki", "ca.crt"),
		CAKeyFile:        filepath.Join(o.stateDir, "pki", "ca.key"),
		Kubelet:          filepath.Join(plane.BinDir, "kubelet"),
		NodeImageDir:     imageDir,
		LoadBalancerBase: lbBase,
		Client:           c,
		Progress:         s.ErrOut,
		Log:              zap.New(zap.WriteTo(logFile)),
	})
	if err != nil {
		closeLog()
		return nil, nil, err
	}
	return node, closeLog, nil
}

// mapNodeImage makes the management node's image the node image of its
// Kubernetes version (its tag) in --namespace, through the ConfigMap
// nodepod.ImagesConfigMapName, so that Machines of that version that name no
// image run on it rather than on kind's published image, which cannot be
// pulled here. An existing ConfigMap is the user's and is left alone.
func (o *options) mapNodeImage(ctx context.Context, s streams.IO, c client.Client, image string) error {
	version := image[strings.LastIndex(image, ":")+1:]
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: o.namespace, Name: nodepod.ImagesConfigMapName},
		Data:       map[string]string{version: image},
	}
	err := c.Create(ctx, cm)
	switch {
	case err == nil:
		fmt.Fprintf(s.ErrOut, " • Machines of Kubernetes %s in namespace %s run the node image %s (ConfigMap %s)\n",
			version, o.namespace, image, nodepod.ImagesConfigMapName)
		return nil
	case apierrors.IsAlreadyExists(err):
		return nil
	case apierrors.IsNotFound(err):
		return fmt.Errorf("namespace %s does not exist (--namespace): %w", o.namespace, err)
	}
	return fmt.Errorf("mapping Kubernetes %s to the node image %s: %w", version, image, err)
}

// defaultNodeImageDir asks the checkout's hack/node-image/build.sh where the
// node image of this tree is.
func defaultNodeImageDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root, err := tools.RepoRoot(wd)
	if err != nil {
		return "", fmt.Errorf("--runtime=real outside a checkout needs --node-image-dir: %w", err)
	}
	out, err := exec.Command(filepath.Join(root, "hack", "node-image", "build.sh"), "--print-dir").Output()
	if err != nil {
		return "", fmt.Errorf("hack/node-image/build.sh --print-dir: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// startProviders runs the providers' controllers in this process, logging to
// <state-dir>/logs/providers.log, with the simulated runtime when simulate,
// and the management node's LoadBalancer controller when node is set. They
// stop with ctx; stopped is closed once they, and the simulated runtime's
// processes and the LoadBalancer's listeners, have.
func (o *options) startProviders(ctx context.Context, plane *localplane.Plane, simulate bool, node *mgmtnode.Node) (stopped <-chan struct{}, err error) {
	var rt *sim.Runtime
	if simulate {
		rt = &sim.Runtime{ScratchDir: filepath.Join(o.stateDir, "sim"), EtcdURL: plane.EtcdURL, BinDir: plane.BinDir}
		if rt.LoopbackBase, err = netip.ParseAddr(o.lbBase); err != nil {
			return nil, fmt.Errorf("--sim-loadbalancer-base: %w", err)
		}
		if rt.PodIPBase, err = netip.ParseAddr(o.podIPBase); err != nil {
			return nil, fmt.Errorf("--sim-pod-ip-base: %w", err)
		}
	}
	var lb *mgmtnode.LoadBalancer
	if node != nil {
		lb = &mgmtnode.LoadBalancer{NetnsPath: node.NetnsPath}
		if lb.Base, err = netip.ParseAddr(o.lbBase); err != nil {
			return nil, fmt.Errorf("--sim-loadbalancer-base: %w", err)
		}
	}
	logFile, err := os.OpenFile(filepath.Join(o.stateDir, "logs", "providers.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = logFile.Close()
		}
	}()
	ctrl.SetLogger(zap.New(zap.WriteTo(logFile)))
	// A debugging aid for profiling the providers (bench/README.md): with
	// an address, the manager serves net/http/pprof there.
	mgr, cc, err := manager.New(plane.Config, manager.Options{PprofAddr: os.Getenv("PODCLUSTER_DEBUG_PPROF_ADDR")})
	if err != nil {
		return nil, err
	}
	if err := providers.SetupAll(ctx, mgr, o.providers, providers.Options{ClusterCache: cc}); err != nil {
		return nil, err
	}
	if rt != nil {
		if err := rt.Setup(mgr); err != nil {
			return nil, fmt.Errorf("setting up the simulated runtime: %w", err)
		}
	}
	if lb != nil {
		lb.Client = mgr.GetClient()
		if err := lb.SetupWithManager(mgr); err != nil {
			return nil, fmt.Errorf("setting up the management node's LoadBalancer: %w", err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { _ = logFile.Close() }()
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintf(logFile, "manager stopped: %v\n", err)
		}
		if lb != nil {
			lb.Close()
		}
	}()
	return done, nil
}

// resolveLoadImages checks --load-image before anything starts: only
// --runtime=real has a containerd to load into, and each archive must exist.
// It makes their paths absolute.
func (o *options) resolveLoadImages(rt string) error {
	if len(o.loadImages) > 0 && rt != runtimeReal {
		return fmt.Errorf("--load-image needs --runtime=%s: only a management node has a containerd to load images into", runtimeReal)
	}
	for i, archive := range o.loadImages {
		abs, err := filepath.Abs(archive)
		if err != nil {
			return fmt.Errorf("--load-image %s: %w", archive, err)
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("--load-image: %w", err)
		}
		o.loadImages[i] = abs
	}
	return nil
}

// runtimeFlag resolves --runtime and the older --simulate into one of the
// runtime values. --simulate, when given, wins: true is sim, false none.
func (o *options) runtimeFlag() (string, error) {
	switch o.simulate {
	case "":
	case "true":
		return runtimeSim, nil
	case "false":
		return runtimeNone, nil
	case "auto":
		return runtimeAuto, nil
	default:
		return "", fmt.Errorf("--simulate must be auto, true or false, not %q", o.simulate)
	}
	switch o.runtime {
	case runtimeAuto, runtimeSim, runtimeReal, runtimeNone:
		return o.runtime, nil
	}
	return "", fmt.Errorf("--runtime must be %s, %s, %s or %s, not %q", runtimeAuto, runtimeSim, runtimeReal, runtimeNone, o.runtime)
}

// planeHasNoNodes decides --runtime=auto: simulate when the plane has no
// Nodes, since then nothing else would run node Pods.
func planeHasNoNodes(ctx context.Context, c client.Client) (bool, error) {
	nodes := &corev1.NodeList{}
	if err := c.List(ctx, nodes); err != nil {
		return false, fmt.Errorf("listing the plane's Nodes: %w", err)
	}
	return len(nodes.Items) == 0, nil
}

// waitForCluster shows a Cluster's progress until it is Available, then lists
// its Nodes with kubectl through the Cluster's kubeconfig, which it saves as
// <state-dir>/<cluster>.kubeconfig.
func (o *options) waitForCluster(ctx context.Context, s streams.IO, plane *localplane.Plane, c client.Client, key client.ObjectKey) error {
	fmt.Fprintf(s.ErrOut, " • Waiting for Cluster %s to be available\n", key.Name)
	waitCtx, cancel := context.WithTimeout(ctx, o.wait)
	defer cancel()
	last := ""
	err := wait.PollUntilContextCancel(waitCtx, time.Second, true, func(ctx context.Context) (bool, error) {
		cluster := &clusterv1.Cluster{}
		if err := c.Get(ctx, key, cluster); err != nil {
			return false, nil
		}
		cp, workers := "-", "-"
		if st := cluster.Status.ControlPlane; st != nil {
			cp = readyOf(st.ReplicaCounts)
		}
		if st := cluster.Status.Workers; st != nil {
			workers = readyOf(st.ReplicaCounts)
		}
		progress := fmt.Sprintf("%s, control plane %s, workers %s", orDash(cluster.Status.Phase), cp, workers)
		if progress != last {
			fmt.Fprintf(s.ErrOut, "   %s: %s\n", key.Name, progress)
			last = progress
		}
		return conditions.IsTrue(cluster.Status.Conditions, clusterv1.AvailableCondition), nil
	})
	if err != nil {
		return fmt.Errorf("cluster %s is not available after %s (see 'podcluster describe cluster %s'): %w", key.Name, o.wait, key.Name, err)
	}
	// A Cluster that was Available before a restart still says so while its
	// API server is starting again: wait until that answers.
	var kubeconfig []byte
	var lastErr error
	err = wait.PollUntilContextCancel(waitCtx, time.Second, true, func(ctx context.Context) (bool, error) {
		kubeconfig, lastErr = workloadKubeconfig(ctx, c, key)
		return lastErr == nil, nil
	})
	if err != nil {
		return fmt.Errorf("the API server of Cluster %s does not answer after %s: %w", key.Name, o.wait, errors.Join(err, lastErr))
	}
	path := filepath.Join(o.stateDir, key.Name+".kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(s.ErrOut, " • Cluster %s is available; its Nodes (kubectl --kubeconfig %s get nodes):\n", key.Name, path)
	kubectl := exec.CommandContext(ctx, filepath.Join(plane.BinDir, "kubectl"), "--kubeconfig", path, "get", "nodes")
	kubectl.Stdout, kubectl.Stderr = s.Out, s.ErrOut
	if err := kubectl.Run(); err != nil {
		return fmt.Errorf("kubectl get nodes of Cluster %s: %w", key.Name, err)
	}
	return nil
}

// workloadKubeconfig reads the kubeconfig Secret of the Cluster key and
// returns it once the cluster's API server answers through it.
func workloadKubeconfig(ctx context.Context, c client.Client, key client.ObjectKey) ([]byte, error) {
	secret := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: key.Name + "-kubeconfig"}, secret); err != nil {
		return nil, fmt.Errorf("reading the kubeconfig of Cluster %s: %w", key.Name, err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(secret.Data["value"])
	if err != nil {
		return nil, fmt.Errorf("the kubeconfig of Cluster %s: %w", key.Name, err)
	}
	cfg.Timeout = 5 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		return nil, err
	}
	return secret.Data["value"], nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// readyOf formats "ready/desired ready" of replica counts.
func readyOf(r clusterv1.ReplicaCounts) string {
	return fmt.Sprintf("%d/%d ready", deref(r.ReadyReplicas), deref(r.DesiredReplicas))
}

func deref(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
