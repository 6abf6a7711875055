package cloudinit

import (
	"fmt"
	"regexp"
	"strconv"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
)

type diskSetup struct {
	TableType string `json:"table_type,omitempty"`
	// Layout is a bool or a list of percentages and [percentage, type] pairs.
	Layout    any   `json:"layout,omitempty"`
	Overwrite *bool `json:"overwrite,omitempty"`
}

type fsSetup struct {
	Label      string   `json:"label,omitempty"`
	Filesystem string   `json:"filesystem"`
	Device     string   `json:"device"`
	Partition  any      `json:"partition,omitempty"`
	Overwrite  *bool    `json:"overwrite,omitempty"`
	ReplaceFS  string   `json:"replace_fs,omitempty"`
	ExtraOpts  []string `json:"extra_opts,omitempty"`
}

// partitionCodes returns the codes cloud-init hands to sfdisk (mbr) and sgdisk
// (gpt) for one of our partition type names. An empty code means the table has
// no such type.
func partitionCodes(name string) (mbr, gpt string, known bool) {
	switch name {
	case "LinuxSwap":
		return "82", "8200", true
	case "LinuxRAID":
		return "fd", "fd00", true
	case "LVM":
		return "8e", "8e00", true
	case "Fat32":
		return "c", "0700", true
	case "NTFS":
		return "7", "0700", true
	case "LinuxExtended":
		return "5", "", true
	}
	return "", "", false
}

var guidPattern = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// disks renders disk_setup and fs_setup.
//
// A layout of false is rendered as false: cloud-init then leaves the disk's
// partitions alone. A diskLayout becomes cloud-init's list: a Linux partition
// (the default type of both tables) is a bare percentage, any other a
// [percentage, code] pair. Codes are YAML integers when they are decimal
// numbers (82, 8200, 7) and strings otherwise ("8e", "fd00", GUIDs): cloud-init
// 22.4 runs both, but its schema lists integers only, so `cloud-init schema`
// reports the string ones.
//
// fs_setup partition numbers are rendered as integers, which cloud-init runs
// (it appends the number to the device); 22.4's schema accepts only "auto",
// "any" and "none" there, so `cloud-init schema` reports numeric partitions.
func disks(d bootstrapv1.DiskSetup) (map[string]diskSetup, []fsSetup, error) {
	var setup map[string]diskSetup
	for i, p := range d.Partitions {
		name := fmt.Sprintf("diskSetup.partitions[%d] %q", i, p.Device)
		ds := diskSetup{TableType: p.TableType, Overwrite: p.Overwrite}
		switch {
		case len(p.DiskLayout) > 0:
			layout := make([]any, 0, len(p.DiskLayout))
			for j, spec := range p.DiskLayout {
				code, err := partitionCode(spec.PartitionType, p.TableType)
				if err != nil {
					return nil, nil, fmt.Errorf("%s: diskLayout[%d]: %w", name, j, err)
				}
				if code == nil {
					layout = append(layout, spec.Percentage)
				} else {
					layout = append(layout, []any{spec.Percentage, code})
				}
			}
			ds.Layout = layout
		case p.Layout != nil:
			ds.Layout = *p.Layout
		}
		if setup == nil {
			setup = map[string]diskSetup{}
		}
		if _, dup := setup[p.Device]; dup {
			return nil, nil, fmt.Errorf("%s: device is listed twice", name)
		}
		setup[p.Device] = ds
	}

	var fs []fsSetup
	for i, f := range d.Filesystems {
		s := fsSetup{
			Label: f.Label, Filesystem: f.Filesystem, Device: f.Device,
			Overwrite: f.Overwrite, ReplaceFS: f.ReplaceFS, ExtraOpts: f.ExtraOpts,
		}
		switch f.Partition {
		case "":
		case "auto", "any", "none":
			s.Partition = f.Partition
		default:
			n, err := strconv.Atoi(f.Partition)
			if err != nil || n < 1 {
				return nil, nil, fmt.Errorf("diskSetup.filesystems[%d] %q: partition %q must be a partition number, auto, any or none", i, f.Device, f.Partition)
			}
			s.Partition = n
		}
		fs = append(fs, s)
	}
	return setup, fs, nil
}

// partitionCode returns the layout code of a partition type for a table type
// (mbr when empty, as cloud-init defaults), or nil for Linux.
func partitionCode(partitionType, tableType string) (any, error) {
	gpt := tableType == "gpt"
	var code string
	switch mbr, gptCode, known := partitionCodes(partitionType); {
	case partitionType == "" || partitionType == "Linux":
		return nil, nil
	case known && gpt:
		code = gptCode
	case known:
		code = mbr
	case guidPattern.MatchString(partitionType) && gpt:
		code = partitionType
	case guidPattern.MatchString(partitionType):
		return nil, fmt.Errorf("partition type %q: a GUID needs tableType gpt", partitionType)
	default:
		return nil, fmt.Errorf("unknown partition type %q", partitionType)
	}
	if code == "" {
		return nil, fmt.Errorf("partition type %q does not exist in a %s partition table", partitionType, tableType)
	}
	if n, err := strconv.Atoi(code); err == nil && strconv.Itoa(n) == code {
		return n, nil
	}
	return code, nil
}
