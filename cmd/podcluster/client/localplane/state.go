package localplane

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pidFile records the process that runs `podcluster up` for a state directory,
// so that a second `up` refuses to start and `podcluster down` can stop it.
const pidFile = "up.pid"

// DefaultStateDir is ~/.podcluster.
func DefaultStateDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ".podcluster"
	}
	return filepath.Join(home, ".podcluster")
}

// Claim records this process as the owner of stateDir. It fails when another
// live process owns it.
func Claim(stateDir string) error {
	if pid, ok := RunningPID(stateDir); ok {
		return fmt.Errorf("podcluster up is already running for %s (pid %d); stop it with 'podcluster down'", stateDir, pid)
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", stateDir, err)
	}
	return os.WriteFile(filepath.Join(stateDir, pidFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
}

// Release forgets this process as the owner of stateDir.
func Release(stateDir string) {
	if pid, ok := RunningPID(stateDir); ok && pid == os.Getpid() {
		_ = os.Remove(filepath.Join(stateDir, pidFile))
	}
}

// RunningPID returns the pid of the live `podcluster up` of stateDir, if any.
func RunningPID(stateDir string) (int, bool) {
	data, err := os.ReadFile(filepath.Join(stateDir, pidFile))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, alive(pid)
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// StopRunning sends SIGTERM to the `podcluster up` of stateDir and waits up to
// timeout for it to exit. It reports whether one was running.
func StopRunning(stateDir string, timeout time.Duration) (bool, error) {
	pid, ok := RunningPID(stateDir)
	if !ok {
		return false, nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return true, fmt.Errorf("signalling pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return true, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true, fmt.Errorf("podcluster up (pid %d) did not stop within %s", pid, timeout)
}
