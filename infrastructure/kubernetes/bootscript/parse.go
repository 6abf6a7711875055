package bootscript

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	// The YAML 1.1 decoder (the dialect of cloud-init's PyYAML) that sigs.k8s.io/yaml
	// uses underneath. The JSON round trip of sigs.k8s.io/yaml's own API would turn
	// the bytes of a !!binary value into U+FFFD, and plain gzip file content can
	// only be written as !!binary; this package hands out the raw values.
	// Importing go.yaml.in/yaml/v2 itself would make it a direct dependency in go.mod.
	yaml "go.yaml.in/yaml/v2"
)

// ErrUnsupported is wrapped by the errors about cloud-config modules and fields
// this package does not implement.
var ErrUnsupported = errors.New("unsupported")

// CloudConfig is the parsed form of a cloud-config, limited to the modules this
// package supports. Parse fills in cloud-init's defaults, so every field is what
// the script will act on.
type CloudConfig struct {
	// WriteFiles are the files of write_files, in order, deferred ones included.
	WriteFiles []File
	// BootCmd are the commands of bootcmd.
	BootCmd []Command
	// RunCmd are the commands of runcmd.
	RunCmd []Command
	// Users are the users of users, without the "default" entry.
	Users []User
	// NTP is the ntp module, nil when absent.
	NTP *NTP
	// Mounts are the fstab entries of mounts, defaults filled in.
	Mounts []Mount
	// DiskSetup are the disks of disk_setup, in order.
	DiskSetup []Disk
	// FSSetup are the file systems of fs_setup.
	FSSetup []Filesystem
}

// File is one write_files entry.
type File struct {
	// Path is absolute and clean.
	Path string
	// Content is decoded: the exact bytes the file ends up with (or gets appended).
	Content []byte
	// Encoding is the encoding the content was given in, lower case; "" for plain.
	Encoding string
	// Owner is "user:group", "user" or ":group" as given; "root:root" by default.
	Owner string
	// Permissions are the mode bits, at most 07777; 0644 by default.
	Permissions uint32
	// Append adds Content to the end of the file instead of replacing it.
	Append bool
	// Defer writes the file in the final stage instead of the init stage.
	Defer bool
}

// Command is one bootcmd or runcmd entry: either Shell (a string entry, run with
// /bin/sh -c) or Argv (a list entry, executed without a shell).
type Command struct {
	Shell string
	Argv  []string
}

// Args returns the argv the script executes for c.
func (c Command) Args() []string {
	if c.Argv != nil {
		return c.Argv
	}
	return []string{"/bin/sh", "-c", c.Shell}
}

// User is one users entry. Empty strings mean "not set".
type User struct {
	Name         string
	Gecos        string
	Groups       []string
	HomeDir      string
	Shell        string
	Passwd       string
	PrimaryGroup string
	// Inactive is the --inactive value of useradd (days). cloud-init ignores a
	// boolean inactive, and so do we (it stays empty).
	Inactive string
	// LockPasswd locks the password; true by default, as in cloud-init.
	LockPasswd bool
	// Sudo are sudoers rules such as "ALL=(ALL) NOPASSWD:ALL".
	Sudo              []string
	SSHAuthorizedKeys []string
}

// NTP is the ntp module.
type NTP struct {
	// Enabled is true by default when the module is present.
	Enabled bool
	Servers []string
}

// Mount is one fstab entry of the mounts module.
type Mount struct {
	Device, MountPoint, FSType, Options, Freq, PassNo string
}

// Disk is one disk_setup entry.
type Disk struct {
	// Device is an absolute device path.
	Device string
	// TableType is "mbr" (the default) or "gpt".
	TableType string
	// Layout is "" (layout: false, the disk is left alone), "whole" (layout:
	// true, one partition), "remove" (wipe it), or "partitions".
	Layout string
	// Partitions are set for the "whole" and "partitions" layouts.
	Partitions []Partition
	Overwrite  bool
}

// Partition is one partition of a disk layout.
type Partition struct {
	// Percent is the share of the disk, 1 to 100; the last partition takes the rest.
	Percent int
	// Type is the partition type code; "" for Linux.
	Type string
}

// Filesystem is one fs_setup entry.
type Filesystem struct {
	// Device is an absolute device path.
	Device string
	// Partition is a number, "auto", "any" (the default), "none" or "".
	Partition  string
	Filesystem string
	Label      string
	Overwrite  bool
	ReplaceFS  string
	ExtraOpts  []string
}

// metadataKeys are accepted top-level keys that do nothing here: they only
// steer how cloud-init merges several cloud-config parts, and a single
// document has nothing to merge with.
var metadataKeys = []string{"merge_how", "merge_type"}

// Parse parses a cloud-config and checks everything the script will rely on,
// so that Render only fails on a CloudConfig built by hand.
func Parse(cloudConfig []byte) (*CloudConfig, error) {
	if IsTemplate(cloudConfig) {
		return nil, errors.New(`cloud-config is a Jinja template ("## template: jinja"): render it with the node's instance data first (RenderTemplate)`)
	}
	first, _, _ := bytes.Cut(cloudConfig, []byte("\n"))
	if strings.TrimRight(string(first), " \t\r") != "#cloud-config" {
		return nil, errors.New(`cloud-config must start with the line "#cloud-config"`)
	}
	dec := yaml.NewDecoder(bytes.NewReader(cloudConfig))
	var top yaml.MapSlice
	if err := dec.Decode(&top); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("cloud-config is not a YAML mapping: %w", err)
	}
	var more any
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, errors.New("cloud-config must be a single YAML document")
	}
	modules, err := mapping(top, "cloud-config")
	if err != nil {
		return nil, err
	}
	c := &CloudConfig{}
	for _, m := range modules {
		switch m.key {
		case "write_files":
			c.WriteFiles, err = parseWriteFiles(m.val)
		case "bootcmd":
			c.BootCmd, err = parseCommands("bootcmd", m.val)
		case "runcmd":
			c.RunCmd, err = parseCommands("runcmd", m.val)
		case "users":
			c.Users, err = parseUsers(m.val)
		case "ntp":
			c.NTP, err = parseNTP(m.val)
		case "mounts":
			c.Mounts, err = parseMounts(m.val)
		case "disk_setup":
			c.DiskSetup, err = parseDiskSetup(m.val)
		case "fs_setup":
			c.FSSetup, err = parseFSSetup(m.val)
		default:
			if !slices.Contains(metadataKeys, m.key) {
				err = fmt.Errorf("%w cloud-config module %q", ErrUnsupported, m.key)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

func parseWriteFiles(v any) ([]File, error) {
	items, err := list(v, "write_files")
	if err != nil {
		return nil, err
	}
	files := make([]File, 0, len(items))
	for i, item := range items {
		where := fmt.Sprintf("write_files[%d]", i)
		m, err := fields(item, where, "path", "content", "encoding", "owner", "permissions", "append", "defer")
		if err != nil {
			return nil, err
		}
		raw, err := str(m, "path", where)
		if err != nil {
			return nil, err
		}
		where = fmt.Sprintf("write_files[%d] %q", i, raw)
		f := File{Path: raw, Owner: "root:root", Permissions: 0o644}
		if raw == "" {
			return nil, fmt.Errorf("%s: path is required", where)
		}
		// cloud-init resolves a relative path against its working directory, /.
		if f.Path = path.Clean("/" + raw); f.Path == "/" {
			return nil, fmt.Errorf("%s: path names a directory", where)
		}
		if err := checkArg(f.Path); err != nil {
			return nil, fmt.Errorf("%s: path %w", where, err)
		}
		if _, ok := m["owner"]; ok {
			if f.Owner, err = str(m, "owner", where); err != nil {
				return nil, err
			}
		}
		if p, ok := m["permissions"]; ok && p != nil {
			s, ok := p.(string)
			if !ok {
				// An unquoted 0644 is the number 420 in YAML 1.1 and 644 is 0o1204
				// to cloud-init; insist on the unambiguous spelling.
				return nil, fmt.Errorf("%s: permissions must be a quoted octal string such as '0644', not %s", where, kind(p))
			}
			if f.Permissions, err = parseMode(s); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
		}
		enc, err := str(m, "encoding", where)
		if err != nil {
			return nil, err
		}
		f.Encoding = strings.ToLower(strings.TrimSpace(enc))
		content, err := str(m, "content", where)
		if err != nil {
			return nil, err
		}
		if f.Content, err = decode(f.Encoding, []byte(content)); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if f.Append, err = boolean(m, "append", where, false); err != nil {
			return nil, err
		}
		if f.Defer, err = boolean(m, "defer", where, false); err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

var octal = regexp.MustCompile(`^[0-7]{1,5}$`)

func parseMode(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 8, 32)
	if !octal.MatchString(s) || err != nil || n > 0o7777 {
		return 0, fmt.Errorf("permissions %q are not an octal mode such as \"0644\"", s)
	}
	return uint32(n), nil
}

// decode undoes a write_files encoding, with cloud-init's names for them.
func decode(encoding string, content []byte) ([]byte, error) {
	var b64, gz bool
	switch encoding {
	case "", "text/plain":
	case "b64", "base64":
		b64 = true
	case "gz", "gzip":
		gz = true
	case "gz+b64", "gz+base64", "gzip+b64", "gzip+base64":
		b64, gz = true, true
	default:
		return nil, fmt.Errorf("%w encoding %q (use b64, gzip or gzip+b64)", ErrUnsupported, encoding)
	}
	if b64 {
		// YAML block scalars wrap long base64; whitespace is not part of it.
		clean := bytes.Map(func(r rune) rune {
			if strings.ContainsRune(" \t\r\n\v\f", r) {
				return -1
			}
			return r
		}, content)
		out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
		n, err := base64.StdEncoding.Decode(out, clean)
		if err != nil {
			return nil, fmt.Errorf("content is not valid base64: %w", err)
		}
		content = out[:n]
	}
	if gz && len(content) > 0 { // cloud-init writes an empty file for empty content
		r, err := gzip.NewReader(bytes.NewReader(content))
		if err != nil {
			return nil, fmt.Errorf("content is not valid gzip: %w", err)
		}
		if content, err = io.ReadAll(r); err != nil {
			return nil, fmt.Errorf("content is not valid gzip: %w", err)
		}
	}
	return content, nil
}

func parseCommands(module string, v any) ([]Command, error) {
	items, err := list(v, module)
	if err != nil {
		return nil, err
	}
	var cmds []Command
	for i, item := range items {
		where := fmt.Sprintf("%s[%d]", module, i)
		switch x := item.(type) {
		case nil: // an empty item; cloud-init skips it too
		case string:
			if err := checkArg(x); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			cmds = append(cmds, Command{Shell: x})
		case []any:
			argv, err := strList(x, where)
			if err != nil {
				return nil, err
			}
			if len(argv) == 0 {
				return nil, fmt.Errorf("%s: empty command", where)
			}
			cmds = append(cmds, Command{Argv: argv})
		default:
			return nil, fmt.Errorf("%s: must be a string or a list of strings, not %s", where, kind(item))
		}
	}
	return cmds, nil
}

// checkDevice accepts absolute device paths only: cloud-init resolves other
// names through a cloud's metadata, which a node does not have.
func checkDevice(dev string) error {
	if !strings.HasPrefix(dev, "/") || path.Clean(dev) == "/" {
		return fmt.Errorf("%w device %q (give an absolute device path such as /dev/sdb)", ErrUnsupported, dev)
	}
	return checkArg(dev)
}

// checkArg rejects what cannot be an argument of a command: NUL, and invalid
// UTF-8, which the dry-run JSON could not reproduce.
func checkArg(s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%q contains a NUL byte", s)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%q is not valid UTF-8", s)
	}
	return nil
}

func checkArgs(args []string) error {
	for _, a := range args {
		if err := checkArg(a); err != nil {
			return err
		}
	}
	return nil
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// YAML access helpers. Each names where in the cloud-config a bad value is.

type keyValue struct {
	key string
	val any
}

func mapping(v any, where string) ([]keyValue, error) {
	if v == nil {
		return nil, nil
	}
	ms, ok := v.(yaml.MapSlice)
	if !ok {
		return nil, fmt.Errorf("%s: must be a mapping, not %s", where, kind(v))
	}
	kvs := make([]keyValue, 0, len(ms))
	for _, item := range ms {
		k, ok := item.Key.(string)
		if !ok {
			return nil, fmt.Errorf("%s: key %v is not a string", where, item.Key)
		}
		if slices.ContainsFunc(kvs, func(kv keyValue) bool { return kv.key == k }) {
			return nil, fmt.Errorf("%s: duplicate key %q", where, k)
		}
		kvs = append(kvs, keyValue{k, item.Value})
	}
	return kvs, nil
}

// fields reads a mapping whose keys must be among allowed.
func fields(v any, where string, allowed ...string) (map[string]any, error) {
	kvs, err := mapping(v, where)
	if err != nil {
		return nil, err
	}
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		if !slices.Contains(allowed, kv.key) {
			return nil, fmt.Errorf("%s: %w field %q", where, ErrUnsupported, kv.key)
		}
		m[kv.key] = kv.val
	}
	return m, nil
}

func list(v any, where string) ([]any, error) {
	l, ok := v.([]any)
	if !ok && v != nil {
		return nil, fmt.Errorf("%s: must be a list, not %s", where, kind(v))
	}
	return l, nil
}

// str reads an optional string field; absent or null is "".
func str(m map[string]any, key, where string) (string, error) {
	switch x := m[key].(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	default:
		return "", fmt.Errorf("%s: %s must be a string, not %s", where, key, kind(x))
	}
}

func boolean(m map[string]any, key, where string, def bool) (bool, error) {
	switch x := m[key].(type) {
	case nil:
		return def, nil
	case bool:
		return x, nil
	default:
		return false, fmt.Errorf("%s: %s must be true or false, not %s", where, key, kind(x))
	}
}

func strList(v any, where string) ([]string, error) {
	items, err := list(v, where)
	if err != nil || len(items) == 0 {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		s, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("%s[%d]: must be a string, not %s (quote it)", where, i, kind(item))
		}
		if err := checkArg(s); err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", where, i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func kind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case yaml.MapSlice:
		return "a mapping"
	default:
		return fmt.Sprintf("the number %v", x)
	}
}
