package mgmtnode

import (
	"encoding/json"
	"fmt"
	"net/netip"
)

// The management node's network, inside its own network namespace: a bridge
// whose address is the node's, and the node Pods' addresses. These private
// addresses exist only inside that namespace, which has no route out.
const (
	// BridgeName is the management node's bridge; node Pods hang off it.
	BridgeName = "cni0"
	// NodeIP is the bridge's address, the management Node's InternalIP and the
	// node Pods' gateway.
	NodeIP = "10.71.0.1"
	// PodSubnet holds the node Pods' addresses.
	PodSubnet = "10.71.0.0/16"
	// CgroupRootPrefix names the cgroup under which the management kubelet
	// puts its Pods, in every hierarchy: /podcluster-<node name>.
	CgroupRootPrefix = "podcluster-"
	// LoadBalancerSubnet is where the node Pods' view of the LoadBalancer
	// addresses lives, inside the management node's network namespace: the
	// /16 of the loopback addresses the host uses is mapped onto it, host bits
	// kept (127.71.1.1 is 10.72.1.1). See loopbackPlugin.
	LoadBalancerSubnet = "10.72.0.0/16"
	// SandboxImage is the pause image of the management node's Pods. It comes
	// with the node image's preloaded images.
	SandboxImage = "registry.k8s.io/pause:3.10.2"
)

// containerdConfig is the management node's containerd: its own root, state
// and sockets under dir, the CRI plugin on (with the cgroupfs driver: the host
// does not run systemd), and CNI from the Debian plugins.
func containerdConfig(dir, cniBinDir, cniConfDir string) string {
	return fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[plugins."io.containerd.internal.v1.opt"]
  path = %[5]q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[6]q
  # No CAP_SYS_RESOURCE: containers cannot get a lower oom_score_adj than ours.
  restrict_oom_score_adj = true
  # The Pods' network namespaces are mounted under the state folder.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[7]q
    conf_dir = %[8]q
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
`, dir+"/root", dir+"/state", dir+"/containerd.sock", dir+"/containerd.sock.ttrpc", dir+"/opt", SandboxImage, cniBinDir, cniConfDir)
}

// LoadBalancerPrefix is the loopback /16 that LoadBalancer addresses from
// base come from, and so the range node Pods map onto LoadBalancerSubnet.
func LoadBalancerPrefix(base netip.Addr) netip.Prefix {
	p, _ := base.Prefix(16)
	return p
}

// PodViewOf is the address at which node Pods reach the LoadBalancer address
// ip: the same host bits in LoadBalancerSubnet.
func PodViewOf(ip netip.Addr) netip.Addr {
	b := ip.As4()
	sub := netip.MustParsePrefix(LoadBalancerSubnet).Addr().As4()
	return netip.AddrFrom4([4]byte{sub[0], sub[1], b[2], b[3]})
}

// cniConfig is a bridge network with host-local addresses, kept under
// ipamDir rather than the host's /var/lib/cni.
func cniConfig(ipamDir string) ([]byte, error) {
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "podcluster-management",
		"plugins": []any{
			// First, so that it needs no previous result; bridge ignores it.
			map[string]any{"type": loopbackPluginName},
			map[string]any{
				"type": "bridge", "bridge": BridgeName, "isGateway": true, "ipMasq": false, "hairpinMode": true,
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": ipamDir,
					"ranges":  [][]map[string]string{{{"subnet": PodSubnet, "gateway": NodeIP}}},
					"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// loopbackPluginName is the CNI plugin that lets node Pods reach the
// LoadBalancer addresses.
const loopbackPluginName = "podcluster-loopback"

// loopbackPlugin is a CNI plugin, run for every Pod of the management node
// before the bridge plugin. The host reaches a LoadBalancer at a loopback
// address (127.71.1.1:6443, say); inside a Pod that address is the Pod's own
// loopback. The plugin maps, in the Pod's network namespace, the loopback /16
// the LoadBalancer addresses come from onto LoadBalancerSubnet (NETMAP keeps
// the host bits), lets such packets leave the loopback (route_localnet) with
// the Pod's address as their source (MASQUERADE). In the management node's
// namespace LoadBalancerSubnet is local, and podcluster listens there too. So
// the control-plane endpoint is the same address:port on the host and in every
// node Pod, and joins work, with nothing changed on the host.
//
// %[1]s is the loopback /16 (127.71.0.0/16), %[2]s LoadBalancerSubnet.
const loopbackPlugin = `#!/bin/sh
# podcluster-loopback: written by podcluster up --runtime=real (mgmtnode).
cat >/dev/null
fail() {
  printf '{"cniVersion":"1.0.0","code":999,"msg":"podcluster-loopback: %%s"}' "$1"
  exit 1
}
case "$CNI_COMMAND" in
ADD)
  out=$(nsenter --net="$CNI_NETNS" /bin/sh -c '
    set -e
    echo 1 >/proc/sys/net/ipv4/conf/all/route_localnet
    iptables -w -t nat -A OUTPUT -d %[1]s -p tcp -j NETMAP --to %[2]s
    iptables -w -t nat -A POSTROUTING -s 127.0.0.0/8 -d %[2]s -j MASQUERADE' 2>&1) || fail "$(echo "$out" | tr -d '"\' | tr '
' ' ')"
  printf '{"cniVersion":"1.0.0"}'
  ;;
VERSION)
  printf '{"cniVersion":"1.0.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0"]}'
  ;;
esac
`

// kubeletConfig is the management kubelet's configuration. The settings that
// matter on hosts like the CI's (cgroup v1, no CAP_SYS_RESOURCE, no systemd as
// PID 1) are explained inline.
func kubeletConfig(in kubeletInput) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# The host's PID 1 is not systemd here; containerd uses cgroupfs as well.
cgroupDriver: cgroupfs
# Every Pod cgroup lives below this one, so that a stopped node leaves
# nothing behind that cannot be found and removed.
cgroupRoot: %[1]q
# Since 1.35 the kubelet refuses cgroup v1 unless told otherwise.
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: %[2]q
podLogsDir: %[3]q
# The node Pods' resolv.conf: a name server inside the management node's
# namespace that answers nothing, so that lookups fail at once and nothing is
# sent off the machine.
resolvConf: %[4]q
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
  x509:
    clientCAFile: %[5]q
# The kubelet's port is reachable only inside the management node's network
# namespace, and only with a client certificate of the plane's CA.
authorization:
  mode: AlwaysAllow
readOnlyPort: 0
# The node image is imported, never pulled: it must not be collected, and a
# full disk must not evict the nodes.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  nodefs.available: "0%%"
  nodefs.inodesFree: "0%%"
  imagefs.available: "0%%"
  memory.available: "0%%"
`, in.cgroupRoot, in.runtimeEndpoint, in.podLogsDir, in.resolvConf, in.clientCAFile)
}

type kubeletInput struct {
	cgroupRoot, runtimeEndpoint, podLogsDir, resolvConf, clientCAFile string
}
