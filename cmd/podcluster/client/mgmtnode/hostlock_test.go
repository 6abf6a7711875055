package mgmtnode

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestLockHost(t *testing.T) {
	saved := HostLockPath
	HostLockPath = filepath.Join(t.TempDir(), "run", "mgmt.lock")
	t.Cleanup(func() { HostLockPath = saved })

	first, err := lockHost("/state/one")
	if err != nil {
		t.Fatalf("the first lock: %v", err)
	}
	// A second management node, here or in another process, is refused
	// with the first one's state folder in the message.
	if _, err := lockHost("/state/two"); err == nil {
		t.Fatal("a second lock was taken while the first was held")
	} else if !strings.Contains(err.Error(), "another management node runs on this host") || !strings.Contains(err.Error(), "/state/one") {
		t.Fatalf("the second lock's error does not name the first run: %v", err)
	}
	first.release()
	second, err := lockHost("/state/two")
	if err != nil {
		t.Fatalf("the lock after the first was released: %v", err)
	}
	second.release()
}
