package sim

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// TestProcessStopEndsItsGroup: stop reaches what the process forked, and a
// child is its own group's leader with a parent-death signal.
func TestProcessStopEndsItsGroup(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "sleeper.log")
	// The shell forks a sleeper and reports its pid, then waits on it.
	p, err := startProcess("sleeper", "bash", log, []string{"-c", `sleep 300 & echo "child $!"; wait`})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(p.cmd.SysProcAttr.Setpgid).To(BeTrue())
	g.Expect(p.cmd.SysProcAttr.Pdeathsig).NotTo(BeZero())
	var child int
	g.Eventually(func(g Gomega) {
		b, err := os.ReadFile(log)
		g.Expect(err).NotTo(HaveOccurred())
		f := strings.Fields(string(b))
		g.Expect(f).To(HaveLen(2))
		child, err = strconv.Atoi(f[1])
		g.Expect(err).NotTo(HaveOccurred())
	}, 10*time.Second, 50*time.Millisecond).Should(Succeed())
	g.Expect(p.rss()).To(BeNumerically(">", 0))

	p.stop()
	ended, _ := p.exited()
	g.Expect(ended).To(BeTrue())
	g.Expect(p.rss()).To(BeZero())
	// The forked sleeper got the group's signal too.
	g.Eventually(func() bool { return processGone(child) }, 10*time.Second, 50*time.Millisecond).Should(BeTrue())
}

// processGone says whether pid ended: it is no more, or a zombie whose new
// parent has not reaped it yet.
func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) state ...: comm may hold blanks, the state follows its ')'.
	_, rest, _ := strings.Cut(string(b), ") ")
	return strings.HasPrefix(rest, "Z")
}

// helperEnv makes the test binary a stand-in for the runtime's process: it
// starts a sleeper as the runtime starts its processes, prints the
// sleeper's pid and waits to be killed.
const helperEnv = "PODCLUSTER_SIM_TEST_HELPER"

func runHelper() int {
	p, err := startProcess("sleeper", "sleep", filepath.Join(os.Getenv(helperEnv), "sleeper.log"), []string{"300"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(p.cmd.Process.Pid)
	select {}
}

// TestProcessDiesWithTheRuntime: a process the runtime started dies when the
// runtime's process is killed with SIGKILL, which no handler can catch.
func TestProcessDiesWithTheRuntime(t *testing.T) {
	g := NewWithT(t)
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), helperEnv+"="+t.TempDir())
	out, err := helper.StdoutPipe()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(helper.Start()).To(Succeed())
	var pid int
	_, err = fmt.Fscan(out, &pid)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(pid).To(BeNumerically(">", 0))

	g.Expect(processGone(pid)).To(BeFalse())
	g.Expect(helper.Process.Kill()).To(Succeed())
	_ = helper.Wait()
	g.Eventually(func() bool { return processGone(pid) }, 10*time.Second, 50*time.Millisecond).Should(BeTrue())
}
