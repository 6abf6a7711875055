package nodepod

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// unitFile is a systemd unit or configuration file: section -> key -> values.
type unitFile map[string]map[string][]string

// parseUnit reads the subset of systemd's syntax the boot files use: comments,
// [Section] headers and Key=Value lines. Anything else is an error.
func parseUnit(text string) (unitFile, error) {
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			if _, dup := u[section]; dup {
				return nil, fmt.Errorf("line %d: section [%s] twice", n, section)
			}
			u[section] = map[string][]string{}
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok || section == "" || !regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`).MatchString(key) {
				return nil, fmt.Errorf("line %d: not a Key=Value line in a section: %q", n, line)
			}
			u[section][key] = append(u[section][key], value)
		}
	}
	return u, sc.Err()
}

func TestBootFilesAreCopies(t *testing.T) {
	g := NewWithT(t)
	files := BootFiles()
	g.Expect(files).To(HaveKey(EntrypointKey))
	g.Expect(files).NotTo(HaveKey(BootstrapScriptKey), "bootstrap.sh is made elsewhere")
	files[EntrypointKey] = "changed"
	g.Expect(BootFiles()[EntrypointKey]).NotTo(Equal("changed"))
	for key := range files {
		g.Expect(key).To(MatchRegexp(`^[-._a-zA-Z0-9]+$`), "a Secret key")
	}
}

func TestScriptsParse(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	for key, text := range BootFiles() {
		if !strings.HasSuffix(key, ".sh") {
			continue
		}
		t.Run(key, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(text).To(HavePrefix("#!/bin/bash\n"))
			file := filepath.Join(t.TempDir(), key)
			g.Expect(os.WriteFile(file, []byte(text), 0o600)).To(Succeed())
			out, err := exec.Command(bash, "-n", file).CombinedOutput()
			g.Expect(err).NotTo(HaveOccurred(), "bash -n %s: %s", key, out)
		})
	}
}

func TestUnits(t *testing.T) {
	g := NewWithT(t)
	files := BootFiles()
	units := map[string]unitFile{}
	for _, key := range []string{BootstrapPathUnitKey, BootstrapServiceUnitKey, SystemConfKey} {
		u, err := parseUnit(files[key])
		g.Expect(err).NotTo(HaveOccurred(), key)
		units[key] = u
	}

	path := units[BootstrapPathUnitKey]
	g.Expect(path).To(HaveKey("Path"))
	g.Expect(path["Path"]["PathExists"]).To(Equal([]string{"/run/containerd/containerd.sock"}))
	g.Expect(path["Path"]["Unit"]).To(Equal([]string{BootstrapServiceUnitKey}))
	g.Expect(path["Install"]["WantedBy"]).To(Equal([]string{"multi-user.target"}))

	svc := units[BootstrapServiceUnitKey]
	g.Expect(svc["Service"]["Type"]).To(Equal([]string{"oneshot"}))
	g.Expect(svc["Service"]["RemainAfterExit"]).To(Equal([]string{"yes"}))
	g.Expect(svc["Service"]["ExecStart"]).To(Equal([]string{"/bin/bash " + BootMountPath + "/" + BootstrapScriptKey}))
	g.Expect(svc["Service"]["ExecStopPost"]).To(Equal([]string{"/bin/bash " + BootMountPath + "/" + BootstrapStoppedKey}))
	g.Expect(svc["Service"]["StandardOutput"]).To(Equal([]string{"journal+console"}))
	// The failure exit path: systemd, PID 1, exits with BootstrapFailedExitCode.
	g.Expect(svc["Unit"]["FailureAction"]).To(Equal([]string{"exit"}))
	g.Expect(svc["Unit"]["FailureActionExitStatus"]).To(Equal([]string{strconv.Itoa(BootstrapFailedExitCode)}))
	// A hung bootstrap fails, with a message, before the startupProbe gives up.
	g.Expect(svc["Service"]["TimeoutStartSec"]).To(HaveLen(1))
	timeout, err := time.ParseDuration(strings.TrimSuffix(svc["Service"]["TimeoutStartSec"][0], "in"))
	g.Expect(err).NotTo(HaveOccurred())
	budget := time.Duration(StartupProbePeriodSeconds*StartupProbeFailureThreshold) * time.Second
	g.Expect(budget).To(Equal(30 * time.Minute))
	g.Expect(timeout).To(BeNumerically("<", budget-2*time.Minute))

	sys := units[SystemConfKey]
	g.Expect(sys["Manager"]["DefaultTimeoutStopSec"]).To(Equal([]string{"10s"}))
	g.Expect(10 * time.Second).To(BeNumerically("<", time.Duration(TerminationGracePeriodSeconds)*time.Second))
}

// TestUnitsVerify runs systemd's own checker over the units where it exists.
func TestUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	g := NewWithT(t)
	dir := t.TempDir()
	files := BootFiles()
	var args []string
	for _, key := range []string{BootstrapPathUnitKey, BootstrapServiceUnitKey} {
		file := filepath.Join(dir, key)
		g.Expect(os.WriteFile(file, []byte(files[key]), 0o644)).To(Succeed())
		args = append(args, file)
	}
	out, err := exec.Command(analyze, append([]string{"verify"}, args...)...).CombinedOutput()
	// Other units of the host may draw complaints; ours must draw none.
	g.Expect(string(out)).NotTo(ContainSubstring("podcluster-"), "systemd-analyze verify: %s", out)
	g.Expect(err).NotTo(HaveOccurred(), "systemd-analyze verify: %s", out)
}

func TestEntrypoint(t *testing.T) {
	g := NewWithT(t)
	script := BootFiles()[EntrypointKey]
	g.Expect(script).To(ContainSubstring("readonly boot_dir=" + BootMountPath + "\n"))

	// A private cgroup namespace, entered once, without a fork.
	g.Expect(script).To(ContainSubstring(`exec unshare --cgroup -- /bin/bash "${BASH_SOURCE[0]}" "$@"`))
	g.Expect(script).To(ContainSubstring(`if [[ "${PODCLUSTER_CGROUPNS:-}" != private ]]; then`))
	g.Expect(script).NotTo(ContainSubstring("--fork"))

	// The units, the stop timeout, enabling and masking.
	for key := range BootFiles() {
		if strings.HasSuffix(key, ".path") || strings.HasSuffix(key, ".service") {
			g.Expect(key).To(HavePrefix("podcluster-"), "entrypoint.sh installs podcluster-*.path and podcluster-*.service")
		}
	}
	g.Expect(script).To(ContainSubstring(`"$boot_dir/` + SystemConfKey + `" /etc/systemd/system.conf.d/`))
	g.Expect(script).To(ContainSubstring("multi-user.target.wants/" + BootstrapPathUnitKey))
	for _, unit := range []string{"systemd-sysctl.service", "getty.target", "console-getty.service", "getty@.service"} {
		g.Expect(script).To(MatchRegexp(`for unit in [^;]*\b`+regexp.QuoteMeta(unit)), "masks %s", unit)
	}

	// /proc/sys read-only except /proc/sys/net, in that order.
	steps := []string{
		"mount --bind /proc/sys /proc/sys",
		"mount --bind /proc/sys/net /proc/sys/net",
		"mount -o remount,bind,rw,nosuid,nodev,noexec /proc/sys/net",
		`mount --bind "$state_dir/sysctl/$key" "/proc/sys/$key"`,
		"mount -o remount,bind,ro,nosuid,nodev,noexec /proc/sys",
		"exec /usr/local/bin/entrypoint /sbin/init",
		"exec /sbin/init",
	}
	last := -1
	for _, step := range steps {
		i := strings.Index(script, step)
		g.Expect(i).To(BeNumerically(">", last), "%q comes after the step before it", step)
		last = i
	}
	for _, setting := range []string{"vm/overcommit_memory=1", "vm/panic_on_oom=0", "kernel/panic=10", "kernel/panic_on_oops=1",
		"kernel/keys/root_maxkeys=1000000", "kernel/keys/root_maxbytes=25000000"} {
		g.Expect(script).To(ContainSubstring(setting), "presents the kubelet's %s", setting)
	}
}

func TestBootstrapStoppedReportsTheSameFiles(t *testing.T) {
	g := NewWithT(t)
	script := BootFiles()[BootstrapStoppedKey]
	g.Expect(script).To(ContainSubstring("readonly failure_file=" + BootstrapFailureFile + "\n"))
	g.Expect(script).To(ContainSubstring("${PODCLUSTER_TERMINATION_LOG:-" + TerminationMessagePath + "}"))
}

// TestBootstrapStopped runs the script with fake paths: it reports a failure that
// bootstrap.sh did not report, and nothing else.
func TestBootstrapStopped(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	cases := []struct {
		name          string
		result        string
		failureBefore string
		wantFailure   string
	}{
		{name: "success", result: "success"},
		{name: "reported failure is kept", result: "exit-code", failureBefore: "kubeadm join failed\n", wantFailure: "kubeadm join failed\n"},
		{
			name: "timeout is reported", result: "timeout",
			wantFailure: "podcluster-bootstrap.service failed (result timeout, killed TERM) before bootstrap.sh reported a failed step\n" +
				"the journal tail\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			dir := t.TempDir()
			failure := filepath.Join(dir, "cluster-api", "bootstrap-failure")
			termination := filepath.Join(dir, "termination-log")
			script := strings.Replace(BootFiles()[BootstrapStoppedKey], "failure_file="+BootstrapFailureFile, "failure_file="+failure, 1)
			// A fake journalctl stands in for the unit's journal.
			bin := filepath.Join(dir, "bin")
			write := func(p, content string, mode os.FileMode) {
				g.Expect(os.MkdirAll(filepath.Dir(p), 0o755)).To(Succeed())
				g.Expect(os.WriteFile(p, []byte(content), mode)).To(Succeed())
			}
			write(filepath.Join(bin, "journalctl"), "#!/bin/sh\necho 'the journal tail'\n", 0o755)
			cmd := exec.Command(bash, "-c", script)
			cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "SERVICE_RESULT=" + tc.result,
				"EXIT_CODE=killed", "EXIT_STATUS=TERM", "PODCLUSTER_TERMINATION_LOG=" + termination}
			if tc.failureBefore != "" {
				write(failure, tc.failureBefore, 0o644)
			}
			out, err := cmd.CombinedOutput()
			g.Expect(err).NotTo(HaveOccurred(), string(out))

			got, _ := os.ReadFile(failure)
			g.Expect(string(got)).To(HavePrefix(tc.wantFailure))
			if tc.wantFailure == "" {
				g.Expect(got).To(BeEmpty())
			}
			msg, _ := os.ReadFile(termination)
			if tc.failureBefore == "" {
				g.Expect(string(msg)).To(Equal(string(got)), "the termination message repeats the failure file")
			}
		})
	}
}

// TestSeedVolumes runs the seed script over a fake image and fake volumes.
func TestSeedVolumes(t *testing.T) {
	for _, tool := range []string{"bash", "tar", "chown", "chmod"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	g := NewWithT(t)
	dir := t.TempDir()
	script := filepath.Join(dir, SeedVolumesKey)
	g.Expect(os.WriteFile(script, []byte(BootFiles()[SeedVolumesKey]), 0o600)).To(Succeed())

	write := func(p, content string) {
		g.Expect(os.MkdirAll(filepath.Dir(p), 0o755)).To(Succeed())
		g.Expect(os.WriteFile(p, []byte(content), 0o644)).To(Succeed())
	}
	img, vol := filepath.Join(dir, "image"), filepath.Join(dir, "volumes")
	write(filepath.Join(img, "var/lib/dpkg/status"), "dpkg")
	write(filepath.Join(img, "var/.hidden"), "dot")
	write(filepath.Join(img, "var/lib/containerd/io.containerd.content.v1.content/blob"), "layer")
	g.Expect(os.MkdirAll(filepath.Join(img, "var/lib/etcd"), 0o700)).To(Succeed())
	g.Expect(os.Symlink("../run", filepath.Join(img, "var/run"))).To(Succeed())
	g.Expect(os.Chmod(filepath.Join(img, "var"), 0o755)).To(Succeed())
	for _, v := range []string{"var", "var-lib-containerd", "var-lib-etcd"} {
		g.Expect(os.MkdirAll(filepath.Join(vol, v), 0o777)).To(Succeed())
		g.Expect(os.Chmod(filepath.Join(vol, v), 0o777)).To(Succeed())
	}
	// A claim that was formatted (lost+found) counts as empty.
	g.Expect(os.Mkdir(filepath.Join(vol, "var-lib-containerd", "lost+found"), 0o700)).To(Succeed())

	args := []string{
		img + "/var:" + vol + "/var",
		img + "/var/lib/containerd:" + vol + "/var-lib-containerd",
		img + "/var/lib/etcd:" + vol + "/var-lib-etcd",
	}
	run := func() string {
		out, err := exec.Command("bash", append([]string{script}, args...)...).CombinedOutput()
		g.Expect(err).NotTo(HaveOccurred(), string(out))
		return string(out)
	}
	run()

	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(vol, p))
		g.Expect(err).NotTo(HaveOccurred())
		return string(b)
	}
	g.Expect(read("var/lib/dpkg/status")).To(Equal("dpkg"))
	g.Expect(read("var/.hidden")).To(Equal("dot"))
	g.Expect(os.Readlink(filepath.Join(vol, "var/run"))).To(Equal("../run"))
	g.Expect(read("var-lib-containerd/io.containerd.content.v1.content/blob")).To(Equal("layer"))
	g.Expect(filepath.Join(vol, "var/lib/containerd")).To(BeADirectory(), "the mount point stays")
	entries, err := os.ReadDir(filepath.Join(vol, "var/lib/containerd"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(entries).To(BeEmpty(), "what has a volume of its own is not copied into /var")
	info, err := os.Stat(filepath.Join(vol, "var"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o755)), "the volume takes the image directory's mode")
	info, err = os.Stat(filepath.Join(vol, "var-lib-etcd"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o700)))
	for _, v := range []string{"var", "var-lib-containerd"} {
		g.Expect(filepath.Join(vol, v, ".podcluster-seed")).NotTo(BeAnExistingFile())
		g.Expect(filepath.Join(vol, v, ".podcluster-seed.done")).NotTo(BeAnExistingFile())
	}

	// A second Pod with the same claim: the claim keeps its data.
	write(filepath.Join(vol, "var-lib-containerd/io.containerd.content.v1.content/blob"), "pulled later")
	g.Expect(run()).To(ContainSubstring("already holds data; keeping it"))
	g.Expect(read("var-lib-containerd/io.containerd.content.v1.content/blob")).To(Equal("pulled later"))

	// An interrupted copy is redone; a staged copy is finished.
	g.Expect(os.RemoveAll(filepath.Join(vol, "var"))).To(Succeed())
	write(filepath.Join(vol, "var/.podcluster-seed/partial"), "half")
	g.Expect(os.RemoveAll(filepath.Join(vol, "var-lib-containerd"))).To(Succeed())
	write(filepath.Join(vol, "var-lib-containerd/.podcluster-seed.done/meta.db"), "staged")
	out := run()
	g.Expect(out).To(ContainSubstring("finishing an interrupted seed"))
	g.Expect(read("var/lib/dpkg/status")).To(Equal("dpkg"))
	g.Expect(filepath.Join(vol, "var/partial")).NotTo(BeAnExistingFile())
	g.Expect(filepath.Join(vol, "var/.podcluster-seed")).NotTo(BeAnExistingFile())
	g.Expect(read("var-lib-containerd/meta.db")).To(Equal("staged"))
}
