package bootscript

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, config, err string
		unsupported       bool
	}{
		{name: "no header", config: "runcmd: [true]\n", err: `cloud-config must start with the line "#cloud-config"`},
		{name: "jinja template of a shell script", config: "## template: jinja\n#!/bin/sh\necho {{ v1.instance_id }}\n", err: `instance data has no instance id`},
		{name: "jinja shell script without variables", config: "## template: jinja\n#!/bin/sh\n", err: `must start with the line "#cloud-config"`},
		{name: "basic template", config: "## template: basic\n#cloud-config\n", err: `must start with the line "#cloud-config"`},
		{name: "archive header", config: "#cloud-config-archive\n", err: `must start with the line "#cloud-config"`},
		{name: "not a mapping", config: "#cloud-config\n- a\n", err: "cloud-config is not a YAML mapping"},
		{name: "two documents", config: "#cloud-config\nruncmd: [a]\n---\nruncmd: [b]\n", err: "single YAML document"},
		{name: "duplicate module", config: "#cloud-config\nruncmd: [a]\nruncmd: [b]\n", err: `cloud-config: duplicate key "runcmd"`},
		{name: "unknown module", config: "#cloud-config\nfoo: bar\n", err: `unsupported cloud-config module "foo"`, unsupported: true},
		{name: "module of another stage", config: "#cloud-config\npackages: [curl]\n", err: `unsupported cloud-config module "packages"`, unsupported: true},
		{name: "unknown write_files field", config: "#cloud-config\nwrite_files:\n- path: /a\n  mode: '0644'\n", err: `write_files[0]: unsupported field "mode"`, unsupported: true},
		{name: "unknown users field", config: "#cloud-config\nusers:\n- name: bob\n  uid: 1000\n", err: `users[0]: unsupported field "uid"`, unsupported: true},
		{name: "unknown ntp field", config: "#cloud-config\nntp:\n  pools: [a]\n", err: `ntp: unsupported field "pools"`, unsupported: true},
		{name: "fs_setup cmd", config: "#cloud-config\nfs_setup:\n- device: /dev/sdb\n  filesystem: ext4\n  cmd: mkfs -t %(filesystem)s\n", err: `fs_setup[0]: unsupported field "cmd"`, unsupported: true},
		{name: "unknown encoding", config: "#cloud-config\nwrite_files:\n- path: /etc/x\n  encoding: base32\n  content: abc\n", err: `write_files[0] "/etc/x": unsupported encoding "base32"`, unsupported: true},
		{name: "bad base64", config: "#cloud-config\nwrite_files:\n- path: /etc/x\n  encoding: b64\n  content: 'not base64!'\n", err: `write_files[0] "/etc/x": content is not valid base64: illegal base64 data`},
		{name: "base64 without padding", config: "#cloud-config\nwrite_files:\n- path: /etc/x\n  encoding: base64\n  content: aGVsbG8\n", err: `write_files[0] "/etc/x": content is not valid base64`},
		{name: "bad gzip", config: "#cloud-config\nwrite_files:\n- path: /etc/x\n  encoding: gz+b64\n  content: dGhpcyBpcyBub3QgZ3ppcCBkYXRhIGF0IGFsbA==\n", err: `write_files[0] "/etc/x": content is not valid gzip: gzip: invalid header`},
		{name: "truncated gzip", config: "#cloud-config\nwrite_files:\n- path: /etc/x\n  encoding: gzip+base64\n  content: H4sIAAAAAAAC/8tIzcnJBwCGphA2\n", err: `write_files[0] "/etc/x": content is not valid gzip: unexpected EOF`},
		{name: "permissions 0999", config: "#cloud-config\nwrite_files:\n- path: /etc/x\n  permissions: '0999'\n", err: `write_files[0] "/etc/x": permissions "0999" are not an octal mode`},
		{name: "permissions rwx", config: "#cloud-config\nwrite_files:\n- path: /etc/x\n  permissions: rwx\n", err: `write_files[0] "/etc/x": permissions "rwx" are not an octal mode`},
		{name: "permissions too big", config: "#cloud-config\nwrite_files:\n- path: /etc/x\n  permissions: '17777'\n", err: `permissions "17777" are not an octal mode`},
		{name: "permissions unquoted", config: "#cloud-config\nwrite_files:\n- path: /etc/x\n  permissions: 0644\n", err: `write_files[0] "/etc/x": permissions must be a quoted octal string such as '0644', not the number 420`},
		{name: "no path", config: "#cloud-config\nwrite_files:\n- content: x\n", err: `write_files[0] "": path is required`},
		{name: "root path", config: "#cloud-config\nwrite_files:\n- path: /..\n", err: `write_files[0] "/..": path names a directory`},
		{name: "NUL in path", config: "#cloud-config\nwrite_files:\n- path: \"/etc/a\\0b\"\n", err: `contains a NUL byte`},
		{name: "content not a string", config: "#cloud-config\nwrite_files:\n- path: /etc/x\n  content: 12\n", err: `write_files[0] "/etc/x": content must be a string, not the number 12`},
		{name: "append not a bool", config: "#cloud-config\nwrite_files:\n- path: /etc/x\n  append: 'yes please'\n", err: `write_files[0] "/etc/x": append must be true or false`},
		{name: "runcmd mapping", config: "#cloud-config\nruncmd:\n- {a: b}\n", err: `runcmd[0]: must be a string or a list of strings, not a mapping`},
		{name: "runcmd number arg", config: "#cloud-config\nruncmd:\n- [sleep, 5]\n", err: `runcmd[0][1]: must be a string, not the number 5 (quote it)`},
		{name: "empty argv", config: "#cloud-config\nbootcmd:\n- []\n", err: `bootcmd[0]: empty command`},
		{name: "runcmd not a list", config: "#cloud-config\nruncmd: echo hi\n", err: `runcmd: must be a list, not a string`},
		{name: "user string", config: "#cloud-config\nusers: [default, bob]\n", err: `users[1]: unsupported user entry "bob"`, unsupported: true},
		{name: "user without name", config: "#cloud-config\nusers:\n- gecos: Bob\n", err: `users[0]: name is required`},
		{name: "sudo true", config: "#cloud-config\nusers:\n- name: bob\n  sudo: true\n", err: `users[0] "bob": sudo must be a rule`},
		{name: "multi-line key", config: "#cloud-config\nusers:\n- name: bob\n  ssh_authorized_keys: [\"ssh-rsa AAA\\nssh-rsa BBB\"]\n", err: `single lines`},
		{name: "mount entry not a list", config: "#cloud-config\nmounts:\n- /dev/sdb /mnt\n", err: `mounts[0]: must be a list of 1 to 6 fstab fields`},
		{name: "mount metadata device", config: "#cloud-config\nmounts:\n- [ephemeral0, /mnt]\n", err: `mounts[0]: unsupported device name "ephemeral0"`, unsupported: true},
		{name: "mount field with space", config: "#cloud-config\nmounts:\n- [/dev/sdb, /my mnt]\n", err: `mounts[0]: field 1 "/my mnt" must be a non-empty word`},
		{name: "disk short name", config: "#cloud-config\ndisk_setup:\n  sdb: {layout: true}\n", err: `disk_setup "sdb": unsupported device "sdb"`, unsupported: true},
		{name: "disk table type", config: "#cloud-config\ndisk_setup:\n  /dev/sdb: {table_type: dos, layout: true}\n", err: `disk_setup "/dev/sdb": table_type "dos" is neither mbr nor gpt`},
		{name: "disk too many mbr partitions", config: "#cloud-config\ndisk_setup:\n  /dev/sdb: {layout: [20, 20, 20, 20, 20]}\n", err: `layout needs 1 to 4 partitions`},
		{name: "disk bad percentage", config: "#cloud-config\ndisk_setup:\n  /dev/sdb: {layout: [[120, 83]]}\n", err: `layout[0]: percentage 120 is not a whole number from 1 to 100`},
		{name: "disk unknown field", config: "#cloud-config\ndisk_setup:\n  /dev/sdb: {layout: true, size: 3}\n", err: `disk_setup "/dev/sdb": unsupported field "size"`, unsupported: true},
		{name: "fs bad partition", config: "#cloud-config\nfs_setup:\n- {device: /dev/sdb, filesystem: ext4, partition: first}\n", err: `fs_setup[0] "/dev/sdb": partition "first" must be a number, auto, any or none`},
		{name: "fs bad type", config: "#cloud-config\nfs_setup:\n- {device: /dev/sdb, filesystem: ../../tmp/x}\n", err: `filesystem "../../tmp/x" must be a file system type`},
		{name: "fs metadata device", config: "#cloud-config\nfs_setup:\n- {device: ephemeral0, filesystem: ext4}\n", err: `unsupported device "ephemeral0"`, unsupported: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := Convert([]byte(tc.config))
			g.Expect(err).To(MatchError(ContainSubstring(tc.err)))
			g.Expect(errors.Is(err, ErrUnsupported)).To(Equal(tc.unsupported))
		})
	}
}

func TestParseDefaultsAndForms(t *testing.T) {
	g := NewWithT(t)
	c, err := Parse([]byte(`#cloud-config
merge_type: 'list(append)+dict(recurse_array)+str()'
write_files:
- path: etc/relative/../file
- path: /etc/b64
  encoding: ' B64 '
  content: |
    aGVs
    bG8=
  owner: nobody
- path: /etc/binary
  encoding: gzip
  content: !!binary H4sIAAAAAAAC/8tIzcnJBwCGphA2BQAAAA==
- path: /etc/empty-gzip
  encoding: gz+b64
runcmd:
- 
- "echo one"
- [echo, two]
users: [default]
ntp:
mounts:
- [sdc, /data, ext4, defaults, 0]
- [/dev/sdd, /old]
- [/dev/sdd]
disk_setup:
  /dev/sdc: {layout: true}
  /dev/sdd: {layout: false}
  /dev/sde: {layout: Remove, table_type: gpt}
fs_setup:
- {device: /dev/sdc, filesystem: xfs, partition: 1, label: data}
- {device: /dev/sde, filesystem: ext4, partition: null}
`))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.WriteFiles).To(Equal([]File{
		{Path: "/etc/file", Content: []byte{}, Owner: "root:root", Permissions: 0o644},
		{Path: "/etc/b64", Content: []byte("hello"), Encoding: "b64", Owner: "nobody", Permissions: 0o644},
		{Path: "/etc/binary", Content: []byte("hello"), Encoding: "gzip", Owner: "root:root", Permissions: 0o644},
		{Path: "/etc/empty-gzip", Content: []byte{}, Encoding: "gz+b64", Owner: "root:root", Permissions: 0o644},
	}))
	g.Expect(c.RunCmd).To(Equal([]Command{{Shell: "echo one"}, {Argv: []string{"echo", "two"}}}))
	g.Expect(c.Users).To(BeEmpty())
	g.Expect(c.NTP).To(Equal(&NTP{Enabled: true}))
	g.Expect(c.Mounts).To(Equal([]Mount{{"/dev/sdc", "/data", "ext4", "defaults", "0", "2"}}))
	g.Expect(c.DiskSetup).To(Equal([]Disk{
		{Device: "/dev/sdc", TableType: "mbr", Layout: "whole", Partitions: []Partition{{Percent: 100}}},
		{Device: "/dev/sdd", TableType: "mbr"},
		{Device: "/dev/sde", TableType: "gpt", Layout: "remove"},
	}))
	g.Expect(c.FSSetup).To(Equal([]Filesystem{
		{Device: "/dev/sdc", Partition: "1", Filesystem: "xfs", Label: "data"},
		{Device: "/dev/sde", Partition: "none", Filesystem: "ext4"},
	}))
	script, err := Render(c)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(script)).NotTo(ContainSubstring("/dev/sdd"), "layout: false leaves the disk alone")
}

func TestChownSpec(t *testing.T) {
	g := NewWithT(t)
	for _, tc := range [][2]string{
		{"root:root", "root:root"}, {"bob", "bob"}, {"  bob : staff ", "bob:staff"}, {":staff", ":staff"},
		{"bob:", "bob"}, {"-1:-1", ""}, {"none:adm", ":adm"}, {"NONE", ""}, {"", ""},
	} {
		g.Expect(chownSpec(tc[0])).To(Equal(tc[1]), tc[0])
	}
}

func TestRenderChecksHandBuiltConfigs(t *testing.T) {
	for _, tc := range []struct {
		config CloudConfig
		err    string
	}{
		{CloudConfig{WriteFiles: []File{{Path: "relative", Permissions: 0o644}}}, `path "relative" is not an absolute, clean file path`},
		{CloudConfig{WriteFiles: []File{{Path: "/a/../b"}}}, `is not an absolute, clean file path`},
		{CloudConfig{WriteFiles: []File{{Path: "/a", Permissions: 0o10000}}}, `permissions 10000 are not a file mode`},
		{CloudConfig{RunCmd: []Command{{Argv: []string{"echo", "a\x00b"}}}}, `runcmd[0]: echo a`},
		{CloudConfig{RunCmd: []Command{{Argv: []string{"echo", "\xff"}}}}, `is not valid UTF-8`},
		{CloudConfig{BootCmd: []Command{{Argv: []string{""}}}}, `bootcmd[0]: : empty command`},
		{CloudConfig{RunCmd: []Command{{Argv: []string{}}}}, `runcmd[0]: : empty command`},
	} {
		_, err := Render(&tc.config)
		NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tc.err)))
	}
}

func TestOneLine(t *testing.T) {
	g := NewWithT(t)
	g.Expect(oneLine("a\nb\tc\x7f")).To(Equal("a b c "))
	g.Expect(oneLine(strings.Repeat("é", 300))).To(Equal(strings.Repeat("é", 200) + "..."))
}

// TestModuleScriptsAreValidSh: the module scripts only run on real nodes, so
// at least check that /bin/sh can parse them.
func TestModuleScriptsAreValidSh(t *testing.T) {
	for _, s := range []moduleScript{useraddScript, sudoScript, sshKeysScript, ntpScript, mountsScript, diskScript, fsScript} {
		out, err := exec.Command("/bin/sh", "-n", "-c", s.text).CombinedOutput()
		NewWithT(t).Expect(err).NotTo(HaveOccurred(), "%s: %s", s.name, out)
	}
}
