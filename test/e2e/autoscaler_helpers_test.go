package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/cmd/podcluster/client/tools"
)

// noAutoscalerSource is the exit status of `hack/tools/ensure.sh
// cluster-autoscaler` when the autoscaler's source is not on this machine.
const noAutoscalerSource = 3

// autoscalerBinary returns the real cluster-autoscaler, built once into the
// tools cache from the upstream source (hack/tools/ensure.sh), or from
// $PODCLUSTER_BIN_DIR when that is set. The test skips, saying why, where the
// source is absent.
func autoscalerBinary(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv(tools.BinDirEnv); dir != "" {
		path := filepath.Join(dir, "cluster-autoscaler")
		if _, err := os.Stat(path); err != nil {
			t.Skipf("$%s=%s has no cluster-autoscaler: %v", tools.BinDirEnv, dir, err)
		}
		return path
	}
	start := time.Now()
	cmd := exec(filepath.Join(root, "hack", "tools", "ensure.sh"), "cluster-autoscaler")
	out, err := cmd.CombinedOutput()
	var exit *osexec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == noAutoscalerSource:
		t.Skipf("the real cluster-autoscaler is not available: %s", strings.TrimSpace(string(out)))
	case err != nil:
		t.Fatalf("hack/tools/ensure.sh cluster-autoscaler: %v\n%s", err, out)
	}
	if len(out) > 0 {
		t.Logf("hack/tools/ensure.sh cluster-autoscaler took %s:\n%s", time.Since(start).Round(time.Second), out)
	}
	return filepath.Join(root, "bin", "cluster-autoscaler")
}

// impersonatingKubeconfig writes a copy of the kubeconfig file from whose
// every user acts as user, so that a program given it has only user's rights.
func impersonatingKubeconfig(t *testing.T, from, user string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, auth := range cfg.AuthInfos {
		auth.Impersonate = user
	}
	path := filepath.Join(t.TempDir(), "impersonating.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// autoscalerProcess is the cluster-autoscaler running as a process of the
// test, logging to a file.
type autoscalerProcess struct {
	cmd    *osexec.Cmd
	log    string
	exited chan struct{}
}

// startAutoscaler runs the autoscaler binary with args in a process group of
// its own, which the kernel kills if the test process dies. It is stopped
// when the test ends, and the tail of its log is shown if the test failed.
func startAutoscaler(t *testing.T, binary string, args ...string) *autoscalerProcess {
	t.Helper()
	p := &autoscalerProcess{log: filepath.Join(t.TempDir(), "cluster-autoscaler.log"), exited: make(chan struct{})}
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec(binary, args...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		_ = logFile.Close()
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		_ = logFile.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("the last lines of the autoscaler's log (%s):\n%s", p.log, p.tail(80))
		}
	})
	return p
}

// stop ends the autoscaler's process group: SIGTERM, then SIGKILL after 10s.
func (p *autoscalerProcess) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

// tail returns the last n lines of the log.
func (p *autoscalerProcess) tail(n int) string {
	data, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// exitedEarly says how the autoscaler ended if it is no longer running.
func (p *autoscalerProcess) exitedEarly() error {
	select {
	case <-p.exited:
		return fmt.Errorf("the autoscaler exited (%v):\n%s", p.cmd.ProcessState, p.tail(40))
	default:
		return nil
	}
}

// poolSampler watches MachineDeployments from a goroutine of its own, so
// that a short-lived overshoot between two Eventually polls is seen too. It
// keeps, per MachineDeployment, the largest spec.replicas and Machine count
// since the last reset, the Machines it saw marked for deletion, and every
// change of spec.replicas with its time.
type poolSampler struct {
	c     client.Client
	ns    string
	start time.Time

	mu           sync.Mutex
	maxReplicas  map[string]int32
	maxMachines  map[string]int
	markedDelete map[string]bool
	last         map[string]int32
	changes      []string

	cancel context.CancelFunc
	done   chan struct{}
}

// samplePools starts a poolSampler on the MachineDeployments of ns; it stops
// when the test ends.
func samplePools(t *testing.T, c client.Client, ns string) *poolSampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &poolSampler{c: c, ns: ns, start: time.Now(), cancel: cancel, done: make(chan struct{}),
		maxReplicas: map[string]int32{}, maxMachines: map[string]int{}, markedDelete: map[string]bool{}, last: map[string]int32{}}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			s.sample(ctx)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(s.stop)
	return s
}

func (s *poolSampler) stop() {
	s.cancel()
	<-s.done
}

func (s *poolSampler) sample(ctx context.Context) {
	mds := &clusterv1.MachineDeploymentList{}
	ms := &clusterv1.MachineList{}
	if s.c.List(ctx, mds, client.InNamespace(s.ns)) != nil || s.c.List(ctx, ms, client.InNamespace(s.ns)) != nil {
		return // the next tick tries again
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, md := range mds.Items {
		r := int32(-1)
		if md.Spec.Replicas != nil {
			r = *md.Spec.Replicas
		}
		s.maxReplicas[md.Name] = max(s.maxReplicas[md.Name], r)
		if last, ok := s.last[md.Name]; !ok || last != r {
			s.changes = append(s.changes, fmt.Sprintf("%6.1fs %s spec.replicas %d", time.Since(s.start).Seconds(), md.Name, r))
			s.last[md.Name] = r
		}
	}
	count := map[string]int{}
	for _, m := range ms.Items {
		count[m.Labels[clusterv1.MachineDeploymentNameLabel]]++
		if _, ok := m.Annotations[clusterv1.DeleteMachineAnnotation]; ok {
			s.markedDelete[m.Name] = true
		}
	}
	for md, n := range count {
		s.maxMachines[md] = max(s.maxMachines[md], n)
	}
}

// reset forgets the maxima and the marked Machines, for the next step.
func (s *poolSampler) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxReplicas, s.maxMachines, s.markedDelete = map[string]int32{}, map[string]int{}, map[string]bool{}
}

// peak is the largest spec.replicas and Machine count of md since the last reset.
func (s *poolSampler) peak(md string) (replicas int32, machines int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxReplicas[md], s.maxMachines[md]
}

// marked lists the Machines seen with the delete-machine annotation since the last reset.
func (s *poolSampler) marked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for name := range s.markedDelete {
		out = append(out, name)
	}
	return out
}

// history lists every change of spec.replicas seen, with its time since the
// sampler started.
func (s *poolSampler) history() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.changes, "\n")
}
