package mgmtnode

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// HostLockPath is the file whose lock a running management node holds. One
// management node runs per host: its cgroup root (CgroupRootPrefix and the
// Node's name) and its bridge's range are fixed, so a second one would share
// them with the first and break both. /run is a memory file system: the file
// goes with a reboot, and the lock with the process that held it, even when
// it was killed.
var HostLockPath = "/run/podcluster-management-node.lock"

// errHostLocked says that another management node holds the host's lock.
var errHostLocked = errors.New("another management node runs on this host")

// hostLock is a held HostLockPath.
type hostLock struct{ f *os.File }

// lockHost takes HostLockPath without waiting, and writes stateDir into it so
// that a second `up` can say which run holds it.
func lockHost(stateDir string) (*hostLock, error) {
	if err := os.MkdirAll(filepath.Dir(HostLockPath), 0o755); err != nil {
		return nil, fmt.Errorf("the management node's host lock: %w", err)
	}
	f, err := os.OpenFile(HostLockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("the management node's host lock: %w", err)
	}
	if err := tryLock(f); err != nil {
		holder, _ := os.ReadFile(HostLockPath)
		_ = f.Close()
		if errors.Is(err, errHostLocked) {
			return nil, fmt.Errorf("%w (podcluster up --runtime=real with the state folder %s; %s is locked): one management node "+
				"runs per host, since its cgroup root and bridge range are fixed; stop that one first", err,
				strings.TrimSpace(string(holder)), HostLockPath)
		}
		return nil, fmt.Errorf("locking %s: %w", HostLockPath, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(stateDir+"\n"), 0)
	}
	return &hostLock{f: f}, nil
}

// release gives the lock back.
func (l *hostLock) release() {
	if l != nil && l.f != nil {
		_ = l.f.Close()
		l.f = nil
	}
}

// tryLock takes an exclusive flock on f without waiting. A flock belongs to
// the open file, so a second open of the same file conflicts, in this process
// or another, and the kernel drops it when the process ends.
func tryLock(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errHostLocked
	}
	return err
}
