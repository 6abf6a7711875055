package mgmtnode

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"time"
)

// Stop stops the node: the kubelet first, so that it restarts nothing; then
// every container (node containers with SIGRTMIN+3, so that their systemd
// halts, then SIGKILL), containerd, and the namespaces, which takes their
// mounts and interfaces with them. Last it removes the Pods' cgroups. The
// state folder stays for the next run; the Pods that ran do not come back
// (their restart policy is Never).
func (n *Node) Stop() error {
	var errs []error
	if n.kubelet != nil {
		n.step("Stopping the management node's kubelet")
		errs = append(errs, n.kubelet.stop(syscall.SIGTERM, stopTimeout))
	}
	if n.containerd != nil {
		n.step("Stopping the management node's containers")
		errs = append(errs, n.stopContainers())
		errs = append(errs, n.containerd.stop(syscall.SIGTERM, stopTimeout))
	}
	for _, f := range n.apiProxies {
		f.close()
	}
	if n.holder != nil {
		errs = append(errs, n.holder.stop(syscall.SIGKILL, stopTimeout))
	}
	n.spawner.close()
	errs = append(errs, n.removeCgroupRoot(), n.removeCreatedDirs())
	// Last: the next management node may start once this one is all gone.
	n.lock.release()
	return errors.Join(errs...)
}

// stopContainers stops every task of the node's containerd: node containers
// (of the node image) with SIGRTMIN+3, the rest with SIGTERM; what still runs
// after the grace period gets SIGKILL. Then it deletes the tasks, so that runc
// removes their cgroups.
func (n *Node) stopContainers() error {
	ctx, cancel := context.WithTimeout(context.Background(), nodeStopGrace+time.Minute)
	defer cancel()
	tasks, err := n.tasks(ctx)
	if err != nil {
		return err
	}
	if len(tasks) == 0 {
		return nil
	}
	containers, _ := n.ctr(ctx, "containers", "list")
	for id := range tasks {
		sig := "SIGTERM"
		if n.Image != "" && imageOf(containers, id) == n.Image {
			sig = nodeStopSignal
		}
		_, _ = n.ctr(ctx, "tasks", "kill", "--signal", sig, id)
	}
	deadline := time.Now().Add(nodeStopGrace)
	for time.Now().Before(deadline) {
		if tasks, err = n.tasks(ctx); err != nil || len(tasks) == 0 {
			break
		}
		running := false
		for _, st := range tasks {
			running = running || st != "STOPPED"
		}
		if !running {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	tasks, _ = n.tasks(ctx)
	var errs []error
	for id, st := range tasks {
		if st != "STOPPED" {
			n.opts.Log.Info("Killing a container that did not stop", "container", id)
			_, _ = n.ctr(ctx, "tasks", "kill", "--signal", "SIGKILL", id)
		}
	}
	for id := range tasks {
		if _, err := n.ctr(ctx, "tasks", "delete", "--force", id); err != nil && !strings.Contains(err.Error(), "not found") {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// tasks maps the node's task IDs to their status.
func (n *Node) tasks(ctx context.Context) (map[string]string, error) {
	out, err := n.ctr(ctx, "tasks", "list")
	if err != nil {
		return nil, err
	}
	tasks := map[string]string{}
	for _, line := range strings.Split(out, "\n")[1:] {
		if f := strings.Fields(line); len(f) >= 3 {
			tasks[f[0]] = f[2]
		}
	}
	return tasks, nil
}

// imageOf finds a container's image in `ctr containers list` output.
func imageOf(list, id string) string {
	for _, line := range strings.Split(list, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == id {
			return f[1]
		}
	}
	return ""
}

// removeCreatedDirs removes the host folders an earlier run of the
// namespaces created only to mount on (recorded in created-dirs), when they
// are still empty.
func (n *Node) removeCreatedDirs() error {
	data, err := os.ReadFile(n.path("created-dirs"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if n.holder != nil {
		select {
		case <-n.holder.done:
		default:
			return nil // still mounted on
		}
	}
	for _, d := range strings.Fields(string(data)) {
		if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			n.opts.Log.Info("Could not remove a folder the management node created", "folder", d, "err", err.Error())
		}
	}
	return os.Remove(n.path("created-dirs"))
}
