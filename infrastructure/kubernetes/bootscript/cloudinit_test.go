package bootscript

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

// cloudInitWriteFiles runs cloud-init's own write_files handler on the
// cloud-config in argv[1], with every path moved under the root in argv[2]:
// first the files without defer (the init stage), then the deferred ones (the
// final stage's write-files-deferred), with the distro's default owner.
const cloudInitWriteFiles = `
import os, pwd, grp, sys
from cloudinit import util
from cloudinit.config import cc_write_files

config, root = sys.argv[1], sys.argv[2]
cfg = util.load_yaml(util.load_file(config))
os.umask(0o022)  # systemd's default, which cloud-init runs with
files = cfg.get("write_files") or []
for f in files:
    # cloud-init makes a relative path absolute against its working directory, /.
    f["path"] = root + os.path.normpath(os.path.join("/", f["path"]))
owner = "root:root"
if os.geteuid() != 0:
    owner = pwd.getpwuid(os.geteuid()).pw_name + ":" + grp.getgrgid(os.getegid()).gr_name
for deferred in (False, True):
    batch = [f for f in files if util.get_cfg_option_bool(f, "defer", False) == deferred]
    cc_write_files.write_files("write_files", batch, owner)
`

// TestMatchesCloudInitWriteFiles compares our files with those of cloud-init's
// write_files module, when cloud-init's Python package is installed.
func TestMatchesCloudInitWriteFiles(t *testing.T) {
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
	g := NewWithT(t)
	config := `#cloud-config
write_files:
- path: /etc/plain.txt
  content: |
    quotes ' " backslash \ dollar $HOME backtick ` + "`id`" + `
    EOF
- path: /etc/no-newline
  content: "no trailing newline, CRLF\r\nNUL \0 tab\t h\u00e9llo \u2713"
  permissions: '0600'
- path: etc/relative/../relative.txt
  content: relative
  permissions: '755'
- path: "/etc/odd name/it's \"$(quoted)\""
  content: odd
- path: /etc/b64
  encoding: b64
  content: aGVsbG8gd29ybGQK
- path: /etc/base64-wrapped
  encoding: BASE64
  content: |
    AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss
    LS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZ
    Wltc
- path: /etc/gzip-binary
  encoding: gzip
  permissions: '0640'
  content: !!binary |
    H4sIAAAAAAACA8tIzcnJBwCGphA2BQAAAA==
- path: /etc/gz-b64
  encoding: gz+b64
  content: H4sIAAAAAAACAytOLSpLLVKwVVDKKCkpKLbS1y9KTc8sLimq1MvJT07MUeICAEJlFUgiAAAA
- path: /etc/gzip-base64
  encoding: gzip+base64
  content: H4sIAAAAAAACA8tIzcnJBwCGphA2BQAAAA==
- path: /etc/text-plain
  encoding: text/plain
  content: plain
- path: /etc/empty
- path: /etc/empty-gzip
  encoding: gzip+b64
  content: ""
- path: /etc/appended
  content: "one\n"
  permissions: '0600'
- path: /etc/appended
  content: "two\n"
  append: true
  permissions: '0640'
- path: /etc/appended
  content: "three, deferred\n"
  append: true
  defer: true
- path: /etc/deferred-replaced
  content: "deferred wins\n"
  defer: true
- path: /etc/deferred-replaced
  content: "written first\n"
- path: /etc/binary-bytes
  content: !!binary AP/+gAF/
  permissions: '0444'
`
	dir := t.TempDir()
	configFile := filepath.Join(dir, "cloud-config")
	g.Expect(os.WriteFile(configFile, []byte(config), 0o600)).To(Succeed())

	theirs := t.TempDir()
	out, err := exec.Command(python, "-c", cloudInitWriteFiles, configFile, theirs).CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))

	script, err := Convert([]byte(config))
	g.Expect(err).NotTo(HaveOccurred())
	ours := t.TempDir()
	res := run(t, script, ours, true)
	g.Expect(res.code).To(Equal(0), res.stdout+res.stderr)
	g.Expect(os.RemoveAll(filepath.Join(ours, "run/podcluster"))).To(Succeed())
	g.Expect(os.RemoveAll(filepath.Join(ours, "var"))).To(Succeed())
	g.Expect(os.Remove(filepath.Join(ours, "run"))).To(Succeed())

	want, got := tree(t, theirs), tree(t, ours)
	g.Expect(len(want)).To(BeNumerically(">", 15))
	g.Expect(got).To(Equal(want))
}

// tree describes every file and directory under root: its mode and content.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	entries := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		desc := octalMode(mode(t, p))
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
