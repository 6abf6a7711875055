// Package nodepod builds the privileged Pod that is one workload-cluster Node, and
// the small files of its boot path. It is pure: it makes objects and text, and
// calls no API.
//
// # The node Pod
//
// A node Pod runs a kind node image (systemd as PID 1, containerd, the kubelet)
// in one privileged container, [ContainerName]. The shape follows what a node
// needs on the management cluster's machines (docs/real-nodes.md):
//
//   - /var is an emptyDir, not the container's overlay root: containerd's own
//     overlays cannot sit on an overlay. /var/lib/containerd and, on control
//     planes, /var/lib/etcd are volumes of their own: a PersistentVolumeClaim when
//     the KubernetesMachine has a volumeClaimTemplate of that name, else an
//     emptyDir. A template is honoured on any machine, so a worker with a
//     var-lib-etcd template gets the claim too.
//   - The image keeps content under /var (kind images keep their preloaded images
//     in /var/lib/containerd) that those volumes would hide. An init container,
//     seed-volumes, runs the same image with the volumes mounted apart
//     (/seed/var, /seed/var-lib-containerd, ...) and copies the image's
//     directories into the volumes that are still empty (see files/seed-volumes.sh).
//     This works with any node image; nothing has to be prepared at build time.
//     A claim that already holds data is never overwritten.
//   - /run and /tmp are memory emptyDirs; /lib/modules is the host's, read-only,
//     of type DirectoryOrCreate because some hosts have none.
//   - No service-account token is mounted: it would create /var/run/secrets inside
//     the /var volume, and /var/run would stop being the /run symlink.
//   - tty, the environment container=docker, restartPolicy Never, and the stop
//     signal SIGRTMIN+3 (lifecycle.stopSignal, where the management cluster
//     supports it; kind images also declare it as their STOPSIGNAL).
//
// # The boot path
//
// The KubernetesMachine controller stores a Secret, [BootstrapSecretName], with
// bootstrap.sh (the converted cloud-config) and the files of [BootFiles]. The Pod
// mounts it read-only at [BootMountPath]. The node container runs entrypoint.sh,
// which
//
//  1. re-executes itself under `unshare --cgroup`, so that the node has a cgroup
//     namespace of its own (CRI runtimes give privileged containers none);
//  2. gives /run and /tmp their usual modes;
//  3. installs podcluster-bootstrap.path and .service, enables the path unit, sets
//     systemd's DefaultTimeoutStopSec to 10s, and masks systemd-sysctl and the
//     gettys;
//  4. makes /proc/sys read-only, except /proc/sys/net, which belongs to the Pod's
//     network namespace, and presents the kernel settings the kubelet insists on
//     from files, so that nothing in the node changes the host's kernel;
//  5. execs kind's /usr/local/bin/entrypoint /sbin/init, or /sbin/init.
//
// Once containerd's socket exists the path unit starts the bootstrap service. On
// success bootstrap.sh creates [BootstrapSuccessFile]; the node container's
// startupProbe looks for it, so containerStatuses[].started means that bootstrap
// succeeded, without the controller exec'ing into the Pod. On failure the unit's
// FailureAction=exit makes systemd exit with [BootstrapFailedExitCode]: the Pod
// terminates, and its termination message (written by bootstrap.sh, or by
// bootstrap-stopped.sh when the script could not report) says why.
package nodepod
