package tools

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// buildPodcluster builds the podcluster binary into a temporary folder, as
// `go install ./cmd/podcluster` would put it outside the checkout.
func buildPodcluster(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := RepoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "podcluster")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/podcluster")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// cleanEnv is an environment with nothing of the developer's: a fresh home,
// a plain PATH, and the variables given.
func cleanEnv(t *testing.T, extra ...string) []string {
	return append([]string{"HOME=" + t.TempDir(), "PATH=/usr/local/bin:/usr/bin:/bin"}, extra...)
}

// TestInstalledBinaryOutsideCheckout: podcluster run from a folder outside
// any checkout, with a clean environment, finds the tools `make install`
// built in the tool cache; without them it says what to do.
func TestInstalledBinaryOutsideCheckout(t *testing.T) {
	names := []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}
	if _, err := EnsureBinDir(os.Stderr, names...); err != nil {
		t.Fatal(err)
	}
	cache, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	bin := buildPodcluster(t)

	t.Run("an empty cache: the error says what to run or set", func(t *testing.T) {
		g := NewWithT(t)
		empty := t.TempDir()
		cmd := exec.Command(bin, "up", "--state-dir", filepath.Join(t.TempDir(), "state"))
		cmd.Dir = t.TempDir()
		cmd.Env = cleanEnv(t, "PODCLUSTER_TOOLS_CACHE="+empty)
		out, err := cmd.CombinedOutput()
		g.Expect(err).To(HaveOccurred(), string(out))
		for _, want := range []string{"not inside a podcluster checkout", "tool cache " + empty, filepath.Join(parseCacheDirs(cacheDirs)["etcd"], "etcd"),
			"make install", "hack/tools/ensure.sh etcd kube-apiserver", "$PODCLUSTER_BIN_DIR"} {
			g.Expect(string(out)).To(ContainSubstring(want))
		}
	})

	t.Run("the tools in the cache: up starts the plane with them", func(t *testing.T) {
		g := NewWithT(t)
		cmd := exec.Command(bin, "up", "--state-dir", filepath.Join(t.TempDir(), "state"), "--providers=", "--simulate=false")
		cmd.Dir = t.TempDir()
		cmd.Env = cleanEnv(t, "PODCLUSTER_TOOLS_CACHE="+cache)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		stderr, err := cmd.StderrPipe()
		g.Expect(err).NotTo(HaveOccurred())
		cmd.Stdout = cmd.Stderr
		g.Expect(cmd.Start()).To(Succeed())
		t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
		// The plane checks its binaries before its first step; stop it there.
		var out bytes.Buffer
		lines := bufio.NewScanner(stderr)
		started := false
		for lines.Scan() {
			out.WriteString(lines.Text() + "\n")
			if strings.Contains(lines.Text(), "Preparing certificates") {
				started = true
				break
			}
		}
		g.Expect(started).To(BeTrue(), out.String())
		g.Expect(cmd.Process.Signal(syscall.SIGINT)).To(Succeed())
		go func() { _, _ = bufio.NewReader(stderr).WriteTo(&bytes.Buffer{}) }()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		g.Eventually(done, 2*time.Minute).Should(Receive())
		// The folder up used links to this version's builds in the cache.
		dir, err := fromCache(names)
		g.Expect(err).NotTo(HaveOccurred())
		for _, n := range names {
			got, err := filepath.EvalSymlinks(filepath.Join(dir, n))
			g.Expect(err).NotTo(HaveOccurred())
			want, err := filepath.EvalSymlinks(filepath.Join(cache, parseCacheDirs(cacheDirs)[n], n))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(want))
		}
	})
}
