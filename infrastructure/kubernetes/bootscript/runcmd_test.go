package bootscript

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	. "github.com/onsi/gomega"
)

// fakeKubeadm puts a kubeadm that exits with code on a PATH of its own and
// returns that PATH.
func fakeKubeadm(t *testing.T, code int) string {
	t.Helper()
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "kubeadm"), []byte("#!/bin/sh\necho \"kubeadm $*\"\nexit "+strconv.Itoa(code)+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return "PATH=" + bin + ":" + os.Getenv("PATH")
}

// TestRuncmdFailures runs runcmd lists for real with a fake kubeadm. As with
// cloud-init, which runs runcmd as one sh script, a failing entry does not
// stop the later ones until an entry turns errexit on; kubeadm init or join
// failing stops the boot whatever the shell options.
func TestRuncmdFailures(t *testing.T) {
	const sentinel = `mkdir -p "$PODCLUSTER_BOOT_ROOT/run/cluster-api" && echo success > "$PODCLUSTER_BOOT_ROOT/run/cluster-api/bootstrap-success.complete"`
	for _, tc := range []struct {
		name    string
		runcmd  []string
		kubeadm int
		// code is the script's exit code, ran the entries that ran (by
		// their echo), failed the failing step ("" when the boot succeeds).
		code   int
		ran    string
		failed string
	}{{
		name:    "upstream shape: a failing pre command is logged and the boot goes on",
		runcmd:  []string{`echo pre1 >> "$COUNTER"; exit 4`, `echo pre2 >> "$COUNTER"`, "kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml && " + sentinel, `echo post >> "$COUNTER"; exit 6`},
		kubeadm: 0,
		ran:     "pre1\npre2\npost\n",
	}, {
		name:    "upstream shape: kubeadm failing stops the boot",
		runcmd:  []string{`echo pre1 >> "$COUNTER"; exit 4`, "kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml && " + sentinel, `echo post >> "$COUNTER"`},
		kubeadm: 5,
		code:    5,
		ran:     "pre1\n",
		failed:  "failed step: runcmd[1]: kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml",
	}, {
		name:    "podcluster shape: pre commands go on, set -e makes kubeadm and post commands fail fast",
		runcmd:  []string{`echo pre1 >> "$COUNTER"; exit 4`, "set -e", "kubeadm init --config /run/kubeadm/kubeadm.yaml", `echo post1 >> "$COUNTER"; exit 6`, `echo post2 >> "$COUNTER"`, sentinel},
		kubeadm: 0,
		code:    6,
		ran:     "pre1\npost1\n",
		failed:  "failed step: runcmd[3]: echo post1",
	}, {
		name:    "podcluster shape: everything succeeds after a failing pre command",
		runcmd:  []string{`echo pre1 >> "$COUNTER"; exit 4`, "set -e", "kubeadm init --config /run/kubeadm/kubeadm.yaml", `echo post1 >> "$COUNTER"`, sentinel},
		kubeadm: 0,
		ran:     "pre1\npost1\n",
	}, {
		name:   "set +e turns errexit off again",
		runcmd: []string{"set -eu", `echo one >> "$COUNTER"`, "set +e", `echo two >> "$COUNTER"; exit 2`, `echo three >> "$COUNTER"`, sentinel},
		ran:    "one\ntwo\nthree\n",
	}, {
		name:   "set -o errexit",
		runcmd: []string{"set -o errexit", `echo one >> "$COUNTER"; exit 2`, `echo two >> "$COUNTER"`},
		code:   2,
		ran:    "one\n",
		failed: "failed step: runcmd[1]: echo one",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			counter := filepath.Join(t.TempDir(), "counter")
			g.Expect(os.WriteFile(counter, nil, 0o644)).To(Succeed())
			cfg := "#cloud-config\nruncmd:\n"
			for _, c := range tc.runcmd {
				cfg += "  - " + strconv.Quote(c) + "\n"
			}
			script, err := Convert([]byte(cfg))
			g.Expect(err).NotTo(HaveOccurred())
			root := t.TempDir()
			res := run(t, script, root, false, fakeKubeadm(t, tc.kubeadm), "COUNTER="+counter)
			g.Expect(res.code).To(Equal(tc.code), res.stdout+res.stderr)
			g.Expect(os.ReadFile(counter)).To(Equal([]byte(tc.ran)))
			failureFile := filepath.Join(root, "run/cluster-api/bootstrap-failure")
			sentinelFile := filepath.Join(root, "run/cluster-api/bootstrap-success.complete")
			if tc.failed == "" {
				g.Expect(failureFile).NotTo(BeAnExistingFile())
				g.Expect(sentinelFile).To(BeAnExistingFile())
				return
			}
			failure, err := os.ReadFile(failureFile)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(failure)).To(HavePrefix(tc.failed))
			g.Expect(sentinelFile).NotTo(BeAnExistingFile())
		})
	}
}

// TestRuncmdFailureIsLogged: a runcmd entry that fails and is gone past says
// so in the log and on standard error, with its exit code.
func TestRuncmdFailureIsLogged(t *testing.T) {
	g := NewWithT(t)
	script, err := Convert([]byte("#cloud-config\nruncmd:\n  - 'echo boom; exit 4'\n  - echo after\n"))
	g.Expect(err).NotTo(HaveOccurred())
	root := t.TempDir()
	res := run(t, script, root, false)
	g.Expect(res.code).To(Equal(0), res.stdout+res.stderr)
	const line = "==> runcmd[0]: echo boom; exit 4 failed with exit code 4; going on, as cloud-init runcmd does\n"
	g.Expect(res.stderr).To(ContainSubstring(line))
	g.Expect(res.stdout).To(ContainSubstring("==> runcmd[1]: echo after\nafter\n"))
	log, err := os.ReadFile(filepath.Join(root, "var/log/podcluster-bootstrap.log"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(log)).To(ContainSubstring("boom\n" + line))
}

// TestDryRunFail: in dry-run mode PODCLUSTER_BOOT_DRY_RUN_FAIL plays a failing
// command, with the same rules as a real run: a runcmd entry goes on, kubeadm
// stops the script and is reported.
func TestDryRunFail(t *testing.T) {
	g := NewWithT(t)
	script, err := Convert([]byte("#cloud-config\nruncmd:\n  - pre-command-that-fails\n  - kubeadm join --config /k.yaml\n  - echo post\n"))
	g.Expect(err).NotTo(HaveOccurred())

	res := run(t, script, t.TempDir(), true, "PODCLUSTER_BOOT_DRY_RUN_FAIL=pre-command-that-fails")
	g.Expect(res.code).To(Equal(0), res.stdout+res.stderr)
	g.Expect(res.commands).To(HaveLen(3))
	g.Expect(res.stderr).To(ContainSubstring("runcmd[0]: pre-command-that-fails failed with exit code 1; going on"))

	root := t.TempDir()
	res = run(t, script, root, true, "PODCLUSTER_BOOT_DRY_RUN_FAIL=kubeadm join")
	g.Expect(res.code).To(Equal(1))
	g.Expect(res.commands).To(HaveLen(2))
	failure, err := os.ReadFile(filepath.Join(root, "run/cluster-api/bootstrap-failure"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(failure)).To(HavePrefix("failed step: runcmd[1]: kubeadm join --config /k.yaml\nexit code: 1\n" +
		"dry run: failing, as PODCLUSTER_BOOT_DRY_RUN_FAIL asks\n"))
}

func TestSetsErrexit(t *testing.T) {
	for _, tc := range []struct {
		cmd    Command
		on, ok bool
	}{
		{Command{Shell: "set -e"}, true, true},
		{Command{Shell: "  set -eux  "}, true, true},
		{Command{Shell: "set -eo pipefail"}, true, true},
		{Command{Shell: "set -o pipefail -e"}, true, true},
		{Command{Shell: "set -o errexit"}, true, true},
		{Command{Shell: "set +e"}, false, true},
		{Command{Shell: "set -e +e"}, false, true},
		{Command{Shell: "set +o errexit"}, false, true},
		{Command{Argv: []string{"set", "-e"}}, true, true},
		{Command{Shell: "set -u"}, false, false},
		{Command{Shell: "set -o pipefail"}, false, false},
		{Command{Shell: "set -- -e"}, false, false},
		{Command{Shell: "set e"}, false, false},
		{Command{Shell: "set"}, false, false},
		{Command{Shell: "set -e; false"}, false, false},
		{Command{Shell: "echo set -e"}, false, false},
		{Command{Shell: "reset -e"}, false, false},
	} {
		t.Run(tc.cmd.Shell+describe(tc.cmd), func(t *testing.T) {
			g := NewWithT(t)
			on, ok := setsErrexit(tc.cmd)
			g.Expect([]bool{on, ok}).To(Equal([]bool{tc.on, tc.ok}))
		})
	}
}

func TestRunsKubeadm(t *testing.T) {
	for _, tc := range []struct {
		cmd  Command
		want bool
	}{
		{Command{Shell: "kubeadm init --config /run/kubeadm/kubeadm.yaml && echo success > /x"}, true},
		{Command{Shell: "kubeadm join --config /k.yaml"}, true},
		{Command{Shell: "/usr/bin/kubeadm join phase control-plane-join all"}, true},
		{Command{Argv: []string{"kubeadm", "init"}}, true},
		{Command{Shell: "kubeadm reset -f"}, false},
		{Command{Shell: "kubeadm"}, false},
		{Command{Shell: "echo kubeadm init"}, false},
		{Command{Shell: "bin/kubeadm init"}, false},
		{Command{Shell: "true; kubeadm init"}, false},
	} {
		t.Run(describe(tc.cmd), func(t *testing.T) {
			NewWithT(t).Expect(runsKubeadm(tc.cmd)).To(Equal(tc.want))
		})
	}
}
