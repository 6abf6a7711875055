package realnode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shimSocketDir is where containerd 1.6 shims put their sockets, whatever the
// daemon's state folder.
const shimSocketDir = "/run/containerd/s"

// containerd is a containerd of the test's own: root, state, sockets and the
// clients' FIFOs live in dir, the CRI plugin is off, and its containers live
// in one containerd namespace, ns.
type containerd struct {
	dir, sock, ns string
	cmd           *exec.Cmd
	exited        chan error
}

// startContainerd starts a private containerd and registers its stop.
func startContainerd(t *testing.T, ns string) *containerd {
	t.Helper()
	// A short path: the sockets' paths must stay below 108 bytes.
	dir, err := os.MkdirTemp("", "realnode-")
	if err != nil {
		t.Fatal(err)
	}
	c := &containerd{dir: dir, sock: filepath.Join(dir, "containerd.sock"), ns: ns, exited: make(chan error, 1)}
	config := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[plugins."io.containerd.internal.v1.opt"]
  path = %[5]q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.sock, c.sock+".ttrpc", filepath.Join(dir, "opt"))
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	_, shimDirErr := os.Stat(shimSocketDir)
	c.cmd = exec.Command("containerd", "--config", filepath.Join(dir, "config.toml"))
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	// Its own process group, so that a signal to the test's group does not
	// stop it before the containers are gone.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting containerd: %v", err)
	}
	go func() { c.exited <- c.cmd.Wait() }()
	t.Cleanup(func() {
		c.stop(t)
		_ = logFile.Close()
		// The shims' socket folder is the host's; remove it when this test
		// made it and left it empty.
		if os.IsNotExist(shimDirErr) {
			_ = os.Remove(shimSocketDir)
			_ = os.Remove(filepath.Dir(shimSocketDir))
		}
		if t.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("containerd log (tail):\n%s", tail(string(b), 40))
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if _, err := c.ctr(ctx, "version"); err == nil {
			return c
		}
		select {
		case err := <-c.exited:
			t.Fatalf("containerd exited: %v", err)
		case <-ctx.Done():
			t.Fatal("containerd did not answer within 30s")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ctr runs ctr against this containerd, in its namespace.
func (c *containerd) ctr(ctx context.Context, args ...string) (string, error) {
	return run(ctx, "ctr", append([]string{"--address", c.sock, "--namespace", c.ns}, args...)...)
}

// fifoDir is where ctr makes the FIFOs of a task's standard streams
// (the default is the host's /run/containerd/fifo).
func (c *containerd) fifoDir() string { return filepath.Join(c.dir, "fifo") }

// runcRoot is runc's state folder for the containers (the default is the
// host's /run/containerd/runc).
func (c *containerd) runcRoot() string { return filepath.Join(c.dir, "runc") }

// stop ends containerd (it leaves running shims alone; the test removes its
// containers before) and checks that no mount is left under its folder.
func (c *containerd) stop(t *testing.T) {
	t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.exited:
		if err != nil {
			t.Logf("containerd exited: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("containerd did not stop within 20s of SIGTERM; killing it")
		_ = c.cmd.Process.Kill()
		t.Logf("containerd exited: %v", <-c.exited)
	}
	mounts, err := mountsUnder(c.dir)
	if err != nil {
		t.Errorf("reading mounts: %v", err)
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		t.Errorf("mount left behind: %s", mounts[i])
		_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
	}
}

// removeContainer stops a container's task with sig (then SIGKILL after
// grace), deletes the task and the container and its snapshot, and checks
// that its cgroups are gone.
func (c *containerd) removeContainer(t *testing.T, id, sig string, grace time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), grace+time.Minute)
	defer cancel()
	if _, err := c.ctr(ctx, "task", "kill", "--signal", sig, id); err == nil {
		deadline := time.Now().Add(grace)
		for time.Now().Before(deadline) && c.taskRunning(ctx, id) {
			time.Sleep(500 * time.Millisecond)
		}
		if c.taskRunning(ctx, id) {
			t.Logf("container %s did not stop within %s of %s; killing it", id, grace, sig)
			_, _ = c.ctr(ctx, "task", "kill", "--signal", "SIGKILL", id)
		}
	}
	if out, err := c.ctr(ctx, "task", "delete", "--force", id); err != nil && !strings.Contains(out, "not found") {
		t.Errorf("deleting task %s: %v", id, err)
	}
	if out, err := c.ctr(ctx, "container", "delete", id); err != nil && !strings.Contains(out, "not found") {
		t.Errorf("deleting container %s: %v", id, err)
	}
	// containerd puts a container in the cgroup /<namespace>/<id> of every
	// hierarchy; runc removes /<namespace>/<id> and the node's own cgroups
	// below it, the namespace's cgroup is left to the test.
	for _, d := range cgroupDirs(c.ns) {
		if err := removeCgroupTree(d); err != nil {
			t.Errorf("cgroup left behind: %v", err)
		}
	}
}

// taskRunning reports whether the container's task still runs.
func (c *containerd) taskRunning(ctx context.Context, id string) bool {
	out, err := c.ctr(ctx, "task", "list")
	if err != nil {
		return false
	}
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == id {
			return f[2] == "RUNNING" || f[2] == "PAUSED" || f[2] == "PAUSING"
		}
	}
	return false
}

// exec runs a command in a running container and returns its combined output.
func (c *containerd) exec(ctx context.Context, id string, args ...string) (string, error) {
	execID := fmt.Sprintf("exec-%d", time.Now().UnixNano())
	out, err := c.ctr(ctx, append([]string{"task", "exec", "--fifo-dir", c.fifoDir(), "--exec-id", execID, id}, args...)...)
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return out, fmt.Errorf("%s: exit status %d: %s", strings.Join(args, " "), exit.ExitCode(), strings.TrimSpace(out))
		}
		return out, err
	}
	return out, nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
