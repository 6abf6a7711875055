package realnode

import (
	"archive/tar"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/cmd/podcluster/client/mgmtnode"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
)

// mgmtView is what the walkthrough sees of the management cluster: the node
// Pods of one workload cluster, its Machines, and the management node's
// containerd, which runs them.
type mgmtView struct {
	t       *testing.T
	c       client.Client
	socket  string // the management node's containerd
	cluster string
	image   string // the node image every node Pod must run
	// bootstrapped holds the node Pods whose bootstrap was logged.
	bootstrapped map[string]bool
}

// nodePods returns the cluster's node Pods that are not being deleted, control
// plane and workers apart, each sorted by name.
func (m *mgmtView) nodePods(ctx context.Context) (controlPlane, workers []corev1.Pod) {
	pods := &corev1.PodList{}
	if err := m.c.List(ctx, pods, client.MatchingLabels{clusterv1.ClusterNameLabel: m.cluster}); err != nil {
		return nil, nil
	}
	sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		if _, cp := p.Labels[clusterv1.MachineControlPlaneLabel]; cp {
			controlPlane = append(controlPlane, p)
		} else {
			workers = append(workers, p)
		}
	}
	return controlPlane, workers
}

// containerID is the containerd ID of a node Pod's node container.
func containerID(pod *corev1.Pod) string {
	if st := nodepod.NodeStatus(pod); st != nil {
		return strings.TrimPrefix(st.ContainerID, "containerd://")
	}
	return ""
}

// waitForNodePods waits until the cluster has exactly controlPlanes and
// workers node Pods, each running the node image and past its startup probe
// (bootstrap.sh wrote its success file). A node container that ended fails the
// test with its termination message.
func (m *mgmtView) waitForNodePods(ctx context.Context, controlPlanes, workers int, since func() time.Duration) {
	m.t.Helper()
	if m.bootstrapped == nil {
		m.bootstrapped = map[string]bool{}
	}
	what := fmt.Sprintf("%d control-plane and %d worker node Pods to boot and bootstrap", controlPlanes, workers)
	waitFor(ctx, m.t, 15*time.Minute, what, func() (bool, string) {
		cp, w := m.nodePods(ctx)
		started, waiting := 0, []string{}
		for _, p := range append(cp, w...) {
			if got := p.Spec.Containers[0].Image; got != m.image {
				m.t.Fatalf("node Pod %s runs %s, not the node image %s", p.Name, got, m.image)
			}
			st := nodepod.NodeStatus(&p)
			switch {
			case st != nil && st.State.Terminated != nil:
				m.t.Fatalf("the node container of %s ended: %s", p.Name, st.State.Terminated.Message)
			case st != nil && st.Started != nil && *st.Started:
				started++
				if !m.bootstrapped[p.Name] {
					m.bootstrapped[p.Name] = true
					m.t.Logf("node Pod %s (%s on %s) bootstrapped %s after the apply", p.Name, p.Status.PodIP, p.Spec.NodeName, since())
				}
			default:
				waiting = append(waiting, p.Name+" "+string(p.Status.Phase))
			}
		}
		return len(cp) == controlPlanes && len(w) == workers && started == controlPlanes+workers,
			fmt.Sprintf("%d control plane, %d workers, %d bootstrapped; waiting: %v", len(cp), len(w), started, waiting)
	})
}

// waitForMachines waits until the cluster has exactly n Machines, each
// Running with a Node.
func (m *mgmtView) waitForMachines(ctx context.Context, n int) {
	m.t.Helper()
	waitFor(ctx, m.t, 5*time.Minute, fmt.Sprintf("%d Machines to be Running with a Node", n), func() (bool, string) {
		machines := &clusterv1.MachineList{}
		if err := m.c.List(ctx, machines, client.MatchingLabels{clusterv1.ClusterNameLabel: m.cluster}); err != nil {
			return false, err.Error()
		}
		var phases []string
		running := 0
		for _, mc := range machines.Items {
			phases = append(phases, mc.Name+" "+mc.Status.Phase)
			if mc.Status.Phase == string(clusterv1.MachinePhaseRunning) && mc.Status.NodeRef.Name != "" {
				running++
			}
		}
		return running == n && len(machines.Items) == n, strings.Join(phases, ", ")
	})
}

// checkJournal checks that the node's bootstrap unit logged want.
func (m *mgmtView) checkJournal(ctx context.Context, pod corev1.Pod, want string) {
	m.t.Helper()
	id := containerID(&pod)
	journal, err := nodeExec(ctx, m.t, m.socket, id, "journalctl", "--no-pager", "--output=short-monotonic", "-u", "podcluster-bootstrap.service")
	if err != nil {
		m.t.Fatalf("reading the bootstrap unit's journal of %s: %v", pod.Name, err)
	}
	if !strings.Contains(journal, want) {
		m.t.Errorf("the bootstrap unit's journal of %s does not say %q:\n%s", pod.Name, want, tail(journal, 40))
	}
	m.t.Logf("%s: journalctl -u podcluster-bootstrap.service (tail):\n%s", pod.Name, tail(journal, 6))
	if out, err := nodeExec(ctx, m.t, m.socket, id, "systemd-analyze"); err == nil {
		m.t.Logf("%s boot: %s", pod.Name, strings.TrimSpace(out))
	}
}

// loadImage imports an image archive into a node's containerd, as `kind load
// image-archive` does: the archive goes to `ctr images import -` in the node
// through the management node's containerd.
func (m *mgmtView) loadImage(ctx context.Context, pod corev1.Pod, archive string) {
	m.t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		m.t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	cmd := exec.CommandContext(ctx, "ctr", "--address", m.socket, "--namespace", "k8s.io", "tasks", "exec",
		"--fifo-dir", m.t.TempDir(), "--exec-id", "load-image", containerID(&pod),
		"ctr", "--namespace", "k8s.io", "images", "import", "-")
	cmd.Stdin = f
	if out, err := cmd.CombinedOutput(); err != nil {
		m.t.Fatalf("loading %s into %s: %v\n%s", archive, pod.Name, err, out)
	}
}

// networkDiagnostics shows each node's Pod network, for the log of a failure.
func (m *mgmtView) networkDiagnostics(ctx context.Context) string {
	var out []string
	cp, workers := m.nodePods(ctx)
	for _, pod := range append(cp, workers...) {
		for _, cmd := range [][]string{
			{"ip", "-4", "addr"}, {"ip", "-4", "route"}, {"iptables", "-t", "nat", "-S", "POSTROUTING"},
			{"iptables", "-t", "nat", "-S", "PODCLUSTER-MASQ"}, {"cat", "/etc/cni/net.d/10-podcluster.conflist"},
		} {
			res, err := nodeExec(ctx, m.t, m.socket, containerID(&pod), cmd...)
			out = append(out, fmt.Sprintf("%s$ %s\n%s%v", pod.Name, strings.Join(cmd, " "), res, err))
		}
	}
	return strings.Join(out, "\n")
}

// scaleWorkers sets the MachineDeployment's replicas.
func (m *mgmtView) scaleWorkers(ctx context.Context, name string, replicas int32) {
	m.t.Helper()
	md := &clusterv1.MachineDeployment{}
	if err := m.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, md); err != nil {
		m.t.Fatal(err)
	}
	patch := client.MergeFrom(md.DeepCopy())
	md.Spec.Replicas = ptr.To(replicas)
	if err := m.c.Patch(ctx, md, patch); err != nil {
		m.t.Fatalf("scaling MachineDeployment %s to %d: %v", name, replicas, err)
	}
}

// deleteCluster deletes a Cluster and waits until it, its Machines and its
// node Pods are gone.
func (m *mgmtView) deleteCluster(ctx context.Context, name string) {
	m.t.Helper()
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}}
	if err := m.c.Delete(ctx, cluster); err != nil && !apierrors.IsNotFound(err) {
		m.t.Fatalf("deleting Cluster %s: %v", name, err)
	}
	waitFor(ctx, m.t, 5*time.Minute, "Cluster "+name+", its Machines and its node Pods to be gone", func() (bool, string) {
		machines := &clusterv1.MachineList{}
		pods := &corev1.PodList{}
		if err := m.c.List(ctx, machines, client.MatchingLabels{clusterv1.ClusterNameLabel: name}); err != nil {
			return false, err.Error()
		}
		if err := m.c.List(ctx, pods, client.MatchingLabels{clusterv1.ClusterNameLabel: name}); err != nil {
			return false, err.Error()
		}
		err := m.c.Get(ctx, client.ObjectKeyFromObject(cluster), &clusterv1.Cluster{})
		return apierrors.IsNotFound(err) && len(machines.Items) == 0 && len(pods.Items) == 0,
			fmt.Sprintf("Cluster: %v, %d Machines, %d node Pods", err, len(machines.Items), len(pods.Items))
	})
}

// waitForNothingLeft waits until the management node, which ran only the
// deleted clusters' node Pods, holds nothing of them: no container or sandbox
// in containerd, no Pod mount (volumes, root filesystems, network namespaces)
// in its mount namespace, no network namespace file, and no Pod cgroup below
// its cgroup root.
func (m *mgmtView) waitForNothingLeft(ctx context.Context, stateDir string) {
	m.t.Helper()
	netnsDir := ""
	_ = filepath.WalkDir(filepath.Join(stateDir, "node", "containerd"), func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == "netns" && netnsDir == "" {
			netnsDir = path
		}
		return nil
	})
	if netnsDir == "" {
		m.t.Fatalf("no netns folder under %s/node/containerd, where containerd keeps the Pods' network namespaces", stateDir)
	}
	waitFor(ctx, m.t, 5*time.Minute, "the management node to hold nothing of the deleted clusters", func() (bool, string) {
		var left []string
		out, err := run(ctx, "ctr", "--address", m.socket, "--namespace", "k8s.io", "containers", "list", "--quiet")
		if err != nil {
			return false, err.Error()
		}
		if ids := strings.Fields(out); len(ids) > 0 {
			left = append(left, fmt.Sprintf("%d containers", len(ids)))
		}
		if entries, err := os.ReadDir(netnsDir); err != nil || len(entries) > 0 {
			left = append(left, fmt.Sprintf("network namespaces in %s: %d %v", netnsDir, len(entries), err))
		}
		mounts, err := podMounts(stateDir)
		if err != nil {
			return false, err.Error()
		}
		if len(mounts) > 0 {
			left = append(left, fmt.Sprintf("%d Pod mounts, the first %s", len(mounts), mounts[0]))
		}
		if cgroups := podCgroups(mgmtnode.CgroupRootPrefix + mgmtnode.DefaultNodeName); len(cgroups) > 0 {
			left = append(left, fmt.Sprintf("%d Pod cgroups, the first %s", len(cgroups), cgroups[0]))
		}
		return len(left) == 0, strings.Join(left, "; ")
	})
}

// podMounts lists the mounts of Pods (volumes, container root file systems,
// network namespaces) in the management node's mount namespace, read from
// its containerd's mount table.
func podMounts(stateDir string) ([]string, error) {
	pid := ""
	for _, p := range processesMentioning(filepath.Join(stateDir, "node", "containerd")) {
		fields := strings.Fields(p)
		if len(fields) > 1 && filepath.Base(fields[1]) == "containerd" {
			pid = fields[0]
		}
	}
	if pid == "" {
		return nil, fmt.Errorf("no containerd process of %s", stateDir)
	}
	all, err := mountPoints(filepath.Join("/proc", pid, "mountinfo"))
	if err != nil {
		return nil, err
	}
	var mounts []string
	for _, mp := range all {
		if strings.Contains(mp, "/pods/") || strings.Contains(mp, "io.containerd.runtime.v2.task") || strings.Contains(mp, "/netns/") ||
			strings.Contains(mp, "io.containerd.grpc.v1.cri/sandboxes") {
			mounts = append(mounts, mp)
		}
	}
	return mounts, nil
}

// podCgroupName is the name of a Pod's cgroup: pod and its UID (the systemd
// cgroup driver writes the UID's dashes as underscores).
var podCgroupName = regexp.MustCompile(`^pod[0-9a-f]{8}[-_][0-9a-f]{4}[-_]`)

// podCgroups lists the kubelet's Pod cgroups (pod<uid>) below the cgroup
// root name in every hierarchy.
func podCgroups(name string) []string {
	var found []string
	for _, dir := range cgroupDirs(name) {
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() && podCgroupName.MatchString(d.Name()) {
				found = append(found, path)
				return filepath.SkipDir
			}
			return nil
		})
	}
	return found
}

// waitForReadyNodes waits until the workload cluster has exactly n Nodes, all
// Ready, logs each change of what it sees on the way, and returns their names.
func waitForReadyNodes(ctx context.Context, t *testing.T, workload kubernetes.Interface, n int, timeout time.Duration) []string {
	t.Helper()
	start := time.Now()
	var ready []string
	last := ""
	waitFor(ctx, t, timeout, fmt.Sprintf("%d Ready workload Nodes", n), func() (bool, string) {
		nodes, err := workload.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			// The API server is not there yet, or restarting.
			return false, err.Error()
		}
		ready = ready[:0]
		var notReady []string
		for _, node := range nodes.Items {
			isReady := false
			for _, cond := range node.Status.Conditions {
				isReady = isReady || (cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue)
			}
			if isReady {
				ready = append(ready, node.Name)
			} else {
				notReady = append(notReady, node.Name)
			}
		}
		state := fmt.Sprintf("Ready: %v, not Ready: %v", ready, notReady)
		if state != last {
			t.Logf("%s: %s", time.Since(start).Round(time.Second), state)
			last = state
		}
		return len(ready) == n && len(notReady) == 0, state
	})
	return ready
}

// waitForSystemPods waits until the workload cluster's kube-system shows what
// `kubectl get pods -A` of a healthy kubeadm cluster does: the control plane's
// static Pods, CoreDNS, and one kube-proxy per Node, all Running and ready.
func waitForSystemPods(ctx context.Context, t *testing.T, workload kubernetes.Interface, nodes int) {
	t.Helper()
	var lines []string
	waitFor(ctx, t, 5*time.Minute, "the control plane's static Pods, CoreDNS and kube-proxy to run", func() (bool, string) {
		pods, err := workload.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		lines = lines[:0]
		running := map[string]int{}
		for _, p := range pods.Items {
			ready := p.Status.Phase == corev1.PodRunning
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status != corev1.ConditionTrue {
					ready = false
				}
			}
			lines = append(lines, fmt.Sprintf("%s/%s %s %s ready=%t", p.Namespace, p.Name, p.Spec.NodeName, p.Status.Phase, ready))
			if !ready || p.Namespace != "kube-system" {
				continue
			}
			for _, prefix := range []string{"etcd-", "kube-apiserver-", "kube-controller-manager-", "kube-scheduler-", "coredns-", "kube-proxy-"} {
				if strings.HasPrefix(p.Name, prefix) {
					running[prefix]++
				}
			}
		}
		ok := running["kube-proxy-"] == nodes && running["coredns-"] > 0
		for _, prefix := range []string{"etcd-", "kube-apiserver-", "kube-controller-manager-", "kube-scheduler-"} {
			ok = ok && running[prefix] == 1
		}
		return ok, fmt.Sprint(running)
	})
	t.Logf("workload Pods:\n%s", strings.Join(lines, "\n"))
}

// checkWorkload runs the walkthrough's workload: each Node has its own Pod
// range; a Deployment of 3 replicas of image (webapp serve) spreads over the
// workers, one Pod each, behind a Service; and a client Pod on one worker
// reaches, by Pod IP, a webapp Pod on another worker, and the Service by its
// DNS name through the cluster DNS.
func checkWorkload(ctx context.Context, t *testing.T, workload kubernetes.Interface, image string, workers []string, diagnose func() string) {
	t.Helper()
	nodes, err := workload.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ranges := map[string]string{}
	for _, n := range nodes.Items {
		if n.Spec.PodCIDR == "" {
			t.Fatalf("Node %s has no Pod range", n.Name)
		}
		if other, dup := ranges[n.Spec.PodCIDR]; dup {
			t.Fatalf("Nodes %s and %s have the same Pod range %s", other, n.Name, n.Spec.PodCIDR)
		}
		ranges[n.Spec.PodCIDR] = n.Name
	}

	labels := map[string]string{"app": "webapp"}
	fieldEnv := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "webapp", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					// One Pod per worker: the control plane's taint keeps it
					// out, and Honor keeps it out of the spread's count too.
					TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
						MaxSkew: 1, TopologyKey: corev1.LabelHostname, WhenUnsatisfiable: corev1.DoNotSchedule,
						LabelSelector: &metav1.LabelSelector{MatchLabels: labels}, NodeTaintsPolicy: ptr.To(corev1.NodeInclusionPolicyHonor),
					}},
					Containers: []corev1.Container{{
						Name: "webapp", Image: image, ImagePullPolicy: corev1.PullNever,
						Args:  []string{"serve"},
						Env:   []corev1.EnvVar{fieldEnv("POD_NAME", "metadata.name"), fieldEnv("NODE_NAME", "spec.nodeName")},
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
							HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("http")},
						}, PeriodSeconds: 2},
					}},
				},
			},
		},
	}
	service := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "webapp", Namespace: "default"},
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
	if _, err := workload.AppsV1().Deployments("default").Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the webapp Deployment: %v", err)
	}
	if _, err := workload.CoreV1().Services("default").Create(ctx, service, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the webapp Service: %v", err)
	}
	var pods []corev1.Pod
	waitFor(ctx, t, 5*time.Minute, "3 ready webapp Pods, one on each worker", func() (bool, string) {
		list, err := workload.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=webapp"})
		if err != nil {
			return false, err.Error()
		}
		pods = pods[:0]
		on := map[string]bool{}
		var seen []string
		for _, p := range list.Items {
			ready := false
			for _, cond := range p.Status.Conditions {
				ready = ready || (cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue)
			}
			seen = append(seen, fmt.Sprintf("%s on %q ready=%t", p.Name, p.Spec.NodeName, ready))
			if ready {
				pods = append(pods, p)
				on[p.Spec.NodeName] = true
			}
		}
		return len(pods) == 3 && len(on) == 3, strings.Join(seen, ", ")
	})
	for _, p := range pods {
		if !slices.Contains(workers, p.Spec.NodeName) {
			t.Fatalf("webapp Pod %s runs on %s, not on a worker (%v)", p.Name, p.Spec.NodeName, workers)
		}
	}

	clientNode, target := workers[0], pods[0]
	for _, p := range pods {
		if p.Spec.NodeName != clientNode {
			target = p
		}
	}
	podURL := fmt.Sprintf("http://%s:8080/", target.Status.PodIP)
	serviceURL := "http://webapp.default.svc.cluster.local/"
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "webapp-client", Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName:      clientNode,
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name: "client", Image: image, ImagePullPolicy: corev1.PullNever,
				Args: []string{"get", podURL, serviceURL},
			}},
		},
	}
	if _, err := workload.CoreV1().Pods("default").Create(ctx, probe, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the client Pod: %v", err)
	}
	logs := func() string {
		out, err := workload.CoreV1().Pods("default").GetLogs(probe.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
		if err != nil {
			return err.Error()
		}
		return string(out)
	}
	waitFor(ctx, t, 4*time.Minute, "the client Pod on "+clientNode+" to reach "+target.Name+" on "+target.Spec.NodeName+" and the Service", func() (bool, string) {
		p, err := workload.CoreV1().Pods("default").Get(ctx, probe.Name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if p.Status.Phase == corev1.PodFailed {
			if agents, lerr := workload.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=podcluster-network"}); lerr == nil {
				for _, a := range agents.Items {
					out, _ := workload.CoreV1().Pods("kube-system").GetLogs(a.Name, &corev1.PodLogOptions{TailLines: ptr.To[int64](20)}).DoRaw(ctx)
					t.Logf("%s on %s:\n%s", a.Name, a.Spec.NodeName, out)
				}
			}
			t.Fatalf("the client Pod on %s failed:\n%s\n%s", clientNode, logs(), diagnose())
		}
		return p.Status.Phase == corev1.PodSucceeded, string(p.Status.Phase)
	})
	out := logs()
	t.Logf("the client Pod on %s:\n%s", clientNode, out)
	if want := fmt.Sprintf("%s: webapp %s on %s", podURL, target.Name, target.Spec.NodeName); !strings.Contains(out, want) {
		t.Errorf("the client Pod did not get %q by Pod IP:\n%s", want, out)
	}
	if want := serviceURL + ": webapp webapp-"; !strings.Contains(out, want) {
		t.Errorf("the client Pod did not get %q through the Service:\n%s", want, out)
	}
	// The Deployment goes before the workers scale: a rescheduled Pod could
	// land on a new worker, which does not have the image.
	if err := workload.AppsV1().Deployments("default").Delete(ctx, deploy.Name, metav1.DeleteOptions{}); err != nil {
		t.Errorf("deleting the webapp Deployment: %v", err)
	}
}

// buildWebappImage builds testdata/webapp into an image of its own, with the
// project's OCI archive tool (go-containerregistry; no container engine), and
// returns its name and archive.
func buildWebappImage(t *testing.T, root, work string) (name, archive string) {
	t.Helper()
	name = "podcluster.local/webapp:e2e"
	dir := filepath.Join(work, "webapp")
	bin := filepath.Join(dir, "webapp")
	goBuild := exec.Command("go", "build", "-trimpath", "-o", bin, "./test/realnode/testdata/webapp")
	goBuild.Dir = root
	goBuild.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := goBuild.CombinedOutput(); err != nil {
		t.Fatalf("building testdata/webapp: %v\n%s", err, out)
	}
	layer := filepath.Join(dir, "layer.tar")
	if err := singleFileTar(layer, bin, "webapp"); err != nil {
		t.Fatal(err)
	}
	archive = filepath.Join(dir, "webapp.tar")
	layout := filepath.Join(dir, "layout")
	for _, args := range [][]string{
		{"add", "-layout", layout, "-name", name, "-layer", layer, "-entrypoint", `["/webapp"]`, "-user", "65532:65532"},
		{"pack", "-layout", layout, "-o", archive},
	} {
		cmd := exec.Command("go", append([]string{"run", "./ociarchive"}, args...)...)
		cmd.Dir = filepath.Join(root, "hack", "node-image")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ociarchive %s: %v\n%s", args[0], err, out)
		}
	}
	return name, archive
}

// singleFileTar writes a layer tarball holding the executable src as /name.
func singleFileTar(out, src, name string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := tar.NewWriter(f)
	hdr := &tar.Header{Name: name, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
	if err := w.WriteHeader(hdr); err != nil {
		_ = f.Close()
		return err
	}
	if _, err := w.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := w.Close(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// hostnames returns the node Pods' host names: their workload Nodes' names.
func hostnames(pods []corev1.Pod) []string {
	var names []string
	for _, p := range pods {
		names = append(names, p.Spec.Hostname)
	}
	return names
}
