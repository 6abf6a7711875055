package mgmtnode

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// process is one child of the node with its log.
type process struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error
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
