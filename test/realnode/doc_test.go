// Package realnode proves podcluster's node image (hack/node-image) on a real
// kernel: it runs the image the way a node Pod runs it, with podcluster's own
// boot path (the boot Secret's entrypoint, path unit and bootstrap service) and
// the bootstrap data podcluster's kubeadm bootstrap provider renders for the
// first control-plane machine, and checks that `kubeadm init` makes a Ready
// node whose control plane runs.
//
// There is no management cluster here: a private containerd (own root, state
// and sockets under a temporary folder, the host's Debian containerd and runc)
// plays the management node's kubelet, and the test gives the container what
// the node Pod spec would (infrastructure/kubernetes/nodepod): a volume on
// /var, /var/lib/containerd and /var/lib/etcd seeded by seed-volumes.sh, memory
// file systems on /run and /tmp, the boot files read-only on /podcluster, and a
// network namespace of its own.
//
// The test needs root, Linux, the Debian packages of hack/ensure-test-packages.sh
// and the node image (hack/node-image/build.sh); it skips, saying why, where
// one is missing. It leaves nothing behind (container, mount, cgroup, shim
// socket) and checks that, and that the host's kernel settings outside
// /proc/sys/net are the same after the run as before.
package realnode
