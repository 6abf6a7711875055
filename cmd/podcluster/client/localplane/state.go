package localplane

import (
	"context"
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
// The owner holds an exclusive flock on it while it runs: the kernel drops
// the lock when the owner dies, however it dies, so a lock that can be taken
// means the file is stale, whatever process has its PID now.
const pidFile = "up.pid"

// DefaultStateDir is ~/.podcluster.
func DefaultStateDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ".podcluster"
	}
	return filepath.Join(home, ".podcluster")
}

// Claim records this process as the owner of stateDir, until release is
// called or the process ends. It fails when another live process owns it.
func Claim(stateDir string) (release func(), err error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", stateDir, err)
	}
	file := filepath.Join(stateDir, pidFile)
	f, err := lockPIDFile(stateDir)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(0); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("writing %s: %w", file, err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("writing %s: %w", file, err)
	}
	return func() {
		// Removed before the lock goes, so that a new owner's file stays.
		_ = os.Remove(file)
		_ = f.Close()
	}, nil
}

// lockPIDFile opens up.pid of stateDir and takes its lock, or says who holds it.
func lockPIDFile(stateDir string) (*os.File, error) {
	file := filepath.Join(stateDir, pidFile)
	running := func(pid int) error {
		return fmt.Errorf("podcluster up is already running for %s (pid %d); stop it with 'podcluster down --state-dir %s'", stateDir, pid, stateDir)
	}
	for {
		f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", file, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			_ = f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				pid, _ := readPID(stateDir)
				return nil, running(pid)
			}
			return nil, fmt.Errorf("locking %s: %w", file, err)
		}
		// An owner that stopped meanwhile removed the file this opened: the
		// lock must be on the file that is there now.
		held, err := f.Stat()
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("checking %s: %w", file, err)
		}
		if there, err := os.Stat(file); err != nil || !os.SameFile(held, there) {
			_ = f.Close()
			continue
		}
		// A podcluster up from before the lock existed does not take it.
		if pid, err := readPID(stateDir); err == nil && pid != os.Getpid() && notUp(pid, stateDir) == "" {
			_ = f.Close()
			return nil, running(pid)
		}
		return f, nil
	}
}

// Owner is what up.pid of a state directory says.
type Owner struct {
	// PID is the process the file names; 0 when there is no file.
	PID int
	// Locked says that a live process holds the file's lock: the state
	// directory has an owner.
	Locked bool
	// Running says that PID is a podcluster binary running up for the state
	// directory, which may be signalled.
	Running bool
	// Why says why the file is stale, or why PID is not to be signalled.
	Why string
}

// Stale says that up.pid exists but nothing owns the state directory.
func (o Owner) Stale() bool { return !o.Locked && !o.Running && (o.PID != 0 || o.Why != "") }

// ReadOwner reads up.pid of stateDir and checks the process it names.
func ReadOwner(stateDir string) (Owner, error) {
	pid, err := readPID(stateDir)
	if errors.Is(err, os.ErrNotExist) {
		return Owner{}, nil
	}
	o := Owner{PID: pid}
	locked, lockErr := isLocked(filepath.Join(stateDir, pidFile))
	if errors.Is(lockErr, os.ErrNotExist) {
		// Removed since it was read: the owner just stopped.
		return Owner{}, nil
	}
	if lockErr != nil {
		return o, lockErr
	}
	o.Locked = locked
	switch {
	case err != nil:
		o.Why = err.Error()
	case pid == os.Getpid():
		o.Running = locked
	default:
		// Checked even without the lock: a podcluster up from before the
		// lock existed does not take it.
		o.Why = notUp(pid, stateDir)
		o.Running = o.Why == ""
	}
	return o, nil
}

// RemoveStale removes up.pid of stateDir if it is stale, and says why it was.
func RemoveStale(stateDir string) (Owner, error) {
	o, err := ReadOwner(stateDir)
	if err != nil || !o.Stale() {
		return o, err
	}
	if err := os.Remove(filepath.Join(stateDir, pidFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return o, err
	}
	return o, nil
}

func readPID(stateDir string) (int, error) {
	file := filepath.Join(stateDir, pidFile)
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s does not hold a process ID", file)
	}
	return pid, nil
}

// isLocked says whether some process holds the flock of file. Taking the lock
// to find out is harmless: it is let go at once.
func isLocked(file string) (bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return false, err
	}
	defer func() { _ = f.Close() }()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking the lock of %s: %w", file, err)
	}
	return false, syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}

// notUp says why pid is not a podcluster binary running `up` for stateDir, or
// "" when it is. Under `go run`, the binary is the child that go run built
// and started, and up.pid names it, not go run.
func notUp(pid int, stateDir string) string {
	st, err := readStat(pid)
	if err != nil || st.state == 'Z' {
		return fmt.Sprintf("pid %d is not running", pid)
	}
	argv := cmdline(pid)
	exe, _ := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe"))
	if len(argv) == 0 || (!strings.HasPrefix(filepath.Base(argv[0]), "podcluster") && !strings.HasPrefix(filepath.Base(exe), "podcluster")) {
		return fmt.Sprintf("pid %d is not podcluster (%s)", pid, strings.Join(argv, " "))
	}
	verb, dir := verbAndStateDir(argv[1:])
	if verb != "up" {
		return fmt.Sprintf("pid %d is not podcluster up (%s)", pid, strings.Join(argv, " "))
	}
	if dir == "" {
		dir = DefaultStateDir()
	} else if !filepath.IsAbs(dir) {
		// Relative to where that process runs.
		cwd, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "cwd"))
		if err != nil {
			return fmt.Sprintf("pid %d runs up with --state-dir %s, relative to a folder it does not show: %v", pid, dir, err)
		}
		dir = filepath.Join(cwd, dir)
	}
	if !samePath(dir, stateDir) {
		return fmt.Sprintf("pid %d is podcluster up for another state dir (%s)", pid, dir)
	}
	return ""
}

// verbAndStateDir finds, in podcluster's arguments, the verb (the first
// argument that is not a flag) and the value of --state-dir, if given.
func verbAndStateDir(args []string) (verb, stateDir string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return verb, stateDir
		case a == "--state-dir" && i+1 < len(args):
			stateDir = args[i+1]
			i++
		case strings.HasPrefix(a, "--state-dir="):
			stateDir = strings.TrimPrefix(a, "--state-dir=")
		case !strings.HasPrefix(a, "-") && verb == "":
			verb = a
		}
	}
	return verb, stateDir
}

func samePath(a, b string) bool {
	a, b = filepath.Clean(a), filepath.Clean(b)
	if !filepath.IsAbs(b) {
		if abs, err := filepath.Abs(b); err == nil {
			b = abs
		}
	}
	if a == b {
		return true
	}
	ia, errA := os.Stat(a)
	ib, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(ia, ib)
}

// StopRunning sends SIGTERM to the `podcluster up` of stateDir and waits up to
// timeout for it to exit. It signals only a process that is a podcluster up
// of stateDir (see ReadOwner), and it reports what up.pid said.
func StopRunning(stateDir string, timeout time.Duration) (Owner, error) {
	o, err := ReadOwner(stateDir)
	if err != nil || (!o.Locked && !o.Running) {
		return o, err
	}
	if !o.Running {
		return o, fmt.Errorf("a live process owns %s, but not signalling pid %d from its up.pid: %s", stateDir, o.PID, o.Why)
	}
	if o.PID == os.Getpid() {
		return o, errors.New("refusing to signal this process, which owns the state dir")
	}
	if err := syscall.Kill(o.PID, syscall.SIGTERM); err != nil {
		return o, fmt.Errorf("signalling pid %d: %w", o.PID, err)
	}
	// The lock goes when the process exits, and the PID no longer runs up
	// (it may stay a zombie until its parent reaps it).
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		locked, err := isLocked(filepath.Join(stateDir, pidFile))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return o, err
		}
		if !locked && notUp(o.PID, stateDir) != "" {
			return o, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return o, fmt.Errorf("podcluster up (pid %d) did not stop within %s", o.PID, timeout)
}

// EndLeftovers kills what a plane that did not stop cleanly left running on
// stateDir, when no `podcluster up` owns it, and says what it killed.
func EndLeftovers(stateDir string, timeout time.Duration) (string, error) {
	o, err := ReadOwner(stateDir)
	if err != nil {
		return "", err
	}
	if o.Locked || o.Running {
		return "", fmt.Errorf("a live process (pid %d) owns %s", o.PID, stateDir)
	}
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return "", err
	}
	left, err := endLeftovers(context.Background(), abs, timeout)
	if err == nil {
		err = writeRecords(abs, nil)
	}
	return describe(left), err
}
