package integration

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/podcluster/podcluster/infrastructure/kubernetes/bootscript"
)

// cloudInitWriteFiles runs cloud-init's own write_files handler on the
// cloud-config in argv[1], with every path moved under the root in argv[2]:
// first the files without defer (the init stage), then the deferred ones (the
// final stage's write-files-deferred). Run as another user than root, every
// file's owner becomes that user: cloud-init would fail to chown to root, and
// the boot script's dry run does not chown at all, so owners are not compared.
const cloudInitWriteFiles = `
import os, pwd, grp, sys
from cloudinit import util
from cloudinit.config import cc_write_files

config, root = sys.argv[1], sys.argv[2]
cfg = util.load_yaml(util.load_file(config))
os.umask(0o022)  # systemd's default, which cloud-init runs with
files = cfg.get("write_files") or []
owner = "root:root"
if os.geteuid() != 0:
    owner = pwd.getpwuid(os.geteuid()).pw_name + ":" + grp.getgrgid(os.getegid()).gr_name
for f in files:
    # cloud-init makes a relative path absolute against its working directory, /.
    f["path"] = root + os.path.normpath(os.path.join("/", f["path"]))
    if os.geteuid() != 0:
        f["owner"] = owner
for deferred in (False, True):
    batch = [f for f in files if util.get_cfg_option_bool(f, "defer", False) == deferred]
    cc_write_files.write_files("write_files", batch, owner)
`

// notWriteFiles are what the boot script writes besides write_files: its own
// started marker and log, and the ntp module's configuration (cloud-init's
// cc_ntp writes that, not write_files).
var notWriteFiles = []string{
	"/run/podcluster/bootstrap.started", "/run/podcluster", "/var/log/podcluster-bootstrap.log",
	"/etc/systemd/timesyncd.conf.d/cloud-init.conf",
}

// TestBootScriptWritesWhatCloudInitWrites is a differential test: for every
// cloud-config the bootstrap provider's golden files hold, the files our boot
// script writes (dry run under a temporary root) are those real cloud-init's
// write_files writes, with the same content and modes, directories included.
func TestBootScriptWritesWhatCloudInitWrites(t *testing.T) {
	python := ""
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(p, "-c", "import cloudinit.config.cc_write_files").Run() == nil {
			python = p
			break
		}
	}
	if python == "" {
		t.Skip("cloud-init's Python package is not installed")
	}
	configs, err := filepath.Glob(filepath.Join(goldenDir, "*.yaml"))
	if err != nil || len(configs) < 4 {
		t.Fatalf("expected the bootstrap provider's golden cloud-configs in %s, found %d (%v)", goldenDir, len(configs), err)
	}
	for _, config := range configs {
		t.Run(filepath.Base(config), func(t *testing.T) {
			g := NewWithT(t)
			theirs := t.TempDir()
			out, err := exec.Command(python, "-c", cloudInitWriteFiles, config, theirs).CombinedOutput()
			g.Expect(err).NotTo(HaveOccurred(), string(out))

			data, err := os.ReadFile(config)
			g.Expect(err).NotTo(HaveOccurred())
			script, err := bootscript.Convert(data)
			g.Expect(err).NotTo(HaveOccurred())
			ours := t.TempDir()
			runDry(t, g, script, ours)

			want, got := tree(t, theirs), tree(t, ours)
			for _, p := range notWriteFiles {
				delete(got, p)
			}
			// Directories only those needed, deepest first.
			for _, dir := range []string{"/var/log", "/var", "/run", "/etc/systemd/timesyncd.conf.d", "/etc/systemd", "/etc"} {
				if _, ok := want[dir]; !ok && !hasChild(got, dir) {
					delete(got, dir)
				}
			}
			g.Expect(want).NotTo(BeEmpty())
			g.Expect(got).To(Equal(want))
		})
	}
}

// runDry runs a boot script in dry-run mode under root: files are written,
// commands only printed.
func runDry(t *testing.T, g Gomega, script []byte, root string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "bootstrap.sh")
	g.Expect(os.WriteFile(file, script, 0o700)).To(Succeed())
	cmd := exec.Command("/bin/bash", file)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PODCLUSTER_BOOT_ROOT=" + root, "PODCLUSTER_BOOT_DRY_RUN=1",
		"PODCLUSTER_TERMINATION_LOG=" + filepath.Join(dir, "termination-log")}
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		t.Fatalf("boot script exited with %d:\n%s", exitErr.ExitCode(), out)
	}
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(out)).To(ContainSubstring("podcluster-boot-command: "), "the dry run prints its commands")
}

// tree describes every file and directory under root: its mode and content.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	entries := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := fmt.Sprintf("%04o", fi.Sys().(*syscall.Stat_t).Mode&0o7777)
		if !d.IsDir() {
			content, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc = fmt.Sprintf("%s %q", desc, content)
		}
		entries[strings.TrimPrefix(p, root)] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func hasChild(entries map[string]string, dir string) bool {
	for p := range entries {
		if strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}
