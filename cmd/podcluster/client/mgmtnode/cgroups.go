package mgmtnode

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func (n *Node) cgroupRoot() string { return CgroupRootPrefix + n.Name }

// cgroupHierarchies are the host's cgroup v1 hierarchies (and the unified one).
func cgroupHierarchies() []string {
	var roots []string
	entries, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range entries {
		p := filepath.Join("/sys/fs/cgroup", e.Name())
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			roots = append(roots, p)
		}
	}
	return roots
}

// ensureCgroupRoot creates the kubelet's cgroup root in every hierarchy (the
// kubelet refuses a root that does not exist). A new cpuset cgroup starts
// without CPUs and memory nodes; it takes its parent's.
func (n *Node) ensureCgroupRoot() error {
	for _, h := range cgroupHierarchies() {
		if _, err := os.Stat(filepath.Join(h, "cgroup.procs")); err != nil {
			continue // not a hierarchy
		}
		d := filepath.Join(h, n.cgroupRoot())
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("creating the cgroup %s: %w", d, err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			parent, err := os.ReadFile(filepath.Join(h, f))
			if err != nil {
				continue
			}
			if cur, _ := os.ReadFile(filepath.Join(d, f)); strings.TrimSpace(string(cur)) == "" {
				if err := os.WriteFile(filepath.Join(d, f), parent, 0o644); err != nil { //nolint:gosec // a cgroup file
					return fmt.Errorf("setting %s of %s: %w", f, d, err)
				}
			}
		}
	}
	return nil
}

// removeCgroupRoot removes the kubelet's cgroup root and everything below it,
// deepest first. Only empty cgroups can be removed: one that still holds a
// process is reported.
func (n *Node) removeCgroupRoot() error {
	var errs []error
	for _, h := range cgroupHierarchies() {
		root := filepath.Join(h, n.cgroupRoot())
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := os.Remove(dirs[i]); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("removing the cgroup %s: %w", dirs[i], err))
			}
		}
	}
	return errors.Join(errs...)
}
