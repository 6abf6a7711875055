package sim

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// stopGrace is how long a process gets to end after SIGTERM before it is
// killed, as a kubelet's termination grace period.
const stopGrace = 10 * time.Second

// process is a child process of the runtime: a workload kube-apiserver,
// kube-controller-manager or kube-scheduler, with its output in a log file.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	// err is how the process ended and ended when, valid once done is closed.
	err   error
	ended time.Time
}

// processExit is how a process ended, as a container's terminated state
// says it: the exit code (128 plus the signal for one killed by a signal,
// as a container runtime reports it), Completed or Error, and when.
type processExit struct {
	code     int32
	reason   string
	finished time.Time
}

// exit is how the process ended; nil while it runs.
func (p *process) exit() *processExit {
	if ended, _ := p.exited(); !ended {
		return nil
	}
	e := &processExit{code: 0, reason: reasonCompleted, finished: p.ended}
	if st := p.cmd.ProcessState; st != nil {
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			e.code = 128 + int32(ws.Signal())
		} else {
			e.code = int32(st.ExitCode()) //nolint:gosec // an exit code
		}
	} else if p.err != nil {
		e.code = 1
	}
	if e.code != 0 {
		e.reason = reasonError
	}
	return e
}

// childAttrs puts a child in a process group of its own, so that stop reaches
// whatever it forks, and has the kernel kill it when the runtime's process
// dies, even by SIGKILL, so that no workload process outlives the runtime.
// Pdeathsig fires when the thread that started the child exits; the Go
// runtime does not end threads of its own accord, so in practice that is
// when the process exits.
func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup signals the process group a childAttrs child leads.
func killGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	if cmd.Process == nil {
		return nil
	}
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// startProcess starts binary with args, appending its output to logPath: a
// restarted process keeps the earlier log, as a container's previous log.
func startProcess(name, binary, logPath string, args []string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the log of %s: %w", name, err)
	}
	p := &process{name: name, log: logPath, done: make(chan struct{})}
	// Not tied to a context: the process outlives the reconcile that starts it.
	p.cmd = exec.Command(binary, args...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = childAttrs()
	if err := p.cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		p.ended = time.Now()
		_ = logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// exited says whether the process ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// stop ends the process group: SIGTERM, then SIGKILL after stopGrace.
func (p *process) stop() {
	if ended, _ := p.exited(); ended {
		return
	}
	_ = killGroup(p.cmd, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		_ = killGroup(p.cmd, syscall.SIGKILL)
		<-p.done
	}
}

// rss is the process's resident set size in bytes (VmRSS in
// /proc/<pid>/status), or 0 once it ended.
func (p *process) rss() int64 {
	if ended, _ := p.exited(); ended {
		return 0
	}
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(p.cmd.Process.Pid), "status"))
	if err != nil {
		return 0
	}
	defer func() { _ = f.Close() }()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		v, ok := strings.CutPrefix(scanner.Text(), "VmRSS:")
		if !ok {
			continue
		}
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kib * 1024
	}
	return 0
}
