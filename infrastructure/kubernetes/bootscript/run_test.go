package bootscript

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	. "github.com/onsi/gomega"
)

// result is what a run of a script left behind.
type result struct {
	code           int
	stdout, stderr string
	commands       [][]string // decoded podcluster-boot-command lines
}

// run executes script with /bin/bash under root. env adds variables; the
// termination log always points into a temporary directory, so that a test run
// inside a Pod never writes the Pod's real /dev/termination-log.
func run(t *testing.T, script []byte, root string, dryRun bool, env ...string) result {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "boot.sh")
	if err := os.WriteFile(file, script, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/bash", file)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "PODCLUSTER_BOOT_ROOT=" + root,
		"PODCLUSTER_TERMINATION_LOG=" + filepath.Join(dir, "termination-log")}, env...)
	if dryRun {
		cmd.Env = append(cmd.Env, "PODCLUSTER_BOOT_DRY_RUN=1")
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		res.code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("running the script: %v", err)
	}
	scanner := bufio.NewScanner(strings.NewReader(res.stdout))
	scanner.Buffer(nil, 1<<24)
	for scanner.Scan() {
		if js, ok := strings.CutPrefix(scanner.Text(), "podcluster-boot-command: "); ok {
			var argv []string
			if err := json.Unmarshal([]byte(js), &argv); err != nil {
				t.Fatalf("bad command line %q: %v", scanner.Text(), err)
			}
			res.commands = append(res.commands, argv)
		}
	}
	return res
}

// mode is a file's permission bits, setuid, setgid and sticky included.
func mode(t *testing.T, path string) uint32 {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Mode & 0o7777
}

func octalMode(m uint32) string { return fmt.Sprintf("%04o", m) }

// TestDryRunControlPlane runs the script of a kubeadm init cloud-config in
// dry-run mode: every file lands under the root with its content and mode,
// and the one command printed is the runcmd with the preflight ignores added.
func TestDryRunControlPlane(t *testing.T) {
	g := NewWithT(t)
	cfg, err := os.ReadFile("testdata/init-control-plane.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	parsed, err := Parse(cfg)
	g.Expect(err).NotTo(HaveOccurred())
	script, err := Render(parsed)
	g.Expect(err).NotTo(HaveOccurred())

	root := t.TempDir()
	res := run(t, script, root, true)
	g.Expect(res.code).To(Equal(0), res.stdout)

	g.Expect(parsed.WriteFiles).To(HaveLen(8))
	for _, f := range parsed.WriteFiles {
		got, err := os.ReadFile(filepath.Join(root, f.Path))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal(f.Content), f.Path)
		g.Expect(octalMode(mode(t, filepath.Join(root, f.Path)))).To(Equal(octalMode(f.Permissions)), f.Path)
	}
	kubeadmYAML, err := os.ReadFile(filepath.Join(root, "run/kubeadm/kubeadm.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(kubeadmYAML)).To(HavePrefix("---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n"))
	g.Expect(octalMode(mode(t, filepath.Join(root, "etc/kubernetes/pki/ca.key")))).To(Equal("0600"))

	g.Expect(res.commands).To(Equal([][]string{{"/bin/sh", "-c", "kubeadm init --config /run/kubeadm/kubeadm.yaml" +
		" --ignore-preflight-errors=SystemVerification,Swap,FileContent--proc-sys-net-bridge-bridge-nf-call-iptables" +
		"  && echo success > /run/cluster-api/bootstrap-success.complete"}}))
	g.Expect(filepath.Join(root, "run/cluster-api/bootstrap-success.complete")).NotTo(BeAnExistingFile())
	g.Expect(filepath.Join(root, "run/podcluster/bootstrap.started")).To(BeAnExistingFile())
	log, err := os.ReadFile(filepath.Join(root, "var/log/podcluster-bootstrap.log"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(log)).To(ContainSubstring("==> write_files[6]: /run/kubeadm/kubeadm.yaml\n"))
}

// TestDryRunStageOrder checks the order of the steps across modules: the
// stdout of a dry run holds a "==>" line per file and a line per command.
func TestDryRunStageOrder(t *testing.T) {
	g := NewWithT(t)
	cfg, err := os.ReadFile("testdata/system-modules.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	script, err := Convert(cfg)
	g.Expect(err).NotTo(HaveOccurred())
	root := t.TempDir()
	res := run(t, script, root, true)
	g.Expect(res.code).To(Equal(0), res.stdout)

	// Name each line by its step: the file's description, or the command's module.
	var steps []string
	for _, line := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
		if desc, ok := strings.CutPrefix(line, "==> "); ok {
			steps = append(steps, desc)
		}
	}
	names := make([]string, 0, len(res.commands))
	for _, c := range res.commands {
		switch {
		case c[0] == "/bin/sh" && len(c) >= 4:
			names = append(names, c[3])
		case c[0] == "/bin/sh":
			names = append(names, "sh: "+c[2])
		default:
			names = append(names, strings.Join(c[:2], " "))
		}
	}
	g.Expect(names).To(Equal([]string{
		`sh: echo "booting $(hostname)" > /run/boot-marker`, "mkdir -p",
		"disk_setup", "fs_setup", "fs_setup", "mounts",
		"useradd", "sudo", "ssh_authorized_keys", "useradd", "passwd -l",
		"ntp",
		"sh: kubeadm join phase preflight --ignore-preflight-errors=all", "kubeadm join",
	}))
	g.Expect(steps).To(Equal([]string{
		"write_files[0]: /etc/motd", "write_files[1]: /usr/local/bin/hello", "write_files[2]: /etc/sysctl.d/99-podcluster.conf",
		"ntp: /etc/systemd/timesyncd.conf.d/cloud-init.conf",
		"write_files[3]: /etc/kubernetes/after-users.conf",
		"bootstrap script finished",
	}))
	// Interleaving: commands and files in one sequence.
	var seq []string
	for _, line := range strings.Split(res.stdout, "\n") {
		switch {
		case strings.HasPrefix(line, "==> write_files"), strings.HasPrefix(line, "==> ntp"):
			seq = append(seq, "file")
		case strings.HasPrefix(line, "podcluster-boot-command: "):
			seq = append(seq, "cmd")
		}
	}
	g.Expect(strings.Join(seq, " ")).To(Equal("cmd cmd file file file cmd cmd cmd cmd cmd cmd cmd cmd cmd file cmd file cmd cmd"))

	g.Expect(res.commands[6]).To(Equal([]string{"/bin/sh", "-c", useraddScript.text, "useradd", "operator", "adm", "docker", "--",
		"--comment", "Node Operator", "--groups", "adm,docker", "--password", "$6$rounds=4096$saltsalt$hashedpassword", "--shell", "/bin/bash", "-m"}))
	g.Expect(res.commands[9][4:]).To(Equal([]string{"auditor", "--", "--home", "/srv/auditor", "--gid", "auditors", "-m"}))
	g.Expect(res.commands[5][4:]).To(Equal([]string{"LABEL=etcd_disk", "/var/lib/etcddisk", "auto", "defaults,nofail,_netdev,comment=cloudconfig", "0", "2",
		"/dev/vdb1", "none", "swap", "sw,comment=cloudconfig", "0", "0"}))
	g.Expect(res.commands[3][4:]).To(Equal([]string{"/dev/vdb", "auto", "ext4", "etcd_disk", "false", "", "-E", "lazy_itable_init=1"}))
	g.Expect(res.commands[4][4:]).To(Equal([]string{"/dev/vdb", "1", "swap", "swap", "true", ""}))
	g.Expect(res.commands[2][4:]).To(Equal([]string{"/dev/vdb", "gpt", "false", "partitions", "50:8200", "50:"}))

	ntp, err := os.ReadFile(filepath.Join(root, timesyncdConf))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(ntp)).To(HaveSuffix("[Time]\nNTP=time1.example.com time2.example.com\n"))
	hello, err := os.ReadFile(filepath.Join(root, "usr/local/bin/hello"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(hello)).To(Equal("#!/bin/sh\necho hello\n"))
	g.Expect(octalMode(mode(t, filepath.Join(root, "usr/local/bin/hello")))).To(Equal("0755"))
}

// TestDryRunWorkerJoin checks gzip+base64 content and a mixed runcmd.
func TestDryRunWorkerJoin(t *testing.T) {
	g := NewWithT(t)
	cfg, err := os.ReadFile("testdata/worker-join.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	script, err := Convert(cfg)
	g.Expect(err).NotTo(HaveOccurred())
	root := t.TempDir()
	res := run(t, script, root, true)
	g.Expect(res.code).To(Equal(0), res.stdout)
	hosts, err := os.ReadFile(filepath.Join(root, "etc/containerd/certs.d/registry.local/hosts.toml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(hosts)).To(Equal("server = \"https://registry.local\"\n"))
	g.Expect(res.commands).To(Equal([][]string{
		{"/bin/sh", "-c", "modprobe br_netfilter || true"},
		{"sysctl", "-w", "net.ipv4.ip_forward=1"},
		{"/bin/sh", "-c", "kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml --ignore-preflight-errors=SystemVerification,Swap,FileContent--proc-sys-net-bridge-bridge-nf-call-iptables" +
			"  && echo success > /run/cluster-api/bootstrap-success.complete"},
	}))
}

// TestFailure runs a failing command for real, after `set -e`: the script
// stops with its exit code, records the failure, and a second run does nothing.
func TestFailure(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	counter := filepath.Join(dir, "counter")
	termLog := filepath.Join(dir, "termination-log")
	g.Expect(os.WriteFile(termLog, nil, 0o644)).To(Succeed())
	script, err := Convert([]byte(`#cloud-config
runcmd:
  - [sh, -c, 'echo ran >> "$0"', ` + strconv.Quote(counter) + `]
  - set -e
  - [sh, -c, "echo boom; exit 3"]
  - [sh, -c, 'echo never >> "$0"', ` + strconv.Quote(counter) + `]
`))
	g.Expect(err).NotTo(HaveOccurred())
	root := t.TempDir()

	res := run(t, script, root, false, "PODCLUSTER_TERMINATION_LOG="+termLog)
	g.Expect(res.code).To(Equal(3))
	g.Expect(res.stdout).To(ContainSubstring("boom"))
	failure, err := os.ReadFile(filepath.Join(root, "run/cluster-api/bootstrap-failure"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(failure)).To(Equal("failed step: runcmd[2]: sh -c echo boom; exit 3\nexit code: 3\nboom\n"))
	termination, err := os.ReadFile(termLog)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(termination).To(Equal(failure))
	g.Expect(os.ReadFile(counter)).To(Equal([]byte("ran\n")))
	log, err := os.ReadFile(filepath.Join(root, "var/log/podcluster-bootstrap.log"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(log)).To(ContainSubstring("==> runcmd[2]: sh -c echo boom; exit 3\nboom\n"))

	// Never twice: the second run exits 0 at once and runs nothing.
	again := run(t, script, root, false, "PODCLUSTER_TERMINATION_LOG="+termLog)
	g.Expect(again.code).To(Equal(0))
	g.Expect(again.stdout).To(ContainSubstring("already ran"))
	g.Expect(os.ReadFile(counter)).To(Equal([]byte("ran\n")))
	g.Expect(os.ReadFile(filepath.Join(root, "var/log/podcluster-bootstrap.log"))).To(Equal(log))
}

// TestFailureOutputIsTruncated: the failure file keeps the last 50 lines, the
// termination log at most 4000 bytes.
func TestFailureOutputIsTruncated(t *testing.T) {
	g := NewWithT(t)
	script, err := Convert([]byte("#cloud-config\nbootcmd:\n  - 'for i in $(seq 1 500); do echo \"line $i $(printf %0100d 0)\"; done; exit 7'\n"))
	g.Expect(err).NotTo(HaveOccurred())
	root := t.TempDir()
	termLog := filepath.Join(t.TempDir(), "termination-log") // absent, but named explicitly
	res := run(t, script, root, false, "PODCLUSTER_TERMINATION_LOG="+termLog)
	g.Expect(res.code).To(Equal(7))
	failure, err := os.ReadFile(filepath.Join(root, "run/cluster-api/bootstrap-failure"))
	g.Expect(err).NotTo(HaveOccurred())
	lines := strings.Split(strings.TrimSuffix(string(failure), "\n"), "\n")
	g.Expect(lines).To(HaveLen(52))
	g.Expect(lines[0]).To(MatchRegexp(`^failed step: bootcmd\[0\]: for i in`))
	g.Expect(lines[1]).To(Equal("exit code: 7"))
	g.Expect(lines[2]).To(HavePrefix("line 451 "))
	g.Expect(lines[51]).To(HavePrefix("line 500 "))
	termination, err := os.ReadFile(termLog)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(termination).To(HaveLen(4000))
	g.Expect(failure).To(HavePrefix(string(termination)))
}

// TestRunWritesFilesForReal: outside dry-run mode the file writes chown too;
// owner "-1:-1" means no change, so this passes as any user.
func TestRunWritesFilesForReal(t *testing.T) {
	g := NewWithT(t)
	script, err := Convert([]byte(`#cloud-config
write_files:
  - path: /etc/a
    content: first
    owner: "-1:-1"
    permissions: "0600"
  - path: /etc/a
    content: " second"
    append: true
    owner: "none"
    permissions: "640"
runcmd:
  - [printf, '%s\n', done]
`))
	g.Expect(err).NotTo(HaveOccurred())
	root := t.TempDir()
	res := run(t, script, root, false)
	g.Expect(res.code).To(Equal(0), res.stdout)
	g.Expect(res.commands).To(BeEmpty())
	g.Expect(os.ReadFile(filepath.Join(root, "etc/a"))).To(Equal([]byte("first second")))
	g.Expect(octalMode(mode(t, filepath.Join(root, "etc/a")))).To(Equal("0640"))
	g.Expect(regexp.MustCompile(`(?m)^==> runcmd\[0\]: printf %s\\n done\ndone$`).MatchString(res.stdout)).To(BeTrue(), res.stdout)
	entries, err := os.ReadDir(filepath.Join(root, "etc"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(entries).To(HaveLen(1), "no temporary file is left behind")
}
