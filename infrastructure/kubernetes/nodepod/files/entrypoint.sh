#!/bin/bash
# entrypoint.sh is the first process of a podcluster node container. It prepares
# the container the way a node needs it on the management cluster and then
# becomes the node's init (systemd), so that systemd is PID 1. It runs once per
# container: the node Pod never restarts its containers.
#
# It stays in the node's bash and coreutils/util-linux; the node image provides
# them (kind node images do).
set -o errexit -o nounset -o pipefail

readonly boot_dir=/podcluster
readonly state_dir=/run/podcluster

log() { echo "podcluster-entrypoint: $*" >&2; }

# 1. A private cgroup namespace. CRI runtimes give privileged containers none;
# on cgroup v1 the controller mounts are then bind mounts of the container's own
# cgroup while /proc/self/cgroup shows the host's path, and the kubelet inside
# the node fails. unshare(CLONE_NEWCGROUP) roots a new namespace at the current
# cgroup and needs no fork, so PID 1 stays PID 1 through the exec. The marker
# keeps the second pass from unsharing again.
if [[ "${PODCLUSTER_CGROUPNS:-}" != private ]]; then
  if ! command -v unshare >/dev/null; then
    log "unshare (util-linux) is missing from the node image; it is needed for a private cgroup namespace"
    exit 1
  fi
  log "entering a private cgroup namespace"
  export PODCLUSTER_CGROUPNS=private
  exec unshare --cgroup -- /bin/bash "${BASH_SOURCE[0]}" "$@"
fi
unset PODCLUSTER_CGROUPNS

# 2. The volumes. The Pod mounts memory emptyDirs on /run and /tmp and an
# emptyDir on /var that the seed-volumes init container filled from the image.
# emptyDirs start out 0777; give them the modes of a real system.
chmod 0755 /run
chmod 1777 /tmp
mkdir -p "$state_dir"
if [[ -e /var/run && ! -L /var/run ]]; then
  log "warning: /var/run is not a symlink to /run; the CRI socket may not be found"
fi
# Mount propagation for the kubelet's volumes inside the node (kind's entrypoint
# does the same; doing it here covers images without it).
mount --make-rshared /

# 3. systemd: the bootstrap units, a short stop timeout, and no units that
# cannot work in a container or would change the host.
for unit in "$boot_dir"/podcluster-*.path "$boot_dir"/podcluster-*.service; do
  [[ -e "$unit" ]] || continue
  install -D -m 0644 "$unit" "/etc/systemd/system/${unit##*/}"
done
install -D -m 0644 "$boot_dir/podcluster-system.conf" /etc/systemd/system.conf.d/10-podcluster.conf
mkdir -p /etc/systemd/system/multi-user.target.wants
ln -sfn ../podcluster-bootstrap.path /etc/systemd/system/multi-user.target.wants/podcluster-bootstrap.path
# systemd-sysctl would apply the image's sysctl.d to the host's kernel (its
# writes fail anyway once /proc/sys is read-only, and it would then fail). The
# gettys would fight over the Pod's tty.
for unit in systemd-sysctl.service getty.target console-getty.service container-getty@.service \
  getty@.service serial-getty@.service; do
  ln -sfn /dev/null "/etc/systemd/system/$unit"
done

# 4. Protect the host's kernel settings. A privileged container writes the
# host's /proc/sys, and systemd or the kubelet would change host tunables. Make
# /proc/sys read-only, but keep /proc/sys/net writable: it belongs to the Pod's
# network namespace, and kube-proxy and the CNI plugins write it.
#   a. bind /proc/sys onto itself, so that it is a mount of its own whose flags
#      can change without touching /proc;
#   b. bind /proc/sys/net onto itself while the parent is still writable (a bind
#      mount inherits the flags of its source mount), and make sure it is rw;
#   c. present the values the kubelet checks (see below) from files on /run;
#   d. remount the /proc/sys bind read-only. That changes only this mount; the
#      mounts stacked on top of it in b and c keep their own flags.
protect_proc_sys() {
  if awk '$5 == "/proc/sys" { found = 1 } END { exit !found }' /proc/self/mountinfo; then
    log "/proc/sys is already a mount of its own; leaving it as it is"
    return
  fi
  mount --bind /proc/sys /proc/sys
  mount --bind /proc/sys/net /proc/sys/net
  mount -o remount,bind,rw,nosuid,nodev,noexec /proc/sys/net
  # The kubelet sets these unless they already hold the values it wants
  # (KubeletConfiguration protectKernelDefaults: false), and fails to start when
  # it cannot. They are presented, not set: reads see the kubelet's value, writes
  # land in the file and never reach the host.
  local setting key value
  for setting in vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1 \
    kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000; do
    key=${setting%%=*} value=${setting#*=}
    [[ -f "/proc/sys/$key" ]] || continue
    mkdir -p "$state_dir/sysctl/${key%/*}"
    echo "$value" >"$state_dir/sysctl/$key"
    mount --bind "$state_dir/sysctl/$key" "/proc/sys/$key"
  done
  mount -o remount,bind,ro,nosuid,nodev,noexec /proc/sys
  log "/proc/sys is read-only except /proc/sys/net"
}
protect_proc_sys

# 5. Become the node's init. kind's entrypoint does its own fix-ups (it sees the
# private cgroup namespace and leaves the cgroup mounts alone) and then execs
# its argument.
if [[ -x /usr/local/bin/entrypoint ]]; then
  exec /usr/local/bin/entrypoint /sbin/init
fi
exec /sbin/init
