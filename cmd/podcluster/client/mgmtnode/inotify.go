package mgmtnode

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// InotifyInstancesNeeded is about what a management node with a control-plane
// node Pod and a worker takes of the host's inotify instances (containerd's CRI
// plugin, the kubelets, systemd, journald and the control plane's certificate
// watchers in the nodes), with some room. The limit,
// fs.inotify.max_user_instances (128 by default), counts every process of the
// user, so other work on the host can leave too few: then containerd's CRI
// plugin fails to load and systemd in a node exits at once.
const InotifyInstancesNeeded = 48

// FreeInotifyInstances estimates how many inotify instances root can still
// create: fs.inotify.max_user_instances less the inotify descriptors of root's
// processes (a descriptor shared by two processes counts twice, so the
// estimate errs low). ok is false when it cannot tell.
func FreeInotifyInstances() (free int, ok bool) {
	b, err := os.ReadFile("/proc/sys/fs/inotify/max_user_instances")
	if err != nil {
		return 0, false
	}
	limit, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, false
	}
	used := 0
	for _, pid := range allPIDs() {
		dir := filepath.Join("/proc", strconv.Itoa(pid))
		if st, err := os.Stat(dir); err != nil || !ownedByRoot(st) {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join(dir, "fd"))
		for _, fd := range fds {
			if target, err := os.Readlink(filepath.Join(dir, "fd", fd.Name())); err == nil && target == "anon_inode:inotify" {
				used++
			}
		}
	}
	return limit - used, true
}
