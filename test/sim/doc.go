// Package sim is the simulated runtime: on a machine without a kubelet or a
// container engine it plays the parts of the management cluster that would run
// node Pods, so that the providers can be driven end to end by tests and by
// `podcluster up`. It uses the same inputs a real node would (the Pod, the boot
// Secret the provider mounts, the Service it exposes) and never reaches into
// the providers' internals, so that it does not hide contract bugs a real node
// would expose.
//
// # What it plays
//
//   - A LoadBalancer controller: every Service of type LoadBalancer (of the
//     default class, or of [Runtime.LoadBalancerClass] when set) gets its own
//     loopback address, 127.1.0.1 upwards, in status.loadBalancer.ingress. The
//     Service status is the record of the allocation, so a restarted runtime
//     keeps every address it gave.
//   - The kubelet of node Pods (Pods labelled cluster.x-k8s.io/cluster-name
//     with a container named [nodepod.ContainerName]): a Pending Pod goes to
//     Running with a loopback podIP (127.2.0.1 upwards) and hostIP, its init
//     containers completed, the node container running but neither started nor
//     ready. A Pod being deleted is removed at once (grace period 0), as the
//     kubelet does once its containers stopped.
//   - The node's boot: it reads bootstrap.sh from the Secret
//     [nodepod.BootstrapSecretName], and runs it with bash in dry-run mode
//     (PODCLUSTER_BOOT_DRY_RUN=1) under a scratch root per Pod
//     (ScratchDir/<namespace>/<pod>/root), so every write_files entry lands
//     where the node would have it, and each command is printed, not run. A
//     failing script (an undecodable file, say) fails the boot as on a node.
//     Of the printed commands it plays the one that writes
//     [nodepod.BootstrapSuccessFile]: it writes the sentinel under the root. A
//     cloud-config without that command never gets its node started, as a real
//     node's startup probe would never pass.
//   - kubeadm init, the first kubeadm init or join among the printed commands
//     (as argv, or first in a /bin/sh -c string), with its --config file from
//     the root: it starts a real kube-apiserver (Runtime.BinDir) for the
//     workload cluster, with the CA and service-account keys the boot wrote
//     (etc/kubernetes/pki/ca.crt, ca.key, sa.key, sa.pub) and a serving
//     certificate signed by that CA. It listens on the LoadBalancer address
//     and port of the Service that selects the Pod's apiserver port (the
//     endpoint the KubernetesCluster reports), else on the Pod's IP and
//     container port. Workload API servers share one etcd (Runtime.EtcdURL)
//     under the prefix /<namespace>/<cluster>. The Pod becomes ready when
//     /readyz answers, as its readiness probe would; the API server stops
//     when the Pod goes.
//   - kubeadm join: the cluster CA (from the cluster's <cluster>-kubeconfig
//     Secret in the management cluster, standing in for cluster-info) must
//     match one of discovery.bootstrapToken.caCertHashes, unless
//     unsafeSkipCAVerification; the API server at apiServerEndpoint must
//     serve with that CA and accept the bootstrap token (the real API
//     server's token authenticator checks the bootstrap-token-<id> Secret,
//     its secret, usage and expiry). Otherwise the boot fails with a message
//     that says which check refused it, and no Node appears.
//   - The kubelet's registration: the Node is named as kubeadm names it
//     (nodeRegistration.name, else the Pod's hostname), with the node-labels
//     of kubeletExtraArgs, kubeadm's control-plane label and taint (or
//     nodeRegistration.taints when set), no providerID, its InternalIP the
//     Pod IP, and Ready. The not-ready taint the API server puts on a new
//     Node is lifted, as the node lifecycle controller would.
//   - The Pod status the provider reads: on success the node container is
//     started and ready and the Pod Ready; on failure the container is
//     terminated with [nodepod.BootstrapFailedExitCode] and the termination
//     message the script wrote (the failing step and its output), and the Pod
//     Failed, as restartPolicy Never makes it.
//   - Failure injection, by annotations on the Pod or on its
//     KubernetesMachine (same namespace and name): [FailBootstrapAnnotation]
//     makes the boot fail with the annotation's value as the termination
//     message; on a booted node, [CrashAnnotation] makes the node container
//     exit with [CrashExitCode] (the Pod fails and its API server, if any,
//     stops) and [LosePodAnnotation] makes the Pod disappear.
//
// # What it cannot play
//
//   - Scheduling: it runs Pods whether or not spec.nodeName is set, and binds
//     none, since there are no management Nodes to bind to.
//   - Anything else a command would do: bootcmd, runcmd, users, ntp, mounts,
//     disk setup are printed by the script, not run. Of kubeadm init only the
//     API server runs: no etcd of the node's own, controller-manager,
//     scheduler, addons, cluster-info, RBAC or kubeadm-config ConfigMap.
//     A joining control plane registers its Node but starts no API server.
//   - kubeadm's waits: a join that discovery or the token refuses fails at
//     once, where kubeadm retries until its discovery timeout.
//   - The kubelet's TLS bootstrap: Nodes are registered with the cluster's
//     admin credentials (minted from ca.key on init, from the kubeconfig
//     Secret on join), not with a kubelet certificate from a CSR.
//   - Node heartbeats: a Node is reported Ready once; nothing marks it
//     NotReady or deletes it when its Pod goes.
//   - Other probes: a worker's readiness probe (the sentinel) is taken as
//     passing once the boot succeeded.
//   - Container processes: nothing runs in the Pod, so there are no logs, no
//     exec, no resource accounting, and volumes are not populated (the boot
//     root starts empty on every boot, as the node's emptyDirs would).
//   - A NotReady Node cannot be injected yet.
//   - The KubernetesMachine CRD must be installed: the kubelet controller
//     watches KubernetesMachines for injected failures.
package sim
