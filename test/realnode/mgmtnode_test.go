package realnode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/cmd/podcluster/client/mgmtnode"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
	"github.com/podcluster/podcluster/internal/scheme"
	"github.com/podcluster/podcluster/test/testenv"
)

const (
	// loadBalancerBase is where the management node's LoadBalancer addresses
	// start: the range this test may use on the host's loopback.
	loadBalancerBase = "127.71.1.1"
	// upStopTimeout bounds `podcluster up`'s stop: the node Pods' systemd
	// halts (10 s per unit at most), then containerd and the plane.
	upStopTimeout = 2 * time.Minute
)

// TestManagementNode runs `podcluster up --runtime=real` with the real-node
// example (examples/real: a Cluster of one control-plane Machine, and a
// MachineDeployment scaled to one worker): the management node runs the infrastructure
// provider's node Pods for real, their systemd boots, the bootstrap units run
// kubeadm init and kubeadm join (through the LoadBalancer address), the
// Machines reach Running and the workload Nodes are Ready, seen from the host
// through the cluster's <cluster>-kubeconfig Secret. Then a second cluster
// whose bootstrap fails on purpose (testdata/bootstrap-failure.yaml) shows the
// failing step in its Machine's conditions. Stopping up must leave the host as it was: the
// kernel settings, mounts, interfaces, routes and network namespaces, and no
// process.
func TestManagementNode(t *testing.T) {
	requireHost(t)
	image, archive := nodeImage(t)
	ctrllog.SetLogger(logr.Discard())
	// Other work on the host can hold nearly all of root's inotify instances;
	// then containerd's CRI plugin and the nodes' systemd fail at once. That
	// is a busy host, not a broken product, and the limit is the host's.
	if free, ok := mgmtnode.FreeInotifyInstances(); ok && free < mgmtnode.InotifyInstancesNeeded {
		t.Skipf("only about %d inotify instances are left for root (fs.inotify.max_user_instances); the management node "+
			"and two node Pods need about %d", free, mgmtnode.InotifyInstancesNeeded)
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}

	// Registered first, so it runs after up has stopped.
	before := snapshotHost(t)
	stateDir := filepath.Join(t.TempDir(), "state")
	t.Cleanup(func() {
		if changed := before.changes(snapshotHost(t)); len(changed) > 0 {
			t.Errorf("the host changed:\n%s", strings.Join(changed, "\n"))
		}
		if procs := processesMentioning(stateDir); len(procs) > 0 {
			t.Errorf("processes left running:\n%s", strings.Join(procs, "\n"))
		}
		if dirs := cgroupDirs(mgmtnode.CgroupRootPrefix + mgmtnode.DefaultNodeName); len(dirs) > 0 {
			t.Errorf("cgroups left behind: %v", dirs)
		}
	})

	work := t.TempDir()
	bin := filepath.Join(work, "podcluster")
	build := exec.Command("go", "build", "-o", bin, "./cmd/podcluster")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building podcluster: %v\n%s", err, out)
	}
	// The real-node example, with one worker instead of three.
	example, err := os.ReadFile(filepath.Join(root, "examples", "real", "cluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(example), "replicas: 3") {
		t.Fatal("examples/real/cluster.yaml has no MachineDeployment of 3 replicas to scale down")
	}
	manifestPath := filepath.Join(work, "cluster.yaml")
	if err := os.WriteFile(manifestPath, []byte(strings.ReplaceAll(string(example), "replicas: 3", "replicas: 1")), 0o600); err != nil {
		t.Fatal(err)
	}

	upStarted := time.Now()
	up := startUp(t, bin, stateDir, filepath.Dir(archive), manifestPath)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	waitFor(ctx, t, 10*time.Minute, "the plane, the management node and the apply", func() (bool, string) {
		if up.exited() {
			t.Fatalf("podcluster up exited early:\n%s", tail(up.stderr(), 40))
		}
		out, _ := os.ReadFile(up.stdoutPath)
		return strings.Contains(string(out), "The management plane is ready"), tail(up.stderr(), 1)
	})
	applied := time.Now()
	t.Logf("plane and management node up, cluster applied, %s after up started:\n%s",
		applied.Sub(upStarted).Round(100*time.Millisecond), up.stderr())

	c, err := client.New(restConfig(t, filepath.Join(stateDir, "kubeconfig")), client.Options{Scheme: scheme.New()})
	if err != nil {
		t.Fatal(err)
	}
	// The node Pods: the control plane's and the worker's.
	nodePod := func(controlPlane bool) (*corev1.Pod, string) {
		pods := &corev1.PodList{}
		if err := c.List(ctx, pods, client.MatchingLabels{clusterv1.ClusterNameLabel: "real"}); err != nil {
			return nil, err.Error()
		}
		for i := range pods.Items {
			if _, cp := pods.Items[i].Labels[clusterv1.MachineControlPlaneLabel]; cp == controlPlane {
				return &pods.Items[i], ""
			}
		}
		return nil, fmt.Sprintf("no node Pod (control plane: %t) among %d", controlPlane, len(pods.Items))
	}
	nodeStatus := func(pod *corev1.Pod) *corev1.ContainerStatus {
		for i := range pod.Status.ContainerStatuses {
			if pod.Status.ContainerStatuses[i].Name == nodepod.ContainerName {
				return &pod.Status.ContainerStatuses[i]
			}
		}
		return nil
	}
	waitForNode := func(controlPlane bool) *corev1.Pod {
		var pod *corev1.Pod
		waitFor(ctx, t, 5*time.Minute, "a node container to run", func() (bool, string) {
			var why string
			if pod, why = nodePod(controlPlane); pod == nil {
				return false, why
			}
			st := nodeStatus(pod)
			return st != nil && st.State.Running != nil, string(pod.Status.Phase)
		})
		t.Logf("node Pod %s running on %s at %s, %s after the apply", pod.Name, pod.Spec.NodeName, pod.Status.PodIP,
			time.Since(applied).Round(100*time.Millisecond))
		// up maps the version to the node image it loaded.
		if got := pod.Spec.Containers[0].Image; got != image {
			t.Errorf("node Pod %s runs %s, not the node image %s", pod.Name, got, image)
		}
		// The startup probe passes once bootstrap.sh wrote the success file.
		waitFor(ctx, t, 10*time.Minute, "the bootstrap of "+pod.Name+" to succeed (startup probe)", func() (bool, string) {
			var why string
			if pod, why = nodePod(controlPlane); pod == nil {
				return false, why
			}
			st := nodeStatus(pod)
			if st != nil && st.State.Terminated != nil {
				t.Fatalf("the node container of %s ended: %s", pod.Name, st.State.Terminated.Message)
			}
			return st != nil && st.Started != nil && *st.Started, "not started"
		})
		t.Logf("bootstrap of %s (systemd, image import, kubeadm) succeeded %s after the apply", pod.Name,
			time.Since(applied).Round(100*time.Millisecond))
		return pod
	}
	cpPod := waitForNode(true)
	workerPod := waitForNode(false)

	waitFor(ctx, t, 5*time.Minute, "both Machines to be Running with a Node", func() (bool, string) {
		machines := &clusterv1.MachineList{}
		if err := c.List(ctx, machines, client.MatchingLabels{clusterv1.ClusterNameLabel: "real"}); err != nil {
			return false, err.Error()
		}
		var phases []string
		running := 0
		for _, m := range machines.Items {
			phases = append(phases, m.Name+" "+m.Status.Phase)
			if m.Status.Phase == string(clusterv1.MachinePhaseRunning) && m.Status.NodeRef.Name != "" {
				running++
			}
		}
		return running == 2, strings.Join(phases, ", ")
	})
	t.Logf("both Machines Running %s after the apply", time.Since(applied).Round(100*time.Millisecond))

	// The workload cluster, from the host, through the kubeconfig Secret.
	secret := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "real-kubeconfig"}, secret); err != nil {
		t.Fatalf("reading the kubeconfig Secret: %v", err)
	}
	wcfg, err := clientcmd.RESTConfigFromKubeConfig(secret.Data["value"])
	if err != nil {
		t.Fatal(err)
	}
	wcfg.Timeout = 10 * time.Second
	workload, err := kubernetes.NewForConfig(wcfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, pod := range []*corev1.Pod{cpPod, workerPod} {
		waitFor(ctx, t, 5*time.Minute, "the workload Node "+pod.Spec.Hostname+" to be Ready", func() (bool, string) {
			node, err := workload.CoreV1().Nodes().Get(ctx, pod.Spec.Hostname, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			for _, cond := range node.Status.Conditions {
				if cond.Type == corev1.NodeReady {
					return cond.Status == corev1.ConditionTrue, cond.Message
				}
			}
			return false, "no Ready condition"
		})
		t.Logf("workload Node %s Ready (seen at %s) %s after the apply", pod.Spec.Hostname, wcfg.Host, time.Since(applied).Round(100*time.Millisecond))
	}
	if pods, err := workload.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); err == nil {
		var lines []string
		for _, p := range pods.Items {
			lines = append(lines, p.Namespace+"/"+p.Name+" "+p.Spec.NodeName+" "+string(p.Status.Phase))
		}
		t.Logf("workload Pods:\n%s", strings.Join(lines, "\n"))
	}

	// The real kubeadm init and join, in the nodes' journals.
	socket := filepath.Join(stateDir, "node", "containerd", "containerd.sock")
	for _, n := range []struct {
		pod  *corev1.Pod
		want string
	}{
		{cpPod, "Your Kubernetes control-plane has initialized successfully"},
		{workerPod, "This node has joined the cluster"},
	} {
		pod, _ := nodePod(n.pod == cpPod)
		id := strings.TrimPrefix(nodeStatus(pod).ContainerID, "containerd://")
		journal, err := nodeExec(ctx, t, socket, id, "journalctl", "--no-pager", "--output=short-monotonic", "-u", "podcluster-bootstrap.service")
		if err != nil {
			t.Fatalf("reading the bootstrap unit's journal of %s: %v", pod.Name, err)
		}
		if !strings.Contains(journal, n.want) {
			t.Errorf("the bootstrap unit's journal of %s does not say %q:\n%s", pod.Name, n.want, tail(journal, 40))
		}
		t.Logf("%s: journalctl -u podcluster-bootstrap.service (tail):\n%s", pod.Name, tail(journal, 12))
		if out, err := nodeExec(ctx, t, socket, id, "systemd-analyze"); err == nil {
			t.Logf("%s boot: %s", pod.Name, strings.TrimSpace(out))
		}
		for _, unit := range []string{"containerd.service", "podcluster-preload-images.service", "podcluster-bootstrap.service"} {
			out, _ := nodeExec(ctx, t, socket, id, "systemctl", "show", "--property=ExecMainStartTimestampMonotonic",
				"--property=ExecMainExitTimestampMonotonic", "--property=ActiveEnterTimestampMonotonic", unit)
			t.Logf("%s %s: %s", pod.Name, unit, strings.Join(strings.Fields(out), " "))
		}
	}

	// The Pod network between the nodes (podcluster-network, which
	// examples/real starts): each node has its own Pod range, and a Pod on
	// one node reaches, by Pod IP, a CoreDNS Pod on the other, after
	// resolving a Service's DNS name through the cluster DNS.
	checkPodNetwork(ctx, t, workload, cpPod.Spec.Hostname, workerPod.Spec.Hostname, func(serverIP string) string {
		// What each node's network looks like, for the log of a failure.
		var out []string
		for _, cp := range []bool{true, false} {
			pod, _ := nodePod(cp)
			id := strings.TrimPrefix(nodeStatus(pod).ContainerID, "containerd://")
			for _, cmd := range [][]string{
				{"ip", "-4", "addr"}, {"ip", "-4", "route"}, {"iptables", "-t", "nat", "-S", "POSTROUTING"},
				{"iptables", "-t", "nat", "-S", "PODCLUSTER-MASQ"}, {"cat", "/etc/cni/net.d/10-podcluster.conflist"},
				{"curl", "-sS", "-m", "5", "http://" + serverIP + ":8080/health"},
			} {
				res, err := nodeExec(ctx, t, socket, id, cmd...)
				out = append(out, fmt.Sprintf("%s$ %s\n%s%v", pod.Name, strings.Join(cmd, " "), res, err))
			}
		}
		return strings.Join(out, "\n")
	})
	t.Logf("a Pod reached a Pod of the other node, and the cluster DNS, %s after the apply", time.Since(applied).Round(100*time.Millisecond))

	// A failing bootstrap on a real node: the failing step and its output, from
	// the node container's termination message, in the conditions.
	failApplied := time.Now()
	objs, err := manifest.ReadPaths(filepath.Join("testdata", "bootstrap-failure.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := manifest.Apply(ctx, c, "default", objs...); err != nil {
		t.Fatalf("applying testdata/bootstrap-failure.yaml: %v", err)
	}
	const wantFailure = "failed step: runcmd[1]: sh -c 'echo injected bootstrap failure >&2; exit 3'"
	waitFor(ctx, t, 5*time.Minute, "the Machine of the broken cluster to report the failed step", func() (bool, string) {
		machines := &clusterv1.MachineList{}
		if err := c.List(ctx, machines, client.MatchingLabels{clusterv1.ClusterNameLabel: "broken"}); err != nil || len(machines.Items) != 1 {
			return false, "no Machine yet"
		}
		for _, cond := range machines.Items[0].Status.Conditions {
			if cond.Type == clusterv1.MachineInfrastructureReadyCondition {
				return strings.Contains(cond.Message, wantFailure) && strings.Contains(cond.Message, "\ninjected bootstrap failure"),
					cond.Reason + ": " + cond.Message
			}
		}
		return false, "no InfrastructureReady condition"
	})
	t.Logf("the failed bootstrap reached the Machine's conditions %s after the apply", time.Since(failApplied).Round(100*time.Millisecond))

	stopped := time.Now()
	if err := up.stop(); err != nil {
		t.Errorf("stopping podcluster up: %v\n%s", err, tail(up.stderr(), 20))
	}
	t.Logf("podcluster up stopped in %s", time.Since(stopped).Round(100*time.Millisecond))
}

// upProcess is a running `podcluster up`.
type upProcess struct {
	cmd                    *exec.Cmd
	stdoutPath, stderrPath string
	done                   chan struct{}
	err                    error
}

// startUp starts `podcluster up --runtime=real` and registers its stop.
func startUp(t *testing.T, bin, stateDir, imageDir, manifest string) *upProcess {
	t.Helper()
	logs := t.TempDir()
	u := &upProcess{stdoutPath: filepath.Join(logs, "stdout"), stderrPath: filepath.Join(logs, "stderr"), done: make(chan struct{})}
	stdout, err := os.Create(u.stdoutPath)
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(u.stderrPath)
	if err != nil {
		t.Fatal(err)
	}
	u.cmd = exec.Command(bin, "up", "--runtime=real", "--state-dir", stateDir, "--node-image-dir", imageDir,
		"--apply", manifest, "--wait=0")
	u.cmd.Env = append(os.Environ(), "PODCLUSTER_SIM_LOADBALANCER_BASE="+loadBalancerBase)
	u.cmd.Stdout, u.cmd.Stderr = stdout, stderr
	u.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := u.cmd.Start(); err != nil {
		t.Fatalf("starting podcluster up: %v", err)
	}
	go func() {
		u.err = u.cmd.Wait()
		_ = stdout.Close()
		_ = stderr.Close()
		close(u.done)
	}()
	t.Cleanup(func() {
		if err := u.stop(); err != nil {
			t.Errorf("stopping podcluster up: %v", err)
		}
		if t.Failed() {
			t.Logf("podcluster up (tail):\n%s", tail(u.stderr(), 40))
			for _, log := range []string{"node/logs/kubelet.log", "node/logs/containerd.log", "logs/providers.log"} {
				if b, err := os.ReadFile(filepath.Join(stateDir, log)); err == nil {
					t.Logf("%s (tail):\n%s", log, tail(string(b), 30))
				}
			}
		}
	})
	return u
}

func (u *upProcess) exited() bool {
	select {
	case <-u.done:
		return true
	default:
		return false
	}
}

func (u *upProcess) stderr() string {
	b, _ := os.ReadFile(u.stderrPath)
	return string(b)
}

// stop ends up as Ctrl-C would and waits; it kills it after upStopTimeout.
func (u *upProcess) stop() error {
	if u.exited() {
		return u.err
	}
	_ = u.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-u.done:
		return u.err
	case <-time.After(upStopTimeout):
		_ = u.cmd.Process.Kill()
		<-u.done
		return errors.New("podcluster up did not stop within " + upStopTimeout.String() + " of SIGTERM and was killed")
	}
}

// nodeExec runs a command in a node container of the management node's
// containerd.
func nodeExec(ctx context.Context, t *testing.T, socket, id string, args ...string) (string, error) {
	t.Helper()
	ctrArgs := append([]string{"--address", socket, "--namespace", "k8s.io", "tasks", "exec",
		"--fifo-dir", t.TempDir(), "--exec-id", "test-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")}, id)
	return run(ctx, "ctr", append(ctrArgs, args...)...)
}

func restConfig(t *testing.T, kubeconfig string) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// checkPodNetwork checks the workload cluster's Pod network between nodes a
// and b: distinct Pod ranges, and a client Pod on one node that resolves
// kubernetes.default through the cluster DNS and then asks a CoreDNS Pod on
// the other node for its health, by Pod IP. The client runs the kube-proxy
// image, which every node has and which has bash (its /dev/tcp is the HTTP
// client) and getent.
func checkPodNetwork(ctx context.Context, t *testing.T, workload kubernetes.Interface, a, b string, diagnose func(serverIP string) string) {
	t.Helper()
	cidrs := map[string]string{}
	waitFor(ctx, t, 3*time.Minute, "both Nodes to have a Pod range", func() (bool, string) {
		for _, name := range []string{a, b} {
			node, err := workload.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			cidrs[name] = node.Spec.PodCIDR
		}
		return cidrs[a] != "" && cidrs[b] != "", fmt.Sprint(cidrs)
	})
	if cidrs[a] == cidrs[b] {
		t.Fatalf("both Nodes have the Pod range %s", cidrs[a])
	}
	var server corev1.Pod
	waitFor(ctx, t, 5*time.Minute, "a Running CoreDNS Pod", func() (bool, string) {
		pods, err := workload.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-dns"})
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, p := range pods.Items {
			seen = append(seen, p.Name+" "+p.Spec.NodeName+" "+string(p.Status.Phase)+" "+p.Status.PodIP)
			if p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
				server = p
				return true, ""
			}
		}
		return false, strings.Join(seen, ", ")
	})
	clientNode := a
	if server.Spec.NodeName == a {
		clientNode = b
	}
	image := ""
	proxies, err := workload.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-proxy"})
	if err == nil && len(proxies.Items) > 0 {
		image = proxies.Items[0].Spec.Containers[0].Image
	}
	if image == "" {
		t.Fatalf("no kube-proxy Pod to take the image of: %v", err)
	}
	script := fmt.Sprintf(`set -e
getent hosts kubernetes.default.svc.cluster.local
exec 3<>/dev/tcp/%s/8080
printf 'GET /health HTTP/1.0\r\n\r\n' >&3
grep -q '^OK' <&3
echo "reached %s"`, server.Status.PodIP, server.Name)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-network-check", Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName:      clientNode,
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name: "client", Image: image, ImagePullPolicy: corev1.PullNever,
				Command: []string{"bash", "-c", script},
			}},
		},
	}
	if _, err := workload.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the client Pod: %v", err)
	}
	waitFor(ctx, t, 3*time.Minute, "the client Pod on "+clientNode+" to reach "+server.Name+" on "+server.Spec.NodeName, func() (bool, string) {
		p, err := workload.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if p.Status.Phase == corev1.PodFailed {
			logs, err := workload.CoreV1().Pods("default").GetLogs(pod.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
			if agents, lerr := workload.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=podcluster-network"}); lerr == nil {
				for _, a := range agents.Items {
					out, _ := workload.CoreV1().Pods("kube-system").GetLogs(a.Name, &corev1.PodLogOptions{TailLines: ptr.To[int64](20)}).DoRaw(ctx)
					t.Logf("%s on %s:\n%s", a.Name, a.Spec.NodeName, out)
				}
			}
			t.Fatalf("the client Pod on %s failed to reach %s (%s) on %s: %s%v\n%s", clientNode, server.Name, server.Status.PodIP,
				server.Spec.NodeName, logs, err, diagnose(server.Status.PodIP))
		}
		return p.Status.Phase == corev1.PodSucceeded, string(p.Status.Phase)
	})
}
