package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	osexec "os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/cmd/podcluster/app/up"
	"github.com/podcluster/podcluster/cmd/podcluster/client/tools"
	"github.com/podcluster/podcluster/internal/scheme"
	"github.com/podcluster/podcluster/test/sim"
)

func exec(name string, args ...string) *osexec.Cmd { return osexec.Command(name, args...) }

// meta counts the items of a list.
func meta(list client.ObjectList) int {
	items, err := apimeta.ExtractList(list)
	if err != nil {
		return -1
	}
	return len(items)
}

// dial reports whether something listens at addr.
func dial(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}

// readyLine is what `podcluster up` prints once the plane serves.
const readyLine = "The management plane is ready"

// upOutput collects the output of `podcluster up`, which its goroutines write
// while TestMain waits. ready is closed once the output contains the line
// waited for.
type upOutput struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	line  string
	ready chan struct{}
}

func newUpOutput(line string) *upOutput {
	return &upOutput{line: line, ready: make(chan struct{})}
}

func (o *upOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, err := o.buf.Write(p)
	select {
	case <-o.ready:
	default:
		// The whole output, not p: the line may come in pieces.
		if strings.Contains(o.buf.String(), o.line) {
			close(o.ready)
		}
	}
	return n, err
}

func (o *upOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// podclusterBin is the podcluster binary the restart tests run as processes
// of their own, built once (see podcluster).
var podclusterBin struct {
	once sync.Once
	path string
	err  error
}

// podcluster builds the podcluster binary once, with the race detector when
// this test binary has it, into the suite's state folder, which TestMain
// removes.
func podcluster(t *testing.T) string {
	t.Helper()
	podclusterBin.once.Do(func() {
		dir := filepath.Join(filepath.Dir(kubeconfig), "podcluster-bin")
		args := []string{"build", "-o", filepath.Join(dir, "podcluster")}
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, s := range info.Settings {
				if s.Key == "-race" && s.Value == "true" {
					args = append(args, "-race")
				}
			}
		}
		cmd := exec("go", append(args, "./cmd/podcluster")...)
		cmd.Dir = root
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			podclusterBin.err = fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
			return
		}
		podclusterBin.path = filepath.Join(dir, "podcluster")
		t.Logf("built %s in %s (go %s)", podclusterBin.path, time.Since(start).Round(time.Second), strings.Join(args, " "))
	})
	if podclusterBin.err != nil {
		t.Fatal(podclusterBin.err)
	}
	return podclusterBin.path
}

// upProcess is `podcluster up` running as a process of its own, in a
// process group of its own, so that the tests send it real signals.
type upProcess struct {
	cmd    *osexec.Cmd
	output *upOutput
	// exited is closed once the process has exited; err is how.
	exited chan struct{}
	err    error
}

// startUp starts `podcluster up --state-dir state args...` from the
// repository's root, with the suite's binaries. It is killed, with what it
// started, when the test ends.
func startUp(t *testing.T, state string, args ...string) *upProcess {
	t.Helper()
	up := &upProcess{output: newUpOutput(readyLine), exited: make(chan struct{})}
	up.cmd = exec(podcluster(t), append([]string{"up", "--state-dir", state}, args...)...)
	up.cmd.Dir = root
	up.cmd.Env = append(os.Environ(), tools.BinDirEnv+"="+bin)
	up.cmd.Stdout, up.cmd.Stderr = up.output, up.output
	up.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A process left holding its output must not keep Wait from returning.
	up.cmd.WaitDelay = 10 * time.Second
	if err := up.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		up.err = up.cmd.Wait()
		close(up.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-up.exited:
			return
		default:
		}
		groups := processGroups(up.cmd.Process.Pid)
		_ = up.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-up.exited:
		case <-time.After(time.Minute):
		}
		for pgid := range groups {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
		<-up.exited
	})
	return up
}

// waitReady waits until up says the plane is ready.
func (up *upProcess) waitReady(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-up.output.ready:
	case <-up.exited:
		t.Fatalf("podcluster up exited (%v) before the plane was ready:\n%s", up.err, up.output)
	case <-time.After(timeout):
		t.Fatalf("podcluster up is not ready after %s:\n%s", timeout, up.output)
	}
}

// stop sends sig to up and returns its exit code once it exited.
func (up *upProcess) stop(t *testing.T, sig syscall.Signal, timeout time.Duration) int {
	t.Helper()
	if err := up.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-up.exited:
	case <-time.After(timeout):
		t.Fatalf("podcluster up did not exit within %s of %s:\n%s", timeout, sig, up.output)
	}
	return up.cmd.ProcessState.ExitCode()
}

// procStat is what /proc/<pid>/stat says about a process.
type procStat struct {
	pid, ppid, pgrp int
	zombie          bool
	// start is the start time in clock ticks since boot.
	start uint64
	// cmd is the command line, for messages.
	cmd string
}

// processes lists the processes of the system.
func processes() []procStat {
	entries, _ := os.ReadDir("/proc")
	var out []procStat
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name, in parentheses, may hold spaces and parentheses.
		i := bytes.LastIndexByte(data, ')')
		if i < 0 || i+2 > len(data) {
			continue
		}
		f := strings.Fields(string(data[i+2:]))
		if len(f) < 20 {
			continue
		}
		st := procStat{pid: pid, zombie: f[0] == "Z"}
		st.ppid, _ = strconv.Atoi(f[1])
		st.pgrp, _ = strconv.Atoi(f[2])
		st.start, _ = strconv.ParseUint(f[19], 10, 64)
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		st.cmd = strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " ")
		out = append(out, st)
	}
	return out
}

// processGroups are the process groups of pid and its descendants.
func processGroups(pid int) map[int]bool {
	procs := processes()
	children := map[int][]procStat{}
	var self *procStat
	for i, p := range procs {
		children[p.ppid] = append(children[p.ppid], p)
		if p.pid == pid {
			self = &procs[i]
		}
	}
	groups := map[int]bool{}
	if self == nil {
		return groups
	}
	for queue := []procStat{*self}; len(queue) > 0; queue = queue[1:] {
		groups[queue[0].pgrp] = true
		queue = append(queue, children[queue[0].pid]...)
	}
	return groups
}

// startTime is the start time of pid in clock ticks since boot.
func startTime(pid int) uint64 {
	for _, p := range processes() {
		if p.pid == pid {
			return p.start
		}
	}
	return 0
}

// liveInGroups lists the live processes of groups that started no later
// than before (clock ticks since boot): a later process may have been given
// a number that was a group's.
func liveInGroups(groups map[int]bool, before uint64) []string {
	var live []string
	for _, p := range processes() {
		if groups[p.pgrp] && !p.zombie && p.start <= before {
			live = append(live, fmt.Sprintf("%d (group %d): %.120s", p.pid, p.pgrp, p.cmd))
		}
	}
	return live
}

// readyNodesOf lists the Ready Nodes of the Cluster ns/name, through its
// kubeconfig Secret read with mc, the management cluster's client.
func readyNodesOf(g Gomega, mc client.Client, ns, name string) []string {
	nodes := &corev1.NodeList{}
	g.Expect(workloadClientOf(g, mc, ns, name).List(context.Background(), nodes)).To(Succeed())
	var ready []string
	for _, n := range nodes.Items {
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				ready = append(ready, n.Name)
			}
		}
	}
	slices.Sort(ready)
	return ready
}

// workloadClientOf is a client of the workload cluster of the Cluster
// ns/name, from its kubeconfig Secret read with mc.
func workloadClientOf(g Gomega, mc client.Client, ns, name string) client.Client {
	secret := &corev1.Secret{}
	g.Expect(mc.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name + "-kubeconfig"}, secret)).To(Succeed())
	cfg, err := clientcmd.RESTConfigFromKubeConfig(secret.Data["value"])
	g.Expect(err).NotTo(HaveOccurred())
	cfg.Timeout = 5 * time.Second
	wc, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	g.Expect(err).NotTo(HaveOccurred())
	return wc
}

// podIPPrefix is the first two octets (and the dot) of the addresses the
// suite's simulated runtime gives node Pods: 127.2. unless the environment
// moves them, as it may to run next to another plane.
func podIPPrefix() string {
	base := sim.DefaultPodIPBase.String()
	if v := os.Getenv(up.PodIPBaseEnv); v != "" {
		base = v
	}
	octets := strings.Split(base, ".")
	return strings.Join(octets[:2], ".") + "."
}

// providersLogAbout is the end of the suite's providers log (where its
// simulated runtime logs too), its lines that mention what, for the log of a
// failed test.
func providersLogAbout(what string, lines int) string {
	b, err := os.ReadFile(providersLog())
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, what) {
			out = append(out, l)
		}
	}
	if len(out) > lines {
		out = out[len(out)-lines:]
	}
	return strings.Join(out, "\n")
}

// ownPlaneSimFlags are the simulated runtime's address flags of a plane a
// test starts next to the suite's: 127.<lb>.0.1 for LoadBalancers and
// 127.<pod>.0.1 for node Pods. When the environment moves the suite's
// addresses (to run next to another plane on the host), the test's plane
// moves with them, into the same two /16s at 127.x.<lb>.1 and
// 127.y.<pod>.1, past the suite's own first addresses.
func ownPlaneSimFlags(lb, pod int) []string {
	at := func(env string, third int) string {
		v := os.Getenv(env)
		if v == "" {
			return fmt.Sprintf("127.%d.0.1", third)
		}
		octets := strings.Split(v, ".")
		return fmt.Sprintf("%s.%s.%d.1", octets[0], octets[1], third)
	}
	return []string{"--sim-loadbalancer-base=" + at(up.LoadBalancerBaseEnv, lb), "--sim-pod-ip-base=" + at(up.PodIPBaseEnv, pod)}
}
