package localplane

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// helperEnv makes the test binary a helper process instead of running tests:
// "sleep" idles (a stand-in for a server), "parent" starts a sleeping child
// as the plane starts its processes, prints the child's PID, and idles.
const helperEnv = "LOCALPLANE_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "sleep":
		time.Sleep(5 * time.Minute)
		os.Exit(0)
	case "parent":
		self, _ := os.Executable()
		child := exec.Command(self)
		child.Env = append(os.Environ(), helperEnv+"=sleep")
		sp := newSpawner()
		if err := sp.start(child); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(child.Process.Pid)
		// Go may end threads in the meantime; the child must not notice.
		for range 20 {
			go func() {
				// A goroutine that locks its thread and returns ends the thread.
				runtime.LockOSThread()
			}()
		}
		time.Sleep(5 * time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startHelper starts the test binary as a helper, named argv0 (a symlink to
// it in dir), with args. It leads a process group of its own, and is reaped
// as soon as it exits.
func startHelper(t *testing.T, dir, argv0, mode string, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, argv0)
	if _, err := os.Lstat(path); err != nil {
		if err := os.Symlink(self, path); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(reaped)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-reaped
	})
	return cmd
}

// gone says whether pid has exited (a zombie counts as exited).
func gone(pid int) bool {
	st, err := readStat(pid)
	return err != nil || st.state == 'Z'
}

// TestChildDiesWithItsParent: a process started as the plane starts its
// processes dies when the process that started it is killed with SIGKILL,
// even after Go ended other threads of that process.
func TestChildDiesWithItsParent(t *testing.T) {
	g := NewWithT(t)
	self, err := os.Executable()
	g.Expect(err).NotTo(HaveOccurred())
	parent := exec.Command(self)
	parent.Env = append(os.Environ(), helperEnv+"=parent")
	stdout, err := parent.StdoutPipe()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(parent.Start()).To(Succeed())
	defer func() { _ = parent.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	g.Expect(err).NotTo(HaveOccurred())
	child, err := strconv.Atoi(strings.TrimSpace(line))
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = syscall.Kill(child, syscall.SIGKILL) }()

	// The threads that locked and returned are gone; the child lives on.
	g.Consistently(func() bool { return gone(child) }).WithTimeout(300*time.Millisecond).WithPolling(50*time.Millisecond).
		Should(BeFalse(), "the child died with another thread of its parent")
	st, err := readStat(child)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(st.pgrp).To(Equal(child), "the child leads a process group of its own")

	g.Expect(parent.Process.Signal(syscall.SIGKILL)).To(Succeed())
	g.Eventually(func() bool { return gone(child) }, 5*time.Second, 20*time.Millisecond).Should(BeTrue(),
		"the child should die with its parent")
}

// TestLeftoversAreEnded: what an earlier run left running on the state dir
// is killed, recorded or not; other programs, and servers of another state
// dir, are left alone.
func TestLeftoversAreEnded(t *testing.T) {
	g := NewWithT(t)
	bins, state, other := t.TempDir(), t.TempDir(), t.TempDir()
	recorded := startHelper(t, bins, "etcd", "sleep", "--data-dir="+filepath.Join(state, "etcd"))
	workload := startHelper(t, bins, "kube-apiserver", "sleep", "--cert-dir", filepath.Join(state, "sim", "ns", "pod", "certs"))
	client := startHelper(t, bins, "kubectl", "sleep", "--kubeconfig="+filepath.Join(state, "kubeconfig"))
	otherPlane := startHelper(t, bins, "kube-controller-manager", "sleep", "--kubeconfig="+filepath.Join(other, "pki", "cm.kubeconfig"))
	// A state dir whose name starts like this one's is another one.
	lookalike := startHelper(t, bins, "kube-scheduler", "sleep", "--kubeconfig="+state+"-2/kubeconfig")
	st, err := readStat(recorded.Process.Pid)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(writeRecords(state, []record{
		{Name: "etcd", PID: recorded.Process.Pid, Start: st.start},
		// A PID that was reused by another process is not killed.
		{Name: "kube-apiserver", PID: client.Process.Pid, Start: st.start + 1},
	})).To(Succeed())

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ended, err := endLeftovers(ctx, state, 10*time.Second)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(describe(ended)).To(Equal(describe([]leftover{
		{name: "etcd", pid: recorded.Process.Pid}, {name: "kube-apiserver", pid: workload.Process.Pid},
	})))
	g.Expect(gone(recorded.Process.Pid)).To(BeTrue())
	g.Expect(gone(workload.Process.Pid)).To(BeTrue())
	for _, c := range []*exec.Cmd{client, otherPlane, lookalike} {
		g.Expect(gone(c.Process.Pid)).To(BeFalse(), c.Path)
	}
}

func TestWaitForPortsNamesTheBusyPort(t *testing.T) {
	g := NewWithT(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = l.Close() }()
	busy := l.Addr().(*net.TCPAddr).Port
	free := make([]int, 2)
	for i := range free {
		free[i], err = freePort()
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Expect(waitForPorts(context.Background(), ports{EtcdClient: free[0], EtcdPeer: free[1], APIServer: free[0]}, time.Second)).To(Succeed())
	err = waitForPorts(context.Background(), ports{EtcdClient: free[0], EtcdPeer: free[1], APIServer: busy}, 300*time.Millisecond)
	g.Expect(err).To(MatchError(ContainSubstring(fmt.Sprintf("127.0.0.1:%d (kube-apiserver) is still in use", busy))))
}

func TestVerbAndStateDir(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		verb, dir string
	}{
		{name: "default state dir", args: []string{"up", "--apply", "examples/seed"}, verb: "up"},
		{name: "separate value", args: []string{"up", "--state-dir", "/tmp/s", "--apply", "x"}, verb: "up", dir: "/tmp/s"},
		{name: "joined value", args: []string{"up", "--state-dir=/tmp/s"}, verb: "up", dir: "/tmp/s"},
		{name: "flag before the verb", args: []string{"--state-dir=/tmp/s", "down"}, verb: "down", dir: "/tmp/s"},
		{name: "after --", args: []string{"up", "--", "--state-dir=/tmp/s"}, verb: "up"},
		{name: "no verb", args: []string{"--help"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			verb, dir := verbAndStateDir(tc.args)
			g.Expect(verb).To(Equal(tc.verb))
			g.Expect(dir).To(Equal(tc.dir))
		})
	}
}

// TestStalePIDFile: up.pid naming a process that is not this state dir's
// podcluster up is stale: nothing is signalled, and it can be removed.
func TestStalePIDFile(t *testing.T) {
	g := NewWithT(t)
	state := t.TempDir()
	// Some other program that got the PID.
	other := startHelper(t, t.TempDir(), "sleeper", "sleep")
	g.Expect(os.WriteFile(filepath.Join(state, pidFile), []byte(strconv.Itoa(other.Process.Pid)+"\n"), 0o600)).To(Succeed())

	o, err := StopRunning(state, time.Second)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.Running).To(BeFalse())
	g.Expect(o.Stale()).To(BeTrue())
	g.Expect(o.Why).To(ContainSubstring("is not podcluster"))
	g.Consistently(func() bool { return gone(other.Process.Pid) }).WithTimeout(300*time.Millisecond).WithPolling(50*time.Millisecond).
		Should(BeFalse(), "a stale pid file's process must not be signalled")

	_, err = RemoveStale(state)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(filepath.Join(state, pidFile)).NotTo(BeAnExistingFile())

	// A claim takes over a stale file.
	g.Expect(os.WriteFile(filepath.Join(state, pidFile), []byte(strconv.Itoa(other.Process.Pid)+"\n"), 0o600)).To(Succeed())
	release, err := Claim(state)
	g.Expect(err).NotTo(HaveOccurred())
	release()
}
