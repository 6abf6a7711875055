// Package mgmtnode runs a management node for the local plane of `podcluster
// up --runtime=real`: Debian's containerd and the pinned kubelet, registered
// with the plane as a Node, so that the infrastructure provider's node Pods
// run for real on this host.
//
// Host safety comes first. The node lives in network and mount namespaces of
// its own, held by a small process (namespaces.go): its interfaces, routes and
// mounts never appear on the host and go away with it, /proc/sys outside net
// is read-only to it, and its Pods' cgroups live under one cgroup per
// hierarchy that Stop removes. Traffic crosses between the host and the node
// only through podcluster's own TCP forwarders, whose sockets are made inside
// the namespace that they serve (netns.go): the plane's API server for the
// kubelet, and each LoadBalancer Service's address for the host and for the
// node Pods (loadbalancer.go, and the CNI plugin in config.go).
//
// See docs/real-nodes.md for the design and the measurements.
package mgmtnode
