#!/bin/bash
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

# Run as /bin/sh -c "$DISK_SETUP_SH" disk_setup ARG...
DISK_SETUP_SH='set -e
dev=$(readlink -f "$1") table=$2 overwrite=$3 layout=$4
shift 4
if [ ! -b "$dev" ]; then echo "disk_setup: $dev is not a block device" >&2; exit 1; fi
if [ "$layout" = remove ]; then
	for p in $(lsblk -rnpo NAME,TYPE "$dev" | awk '\''$2 == "part" { print $1 }'\''); do wipefs --all "$p"; done
	exec wipefs --all "$dev"
fi
parts=$(lsblk -rno TYPE "$dev" | grep -c '\''^part$'\'' || true)
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
		if [ $n -eq $# ]; then printf '\'',,%s\n'\'' "${type:-83}"; else printf '\'',%s,%s\n'\'' $((sectors * ${p%%:*} / 100)) "${type:-83}"; fi
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
partprobe "$dev" 2>/dev/null || blockdev --rereadpt "$dev" || true'
DISK_SETUP_JSON='["/bin/sh","-c","set -e\ndev=$(readlink -f \"$1\") table=$2 overwrite=$3 layout=$4\nshift 4\nif [ ! -b \"$dev\" ]; then echo \"disk_setup: $dev is not a block device\" >&2; exit 1; fi\nif [ \"$layout\" = remove ]; then\n\tfor p in $(lsblk -rnpo NAME,TYPE \"$dev\" | awk '\''$2 == \"part\" { print $1 }'\''); do wipefs --all \"$p\"; done\n\texec wipefs --all \"$dev\"\nfi\nparts=$(lsblk -rno TYPE \"$dev\" | grep -c '\''^part$'\'' || true)\nif [ \"$parts\" -ge 1 ] && { [ \"$layout\" = whole ] || [ \"$parts\" -eq $# ]; }; then\n\techo \"disk_setup: $dev already has its partitions; leaving it alone\"\n\texit 0\nfi\nif [ \"$overwrite\" != true ] && { [ \"$parts\" -gt 0 ] || blkid -p \"$dev\" >/dev/null 2>&1; }; then\n\techo \"disk_setup: $dev is in use and overwrite is false; leaving it alone\"\n\texit 0\nfi\nsectors=$(($(blockdev --getsize64 \"$dev\") / $(blockdev --getss \"$dev\")))\nn=0\nif [ \"$table\" = mbr ]; then\n\tfor p; do\n\t\tn=$((n + 1)) type=${p#*:}\n\t\tif [ $n -eq $# ]; then printf '\'',,%s\\n'\'' \"${type:-83}\"; else printf '\'',%s,%s\\n'\'' $((sectors * ${p%%:*} / 100)) \"${type:-83}\"; fi\n\tdone | sfdisk --force \"$dev\"\nelse\n\tsgdisk -Z \"$dev\"\n\tfor p; do\n\t\tn=$((n + 1)) size=0\n\t\tif [ $n -lt $# ]; then size=+$((sectors * ${p%%:*} / 100)); fi\n\t\tsgdisk -n \"$n:0:$size\" \"$dev\"\n\t\tif [ -n \"${p#*:}\" ]; then sgdisk -t \"$n:${p#*:}\" \"$dev\"; fi\n\tdone\nfi\npartprobe \"$dev\" 2>/dev/null || blockdev --rereadpt \"$dev\" || true"'

# Run as /bin/sh -c "$FS_SETUP_SH" fs_setup ARG...
FS_SETUP_SH='set -e
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
exec "$mkfs" "$@" "$dev"'
FS_SETUP_JSON='["/bin/sh","-c","set -e\ndev=$(readlink -f \"$1\") part=$2 fs=$3 label=$4 overwrite=$5 replace=$6\nshift 6\nprobe() { blkid -c /dev/null -o value -s \"$1\" \"$2\" 2>/dev/null || true; }\ncase $part in\nauto | any)\n\ttarget= used=\n\tfor d in $(lsblk -rnpo NAME \"$dev\"); do\n\t\ttype=$(lsblk -dnro TYPE \"$d\") found=$(probe TYPE \"$d\")\n\t\tif [ \"$part\" = any ] && [ -n \"$replace\" ] && [ \"$found\" = \"$replace\" ]; then target=$d; break; fi\n\t\tif [ \"$found\" = \"$fs\" ] && { [ \"$part\" = any ] || [ \"$(probe LABEL \"$d\")\" = \"$label\" ]; }; then\n\t\t\techo \"fs_setup: $d already has a $fs file system; leaving it alone\"\n\t\t\texit 0\n\t\tfi\n\t\tif [ \"$type\" = part ] || [ -n \"$found\" ]; then used=1; fi\n\t\tif [ \"$type\" = part ] && [ -z \"$found\" ]; then target=$d; break; fi\n\tdone\n\tif [ -z \"$target\" ] && [ -n \"$used\" ]; then echo \"fs_setup: no free partition on $dev for $fs\" >&2; exit 1; fi\n\tdev=${target:-$dev}\n\t;;\nnone) ;;\n*)\n\tdev=$dev$part\n\tif [ \"$overwrite\" != true ] && [ \"$(probe TYPE \"$dev\")\" = \"$fs\" ] && [ \"$(probe LABEL \"$dev\")\" = \"$label\" ]; then\n\t\techo \"fs_setup: $dev already has the $fs file system; leaving it alone\"\n\t\texit 0\n\tfi\n\t;;\nesac\nmkfs=$(command -v \"mkfs.$fs\" || command -v \"mk$fs\") || { echo \"fs_setup: no mkfs.$fs command\" >&2; exit 127; }\nforce=\nif [ \"$overwrite\" = true ] || [ \"$(lsblk -dnro TYPE \"$dev\")\" = disk ]; then\n\tcase $fs in ext*) force=-F ;; btrfs | xfs | reiserfs | swap) force=-f ;; esac\nfi\nif [ -n \"$force\" ]; then set -- \"$force\" \"$@\"; fi\nif [ -n \"$label\" ]; then set -- -L \"$label\" \"$@\"; fi\nexec \"$mkfs\" \"$@\" \"$dev\""'

# Run as /bin/sh -c "$MOUNTS_SH" mounts ARG...
MOUNTS_SH='set -e
added= swap=
while [ $# -gt 0 ]; do
	dev=$1 dir=$2 type=$3
	line=$(printf '\''%s\t%s\t%s\t%s\t%s\t%s'\'' "$1" "$2" "$3" "$4" "$5" "$6")
	shift 6
	case $dev in /dev/*) if [ ! -b "$dev" ]; then echo "mounts: $dev is not a block device; skipping it"; continue; fi ;; esac
	if [ -f /etc/fstab ] && awk -v dev="$dev" '\''$1 == dev { found = 1 } END { exit !found }'\'' /etc/fstab; then
		echo "mounts: $dev is already in /etc/fstab; skipping it"
		continue
	fi
	printf '\''%s\n'\'' "$line" >>/etc/fstab
	added=1
	case $dir in /*) mkdir -p "$dir" ;; esac
	if [ "$type" = swap ]; then swap=1; fi
done
if [ -n "$swap" ]; then swapon -a; fi
if [ -n "$added" ]; then
	mount -a
	if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
fi'
MOUNTS_JSON='["/bin/sh","-c","set -e\nadded= swap=\nwhile [ $# -gt 0 ]; do\n\tdev=$1 dir=$2 type=$3\n\tline=$(printf '\''%s\\t%s\\t%s\\t%s\\t%s\\t%s'\'' \"$1\" \"$2\" \"$3\" \"$4\" \"$5\" \"$6\")\n\tshift 6\n\tcase $dev in /dev/*) if [ ! -b \"$dev\" ]; then echo \"mounts: $dev is not a block device; skipping it\"; continue; fi ;; esac\n\tif [ -f /etc/fstab ] && awk -v dev=\"$dev\" '\''$1 == dev { found = 1 } END { exit !found }'\'' /etc/fstab; then\n\t\techo \"mounts: $dev is already in /etc/fstab; skipping it\"\n\t\tcontinue\n\tfi\n\tprintf '\''%s\\n'\'' \"$line\" >>/etc/fstab\n\tadded=1\n\tcase $dir in /*) mkdir -p \"$dir\" ;; esac\n\tif [ \"$type\" = swap ]; then swap=1; fi\ndone\nif [ -n \"$swap\" ]; then swapon -a; fi\nif [ -n \"$added\" ]; then\n\tmount -a\n\tif [ -d /run/systemd/system ]; then systemctl daemon-reload; fi\nfi"'

# Run as /bin/sh -c "$USERADD_SH" useradd ARG...
USERADD_SH='set -e
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
exec useradd "$user" "$@"'
USERADD_JSON='["/bin/sh","-c","set -e\nuser=$1\nshift\nif getent passwd \"$user\" >/dev/null; then\n\techo \"user $user already exists; not creating it\"\n\texit 0\nfi\nwhile [ \"$1\" != -- ]; do\n\tgetent group \"$1\" >/dev/null || groupadd \"$1\"\n\tshift\ndone\nshift\nexec useradd \"$user\" \"$@\""'

# Run as /bin/sh -c "$SUDO_SH" sudo ARG...
SUDO_SH='set -e
user=$1
shift
file=/etc/sudoers.d/90-cloud-init-users
mkdir -p /etc/sudoers.d
chmod 0750 /etc/sudoers.d
{
	printf '\''\n# User rules for %s\n'\'' "$user"
	for rule; do printf '\''%s %s\n'\'' "$user" "$rule"; done
} >>"$file"
chmod 0440 "$file"'
SUDO_JSON='["/bin/sh","-c","set -e\nuser=$1\nshift\nfile=/etc/sudoers.d/90-cloud-init-users\nmkdir -p /etc/sudoers.d\nchmod 0750 /etc/sudoers.d\n{\n\tprintf '\''\\n# User rules for %s\\n'\'' \"$user\"\n\tfor rule; do printf '\''%s %s\\n'\'' \"$user\" \"$rule\"; done\n} >>\"$file\"\nchmod 0440 \"$file\""'

# Run as /bin/sh -c "$SSH_AUTHORIZED_KEYS_SH" ssh_authorized_keys ARG...
SSH_AUTHORIZED_KEYS_SH='set -e
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
for key; do grep -qxF -- "$key" "$file" || printf '\''%s\n'\'' "$key" >>"$file"; done
chmod 0600 "$file"
chown "$user:$group" "$file"'
SSH_AUTHORIZED_KEYS_JSON='["/bin/sh","-c","set -e\nuser=$1\nshift\nhome=$(getent passwd \"$user\" | cut -d: -f6)\nif [ -z \"$home\" ]; then echo \"user $user has no home directory\" >&2; exit 1; fi\ngroup=$(id -g \"$user\")\nmkdir -p \"$home/.ssh\"\nchmod 0700 \"$home/.ssh\"\nchown \"$user:$group\" \"$home/.ssh\"\nfile=$home/.ssh/authorized_keys\ntouch \"$file\"\nfor key; do grep -qxF -- \"$key\" \"$file\" || printf '\''%s\\n'\'' \"$key\" >>\"$file\"; done\nchmod 0600 \"$file\"\nchown \"$user:$group\" \"$file\""'

# Run as /bin/sh -c "$NTP_SH" ntp ARG...
NTP_SH='if [ -x /lib/systemd/systemd-timesyncd ]; then exec systemctl try-restart systemd-timesyncd.service; fi
echo "systemd-timesyncd is not installed; no time daemon to restart"'
NTP_JSON='["/bin/sh","-c","if [ -x /lib/systemd/systemd-timesyncd ]; then exec systemctl try-restart systemd-timesyncd.service; fi\necho \"systemd-timesyncd is not installed; no time daemon to restart\""'

# init stage: bootcmd
step 'bootcmd[0]: echo "booting $(hostname)" > /run/boot-marker' '["/bin/sh","-c","echo \"booting $(hostname)\" > /run/boot-marker"]' '/bin/sh' '-c' 'echo "booting $(hostname)" > /run/boot-marker'
step 'bootcmd[1]: mkdir -p /var/lib/etcd' '["mkdir","-p","/var/lib/etcd"]' 'mkdir' '-p' '/var/lib/etcd'

# init stage: write_files
step 'write_files[0]: /etc/motd' '' write_file '/etc/motd' 0644 'root:root' replace '
V2VsY29tZSB0byBhIHBvZGNsdXN0ZXIgbm9kZS4K'
step 'write_files[1]: /usr/local/bin/hello' '' write_file '/usr/local/bin/hello' 0755 'root:root' replace '
IyEvYmluL3NoCmVjaG8gaGVsbG8K'
step 'write_files[2]: /etc/sysctl.d/99-podcluster.conf' '' write_file '/etc/sysctl.d/99-podcluster.conf' 0644 'root:root' append '
bmV0LmlwdjQuaXBfZm9yd2FyZCA9IDEK'

# init stage: disk_setup and fs_setup
step 'disk_setup: /dev/vdb' "$DISK_SETUP_JSON"',"disk_setup","/dev/vdb","gpt","false","partitions","50:8200","50:"]' /bin/sh -c "$DISK_SETUP_SH" 'disk_setup' '/dev/vdb' 'gpt' 'false' 'partitions' '50:8200' '50:'
step 'fs_setup[0]: ext4 on /dev/vdb' "$FS_SETUP_JSON"',"fs_setup","/dev/vdb","auto","ext4","etcd_disk","false","","-E","lazy_itable_init=1"]' /bin/sh -c "$FS_SETUP_SH" 'fs_setup' '/dev/vdb' 'auto' 'ext4' 'etcd_disk' 'false' '' '-E' 'lazy_itable_init=1'
step 'fs_setup[1]: swap on /dev/vdb' "$FS_SETUP_JSON"',"fs_setup","/dev/vdb","1","swap","swap","true",""]' /bin/sh -c "$FS_SETUP_SH" 'fs_setup' '/dev/vdb' '1' 'swap' 'swap' 'true' ''

# init stage: mounts
step 'mounts: 2 fstab entries' "$MOUNTS_JSON"',"mounts","LABEL=etcd_disk","/var/lib/etcddisk","auto","defaults,nofail,_netdev,comment=cloudconfig","0","2","/dev/vdb1","none","swap","sw,comment=cloudconfig","0","0"]' /bin/sh -c "$MOUNTS_SH" 'mounts' 'LABEL=etcd_disk' '/var/lib/etcddisk' 'auto' 'defaults,nofail,_netdev,comment=cloudconfig' '0' '2' '/dev/vdb1' 'none' 'swap' 'sw,comment=cloudconfig' '0' '0'

# init stage: users
step 'users[0]: create user operator' "$USERADD_JSON"',"useradd","operator","adm","docker","--","--comment","Node Operator","--groups","adm,docker","--password","$6$rounds=4096$saltsalt$hashedpassword","--shell","/bin/bash","-m"]' /bin/sh -c "$USERADD_SH" 'useradd' 'operator' 'adm' 'docker' '--' '--comment' 'Node Operator' '--groups' 'adm,docker' '--password' '$6$rounds=4096$saltsalt$hashedpassword' '--shell' '/bin/bash' '-m'
step 'users[0]: sudo rules for operator' "$SUDO_JSON"',"sudo","operator","ALL=(ALL) NOPASSWD:ALL"]' /bin/sh -c "$SUDO_SH" 'sudo' 'operator' 'ALL=(ALL) NOPASSWD:ALL'
step 'users[0]: ssh keys for operator' "$SSH_AUTHORIZED_KEYS_JSON"',"ssh_authorized_keys","operator","ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests operator@example"]' /bin/sh -c "$SSH_AUTHORIZED_KEYS_SH" 'ssh_authorized_keys' 'operator' 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests operator@example'
step 'users[1]: create user auditor' "$USERADD_JSON"',"useradd","auditor","--","--home","/srv/auditor","--gid","auditors","-m"]' /bin/sh -c "$USERADD_SH" 'useradd' 'auditor' '--' '--home' '/srv/auditor' '--gid' 'auditors' '-m'
step 'users[1]: lock the password of auditor' '["passwd","-l","auditor"]' 'passwd' '-l' 'auditor'

# config stage: ntp
step 'ntp: /etc/systemd/timesyncd.conf.d/cloud-init.conf' '' write_file '/etc/systemd/timesyncd.conf.d/cloud-init.conf' 0644 'root:root' replace '
IyBXcml0dGVuIGZyb20gdGhlIGNsb3VkLWNvbmZpZydzIG50cCBtb2R1bGUuCltUaW1lXQpOVFA9
dGltZTEuZXhhbXBsZS5jb20gdGltZTIuZXhhbXBsZS5jb20K'
step 'ntp: restart systemd-timesyncd if it runs' "$NTP_JSON"',"ntp"]' /bin/sh -c "$NTP_SH" 'ntp'

# final stage: deferred write_files
step 'write_files[3]: /etc/kubernetes/after-users.conf' '' write_file '/etc/kubernetes/after-users.conf' 0640 'operator:operator' replace '
d3JpdHRlbiBpbiB0aGUgZmluYWwgc3RhZ2UsIG9uY2UgdXNlcnMgZXhpc3QK'

# final stage: runcmd
step 'runcmd[0]: kubeadm join phase preflight --ignore-preflight-errors=all' '["/bin/sh","-c","kubeadm join phase preflight --ignore-preflight-errors=all"]' '/bin/sh' '-c' 'kubeadm join phase preflight --ignore-preflight-errors=all'
step 'runcmd[1]: kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml --ignore-preflight-errors=NumCPU' '["kubeadm","join","--config","/run/kubeadm/kubeadm-join-config.yaml","--ignore-preflight-errors=NumCPU,SystemVerification,Swap,FileContent--proc-sys-net-bridge-bridge-nf-call-iptables"]' 'kubeadm' 'join' '--config' '/run/kubeadm/kubeadm-join-config.yaml' '--ignore-preflight-errors=NumCPU,SystemVerification,Swap,FileContent--proc-sys-net-bridge-bridge-nf-call-iptables'

printf '==> bootstrap script finished\n' | tee -a "$LOG"
