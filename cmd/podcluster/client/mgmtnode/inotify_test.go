package mgmtnode

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestFreeInotifyInstances(t *testing.T) {
	g := NewWithT(t)
	free, ok := FreeInotifyInstances()
	if !ok {
		t.Skip("no /proc/sys/fs/inotify/max_user_instances here")
	}
	t.Logf("about %d inotify instances left for root", free)
	g.Expect(free).To(BeNumerically("<=", 1<<20))
}
