package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
)

const (
	// commandPrefix starts each line the script prints for a command in dry-run mode.
	commandPrefix = "podcluster-boot-command: "
	// bootTimeout bounds one dry run; it only writes files.
	bootTimeout = 2 * time.Minute
)

// bootResult is what a dry run of a boot script left behind.
type bootResult struct {
	// root is the node's file system as the script wrote it.
	root     string
	exitCode int
	// failure is the termination message of a failed run.
	failure string
	// commands are the argv of the commands the node would have run, in order.
	commands [][]string
}

// runBoot runs script in dry-run mode in a fresh scratch directory dir: the
// node's emptyDirs start empty on every boot, and the script's own
// started-marker would otherwise make a re-run print nothing. Commands whose
// JSON holds failCommand, when set, fail (PODCLUSTER_BOOT_DRY_RUN_FAIL).
func runBoot(ctx context.Context, bash, dir string, script []byte, failCommand string) (*bootResult, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("clearing %s: %w", dir, err)
	}
	res := &bootResult{root: filepath.Join(dir, "root")}
	if err := os.MkdirAll(res.root, 0o755); err != nil {
		return nil, fmt.Errorf("creating the boot root: %w", err)
	}
	file := filepath.Join(dir, nodepod.BootstrapScriptKey)
	if err := os.WriteFile(file, script, 0o700); err != nil {
		return nil, fmt.Errorf("writing the boot script: %w", err)
	}
	termLog := filepath.Join(dir, "termination-log")

	ctx, cancel := context.WithTimeout(ctx, bootTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, file)
	cmd.SysProcAttr = childAttrs()
	// A timed-out script is ended with whatever it started.
	cmd.Cancel = func() error { return killGroup(cmd, syscall.SIGKILL) }
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"PODCLUSTER_BOOT_ROOT=" + res.root,
		"PODCLUSTER_BOOT_DRY_RUN=1",
		"PODCLUSTER_TERMINATION_LOG=" + termLog,
	}
	if failCommand != "" {
		cmd.Env = append(cmd.Env, "PODCLUSTER_BOOT_DRY_RUN_FAIL="+failCommand)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr) && ctx.Err() == nil:
		res.exitCode = exitErr.ExitCode()
		res.failure = failureMessage(res.root, termLog, stderr.String())
		return res, nil
	case err != nil:
		return nil, fmt.Errorf("running the boot script: %w", err)
	}
	scanner := bufio.NewScanner(&stdout)
	scanner.Buffer(nil, 1<<24)
	for scanner.Scan() {
		js, ok := strings.CutPrefix(scanner.Text(), commandPrefix)
		if !ok {
			continue
		}
		var argv []string
		if err := json.Unmarshal([]byte(js), &argv); err != nil {
			return nil, fmt.Errorf("the boot script printed a bad command line %q: %w", scanner.Text(), err)
		}
		res.commands = append(res.commands, argv)
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("reading the boot script's output: %w", err)
	}
	return res, nil
}

// failureMessage is what the node's termination message would be: the
// termination log the script wrote, else its failure file, else (when the
// script died before it could report, as bootstrap-stopped.sh would say) the
// end of its standard error.
func failureMessage(root, termLog, stderr string) string {
	for _, f := range []string{termLog, filepath.Join(root, nodepod.BootstrapFailureFile)} {
		if b, err := os.ReadFile(f); err == nil && len(bytes.TrimSpace(b)) > 0 {
			return string(b)
		}
	}
	if s := strings.TrimSpace(stderr); s != "" {
		if len(s) > maxTerminationMessage {
			s = s[len(s)-maxTerminationMessage:]
		}
		return "the bootstrap script failed without reporting: " + s
	}
	return "the bootstrap script failed without reporting"
}

// writeFailure leaves an injected failure where a failed script leaves its
// own: the failure file under a fresh root and the termination log.
func writeFailure(dir, msg string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clearing %s: %w", dir, err)
	}
	failure := filepath.Join(dir, "root", nodepod.BootstrapFailureFile)
	if err := os.MkdirAll(filepath.Dir(failure), 0o755); err != nil {
		return fmt.Errorf("writing the failure file: %w", err)
	}
	for _, f := range []string{failure, filepath.Join(dir, "termination-log")} {
		if err := os.WriteFile(f, []byte(msg+"\n"), 0o644); err != nil {
			return fmt.Errorf("writing the failure file: %w", err)
		}
	}
	return nil
}

// playCommands plays the commands after kubeadm that the simulation can play:
// the write of the success sentinel (kubeadm itself is played by the kubelet
// controller, see kubeadmInit and kubeadmJoin).
func playCommands(res *bootResult) error {
	for _, argv := range res.commands {
		if !strings.Contains(strings.Join(argv, " "), nodepod.BootstrapSuccessFile) {
			continue
		}
		sentinel := filepath.Join(res.root, nodepod.BootstrapSuccessFile)
		if err := os.MkdirAll(filepath.Dir(sentinel), 0o755); err != nil {
			return fmt.Errorf("writing the success sentinel: %w", err)
		}
		if err := os.WriteFile(sentinel, []byte("success\n"), 0o644); err != nil {
			return fmt.Errorf("writing the success sentinel: %w", err)
		}
	}
	return nil
}
