package expectations

import (
	"testing"
	"time"
)

func TestPendingAndObserved(t *testing.T) {
	var e Expectations // the zero value is ready to use
	if e.Pending("ns/m", "Pod/m") {
		t.Fatal("pending before anything was expected")
	}
	e.Expect("ns/m", "Pod/m", "Secret/m-bootstrap")
	if !e.Pending("ns/m", "Pod/m") || !e.Pending("ns/m", "Secret/m-bootstrap") {
		t.Fatal("an expectation just made is not pending")
	}
	if e.Pending("ns/other", "Pod/m") {
		t.Fatal("another owner's name is pending")
	}
	e.Observed("ns/m", "Pod/m")
	if e.Pending("ns/m", "Pod/m") || !e.Pending("ns/m", "Secret/m-bootstrap") {
		t.Fatal("Observed dropped the wrong expectation")
	}
	e.Observed("ns/m", "Secret/m-bootstrap")
	if len(e.pending) != 0 {
		t.Fatalf("an owner with nothing pending is still held: %v", e.pending)
	}

	// An expectation older than Timeout is not trusted any more.
	e.Expect("ns/m", "Pod/m")
	e.pending["ns/m"]["Pod/m"] = time.Now().Add(-Timeout - time.Second)
	if e.Pending("ns/m", "Pod/m") {
		t.Fatal("a timed-out expectation is pending")
	}
	if !e.Satisfied("ns/m", func(string) bool { return false }) {
		t.Fatal("Satisfied waits for a timed-out expectation")
	}
}
