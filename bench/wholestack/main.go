// Command wholestack measures the whole stack in simulated mode: it builds
// podcluster, runs `podcluster up` with the seed walkthrough (its
// MachineDeployment at zero replicas), waits for the Cluster to be Available,
// scales the MachineDeployment to N workers and reports:
//
//   - the time from the scale to all Machines Running and to all Nodes Ready;
//   - the successful writes per worker Machine, by verb and resource, from the
//     management kube-apiserver's apiserver_request_total (diffed around the
//     scale; leases and events are left out, being heartbeats and
//     diagnostics rather than state), and the 409 Conflicts;
//   - the peak resident memory (VmHWM) of the podcluster process and of its
//     whole process tree (etcd, the API servers, the workload clusters).
//
// With -kcp it measures a KubeadmControlPlane instead: `podcluster up` with
// no cluster, then examples/kcp applied with its MachineDeployment at zero,
// and the time from the apply to its 3 control-plane Machines Running and 3
// Nodes Ready, and the writes per control-plane Machine (everything the
// cluster's creation wrote, divided by 3).
//
// It runs RUNS times and prints each run and the medians. With -slope it
// then holds the last run's plane steady for -hold, samples the resident
// memory (VmRSS) every -sample and reports its least-squares slope.
//
//	go run ./bench/wholestack -n 100 -runs 3
//	go run ./bench/wholestack -n 100 -runs 1 -slope
//	go run ./bench/wholestack -kcp -runs 3
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/cmd/podcluster/client/tools"
	"github.com/podcluster/podcluster/internal/scheme"
)

// The seed walkthrough's names.
const (
	namespace         = "default"
	clusterName       = "example"
	machineDeployment = "worker"

	// examples/kcp's, for -kcp.
	kcpClusterName  = "example-kcp"
	kcpControlPlane = 3
)

type options struct {
	n          int
	runs       int
	slope      bool
	hold       time.Duration
	sample     time.Duration
	timeout    time.Duration
	binary     string
	keepLogs   bool
	pollPeriod time.Duration
	binDir     string
	kcp        bool
}

func main() {
	log.SetLogger(logr.Discard())
	o := options{}
	flag.IntVar(&o.n, "n", 10, "workers to scale the MachineDeployment to")
	flag.IntVar(&o.runs, "runs", 3, "runs; the report shows each and the medians")
	flag.BoolVar(&o.slope, "slope", false, "after the last run, hold the plane steady and report the slope of its resident memory")
	flag.DurationVar(&o.hold, "hold", 10*time.Minute, "with -slope, how long to hold")
	flag.DurationVar(&o.sample, "sample", time.Minute, "with -slope, how often to sample the resident memory")
	flag.DurationVar(&o.timeout, "timeout", 60*time.Minute, "how long one run may take to reach all Nodes Ready")
	flag.StringVar(&o.binary, "binary", "", "a podcluster binary to use instead of building ./cmd/podcluster")
	flag.BoolVar(&o.keepLogs, "keep", false, "keep each run's state directory (logs) instead of removing it")
	flag.DurationVar(&o.pollPeriod, "poll", time.Second, "how often to look at the Machines and Nodes")
	flag.BoolVar(&o.kcp, "kcp", false, "measure examples/kcp instead: apply to 3 control-plane Nodes Ready, writes per control-plane Machine (-n is ignored)")
	flag.Parse()
	if o.kcp {
		o.n = kcpControlPlane
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "wholestack:", err)
		os.Exit(1)
	}
}

// result is what one run measured.
type result struct {
	running, ready time.Duration
	writes         map[writeKey]float64 // successful writes during the scale
	conflicts      map[writeKey]float64 // 409s during the scale
	other          map[writeKey]float64 // every other request during the scale: reads, watches, leases, events
	workload       map[writeKey]float64 // every request to the workload cluster's API server during the scale
	upKiB, treeKiB int64
	load           string // /proc/loadavg at the end of the run
	// cpu is the CPU time (user and system) each process of the tree spent
	// from the scale to all Nodes Ready, by process name.
	cpu map[string]time.Duration
}

type writeKey struct{ verb, resource string }

func run(o options) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := tools.RepoRoot(wd)
	if err != nil {
		return err
	}
	// Built (or found) once: each `podcluster up` is then told where they are.
	bin, err := tools.EnsureBinDir(os.Stderr, "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
	if err != nil {
		return err
	}
	o.binDir = bin
	work, err := os.MkdirTemp("", "podcluster-bench-")
	if err != nil {
		return err
	}
	if !o.keepLogs {
		defer func() { _ = os.RemoveAll(work) }()
	}
	if o.binary == "" {
		o.binary = filepath.Join(work, "podcluster")
		build := exec.Command("go", "build", "-o", o.binary, "./cmd/podcluster")
		build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building podcluster: %w", err)
		}
	}
	example, shape := "seed", fmt.Sprintf("seed shape, MachineDeployment scaled 0 -> %d", o.n)
	if o.kcp {
		example, shape = "kcp", fmt.Sprintf("examples/kcp applied: a KubeadmControlPlane of %d, workers at 0", kcpControlPlane)
	}
	seed, err := exampleAtZero(root, work, example)
	if err != nil {
		return err
	}
	fmt.Printf("whole stack, simulated: %s; %d runs; %s=%s %s=%s\n",
		shape, o.runs, "PODCLUSTER_SIM_LOADBALANCER_BASE", os.Getenv("PODCLUSTER_SIM_LOADBALANCER_BASE"),
		"PODCLUSTER_SIM_POD_IP_BASE", os.Getenv("PODCLUSTER_SIM_POD_IP_BASE"))
	var results []result
	for i := 1; i <= o.runs; i++ {
		hold := o.slope && i == o.runs
		r, err := o.once(filepath.Join(work, fmt.Sprintf("run-%d", i)), seed, hold)
		if err != nil {
			return fmt.Errorf("run %d: %w (state in %s)", i, err, work)
		}
		fmt.Printf("run %d: all Running %.1fs, all Ready %.1fs, %.1f writes/Machine, %.0f conflicts, peak RSS podcluster %d MiB, tree %d MiB, load %s\n",
			i, r.running.Seconds(), r.ready.Seconds(), total(r.writes)/float64(o.n), total(r.conflicts), r.upKiB/1024, r.treeKiB/1024, r.load)
		results = append(results, r)
	}
	what := "worker Machine, median of %d runs (all writes during the scale / N)"
	if o.kcp {
		what = "control-plane Machine, median of %d runs (all writes from the apply / 3, the cluster's own included)"
	}
	report(o.n, what, results)
	return nil
}

// exampleAtZero copies examples/<name> into work with its MachineDeployment
// at zero replicas, so that the scale (or, for kcp, the control plane) is all
// that the measurement sees.
func exampleAtZero(root, work, name string) (string, error) {
	dir := filepath.Join(work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	files, err := filepath.Glob(filepath.Join(root, "examples", name, "*.yaml"))
	if err != nil {
		return "", err
	}
	found := false
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		// The first "replicas: 3" after the MachineDeployment's kind is its own.
		if i := bytes.Index(b, []byte("kind: MachineDeployment")); i >= 0 && bytes.Contains(b[i:], []byte("replicas: 3")) {
			b, found = append(b[:i:i], bytes.Replace(b[i:], []byte("replicas: 3"), []byte("replicas: 0"), 1)...), true
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			return "", err
		}
	}
	if !found {
		return "", fmt.Errorf("examples/%s has no MachineDeployment with replicas: 3", name)
	}
	return dir, nil
}

// once runs one plane in state, applies seed, scales to n and measures.
func (o options) once(state, seed string, hold bool) (r result, err error) {
	if err := os.MkdirAll(state, 0o755); err != nil {
		return r, err
	}
	logf, err := os.Create(filepath.Join(state, "..", filepath.Base(state)+".log"))
	if err != nil {
		return r, err
	}
	defer func() { _ = logf.Close() }()
	args := []string{"up", "--state-dir", state, "--wait", "0"}
	if !o.kcp {
		args = append(args, "--apply", seed)
	}
	up := exec.Command(o.binary, args...)
	up.Stdout, up.Stderr = logf, logf
	up.Env = append(os.Environ(), tools.BinDirEnv+"="+o.binDir)
	if err := up.Start(); err != nil {
		return r, err
	}
	// exited is closed once up exits, with its error in upErr.
	var upErr error
	exited := make(chan struct{})
	go func() {
		upErr = up.Wait()
		close(exited)
	}()
	// Stopped like Ctrl-C stops it; its exit status says nothing of the run.
	defer func() {
		_ = up.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(2 * time.Minute):
			_ = up.Process.Kill()
			<-exited
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	upExited := func() error { return fmt.Errorf("podcluster up exited: %w", upErr) }
	mc, cs, err := waitForPlane(ctx, filepath.Join(state, "kubeconfig"), exited, upExited)
	if err != nil {
		return r, err
	}
	cluster, machines := clusterName, o.n+1
	if o.kcp {
		cluster, machines = kcpClusterName, kcpControlPlane
		// Nothing was applied: wait for the providers' kinds to be served,
		// then for the plane's own start-up writes (its RBAC, flow schemas,
		// CRD status) to end, so that they are not counted.
		if err := poll(ctx, o.pollPeriod, exited, upExited, func() (bool, error) {
			return mc.List(ctx, &controlplanev1.KubeadmControlPlaneList{}) == nil, nil
		}); err != nil {
			return r, fmt.Errorf("waiting for the plane to serve KubeadmControlPlanes: %w", err)
		}
		time.Sleep(10 * time.Second)
	} else if err := poll(ctx, o.pollPeriod, exited, upExited, func() (bool, error) { return clusterAvailable(ctx, mc) }); err != nil {
		return r, fmt.Errorf("waiting for Cluster %s to be Available: %w", clusterName, err)
	}
	// The plane may still be starting (with -kcp nothing waited for it):
	// read the counts, and act, once it answers.
	var before map[counter]float64
	if err := poll(ctx, o.pollPeriod, exited, upExited, func() (bool, error) {
		before, err = requestCounts(ctx, cs)
		return err == nil, nil
	}); err != nil {
		return r, fmt.Errorf("reading the plane's request counts: %w", err)
	}
	var workloadBefore map[counter]float64
	if !o.kcp {
		if workloadBefore, err = workloadCounts(ctx, mc, cluster); err != nil {
			return r, fmt.Errorf("reading the workload API server's request counts: %w", err)
		}
	}
	cpuBefore := cpuTimes(up.Process.Pid)
	var start time.Time
	var actErr error
	if err := poll(ctx, o.pollPeriod, exited, upExited, func() (bool, error) {
		start = time.Now()
		actErr = o.act(ctx, mc, seed)
		return actErr == nil, nil
	}); err != nil {
		return r, fmt.Errorf("%w (last: %w)", err, actErr)
	}
	// Watches, not a LIST per poll: at N=1000 the polls' LISTs of every
	// Machine and Node cost the API servers more than some of what is measured.
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() {
		select {
		case <-exited:
			stopWatch()
		case <-watchCtx.Done():
		}
	}()
	if err := waitForCount(watchCtx, mc, &clusterv1.MachineList{}, machineRunning, machines, client.InNamespace(namespace)); err != nil {
		if upErr := exitedErr(exited, upExited); upErr != nil {
			return r, upErr
		}
		return r, fmt.Errorf("waiting for %d Machines Running: %w", machines, err)
	}
	r.running = time.Since(start)
	var wc client.WithWatch
	if err := poll(ctx, o.pollPeriod, exited, upExited, func() (bool, error) {
		wc, err = workloadClient(ctx, mc, cluster)
		return err == nil, nil
	}); err != nil {
		return r, fmt.Errorf("reading the workload cluster's kubeconfig: %w", err)
	}
	if err := waitForCount(watchCtx, wc, &corev1.NodeList{}, nodeReady, machines); err != nil {
		if upErr := exitedErr(exited, upExited); upErr != nil {
			return r, upErr
		}
		return r, fmt.Errorf("waiting for %d Nodes Ready: %w", machines, err)
	}
	r.ready = time.Since(start)
	r.cpu = cpuSince(cpuBefore, cpuTimes(up.Process.Pid))
	// Let the last status writes of the scale land before counting.
	time.Sleep(10 * time.Second)
	after, err := requestCounts(ctx, cs)
	if err != nil {
		return r, err
	}
	r.writes, r.conflicts, r.other = diff(before, after)
	if workloadBefore != nil {
		workloadAfter, err := workloadCounts(ctx, mc, cluster)
		if err != nil {
			return r, err
		}
		w, c, o := diff(workloadBefore, workloadAfter)
		r.workload = w
		for _, m := range []map[writeKey]float64{c, o} {
			for k, v := range m {
				r.workload[k] += v
			}
		}
	}
	r.upKiB = statusKiB(up.Process.Pid, "VmHWM")
	for _, p := range tree(up.Process.Pid) {
		r.treeKiB += statusKiB(p, "VmHWM")
	}
	r.load = loadavg()
	if hold {
		memorySlope(o, up.Process.Pid)
	}
	return r, nil
}

// act starts what is measured: the scale of the seed's MachineDeployment to
// n, or for -kcp the apply of examples/kcp.
func (o options) act(ctx context.Context, mc client.Client, example string) error {
	if o.kcp {
		objs, err := manifest.ReadPaths(example)
		if err != nil {
			return err
		}
		return manifest.Apply(ctx, mc, namespace, objs...)
	}
	md := &clusterv1.MachineDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: machineDeployment}}
	patch := client.RawPatch("application/merge-patch+json", fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, o.n))
	if err := mc.Patch(ctx, md, patch); err != nil {
		return fmt.Errorf("scaling MachineDeployment %s: %w", machineDeployment, err)
	}
	return nil
}

// waitForPlane waits for the plane's kubeconfig and API server.
func waitForPlane(ctx context.Context, kubeconfig string, exited <-chan struct{}, upExited func() error) (client.WithWatch, kubernetes.Interface, error) {
	var cfg *rest.Config
	err := poll(ctx, time.Second, exited, upExited, func() (bool, error) {
		if _, err := os.Stat(kubeconfig); err != nil {
			return false, nil //nolint:nilerr // not written yet
		}
		var err error
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
		return err == nil, nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("waiting for the plane's kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	mc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return nil, nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	return mc, cs, nil
}

// poll calls f every period until it says done, ctx ends or up exits (then
// it returns upExited()).
func poll(ctx context.Context, period time.Duration, exited <-chan struct{}, upExited func() error, f func() (bool, error)) error {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		done, err := f()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return upExited()
		case <-t.C:
		}
	}
}

func clusterAvailable(ctx context.Context, mc client.Client) (bool, error) {
	cluster := &clusterv1.Cluster{}
	if err := mc.Get(ctx, client.ObjectKey{Namespace: namespace, Name: clusterName}, cluster); err != nil {
		return false, nil //nolint:nilerr // not applied yet
	}
	for _, c := range cluster.Status.Conditions {
		if c.Type == clusterv1.ClusterAvailableCondition {
			return c.Status == metav1.ConditionTrue, nil
		}
	}
	return false, nil
}

// machineRunning says whether a Machine is Running.
func machineRunning(o client.Object) bool {
	m, ok := o.(*clusterv1.Machine)
	return ok && m.Status.Phase == string(clusterv1.MachinePhaseRunning)
}

// nodeReady says whether a Node is Ready.
func nodeReady(o client.Object) bool {
	n, ok := o.(*corev1.Node)
	if !ok {
		return false
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitForCount lists and then watches the objects of list's kind until at
// least want of them satisfy ok. One LIST and one watch instead of a LIST
// per poll: the informer below re-lists only when its watch expires.
func waitForCount(ctx context.Context, c client.WithWatch, list client.ObjectList, ok func(client.Object) bool, want int, opts ...client.ListOption) error {
	newList := func() client.ObjectList { return list.DeepCopyObject().(client.ObjectList) }
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			l := newList()
			return l, c.List(ctx, l, append(opts, &client.ListOptions{Raw: &o})...)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.Watch(ctx, newList(), append(opts, &client.ListOptions{Raw: &o})...)
		},
	}
	itemType, err := c.Scheme().New(mustItemKind(c, list))
	if err != nil {
		return err
	}
	met := map[string]bool{}
	_, err = watchtools.UntilWithSync(ctx, lw, itemType, nil, func(ev watch.Event) (bool, error) {
		o, isObj := ev.Object.(client.Object)
		if !isObj {
			return false, nil
		}
		key := o.GetNamespace() + "/" + o.GetName()
		switch ev.Type {
		case watch.Deleted:
			delete(met, key)
		case watch.Added, watch.Modified:
			if ok(o) {
				met[key] = true
			} else {
				delete(met, key)
			}
		}
		return len(met) >= want, nil
	})
	return err
}

// mustItemKind is the kind of a list's items: the list's kind without "List".
func mustItemKind(c client.WithWatch, list client.ObjectList) schema.GroupVersionKind {
	gvk, err := apiutil.GVKForObject(list, c.Scheme())
	if err != nil {
		panic(err)
	}
	gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
	return gvk
}

// exitedErr is upExited() once up has exited, else nil.
func exitedErr(exited <-chan struct{}, upExited func() error) error {
	select {
	case <-exited:
		return upExited()
	default:
		return nil
	}
}

func workloadClient(ctx context.Context, mc client.Client, cluster string) (client.WithWatch, error) {
	cfg, err := workloadConfig(ctx, mc, cluster)
	if err != nil {
		return nil, err
	}
	return client.NewWithWatch(cfg, client.Options{Scheme: scheme.New()})
}

// workloadCounts reads apiserver_request_total of the workload cluster's API
// server.
func workloadCounts(ctx context.Context, mc client.Client, cluster string) (map[counter]float64, error) {
	cfg, err := workloadConfig(ctx, mc, cluster)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return requestCounts(ctx, cs)
}

func workloadConfig(ctx context.Context, mc client.Client, cluster string) (*rest.Config, error) {
	secret := &corev1.Secret{}
	if err := mc.Get(ctx, client.ObjectKey{Namespace: namespace, Name: cluster + "-kubeconfig"}, secret); err != nil {
		return nil, err
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(secret.Data["value"])
	if err != nil {
		return nil, err
	}
	cfg.Timeout = 30 * time.Second
	return cfg, nil
}

// counter is one series of apiserver_request_total.
type counter struct{ verb, resource, subresource, code string }

// requestCounts reads apiserver_request_total from the API server's /metrics.
func requestCounts(ctx context.Context, cs kubernetes.Interface) (map[counter]float64, error) {
	body, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading /metrics: %w", err)
	}
	counts := map[counter]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		v, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
		if err != nil {
			continue
		}
		labels := parseLabels(line[len("apiserver_request_total{"):end])
		counts[counter{labels["verb"], labels["resource"], labels["subresource"], labels["code"]}] += v
	}
	return counts, sc.Err()
}

func parseLabels(s string) map[string]string {
	labels := map[string]string{}
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			break
		}
		name := s[:eq]
		rest := s[eq+2:]
		end := strings.IndexByte(rest, '"')
		if end < 0 {
			break
		}
		labels[name] = rest[:end]
		s = strings.TrimPrefix(rest[end+1:], ",")
	}
	return labels
}

// writeVerbs are the verbs that change state.
var writeVerbs = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "DELETE": true, "APPLY": true, "DELETECOLLECTION": true}

// diff returns the successful writes and the 409 Conflicts between two
// readings by verb and resource, leases and events left out, and every other
// request.
func diff(before, after map[counter]float64) (writes, conflicts, other map[writeKey]float64) {
	writes, conflicts, other = map[writeKey]float64{}, map[writeKey]float64{}, map[writeKey]float64{}
	for k, v := range after {
		d := v - before[k]
		if d <= 0 {
			continue
		}
		res := k.resource
		if k.subresource != "" {
			res += "/" + k.subresource
		}
		if k.resource == "leases" || k.resource == "events" {
			other[writeKey{k.verb, res}] += d
			continue
		}
		switch {
		case k.code == "409":
			conflicts[writeKey{k.verb, res}] += d
		case writeVerbs[k.verb] && strings.HasPrefix(k.code, "2"):
			writes[writeKey{k.verb, res}] += d
		default:
			other[writeKey{k.verb, res}] += d
		}
	}
	return writes, conflicts, other
}

func total(w map[writeKey]float64) float64 {
	t := 0.0
	for _, v := range w {
		t += v
	}
	return t
}

// report prints the medians over the runs, and the writes per Machine by verb
// and resource (median of each series).
func report(n int, what string, results []result) {
	med := func(f func(result) float64) float64 {
		vs := make([]float64, 0, len(results))
		for _, r := range results {
			vs = append(vs, f(r))
		}
		sort.Float64s(vs)
		return vs[(len(vs)-1)/2]
	}
	fmt.Printf("\nmedian of %d runs at N=%d:\n", len(results), n)
	fmt.Printf("  all Machines Running  %8.1f s  (%.3f s/Machine)\n", med(func(r result) float64 { return r.running.Seconds() }), med(func(r result) float64 { return r.running.Seconds() })/float64(n))
	fmt.Printf("  all Nodes Ready       %8.1f s  (%.3f s/Machine)\n", med(func(r result) float64 { return r.ready.Seconds() }), med(func(r result) float64 { return r.ready.Seconds() })/float64(n))
	fmt.Printf("  writes/Machine        %8.1f    (leases and events not counted)\n", med(func(r result) float64 { return total(r.writes) / float64(n) }))
	fmt.Printf("  409 Conflicts         %8.0f    (leases and events not counted)\n", med(func(r result) float64 { return total(r.conflicts) }))
	fmt.Printf("  peak RSS podcluster   %8.0f MiB\n", med(func(r result) float64 { return float64(r.upKiB) / 1024 }))
	fmt.Printf("  peak RSS tree         %8.0f MiB  (sum of VmHWM over podcluster and its descendants)\n", med(func(r result) float64 { return float64(r.treeKiB) / 1024 }))
	procs := map[string]bool{}
	for _, r := range results {
		for p := range r.cpu {
			procs[p] = true
		}
	}
	names := make([]string, 0, len(procs))
	for p := range procs {
		names = append(names, p)
	}
	sort.Strings(names)
	fmt.Printf("\nCPU time from the scale to all Nodes Ready, per Machine (user+system; #1 is the first started of that name):\n")
	cpuTotal := func(r result) float64 {
		var t time.Duration
		for _, d := range r.cpu {
			t += d
		}
		return t.Seconds()
	}
	for _, p := range names {
		fmt.Printf("  %-24s %7.1f ms\n", p, 1000*med(func(r result) float64 { return r.cpu[p].Seconds() })/float64(n))
	}
	fmt.Printf("  %-24s %7.1f ms\n", "all", 1000*med(cpuTotal)/float64(n))
	keys := map[writeKey]bool{}
	for _, r := range results {
		for k := range r.writes {
			keys[k] = true
		}
	}
	sorted := sortedKeys(keys)
	fmt.Printf("\nsuccessful writes per "+what+":\n", len(results))
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "  verb\tresource\twrites/Machine")
	for _, k := range sorted {
		_, _ = fmt.Fprintf(tw, "  %s\t%s\t%.2f\n", k.verb, k.resource, med(func(r result) float64 { return r.writes[k] / float64(n) }))
	}
	_ = tw.Flush()
	printPerMachine(n, results, med, func(r result) map[writeKey]float64 { return r.other },
		"other requests to the management API server per Machine, at least 0.1 (reads, watches, leases, events; every code)")
	printPerMachine(n, results, med, func(r result) map[writeKey]float64 { return r.workload },
		"requests to the workload cluster's API server per Machine, at least 0.1 (every verb and code)")
	conflicts := map[writeKey]bool{}
	for _, r := range results {
		for k := range r.conflicts {
			conflicts[k] = true
		}
	}
	if len(conflicts) > 0 {
		fmt.Printf("\n409 Conflicts by verb and resource (each run):\n")
		for k := range conflicts {
			var per []string
			for _, r := range results {
				per = append(per, fmt.Sprintf("%.0f", r.conflicts[k]))
			}
			fmt.Printf("  %s %s: %s\n", k.verb, k.resource, strings.Join(per, ", "))
		}
	}
}

// printPerMachine prints, under title, the median per Machine of each series
// of the map series picks from a result, leaving out those below 0.1.
func printPerMachine(n int, results []result, med func(func(result) float64) float64, series func(result) map[writeKey]float64, title string) {
	keys := map[writeKey]bool{}
	for _, r := range results {
		for k := range series(r) {
			keys[k] = true
		}
	}
	if len(keys) == 0 {
		return
	}
	fmt.Printf("\n%s:\n", title)
	for _, k := range sortedKeys(keys) {
		if v := med(func(r result) float64 { return series(r)[k] / float64(n) }); v >= 0.1 {
			fmt.Printf("  %-6s %-28s %.2f\n", k.verb, k.resource, v)
		}
	}
}

// sortedKeys orders keys by resource, then verb.
func sortedKeys(keys map[writeKey]bool) []writeKey {
	sorted := make([]writeKey, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].resource != sorted[j].resource {
			return sorted[i].resource < sorted[j].resource
		}
		return sorted[i].verb < sorted[j].verb
	})
	return sorted
}

// memorySlope samples the resident memory of pid and of its tree every
// o.sample for o.hold and prints the samples and the least-squares slopes.
func memorySlope(o options, pid int) {
	fmt.Printf("\nholding steady for %s, sampling VmRSS every %s:\n", o.hold, o.sample)
	var ts, up, all []float64
	start := time.Now()
	for {
		m := time.Since(start).Minutes()
		u := float64(statusKiB(pid, "VmRSS")) / 1024
		t := 0.0
		for _, p := range tree(pid) {
			t += float64(statusKiB(p, "VmRSS")) / 1024
		}
		ts, up, all = append(ts, m), append(up, u), append(all, t)
		fmt.Printf("  %5.1f min  podcluster %7.1f MiB  tree %7.1f MiB  load %s\n", m, u, t, loadavg())
		if time.Since(start)+o.sample/2 > o.hold {
			break
		}
		time.Sleep(o.sample)
	}
	fmt.Printf("memory slope: podcluster %+.2f MiB/min, tree %+.2f MiB/min over %.1f min\n", slope(ts, up), slope(ts, all), ts[len(ts)-1])
}

func slope(x, y []float64) float64 {
	n := float64(len(x))
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx, sy, sxx, sxy = sx+x[i], sy+y[i], sxx+x[i]*x[i], sxy+x[i]*y[i]
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}

// statusKiB reads a field in KiB (VmHWM, VmRSS) of /proc/pid/status.
func statusKiB(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			fs := strings.Fields(rest)
			if len(fs) > 0 {
				v, _ := strconv.ParseInt(fs[0], 10, 64)
				return v
			}
		}
	}
	return 0
}

// tree returns pid and all its descendants, from /proc.
func tree(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name in parentheses may hold spaces: parse after it.
		rest := b[bytes.LastIndexByte(b, ')')+1:]
		fs := strings.Fields(string(rest))
		if len(fs) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fs[1])
		children[ppid] = append(children[ppid], p)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// ticksPerSecond is USER_HZ, the unit of /proc/pid/stat's times: 100 on
// every Linux architecture Go supports.
const ticksPerSecond = 100

// cpuTimes returns the CPU time (utime+stime) of pid and each descendant,
// by pid, with its name: the command name, numbered by start order among
// processes of the same name (kube-apiserver#1 is the management plane's).
func cpuTimes(pid int) map[int]procCPU {
	out := map[int]procCPU{}
	for _, p := range tree(pid) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		open, closing := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || closing < open {
			continue
		}
		// After the name: state, ppid, ... utime is the 12th, stime the
		// 13th, starttime the 20th.
		fs := strings.Fields(string(b[closing+1:]))
		if len(fs) < 20 {
			continue
		}
		ut, _ := strconv.ParseInt(fs[11], 10, 64)
		st, _ := strconv.ParseInt(fs[12], 10, 64)
		cut, _ := strconv.ParseInt(fs[13], 10, 64)
		cst, _ := strconv.ParseInt(fs[14], 10, 64)
		start, _ := strconv.ParseInt(fs[19], 10, 64)
		out[p] = procCPU{
			name: string(b[open+1 : closing]), start: start,
			cpu:      time.Duration(ut+st) * time.Second / ticksPerSecond,
			children: time.Duration(cut+cst) * time.Second / ticksPerSecond,
		}
	}
	return out
}

type procCPU struct {
	name  string
	start int64
	cpu   time.Duration
	// children is the CPU time of its children that exited (and were
	// waited for): the short-lived commands a process runs.
	children time.Duration
}

// cpuSince names each process of after as cpuTimes says and returns what it
// spent since before (all of it if it started since).
func cpuSince(before, after map[int]procCPU) map[string]time.Duration {
	pids := make([]int, 0, len(after))
	for p := range after {
		pids = append(pids, p)
	}
	sort.Slice(pids, func(i, j int) bool {
		a, b := after[pids[i]], after[pids[j]]
		if a.start != b.start {
			return a.start < b.start
		}
		return pids[i] < pids[j]
	})
	seen := map[string]int{}
	out := map[string]time.Duration{}
	for _, p := range pids {
		a := after[p]
		seen[a.name]++
		d, c := a.cpu, a.children
		if b, ok := before[p]; ok && b.start == a.start {
			d -= b.cpu
			c -= b.children
		}
		name := fmt.Sprintf("%s#%d", a.name, seen[a.name])
		out[name] += d
		if c > 0 {
			out[name+" exited children"] += c
		}
	}
	return out
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	fs := strings.Fields(string(b))
	if len(fs) < 3 {
		return "?"
	}
	return strings.Join(fs[:3], " ")
}
