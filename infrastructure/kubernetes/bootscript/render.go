package bootscript

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
)

// Convert turns a cloud-config into the bootstrap script of a node about which
// nothing is known: ConvertFor with empty instance data. A Jinja template
// converts only if it uses no variables.
func Convert(cloudConfig []byte) ([]byte, error) {
	return ConvertFor(cloudConfig, InstanceData{})
}

// ConvertFor turns a cloud-config into the bootstrap script of the node with
// the given instance data: RenderTemplate, Parse, then Render.
func ConvertFor(cloudConfig []byte, instance InstanceData) ([]byte, error) {
	rendered, err := RenderTemplate(cloudConfig, instance)
	if err != nil {
		return nil, err
	}
	c, err := Parse(rendered)
	if err != nil {
		return nil, err
	}
	return Render(c)
}

// Render writes the bootstrap script for c. It checks what the script relies
// on (absolute paths, modes, arguments without NUL), for configs built by hand.
func Render(c *CloudConfig) ([]byte, error) {
	w := &writer{used: map[string]bool{}}

	// kubeadm config files, to see whether one already ignores "all" preflight errors.
	configIgnoresAll := func(p string) bool {
		return slices.ContainsFunc(c.WriteFiles, func(f File) bool {
			return f.Path == path.Clean("/"+p) && kubeadmConfigIgnoresAll(f.Content)
		})
	}
	command := func(desc string, cmd Command, goOn bool) {
		w.command(desc+": "+describe(cmd), withPreflightIgnores(cmd, configIgnoresAll).Args(), goOn)
	}
	files := func(deferred bool) {
		for i, f := range c.WriteFiles {
			if f.Defer == deferred {
				w.file(fmt.Sprintf("write_files[%d]: %s", i, f.Path), f)
			}
		}
	}

	w.startStage("init stage: bootcmd")
	for i, cmd := range c.BootCmd {
		command(fmt.Sprintf("bootcmd[%d]", i), cmd, false)
	}
	w.startStage("init stage: write_files")
	files(false)
	w.startStage("init stage: disk_setup and fs_setup")
	for _, d := range c.DiskSetup {
		if d.Layout == "" {
			continue // layout: false leaves the disk alone
		}
		args := []string{d.Device, d.TableType, fmt.Sprint(d.Overwrite), d.Layout}
		for _, p := range d.Partitions {
			if d.TableType == "gpt" && p.Type != "" && len(p.Type) < 4 {
				p.Type += strings.Repeat("0", 4-len(p.Type)) // sgdisk's codes: 82 is 8200
			}
			args = append(args, fmt.Sprintf("%d:%s", p.Percent, p.Type))
		}
		w.module("disk_setup: "+d.Device, diskScript, args...)
	}
	for i, f := range c.FSSetup {
		w.module(fmt.Sprintf("fs_setup[%d]: %s on %s", i, f.Filesystem, f.Device), fsScript,
			append([]string{f.Device, f.Partition, f.Filesystem, f.Label, fmt.Sprint(f.Overwrite), f.ReplaceFS}, f.ExtraOpts...)...)
	}
	w.startStage("init stage: mounts")
	if len(c.Mounts) > 0 {
		var args []string
		for _, m := range c.Mounts {
			args = append(args, m.Device, m.MountPoint, m.FSType, m.Options+",comment=cloudconfig", m.Freq, m.PassNo)
		}
		w.module(fmt.Sprintf("mounts: %d fstab entries", len(c.Mounts)), mountsScript, args...)
	}
	w.startStage("init stage: users")
	for i, u := range c.Users {
		w.module(fmt.Sprintf("users[%d]: create user %s", i, u.Name), useraddScript, slices.Concat([]string{u.Name}, userGroups(u), []string{"--"}, useraddOptions(u))...)
		if u.LockPasswd {
			w.command(fmt.Sprintf("users[%d]: lock the password of %s", i, u.Name), []string{"passwd", "-l", u.Name}, false)
		}
		if len(u.Sudo) > 0 {
			w.module(fmt.Sprintf("users[%d]: sudo rules for %s", i, u.Name), sudoScript, append([]string{u.Name}, u.Sudo...)...)
		}
		if len(u.SSHAuthorizedKeys) > 0 {
			w.module(fmt.Sprintf("users[%d]: ssh keys for %s", i, u.Name), sshKeysScript, append([]string{u.Name}, u.SSHAuthorizedKeys...)...)
		}
	}
	w.startStage("config stage: ntp")
	if c.NTP != nil && c.NTP.Enabled {
		if len(c.NTP.Servers) > 0 {
			w.file("ntp: "+timesyncdConf, File{Path: timesyncdConf, Permissions: 0o644, Owner: "root:root",
				Content: []byte("# Written from the cloud-config's ntp module.\n[Time]\nNTP=" + strings.Join(c.NTP.Servers, " ") + "\n")})
		}
		w.module("ntp: restart systemd-timesyncd if it runs", ntpScript)
	}
	w.startStage("final stage: deferred write_files")
	files(true)
	w.startStage("final stage: runcmd")
	// cloud-init runs runcmd as one sh script: a failing entry does not stop
	// the later ones until an entry turns on errexit. kubeadm init and join
	// stop the script in any case: nothing after them can make a node.
	errexit := false
	for i, cmd := range c.RunCmd {
		if on, ok := setsErrexit(cmd); ok {
			errexit = on
		}
		command(fmt.Sprintf("runcmd[%d]", i), cmd, !errexit && !runsKubeadm(cmd))
	}
	w.b.WriteString("\nprintf '==> bootstrap script finished\\n' | tee -a \"$LOG\"\n")
	if w.err != nil {
		return nil, w.err
	}
	return []byte(prelude + w.defs.String() + w.b.String()), nil
}

const timesyncdConf = "/etc/systemd/timesyncd.conf.d/cloud-init.conf"

// writer accumulates the steps, the definitions of the module scripts they
// use, and the first error.
type writer struct {
	b, defs strings.Builder
	used    map[string]bool
	stage   string // a stage whose title is written before its first step
	err     error
}

func (w *writer) startStage(title string) { w.stage = title }

// step starts a step's line with the shell function that runs it (step or
// try_step), after the title of its stage if it is the first.
func (w *writer) step(desc, runner string) {
	if w.stage != "" {
		fmt.Fprintf(&w.b, "\n# %s\n", w.stage)
		w.stage = ""
	}
	fmt.Fprintf(&w.b, "%s %s ", runner, quote(oneLine(desc)))
}

// command emits a step that runs argv, or prints it as JSON in dry-run mode.
// A failure of a step that goes on is logged and the script continues.
func (w *writer) command(desc string, argv []string, goOn bool) {
	if len(argv) == 0 || argv[0] == "" {
		w.fail(fmt.Errorf("%s: empty command", desc))
	}
	w.check(desc, argv)
	if goOn {
		w.step(desc, "try_step")
	} else {
		w.step(desc, "step")
	}
	w.b.WriteString(quote(jsonArray(argv)))
	w.args(argv)
}

// moduleScript is a constant sh script that does a module's work; the values
// from the cloud-config reach it as positional arguments only.
type moduleScript struct{ name, text string }

// module emits a step that runs /bin/sh -c SCRIPT NAME ARG.... The script and
// its JSON are defined once, in shell variables, rather than in every step.
func (w *writer) module(desc string, s moduleScript, args ...string) {
	w.check(desc, args)
	v := strings.ToUpper(s.name)
	if !w.used[s.name] {
		w.used[s.name] = true
		prefix := jsonArray([]string{"/bin/sh", "-c", s.text})
		fmt.Fprintf(&w.defs, "\n# Run as /bin/sh -c \"$%s_SH\" %s ARG...\n%s_SH=%s\n%s_JSON=%s\n",
			v, s.name, v, quote(s.text), v, quote(strings.TrimSuffix(prefix, "]")))
	}
	rest := jsonArray(append([]string{s.name}, args...))
	w.step(desc, "step")
	fmt.Fprintf(&w.b, "\"$%s_JSON\"%s /bin/sh -c \"$%s_SH\" %s", v, quote(","+rest[1:]), v, quote(s.name))
	w.args(args)
}

func (w *writer) args(args []string) {
	for _, a := range args {
		w.b.WriteString(" " + quote(a))
	}
	w.b.WriteString("\n")
}

func (w *writer) check(desc string, args []string) {
	if err := checkArgs(args); err != nil {
		w.fail(fmt.Errorf("%s: %w", desc, err))
	}
}

// jsonArray is the JSON of argv that dry-run mode prints.
func jsonArray(argv []string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep && and > readable; the output is not HTML
	_ = enc.Encode(argv)     // a []string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// file emits a step that writes f under $PODCLUSTER_BOOT_ROOT. The content is
// base64 in the script, so any bytes at all reach the disk unchanged.
func (w *writer) file(desc string, f File) {
	if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" {
		w.fail(fmt.Errorf("%s: path %q is not an absolute, clean file path", desc, f.Path))
	}
	if err := checkArgs([]string{f.Path, f.Owner}); err != nil {
		w.fail(fmt.Errorf("%s: %w", desc, err))
	}
	if f.Permissions > 0o7777 {
		w.fail(fmt.Errorf("%s: permissions %o are not a file mode", desc, f.Permissions))
	}
	mode := "replace"
	if f.Append {
		mode = "append"
	}
	enc := base64.StdEncoding.EncodeToString(f.Content)
	var content strings.Builder
	for len(enc) > 76 {
		content.WriteString("\n" + enc[:76])
		enc = enc[76:]
	}
	content.WriteString("\n" + enc)
	w.step(desc, "step")
	fmt.Fprintf(&w.b, "'' write_file %s %04o %s %s %s\n", quote(f.Path), f.Permissions,
		quote(chownSpec(f.Owner)), mode, quote(content.String()))
}

func (w *writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// quote makes s one shell word that stands for s itself, whatever it holds.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// chownSpec turns a write_files owner into chown's argument the way cloud-init
// reads it: a missing, empty, "-1" or "none" part is left unchanged; "" means
// there is nothing to change.
func chownSpec(owner string) string {
	user, group, _ := strings.Cut(owner, ":")
	keep := func(s string) string {
		if s = strings.TrimSpace(s); s == "-1" || strings.EqualFold(s, "none") {
			return ""
		}
		return s
	}
	if user, group = keep(user), keep(group); group == "" {
		return user
	}
	return user + ":" + group
}

// setsErrexit reports whether cmd is a set command that turns the shell's
// errexit option on (set -e, set -eux, set -o errexit) or off (set +e, set
// +o errexit); ok is false when it does neither. Only an entry that is
// nothing but such a command counts (see the package documentation).
func setsErrexit(cmd Command) (on, ok bool) {
	words := cmd.Argv
	if words == nil {
		words = strings.Fields(cmd.Shell)
		if strings.ContainsAny(cmd.Shell, ";&|<>()`$\"'\\\n") {
			return false, false
		}
	}
	if len(words) < 2 || words[0] != "set" {
		return false, false
	}
	for i := 1; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "--" || w == "-" || (w[0] != '-' && w[0] != '+'):
			return on, ok // positional parameters follow
		default: // -e, -eux, +e, -o NAME, -eo NAME
			if strings.ContainsRune(w[1:], 'e') {
				on, ok = w[0] == '-', true
			}
			if strings.ContainsRune(w[1:], 'o') && i+1 < len(words) {
				if words[i+1] == "errexit" {
					on, ok = w[0] == '-', true
				}
				i++
			}
		}
	}
	return on, ok
}

// describe is the human description of a command in the log and failure file.
func describe(cmd Command) string {
	if cmd.Argv != nil {
		return strings.Join(cmd.Argv, " ")
	}
	return cmd.Shell
}

// oneLine keeps a description on one line of the log and the failure file.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "..."
	}
	return s
}

// userGroups are the groups cloud-init creates for a new user: its groups and,
// only when there are some, its primary group.
func userGroups(u User) []string {
	if len(u.Groups) == 0 {
		return nil
	}
	groups := slices.Clone(u.Groups)
	if u.PrimaryGroup != "" && !slices.Contains(groups, u.PrimaryGroup) {
		groups = append(groups, u.PrimaryGroup)
	}
	return groups
}

// useraddOptions follow cloud-init: options in the order of their keys, empty
// values left out, and a home directory created.
func useraddOptions(u User) []string {
	var opts []string
	for _, o := range [][2]string{{"--comment", u.Gecos}, {"--groups", strings.Join(u.Groups, ",")}, {"--home", u.HomeDir},
		{"--inactive", u.Inactive}, {"--password", u.Passwd}, {"--gid", u.PrimaryGroup}, {"--shell", u.Shell}} {
		if o[1] != "" {
			opts = append(opts, o[0], o[1])
		}
	}
	return append(opts, "-m")
}

// prelude is the start of every script: settings, the step runner, the file
// writer, and the guard against running twice.
const prelude = `#!/bin/bash
# Node bootstrap script generated from a cloud-config by podcluster
# (infrastructure/kubernetes/bootscript); its documentation describes the contract.
set -euo pipefail
umask 022

ROOT=${PODCLUSTER_BOOT_ROOT:-}
DRY_RUN=${PODCLUSTER_BOOT_DRY_RUN:-}
DRY_RUN_FAIL=${PODCLUSTER_BOOT_DRY_RUN_FAIL:-}
LOG=$ROOT/var/log/podcluster-bootstrap.log
STARTED=$ROOT/run/podcluster/bootstrap.started
FAILURE=$ROOT/run/cluster-api/bootstrap-failure
TERMINATION_LOG=${PODCLUSTER_TERMINATION_LOG:-/dev/termination-log}

# step DESCRIPTION JSON COMMAND [ARG...] runs one step, appending its output to
# $LOG and echoing it. A command step carries its argv as JSON, which dry-run
# mode prints instead of running anything; a file write (empty JSON) always
# runs. A failed step is written to $FAILURE and the termination log, and ends
# the script with the step's exit code.
step() {
	run_step "$@"
	if ((STEP_RC != 0)); then
		mkdir -p "${FAILURE%/*}"
		{
			printf 'failed step: %s\nexit code: %d\n' "$1" "$STEP_RC"
			tail -n 50 "$OUTPUT"
		} >"$FAILURE"
		if [[ -w $TERMINATION_LOG || (! -e $TERMINATION_LOG && -n ${PODCLUSTER_TERMINATION_LOG:-}) ]]; then
			head -c 4000 "$FAILURE" 2>/dev/null >"$TERMINATION_LOG" || true
		fi
		tee -a "$LOG" <"$FAILURE" >&2
		exit "$STEP_RC"
	fi
}

# try_step DESCRIPTION JSON COMMAND [ARG...] runs a runcmd entry that
# cloud-init would not stop at: a failure is logged and the script goes on.
try_step() {
	run_step "$@"
	if ((STEP_RC != 0)); then
		printf '==> %s failed with exit code %d; going on, as cloud-init runcmd does\n' "$1" "$STEP_RC" | tee -a "$LOG" >&2
	fi
}

# run_step DESCRIPTION JSON COMMAND [ARG...] runs the command with errexit on,
# and sets STEP_RC to its exit code. In dry-run mode a command whose JSON
# holds $PODCLUSTER_BOOT_DRY_RUN_FAIL fails with exit code 1 after it is
# printed, so that tests can play a failing command.
run_step() {
	local desc=$1 json=$2
	shift 2
	STEP_RC=0
	if [[ -n $json && $DRY_RUN == 1 ]]; then
		printf 'podcluster-boot-command: %s\n' "$json"
		if [[ -n $DRY_RUN_FAIL && $json == *"$DRY_RUN_FAIL"* ]]; then
			printf '==> %s\n' "$desc" >>"$LOG"
			printf 'dry run: failing, as PODCLUSTER_BOOT_DRY_RUN_FAIL asks\n' | tee -a "$LOG" >"$OUTPUT"
			STEP_RC=1
		fi
		return 0
	fi
	printf '==> %s\n' "$desc"
	printf '==> %s\n' "$desc" >>"$LOG"
	: >"$OUTPUT"
	set +e
	(set -e; "$@") </dev/null 2>&1 | tee -a "$LOG" "$OUTPUT"
	STEP_RC=${PIPESTATUS[0]}
	set -e
}

# write_file PATH MODE OWNER replace|append BASE64 writes the decoded BASE64 to
# $ROOT/PATH. A replaced file is written next to PATH and renamed over it, so
# PATH never holds a partial file. Ownership is not changed in dry-run mode.
write_file() {
	local path=$ROOT$1 dir tmp
	dir=${path%/*}
	[[ -d ${dir:-/} ]] || mkdir -p -- "$dir"
	tmp=$path
	if [[ $4 == replace ]]; then
		tmp=$(mktemp -- "$dir/.podcluster-boot.XXXXXX")
	fi
	base64 -d <<<"$5" >>"$tmp"
	if [[ -n $3 && $DRY_RUN != 1 ]]; then
		chown -- "$3" "$tmp"
	fi
	chmod -- "$2" "$tmp"
	if [[ $tmp != "$path" ]]; then
		mv -fT -- "$tmp" "$path"
	fi
}

if [[ -e $STARTED ]]; then
	echo "podcluster-boot: $STARTED exists: the bootstrap script already ran; not running it again"
	exit 0
fi
mkdir -p -- "${STARTED%/*}" "${LOG%/*}"
: >"$STARTED"
OUTPUT=$(mktemp) # the output of the current step
trap 'rm -f "$OUTPUT"' EXIT
`

// useraddScript: USER GROUP... -- USERADD_OPTION... creates the groups and the
// user unless the user exists, as cloud-init does.
var useraddScript = moduleScript{"useradd", `set -e
user=$1
shift
if getent passwd "$user" >/dev/null; then
	echo "user $user already exists; not creating it"
	exit 0
fi
while [ "$1" != -- ]; do
	getent group "$1" >/dev/null || groupadd "$1"
	shift
done
shift
exec useradd "$user" "$@"`}

// sudoScript: USER RULE... appends the rules to cloud-init's sudoers file.
var sudoScript = moduleScript{"sudo", `set -e
user=$1
shift
file=/etc/sudoers.d/90-cloud-init-users
mkdir -p /etc/sudoers.d
chmod 0750 /etc/sudoers.d
{
	printf '\n# User rules for %s\n' "$user"
	for rule; do printf '%s %s\n' "$user" "$rule"; done
} >>"$file"
chmod 0440 "$file"`}

// sshKeysScript: USER KEY... adds the keys that are not there yet to the
// user's authorized_keys.
var sshKeysScript = moduleScript{"ssh_authorized_keys", `set -e
user=$1
shift
home=$(getent passwd "$user" | cut -d: -f6)
if [ -z "$home" ]; then echo "user $user has no home directory" >&2; exit 1; fi
group=$(id -g "$user")
mkdir -p "$home/.ssh"
chmod 0700 "$home/.ssh"
chown "$user:$group" "$home/.ssh"
file=$home/.ssh/authorized_keys
touch "$file"
for key; do grep -qxF -- "$key" "$file" || printf '%s\n' "$key" >>"$file"; done
chmod 0600 "$file"
chown "$user:$group" "$file"`}

// ntpScript restarts systemd-timesyncd only if it already runs: a privileged
// node must not start a daemon that sets the host's clock.
var ntpScript = moduleScript{"ntp", `if [ -x /lib/systemd/systemd-timesyncd ]; then exec systemctl try-restart systemd-timesyncd.service; fi
echo "systemd-timesyncd is not installed; no time daemon to restart"`}

// mountsScript: (DEVICE MOUNT_POINT TYPE OPTIONS FREQ PASSNO)... adds the
// entries to /etc/fstab, skipping devices that are missing or already there,
// creates the mount points and mounts everything.
var mountsScript = moduleScript{"mounts", `set -e
added= swap=
while [ $# -gt 0 ]; do
	dev=$1 dir=$2 type=$3
	line=$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$1" "$2" "$3" "$4" "$5" "$6")
	shift 6
	case $dev in /dev/*) if [ ! -b "$dev" ]; then echo "mounts: $dev is not a block device; skipping it"; continue; fi ;; esac
	if [ -f /etc/fstab ] && awk -v dev="$dev" '$1 == dev { found = 1 } END { exit !found }' /etc/fstab; then
		echo "mounts: $dev is already in /etc/fstab; skipping it"
		continue
	fi
	printf '%s\n' "$line" >>/etc/fstab
	added=1
	case $dir in /*) mkdir -p "$dir" ;; esac
	if [ "$type" = swap ]; then swap=1; fi
done
if [ -n "$swap" ]; then swapon -a; fi
if [ -n "$added" ]; then
	mount -a
	if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
fi`}

// diskScript: DEVICE mbr|gpt OVERWRITE whole|partitions|remove PERCENT:TYPE...
// partitions a disk. It leaves alone a disk that has the layout already, or
// that is in use when OVERWRITE is false.
var diskScript = moduleScript{"disk_setup", `set -e
dev=$(readlink -f "$1") table=$2 overwrite=$3 layout=$4
shift 4
if [ ! -b "$dev" ]; then echo "disk_setup: $dev is not a block device" >&2; exit 1; fi
if [ "$layout" = remove ]; then
	for p in $(lsblk -rnpo NAME,TYPE "$dev" | awk '$2 == "part" { print $1 }'); do wipefs --all "$p"; done
	exec wipefs --all "$dev"
fi
parts=$(lsblk -rno TYPE "$dev" | grep -c '^part$' || true)
if [ "$parts" -ge 1 ] && { [ "$layout" = whole ] || [ "$parts" -eq $# ]; }; then
	echo "disk_setup: $dev already has its partitions; leaving it alone"
	exit 0
fi
if [ "$overwrite" != true ] && { [ "$parts" -gt 0 ] || blkid -p "$dev" >/dev/null 2>&1; }; then
	echo "disk_setup: $dev is in use and overwrite is false; leaving it alone"
	exit 0
fi
sectors=$(($(blockdev --getsize64 "$dev") / $(blockdev --getss "$dev")))
n=0
if [ "$table" = mbr ]; then
	for p; do
		n=$((n + 1)) type=${p#*:}
		if [ $n -eq $# ]; then printf ',,%s\n' "${type:-83}"; else printf ',%s,%s\n' $((sectors * ${p%%:*} / 100)) "${type:-83}"; fi
	done | sfdisk --force "$dev"
else
	sgdisk -Z "$dev"
	for p; do
		n=$((n + 1)) size=0
		if [ $n -lt $# ]; then size=+$((sectors * ${p%%:*} / 100)); fi
		sgdisk -n "$n:0:$size" "$dev"
		if [ -n "${p#*:}" ]; then sgdisk -t "$n:${p#*:}" "$dev"; fi
	done
fi
partprobe "$dev" 2>/dev/null || blockdev --rereadpt "$dev" || true`}

// fsScript: DEVICE PARTITION FILESYSTEM LABEL OVERWRITE REPLACE_FS OPTION...
// creates a file system, picking the partition and keeping an existing
// matching file system the way cloud-init does.
var fsScript = moduleScript{"fs_setup", `set -e
dev=$(readlink -f "$1") part=$2 fs=$3 label=$4 overwrite=$5 replace=$6
shift 6
probe() { blkid -c /dev/null -o value -s "$1" "$2" 2>/dev/null || true; }
case $part in
auto | any)
	target= used=
	for d in $(lsblk -rnpo NAME "$dev"); do
		type=$(lsblk -dnro TYPE "$d") found=$(probe TYPE "$d")
		if [ "$part" = any ] && [ -n "$replace" ] && [ "$found" = "$replace" ]; then target=$d; break; fi
		if [ "$found" = "$fs" ] && { [ "$part" = any ] || [ "$(probe LABEL "$d")" = "$label" ]; }; then
			echo "fs_setup: $d already has a $fs file system; leaving it alone"
			exit 0
		fi
		if [ "$type" = part ] || [ -n "$found" ]; then used=1; fi
		if [ "$type" = part ] && [ -z "$found" ]; then target=$d; break; fi
	done
	if [ -z "$target" ] && [ -n "$used" ]; then echo "fs_setup: no free partition on $dev for $fs" >&2; exit 1; fi
	dev=${target:-$dev}
	;;
none) ;;
*)
	dev=$dev$part
	if [ "$overwrite" != true ] && [ "$(probe TYPE "$dev")" = "$fs" ] && [ "$(probe LABEL "$dev")" = "$label" ]; then
		echo "fs_setup: $dev already has the $fs file system; leaving it alone"
		exit 0
	fi
	;;
esac
mkfs=$(command -v "mkfs.$fs" || command -v "mk$fs") || { echo "fs_setup: no mkfs.$fs command" >&2; exit 127; }
force=
if [ "$overwrite" = true ] || [ "$(lsblk -dnro TYPE "$dev")" = disk ]; then
	case $fs in ext*) force=-F ;; btrfs | xfs | reiserfs | swap) force=-f ;; esac
fi
if [ -n "$force" ]; then set -- "$force" "$@"; fi
if [ -n "$label" ]; then set -- -L "$label" "$@"; fi
exec "$mkfs" "$@" "$dev"`}
