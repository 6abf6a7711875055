package e2e

import (
	"bytes"
	"net"
	osexec "os/exec"
	"strings"
	"sync"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func exec(name string, args ...string) *osexec.Cmd { return osexec.Command(name, args...) }

// meta counts the items of a list.
func meta(list client.ObjectList) int {
	items, err := apimeta.ExtractList(list)
	if err != nil {
		return -1
	}
	return len(items)
}

// dial reports whether something listens at addr.
func dial(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}

// readyLine is what `podcluster up` prints once the plane serves.
const readyLine = "The management plane is ready"

// upOutput collects the output of `podcluster up`, which its goroutines write
// while TestMain waits. ready is closed once the output contains the line
// waited for.
type upOutput struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	line  string
	ready chan struct{}
}

func newUpOutput(line string) *upOutput {
	return &upOutput{line: line, ready: make(chan struct{})}
}

func (o *upOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, err := o.buf.Write(p)
	select {
	case <-o.ready:
	default:
		// The whole output, not p: the line may come in pieces.
		if strings.Contains(o.buf.String(), o.line) {
			close(o.ready)
		}
	}
	return n, err
}

func (o *upOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}
