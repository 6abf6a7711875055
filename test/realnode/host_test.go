package realnode

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// requireHost skips the test where this machine cannot run a node: not Linux,
// not root, -short, or the Debian packages missing.
func requireHost(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: a real node takes minutes")
	}
	if runtime.GOOS != "linux" {
		t.Skipf("real nodes need Linux, not %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		t.Skip("real nodes need root: containerd, mounts and cgroups")
	}
	for _, bin := range []string{"containerd", "containerd-shim-runc-v2", "ctr", "runc", "mmdebstrap"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (hack/ensure-test-packages.sh installs it): %v", bin, err)
		}
	}
	if _, err := os.Stat("/sys/fs/cgroup"); err != nil {
		t.Skipf("no cgroup file system: %v", err)
	}
}

// run runs a command and returns its combined output.
func run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// volatileSysctls change by themselves (counters, random numbers, the kernel's
// own tuning); the rest of /proc/sys must not change.
var volatileSysctls = []string{
	"fs/dentry-state", "fs/inode-nr", "fs/inode-state", "fs/file-nr", "fs/aio-nr", "fs/dquot-nr",
	"fs/quota/", "kernel/random/", "kernel/ns_last_pid", "kernel/pty/nr", "kernel/perf_event_max_sample_rate",
	"kernel/keys/gc_delay", "vm/nr_",
}

// procSys reads every readable setting under /proc/sys except /proc/sys/net,
// which belongs to a network namespace (each node has its own).
func procSys(t *testing.T) map[string]string {
	t.Helper()
	values := map[string]string{}
	err := filepath.WalkDir("/proc/sys", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil //nolint:nilerr // an unreadable directory is not a setting
		}
		key := strings.TrimPrefix(path, "/proc/sys/")
		if d.IsDir() {
			if key == "net" {
				return filepath.SkipDir
			}
			return nil
		}
		if slices.ContainsFunc(volatileSysctls, func(v string) bool { return strings.HasPrefix(key, v) }) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil //nolint:nilerr // write-only or restricted settings cannot be compared
		}
		values[key] = string(b)
		return nil
	})
	if err != nil {
		t.Fatalf("reading /proc/sys: %v", err)
	}
	return values
}

// sysctlChanges lists the settings whose values differ.
func sysctlChanges(before, after map[string]string) []string {
	var changed []string
	for k, v := range before {
		if w, ok := after[k]; ok && w != v {
			changed = append(changed, fmt.Sprintf("%s: %q -> %q", k, strings.TrimSpace(v), strings.TrimSpace(w)))
		}
	}
	slices.Sort(changed)
	return changed
}

// mountsUnder lists the host's mount points at or below any of dirs.
func mountsUnder(dirs ...string) ([]string, error) {
	all, err := mountPoints("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var found []string
	for _, mp := range all {
		for _, d := range dirs {
			if mp == d || strings.HasPrefix(mp, d+"/") {
				found = append(found, mp)
			}
		}
	}
	return found, nil
}

// mountPoints lists the mount points of a mountinfo file (a process's
// /proc/<pid>/mountinfo: its mount namespace's).
func mountPoints(mountinfo string) ([]string, error) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var points []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fields := strings.Fields(s.Text()); len(fields) >= 5 {
			points = append(points, unescapeMountPath(fields[4]))
		}
	}
	return points, s.Err()
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(byte(c))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cgroupDirs returns every cgroup directory named name directly under a
// hierarchy's root (containerd puts a namespace's containers there), in every
// mounted hierarchy.
func cgroupDirs(name string) []string {
	var dirs []string
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	roots = append(roots, "/sys/fs/cgroup")
	for _, r := range roots {
		d := filepath.Join(r, name)
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// removeCgroupTree removes a cgroup directory and the cgroups below it,
// deepest first. Only empty cgroups can be removed, which is what is wanted:
// a cgroup that still holds a process is a leak to report, not to hide.
func removeCgroupTree(dir string) error {
	var subdirs []string
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			subdirs = append(subdirs, path)
		}
		return nil
	})
	slices.Reverse(subdirs)
	var firstErr error
	for _, d := range subdirs {
		if err := os.Remove(d); err != nil && !os.IsNotExist(err) && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// hostState is what a run must leave as it found it: the kernel settings
// outside /proc/sys/net, the mount table, the network interfaces with their
// addresses, the routes of every table, and the network namespaces that
// processes hold.
type hostState struct {
	sysctls    map[string]string
	mounts     []string
	interfaces []string
	routes     []string
	netns      map[string]string // namespace -> one process holding it
}

// snapshotHost reads the host's state.
func snapshotHost(t *testing.T) hostState {
	t.Helper()
	h := hostState{sysctls: procSys(t), netns: processNetns()}
	var err error
	if h.mounts, err = mountTable(); err != nil {
		t.Fatalf("reading the mount table: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range []struct {
		out  *[]string
		args []string
	}{
		{&h.interfaces, []string{"-oneline", "address", "show"}},
		{&h.routes, []string{"route", "show", "table", "all"}},
		{&h.routes, []string{"-6", "route", "show", "table", "all"}},
	} {
		out, err := run(ctx, "ip", c.args...)
		if err != nil {
			t.Fatalf("reading the host's network: %v", err)
		}
		for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
			// Address lifetimes count down; they are not a change.
			if i := strings.Index(line, "valid_lft"); i >= 0 {
				line = line[:i]
			}
			*c.out = append(*c.out, strings.Join(strings.Fields(line), " "))
		}
	}
	return h
}

// changes lists what differs between two snapshots, one line each.
func (h hostState) changes(after hostState) []string {
	changed := sysctlChanges(h.sysctls, after.sysctls)
	for _, c := range []struct {
		what          string
		before, after []string
	}{
		{"mount", h.mounts, after.mounts},
		{"interface", h.interfaces, after.interfaces},
		{"route", h.routes, after.routes},
	} {
		for _, s := range c.after {
			if !slices.Contains(c.before, s) {
				changed = append(changed, fmt.Sprintf("new %s: %s", c.what, s))
			}
		}
		for _, s := range c.before {
			if !slices.Contains(c.after, s) {
				changed = append(changed, fmt.Sprintf("%s gone: %s", c.what, s))
			}
		}
	}
	for ns, holder := range after.netns {
		if _, ok := h.netns[ns]; !ok {
			changed = append(changed, fmt.Sprintf("new network namespace %s, held by %s", ns, holder))
		}
	}
	return changed
}

// mountTable lists every mount of this process's mount namespace as
// "<mount point> <root> <type> <source>" (IDs and options left out).
func mountTable() ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var mounts []string
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		if len(f) < 5 || sep < 0 || sep+2 >= len(f) {
			continue
		}
		mounts = append(mounts, strings.Join([]string{unescapeMountPath(f[4]), f[3], f[sep+1], f[sep+2]}, " "))
	}
	return mounts, nil
}

// processNetns maps each network namespace some process is in to one such
// process ("<pid> <command line>").
func processNetns() map[string]string {
	held := map[string]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		ns, err := os.Readlink(filepath.Join("/proc", e.Name(), "ns", "net"))
		if err != nil {
			continue
		}
		if _, ok := held[ns]; !ok {
			held[ns] = e.Name() + " " + processCmdline(e.Name())
		}
	}
	return held
}

// processesMentioning lists the processes ("<pid> <command line>") whose
// command line holds s.
func processesMentioning(s string) []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil || e.Name() == strconv.Itoa(os.Getpid()) {
			continue
		}
		if cmd := processCmdline(e.Name()); strings.Contains(cmd, s) {
			found = append(found, e.Name()+" "+cmd)
		}
	}
	return found
}

func processCmdline(pid string) string {
	b, _ := os.ReadFile(filepath.Join("/proc", pid, "cmdline"))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}
