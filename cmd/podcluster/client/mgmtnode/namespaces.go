package mgmtnode

// namespacesScript runs as the first process of the management node's new
// network and mount namespaces (unshare --net --mount, propagation private),
// and holds them until it is killed. containerd and the kubelet join both
// namespaces (nsenter), so every mount they make (container roots, volumes,
// the Pods' network namespaces) stays private and goes away with the
// namespaces, and every interface, route and address they make lives in the
// management node's network namespace only.
//
// $1 is the management node's state folder. The script prints "ready" once
// the namespaces are set up.
const namespacesScript = `set -eu
dir=$1

# The network: loopback, and a bridge whose address is the node's. The
# namespace has no other interface, so nothing here can reach off the machine.
ip link set lo up
ip link add ` + BridgeName + ` type bridge
ip address add ` + NodeIP + `/16 dev ` + BridgeName + `
ip link set ` + BridgeName + ` up
# The node Pods' view of the LoadBalancer addresses (see loopbackPlugin): the
# whole range is local here, and podcluster listens on the addresses in use.
ip route add local ` + LoadBalancerSubnet + ` dev lo
# Only this namespace's settings (/proc/sys/net follows the opener's network
# namespace).
echo 1 >/proc/sys/net/ipv4/ip_forward

# Private runtime folders: containerd's shim sockets, FIFOs and runc state go
# to /run, the CNI plugins' cache to /var/lib/cni. A folder the host lacks is
# created (and recorded, so that stopping removes it again) only to mount on.
mount -t tmpfs -o mode=0755,nosuid,nodev podcluster-run /run
for d in /var/lib/cni /lib/modules; do
  if [ ! -e "$d" ]; then
    mkdir -p "$d"
    echo "$d" >>"$dir/created-dirs"
  fi
done
mount -t tmpfs -o mode=0755,nosuid,nodev podcluster-cni /var/lib/cni
# /lib/modules: node Pods mount it from the host (hostPath DirectoryOrCreate),
# read-only. Where the host has none, they see an empty one.
if grep -qx /lib/modules "$dir/created-dirs" 2>/dev/null; then
  mount -t tmpfs -o ro,mode=0755,nosuid,nodev podcluster-modules /lib/modules
fi

# The host's kernel settings. The kubelet sets a few tunables unless they
# already hold the values it wants; here it sees those values from files, and
# the rest of /proc/sys, except /proc/sys/net, is read-only. Nothing the
# management node does can change the host's settings.
mount --bind /proc/sys /proc/sys
mount --bind /proc/sys/net /proc/sys/net
mount -o remount,bind,rw,nosuid,nodev,noexec /proc/sys/net
mkdir -p "$dir/sysctl"
for setting in vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1 \
  kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000; do
  key=${setting%%=*} value=${setting#*=}
  [ -f "/proc/sys/$key" ] || continue
  file="$dir/sysctl/$(echo "$key" | tr / .)"
  echo "$value" >"$file"
  mount --bind "$file" "/proc/sys/$key"
done
mount -o remount,bind,ro,nosuid,nodev,noexec /proc/sys

echo ready
exec sleep infinity
`
