package bootscript

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The modules that set up the system: users, ntp, mounts, disk_setup, fs_setup.

func parseUsers(v any) ([]User, error) {
	items, err := list(v, "users")
	if err != nil {
		return nil, err
	}
	var users []User
	for i, item := range items {
		where := fmt.Sprintf("users[%d]", i)
		if s, ok := item.(string); ok {
			// "default" is the image's distro default user, which a node has no use for.
			if s == "default" {
				continue
			}
			return nil, fmt.Errorf("%s: %w user entry %q (only \"default\" may be a string; give other users as mappings)", where, ErrUnsupported, s)
		}
		m, err := fields(item, where, "name", "gecos", "groups", "homedir", "inactive", "shell",
			"passwd", "primary_group", "lock_passwd", "sudo", "ssh_authorized_keys")
		if err != nil {
			return nil, err
		}
		u := User{}
		if u.Name, err = str(m, "name", where); err != nil {
			return nil, err
		}
		if u.Name == "" {
			return nil, fmt.Errorf("%s: name is required", where)
		}
		where = fmt.Sprintf("users[%d] %q", i, u.Name)
		for _, f := range []struct {
			key string
			dst *string
		}{{"gecos", &u.Gecos}, {"homedir", &u.HomeDir}, {"shell", &u.Shell}, {"passwd", &u.Passwd}, {"primary_group", &u.PrimaryGroup}} {
			if *f.dst, err = str(m, f.key, where); err != nil {
				return nil, err
			}
		}
		switch x := m["inactive"].(type) {
		case nil, bool: // cloud-init only passes a string to useradd
		case string:
			u.Inactive = x
		default:
			return nil, fmt.Errorf("%s: inactive must be a string of days, not %s", where, kind(x))
		}
		switch x := m["groups"].(type) {
		case nil:
		case string: // "a, b", as cloud-init splits it
			if x != "" {
				u.Groups = strings.Split(x, ",")
			}
		default:
			if u.Groups, err = strList(x, where+": groups"); err != nil {
				return nil, err
			}
		}
		for j, g := range u.Groups {
			if u.Groups[j] = strings.TrimSpace(g); u.Groups[j] == "" || u.Groups[j] == "--" {
				return nil, fmt.Errorf("%s: bad group name %q in groups", where, g)
			}
		}
		if u.LockPasswd, err = boolean(m, "lock_passwd", where, true); err != nil {
			return nil, err
		}
		switch x := m["sudo"].(type) {
		case nil:
		case bool:
			if x {
				return nil, fmt.Errorf("%s: sudo must be a rule, a list of rules or false", where)
			}
		case string:
			u.Sudo = []string{x}
		default:
			if u.Sudo, err = strList(x, where+": sudo"); err != nil {
				return nil, err
			}
		}
		if x, ok := m["ssh_authorized_keys"].(string); ok {
			u.SSHAuthorizedKeys = []string{x}
		} else if u.SSHAuthorizedKeys, err = strList(m["ssh_authorized_keys"], where+": ssh_authorized_keys"); err != nil {
			return nil, err
		}
		// Each rule and key is one line of a file; a newline would smuggle in another.
		for _, line := range slices.Concat(u.Sudo, u.SSHAuthorizedKeys) {
			if strings.ContainsAny(line, "\r\n") {
				return nil, fmt.Errorf("%s: sudo rules and ssh keys must be single lines: %q", where, line)
			}
		}
		if err := checkArgs(slices.Concat([]string{u.Name, u.Gecos, u.HomeDir, u.Shell, u.Passwd, u.PrimaryGroup, u.Inactive}, u.Groups)); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		users = append(users, u)
	}
	return users, nil
}

func parseNTP(v any) (*NTP, error) {
	m, err := fields(v, "ntp", "enabled", "servers")
	if err != nil {
		return nil, err
	}
	n := &NTP{}
	if n.Enabled, err = boolean(m, "enabled", "ntp", true); err != nil {
		return nil, err
	}
	if n.Servers, err = strList(m["servers"], "ntp: servers"); err != nil {
		return nil, err
	}
	for _, s := range n.Servers {
		if s == "" || strings.ContainsFunc(s, isSpaceOrControl) {
			return nil, fmt.Errorf("ntp: bad server %q", s)
		}
	}
	return n, nil
}

var (
	// shortDevice is cloud-init's pattern for kernel device names without /dev/.
	shortDevice = regexp.MustCompile(`^x?[shv]d[a-z][0-9]*$|^sr[0-9]+$`)
	// metaDevice are device names that only a cloud's metadata service resolves.
	metaDevice = regexp.MustCompile(`^(ami|root|swap|ephemeral[^:]*|ebs[^:]*)$`)
)

func parseMounts(v any) ([]Mount, error) {
	items, err := list(v, "mounts")
	if err != nil {
		return nil, err
	}
	var mounts []Mount
	var devices []string // of mounts, to drop entries the way cloud-init does
	for i, item := range items {
		where := fmt.Sprintf("mounts[%d]", i)
		entry, ok := item.([]any)
		if !ok || len(entry) == 0 || len(entry) > 6 {
			return nil, fmt.Errorf("%s: must be a list of 1 to 6 fstab fields", where)
		}
		// cloud-init's defaults, less x-systemd.requires=cloud-init.service: the
		// node has no such unit, and requiring it would fail the mount.
		f := []string{"", "", "auto", "defaults,nofail,_netdev", "0", "2"}
		noMountPoint := len(entry) < 2 || entry[1] == nil
		for j, val := range entry {
			switch x := val.(type) {
			case nil:
				if j == 0 {
					return nil, fmt.Errorf("%s: device is required", where)
				}
			case string:
				f[j] = x
			case int, int64, uint64: // an unquoted fs_freq or fs_passno
				f[j] = fmt.Sprint(x)
			default:
				return nil, fmt.Errorf("%s: fields must be strings, not %s", where, kind(val))
			}
			if val != nil && (f[j] == "" || strings.ContainsFunc(f[j], isSpaceOrControl)) {
				return nil, fmt.Errorf("%s: field %d %q must be a non-empty word", where, j, f[j])
			}
		}
		switch {
		case metaDevice.MatchString(f[0]):
			return nil, fmt.Errorf("%s: %w device name %q (it needs a cloud metadata service; give a device path)", where, ErrUnsupported, f[0])
		case shortDevice.MatchString(f[0]):
			f[0] = "/dev/" + f[0]
		}
		if noMountPoint {
			// cloud-init: a missing mount point removes the device's earlier entries.
			for j := range mounts {
				if devices[j] == f[0] {
					devices[j] = ""
				}
			}
			continue
		}
		mounts = append(mounts, Mount{f[0], f[1], f[2], f[3], f[4], f[5]})
		devices = append(devices, f[0])
	}
	kept := mounts[:0]
	for j, m := range mounts {
		if devices[j] != "" {
			kept = append(kept, m)
		}
	}
	return kept, nil
}

var partitionType = regexp.MustCompile(`^[0-9A-Za-z-]{1,36}$`)

func parseDiskSetup(v any) ([]Disk, error) {
	devices, err := mapping(v, "disk_setup")
	if err != nil {
		return nil, err
	}
	var disks []Disk
	for _, dev := range devices {
		where := fmt.Sprintf("disk_setup %q", dev.key)
		if err := checkDevice(dev.key); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		m, err := fields(dev.val, where, "table_type", "layout", "overwrite")
		if err != nil {
			return nil, err
		}
		d := Disk{Device: dev.key, TableType: "mbr"}
		if _, ok := m["table_type"]; ok {
			if d.TableType, err = str(m, "table_type", where); err != nil {
				return nil, err
			}
		}
		if d.TableType != "mbr" && d.TableType != "gpt" {
			return nil, fmt.Errorf("%s: table_type %q is neither mbr nor gpt", where, d.TableType)
		}
		if d.Overwrite, err = boolean(m, "overwrite", where, false); err != nil {
			return nil, err
		}
		switch x := m["layout"].(type) {
		case nil:
		case bool:
			if x {
				d.Layout, d.Partitions = "whole", []Partition{{Percent: 100}}
			}
		case string:
			if !strings.EqualFold(x, "remove") {
				return nil, fmt.Errorf("%s: layout %q must be true, false, remove or a list", where, x)
			}
			d.Layout = "remove"
		case []any:
			if len(x) == 0 || d.TableType == "mbr" && len(x) > 4 {
				return nil, fmt.Errorf("%s: layout needs 1 to %d partitions", where, map[string]int{"mbr": 4, "gpt": 128}[d.TableType])
			}
			d.Layout = "partitions"
			for j, p := range x {
				part, err := parsePartition(p)
				if err != nil {
					return nil, fmt.Errorf("%s: layout[%d]: %w", where, j, err)
				}
				d.Partitions = append(d.Partitions, part)
			}
		default:
			return nil, fmt.Errorf("%s: layout must be true, false, remove or a list, not %s", where, kind(x))
		}
		disks = append(disks, d)
	}
	return disks, nil
}

// parsePartition reads a percentage or a [percentage, type] pair.
func parsePartition(v any) (Partition, error) {
	pct, typ := v, any(nil)
	if pair, ok := v.([]any); ok {
		if len(pair) != 2 {
			return Partition{}, errors.New("must be a percentage or [percentage, type]")
		}
		pct, typ = pair[0], pair[1]
	}
	p := Partition{}
	if n, ok := pct.(int); ok && n >= 1 && n <= 100 {
		p.Percent = n
	} else {
		return p, fmt.Errorf("percentage %v is not a whole number from 1 to 100", pct)
	}
	switch t := typ.(type) {
	case nil:
	case int:
		p.Type = strconv.Itoa(t)
	case string:
		p.Type = t
	default:
		return p, fmt.Errorf("partition type must be a code, not %s", kind(typ))
	}
	if p.Type != "" && !partitionType.MatchString(p.Type) {
		return p, fmt.Errorf("bad partition type %q", p.Type)
	}
	return p, nil
}

var (
	fsName       = regexp.MustCompile(`^[A-Za-z0-9_.+-]+$`)
	dottedDevice = regexp.MustCompile(`^(.*/[^/]*)\.([0-9]+)$`)
)

func parseFSSetup(v any) ([]Filesystem, error) {
	items, err := list(v, "fs_setup")
	if err != nil {
		return nil, err
	}
	var filesystems []Filesystem
	for i, item := range items {
		where := fmt.Sprintf("fs_setup[%d]", i)
		m, err := fields(item, where, "label", "filesystem", "device", "partition", "overwrite", "replace_fs", "extra_opts")
		if err != nil {
			return nil, err
		}
		f := Filesystem{Partition: "any"}
		if f.Device, err = str(m, "device", where); err != nil {
			return nil, err
		}
		where = fmt.Sprintf("fs_setup[%d] %q", i, f.Device)
		if err := checkDevice(f.Device); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		switch x := m["partition"].(type) {
		case int:
			f.Partition = strconv.Itoa(x)
		case string:
			f.Partition = strings.ToLower(x)
		default:
			if _, ok := m["partition"]; ok { // null: cloud-init reads str(None), "none"
				if x != nil {
					return nil, fmt.Errorf("%s: partition must be a number, auto, any or none, not %s", where, kind(x))
				}
				f.Partition = "none"
			}
		}
		// /dev/sdb.1 is cloud-init's way to say partition 1 of /dev/sdb.
		if sub := dottedDevice.FindStringSubmatch(f.Device); sub != nil {
			f.Device, f.Partition = sub[1], sub[2]
		}
		if f.Partition != "" && !slices.Contains([]string{"auto", "any", "none"}, f.Partition) && strings.Trim(f.Partition, "0123456789") != "" {
			return nil, fmt.Errorf("%s: partition %q must be a number, auto, any or none", where, f.Partition)
		}
		if f.Filesystem, err = str(m, "filesystem", where); err != nil {
			return nil, err
		}
		if !fsName.MatchString(f.Filesystem) {
			return nil, fmt.Errorf("%s: filesystem %q must be a file system type such as ext4", where, f.Filesystem)
		}
		if f.Label, err = str(m, "label", where); err != nil {
			return nil, err
		}
		if f.ReplaceFS, err = str(m, "replace_fs", where); err != nil {
			return nil, err
		}
		if f.Overwrite, err = boolean(m, "overwrite", where, false); err != nil {
			return nil, err
		}
		if f.ExtraOpts, err = strList(m["extra_opts"], where+": extra_opts"); err != nil {
			return nil, err
		}
		if err := checkArgs(append([]string{f.Label, f.ReplaceFS}, f.ExtraOpts...)); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		filesystems = append(filesystems, f)
	}
	return filesystems, nil
}
