package localplane

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// processesFile records the processes the plane started, so that the next
// `up` on the state directory can end them if this one was killed.
const processesFile = "processes.json"

// serverBinaries are the programs a plane and its simulated runtime run. A
// process of one of them whose arguments name a file under the state
// directory belongs to that directory's plane; clients such as kubectl are
// left alone, since a person may be running them.
var serverBinaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}

// record is one process in processesFile. Each runs in a process group of its
// own, whose ID is its PID.
type record struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	// Start is the process's start time in clock ticks since boot, which
	// tells it apart from a later process that got the same PID.
	Start uint64 `json:"start"`
}

// procStat is what /proc/<pid>/stat says about a process.
type procStat struct {
	ppid, pgrp int
	// state is R, S, D, Z (zombie), T and so on.
	state byte
	start uint64
}

func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	// The command name, in parentheses, may itself hold spaces and parentheses.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 > len(data) {
		return procStat{}, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	// Fields from the third on: state, ppid, pgrp, ... starttime (the 22nd).
	f := strings.Fields(string(data[i+2:]))
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	st := procStat{state: f[0][0]}
	var errs [3]error
	st.ppid, errs[0] = strconv.Atoi(f[1])
	st.pgrp, errs[1] = strconv.Atoi(f[2])
	st.start, errs[2] = strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(errs[:]...); err != nil {
		return procStat{}, fmt.Errorf("parsing /proc/%d/stat: %w", pid, err)
	}
	return st, nil
}

// cmdline is the argv of a process; empty for a zombie or a kernel thread.
func cmdline(pid int) []string {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
}

// allPIDs lists the processes of the system.
func allPIDs() ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// namesDir says whether one of args is dir, a path under dir, or a flag
// (--flag=value) whose value is.
func namesDir(args []string, dir string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			_, v, ok := strings.Cut(a, "=")
			if !ok {
				continue
			}
			a = v
		}
		if a == dir || strings.HasPrefix(a, dir+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// serverOf says whether argv is one of serverBinaries working on files under stateDir.
func serverOf(argv []string, stateDir string) bool {
	return len(argv) > 0 && slices.Contains(serverBinaries, filepath.Base(argv[0])) && namesDir(argv[1:], stateDir)
}

// leftover is a process of an earlier run of the plane.
type leftover struct {
	name string
	pid  int
	// start tells the process from a later one with its PID.
	start uint64
	// group is set when the process leads a process group of its own, which
	// is then ended as a whole.
	group bool
}

// findLeftovers lists the live processes of an earlier run on stateDir: those
// in processesFile that are still the same processes, and any server binary
// working on the state directory's files. The second finds what the plane
// did not start itself, such as the simulated runtime's workload API
// servers, and what started after the file was written. The caller owns the
// state directory, so none of them belongs to a running plane.
func findLeftovers(stateDir string) ([]leftover, error) {
	self := os.Getpid()
	found := map[int]leftover{}
	for _, r := range readRecords(stateDir) {
		st, err := readStat(r.PID)
		if err != nil || st.state == 'Z' || st.start != r.Start {
			continue
		}
		if argv := cmdline(r.PID); !serverOf(argv, stateDir) || filepath.Base(argv[0]) != r.Name {
			continue
		}
		found[r.PID] = leftover{name: r.Name, pid: r.PID, start: st.start, group: st.pgrp == r.PID}
	}
	pids, err := allPIDs()
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	for _, pid := range pids {
		if _, ok := found[pid]; ok || pid == self {
			continue
		}
		argv := cmdline(pid)
		if !serverOf(argv, stateDir) {
			continue
		}
		st, err := readStat(pid)
		if err != nil || st.state == 'Z' {
			continue
		}
		found[pid] = leftover{name: filepath.Base(argv[0]), pid: pid, start: st.start, group: st.pgrp == pid}
	}
	out := make([]leftover, 0, len(found))
	for _, l := range found {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b leftover) int { return a.pid - b.pid })
	return out, nil
}

// endLeftovers kills the leftovers of an earlier run on stateDir with SIGKILL
// and waits until they are gone. Nobody waits for them to drain: their owner
// is gone, etcd survives a crash by design, and the next run needs their
// ports and etcd's data-dir lock now. It returns what it ended.
func endLeftovers(ctx context.Context, stateDir string, timeout time.Duration) ([]leftover, error) {
	procs, err := findLeftovers(stateDir)
	if err != nil || len(procs) == 0 {
		return nil, err
	}
	for _, l := range procs {
		target := l.pid
		if l.group {
			target = -l.pid
		}
		if err := syscall.Kill(target, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return procs, fmt.Errorf("killing %s (pid %d) of an earlier run: %w", l.name, l.pid, err)
		}
	}
	var left []leftover
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		left = left[:0]
		for _, l := range procs {
			if st, err := readStat(l.pid); err == nil && st.state != 'Z' && st.start == l.start {
				left = append(left, l)
			}
		}
		return len(left) == 0, nil
	})
	if ctx.Err() != nil {
		return procs, ctx.Err()
	}
	if err != nil {
		return procs, fmt.Errorf("processes of an earlier run on %s are still there %s after SIGKILL: %s", stateDir, timeout, describe(left))
	}
	return procs, nil
}

func describe(procs []leftover) string {
	parts := make([]string, 0, len(procs))
	for _, l := range procs {
		parts = append(parts, fmt.Sprintf("%s (pid %d)", l.name, l.pid))
	}
	return strings.Join(parts, ", ")
}

// waitForPorts waits until nothing listens on the plane's ports any more: a
// process that just died may still hold them for a moment, and another
// program may hold them for good, which the error then says.
func waitForPorts(ctx context.Context, pt ports, timeout time.Duration) error {
	busy := func() (string, error) {
		for _, p := range []struct {
			name string
			port int
		}{{"etcd client", pt.EtcdClient}, {"etcd peer", pt.EtcdPeer}, {"kube-apiserver", pt.APIServer}} {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)))
			if err != nil {
				return fmt.Sprintf("127.0.0.1:%d (%s)", p.port, p.name), err
			}
			_ = l.Close()
		}
		return "", nil
	}
	var last string
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		last, lastErr = busy()
		return lastErr == nil, nil
	})
	if err != nil && ctx.Err() == nil && lastErr != nil {
		return fmt.Errorf("port %s is still in use after %s: %w; stop what holds it (ss -ltnp), or remove ports.json from the state dir to pick new ports", last, timeout, lastErr)
	}
	return err
}

func readRecords(stateDir string) []record {
	data, err := os.ReadFile(filepath.Join(stateDir, processesFile))
	if err != nil {
		return nil
	}
	var records []record
	if json.Unmarshal(data, &records) != nil {
		return nil
	}
	return records
}

// writeRecords replaces processesFile; an empty list removes it.
func writeRecords(stateDir string, records []record) error {
	file := filepath.Join(stateDir, processesFile)
	if len(records) == 0 {
		if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	data, err := json.MarshalIndent(records, "", "  ")
	if err != nil {
		return err
	}
	// Renamed into place, so that a kill never leaves half a file.
	if err := os.WriteFile(file+".tmp", data, 0o600); err != nil {
		return err
	}
	return os.Rename(file+".tmp", file)
}

// spawner starts processes from one OS thread that outlives them. A child's
// parent-death signal fires when the thread that forked it ends, not when the
// process does, and Go ends a thread when a goroutine locked to it returns.
// From a thread of its own, the signal fires only when the process dies.
type spawner struct {
	starts chan spawn
}

type spawn struct {
	start func() error
	done  chan error
}

func newSpawner() *spawner {
	s := &spawner{starts: make(chan spawn)}
	go func() {
		// Never unlocked: once close has been called, every child has been
		// waited for, and the thread may end with this goroutine.
		runtime.LockOSThread()
		for sp := range s.starts {
			sp.done <- sp.start()
		}
	}()
	return s
}

// start starts cmd from the spawner's thread. The child dies with this
// process even if it is killed without a chance to stop it: SIGKILL, because
// nobody is left to wait for a graceful stop and the next run needs the ports
// at once. It leads a process group of its own, so that a Ctrl-C in the
// terminal reaches only this process, which stops its children in order.
func (s *spawner) start(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	done := make(chan error, 1)
	s.starts <- spawn{start: cmd.Start, done: done}
	return <-done
}

// close ends the spawner, once its children have exited.
func (s *spawner) close() { close(s.starts) }
