package mgmtnode

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// leftoverTimeout bounds the wait for a killed run's processes to go.
const leftoverTimeout = 20 * time.Second

// leftoverCommands are the programs of the node that can outlive it: only
// these are ended by their command line (never, say, a shell reading a log).
var leftoverCommands = map[string]bool{"containerd": true, "containerd-shim-runc-v2": true, "kubelet": true}

// endLeftovers ends what a run of this node that was killed (kill -9, a
// crash) left running: the processes that name the node's folder (containerd
// and its shims, the kubelet; the namespace holder died with podcluster),
// and every process in the node's cgroups (the node containers, which outlive
// their shims). Both are the node's own by construction: the folder is its
// state, the cgroup root is named after it. Then it removes those cgroups, so
// that the run starts from a clean host.
func (n *Node) endLeftovers() error {
	var pids []int
	for _, pid := range allPIDs() {
		if pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if err != nil {
			continue
		}
		argv := strings.Split(string(b), "\x00")
		if leftoverCommands[filepath.Base(argv[0])] && strings.Contains(string(b), n.opts.Dir+string(filepath.Separator)) {
			pids = append(pids, pid)
		}
	}
	pids = append(pids, n.cgroupProcs()...)
	if len(pids) == 0 {
		return n.removeCgroupRoot()
	}
	n.step(fmt.Sprintf("Ending %d processes an earlier run of the management node left behind", len(pids)))
	for _, pid := range pids {
		n.opts.Log.Info("Killing a leftover process", "pid", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(leftoverTimeout)
	for {
		alive := 0
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil {
				alive++
			}
		}
		if alive == 0 && len(n.cgroupProcs()) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d processes of an earlier run of the management node did not end within %s", alive, leftoverTimeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return n.removeCgroupRoot()
}

// cgroupProcs lists the processes in the node's cgroups, in every hierarchy.
func (n *Node) cgroupProcs() []int {
	seen := map[int]bool{}
	var pids []int
	for _, h := range cgroupHierarchies() {
		_ = filepath.WalkDir(filepath.Join(h, n.cgroupRoot()), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil //nolint:nilerr // a cgroup that went away meanwhile
			}
			b, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && !seen[pid] {
					seen[pid] = true
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids
}

// allPIDs lists the host's processes.
func allPIDs() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
