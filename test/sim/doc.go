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
//     /readyz answers, as its readiness probe would.
//   - A stacked control plane, for a cluster whose init ClusterConfiguration
//     has etcd.local: every control-plane node runs a real etcd member
//     (named after its Node, on the Pod's IP, ports 2379/2380/2381, TLS
//     from the etcd CA the boot wrote, data in the Pod's scratch directory)
//     and a kube-apiserver of its own on that member, on the Pod's IP. Init
//     founds the etcd cluster; a control-plane join adds its member (a
//     member add, as kubeadm join does, then
//     --initial-cluster-state=existing). The LoadBalancer address becomes a
//     TCP load balancer over the API servers that pass a /readyz health
//     check. The kubeadm-config ConfigMap is written. [StopEtcdAnnotation]
//     stops a node's member until it goes. Every control-plane node runs the
//     components below on its own API server, with leader election, as
//     kubeadm lays them out, so that the cluster keeps them when any node
//     goes (a rollout replaces them all); the kubelets of the cluster's Pods
//     run next to one API server at a time, and move to another within a
//     heartbeat when it stops.
//   - The rest of the control plane, once the API server serves: a real
//     kube-controller-manager and kube-scheduler ([Runtime.Components],
//     both by default), with the flags of kubeadm's manifests that matter
//     (the controller-manager signs with the cluster CA, issues service
//     account tokens with sa.key, runs every controller plus bootstrapsigner
//     and tokencleaner with per-controller service accounts) and the
//     credentials kubeadm gives them: client certificates of
//     system:kube-controller-manager and system:kube-scheduler signed by the
//     cluster CA, in controller-manager.conf and scheduler.conf in the Pod's
//     scratch directory, next to their logs (<component>.log). Neither
//     serves (--secure-port=0); they elect a leader only on a stacked
//     control plane, where every node runs a pair. So service accounts and
//     their tokens exist, the scheduler binds Pods to Nodes that fit them,
//     Deployments, ReplicaSets and garbage collection work, and the node
//     lifecycle controller marks silent Nodes Unknown and lifts the
//     not-ready taint of Ready ones. A component that exits is started
//     again with a back-off, as the kubelet restarts a static Pod; all of
//     them stop with the API server: when its Pod is deleted or lost, on an
//     injected crash, and when the runtime stops. Resident memory per
//     workload cluster, measured once the seed's cluster (4 Nodes, 3 Pods)
//     settled: kube-apiserver about 270 MiB, kube-controller-manager about
//     105 MiB, kube-scheduler about 50 MiB.
//   - Static Pods: a control-plane node that runs an API server has the
//     mirror Pods of the static Pods the runtime runs a process for, in
//     kube-system, named <component>-<node>, owned by the Node and annotated
//     kubernetes.io/config.mirror: etcd (stacked only), kube-apiserver and
//     the components above. Their status is the process's, as the node's
//     kubelet reports it: Running and Ready while it runs (the API server
//     also needs /readyz, with kubeadm's probe failure threshold of 3);
//     while it is down, Running but not Ready, the container waiting in
//     CrashLoopBackOff with its last exit (143 for SIGTERM) and a restart
//     count. Each node looks at its processes and its mirror Pods every
//     heartbeat, and at once when its Pods are written or its etcd member
//     stopped or started, and writes a mirror Pod only when its status says
//     otherwise than its process (a status someone else wrote, such as the
//     controller-manager marking a silent Node's Pods not ready, is put
//     right). A control-plane join without an API server of its own (not
//     stacked) runs no static Pod and has no mirror Pod. The kubelet of a
//     stacked control-plane node (its Node, Lease and mirror Pods) reaches
//     the cluster through the control-plane endpoint, as kubeadm's
//     kubelet.conf does without ControlPlaneKubeletLocalMode, so that a
//     stopped etcd member shows as its etcd Pod crash-looping while the Node
//     stays Ready; its controller-manager and scheduler use its own API
//     server, as kubeadm's manifests do.
//   - kubeadm join: the cluster CA (from the cluster's <cluster>-kubeconfig
//     Secret in the management cluster, standing in for cluster-info) must
//     match one of discovery.bootstrapToken.caCertHashes, unless
//     unsafeSkipCAVerification; the API server at apiServerEndpoint must
//     serve with that CA and accept the bootstrap token (the real API
//     server's token authenticator checks the bootstrap-token-<id> Secret,
//     its secret, usage and expiry). Otherwise the boot fails with a message
//     that says which check refused it, and no Node appears.
//   - The kubelet's registration: the Node is named as kubeadm names it
//     (nodeRegistration.name, else the Pod's hostname; a name that is not a
//     DNS subdomain, such as a Jinja expression nobody rendered, fails the
//     boot as kubeadm's validation would), with the node-labels
//     of kubeletExtraArgs, kubeadm's control-plane label and taint (or
//     nodeRegistration.taints when set), no providerID, and the status a
//     kubelet reports: Ready and no pressure; addresses InternalIP (the Pod
//     IP) and Hostname; capacity and allocatable (equal: nothing is
//     reserved) from the node container's resources as the
//     KubernetesMachineTemplate reports them (cpu and memory limits, else
//     requests, and pods 110), where a resource the container does not bound
//     is this host's (its cpu count and MemTotal), as a kubelet in an
//     unbounded container sees the machine; kubeletVersion and
//     kubeProxyVersion from the kubeadm config's kubernetesVersion (init),
//     else the node image's tag (join). The not-ready taint the API server
//     puts on a new Node is left to the controller-manager; without one
//     (Components without ControllerManager) it is lifted by hand.
//   - Heartbeats: while a booted node's Pod runs, its kubelet renews the
//     Node's Lease in kube-node-lease every [Runtime.HeartbeatInterval]
//     (default 5s; the Lease lasts four intervals) and posts the Node's
//     conditions when they changed (an injected NotReady, or the
//     controller-manager marked a live Node Unknown) or every
//     [Runtime.NodeStatusReportInterval] (default 1m), refreshing the Ready
//     condition's lastHeartbeatTime. One loop serves every node; it reads
//     the Nodes from a watch of each cluster's Nodes, not with a GET per
//     beat (the kubelet GETs its Node, from the API server's cache, once
//     per status update). The
//     controller-manager runs with --node-monitor-grace-period
//     [Runtime.NodeMonitorGracePeriod] (default 20s) and
//     --node-monitor-period [Runtime.NodeMonitorPeriod] (default 2s): the
//     kubelet's and controller-manager's ratios (10s, 40s Lease, 50s grace,
//     5s period) at about half the time. A node whose Pod crashes, is lost
//     or is deleted stops heartbeating, and the real controller-manager
//     marks its Node Ready=Unknown within grace plus period of its last
//     heartbeat; the Machine's NodeReady and NodeHealthy follow.
//   - Pods in workload clusters: once the scheduler binds a Pod to a Node
//     whose node Pod runs, the Node's kubelet reports it Running: its init
//     containers completed, its containers started and ready, the Pod Ready,
//     hostIP the Node's, podIP a loopback address of its own (from
//     [Runtime.WorkloadPodIPBase], 127.3.0.1 upwards in each cluster; the
//     Node's address with hostNetwork). A Pod being deleted there is removed
//     at once (grace 0). Pods on a Node whose node Pod is gone are left to
//     the controller-manager (marked not ready, evicted by taint, collected
//     once the Node goes), as a dead kubelet leaves them.
//   - A cloud's node lifecycle controller: when a node Pod is deleted or
//     lost, its Node is deleted from the workload cluster if that can be
//     reached, so a Machine deleted while its node joins leaves no Node.
//   - Resume: a runtime started again on the same ScratchDir (podcluster up
//     on an existing state directory) finds the nodes an earlier one booted
//     from what their boots recorded (node.json in the Pod's scratch
//     directory: the Node's name, the kubeadm config, and for kubeadm init
//     the API server's address and etcd prefix). The API server comes back
//     at the same address with the same CA and keys (its serving certificate
//     is signed afresh) over the data kept in etcd, with its components, and
//     every node registers again and heartbeats, as a restarted kubelet.
//     Scratch directories of Pods deleted meanwhile are removed.
//   - Deleted clusters leave no state: once a Cluster is gone (or being
//     deleted) and none of its node Pods remain, every etcd key under its
//     prefix is deleted, so a Cluster created again under the same name
//     shows only its own Nodes. Which Cluster (by UID) owns a prefix is
//     recorded at kubeadm init under ScratchDir/.clusters, so that a Cluster
//     deleted while the runtime was down, or re-created before the cleanup
//     ran, is handled too.
//   - The Pod status the provider reads: on success the node container is
//     started and ready and the Pod Ready; on failure the container is
//     terminated with [nodepod.BootstrapFailedExitCode] and the termination
//     message the script wrote (the failing step and its output), and the Pod
//     Failed, as restartPolicy Never makes it.
//   - Failure injection, by annotations on the Pod or on its
//     KubernetesMachine (same namespace and name): [FailBootstrapAnnotation]
//     makes the boot fail with the annotation's value as the termination
//     message; [FailCommandAnnotation] makes each boot command whose
//     printed argv holds the annotation's value fail (the boot script's
//     PODCLUSTER_BOOT_DRY_RUN_FAIL), and the script's own rules decide
//     whether the boot goes on (a failing runcmd entry does, kubeadm init or
//     join does not); on a booted node, [CrashAnnotation] makes the node container
//     exit with [CrashExitCode] (the Pod fails, its heartbeats stop and its
//     API server and components, if any, stop), [LosePodAnnotation] makes
//     the Pod disappear, and [NodeNotReadyAnnotation] makes its kubelet
//     report the Node Ready=False until the annotation goes.
//   - Process hygiene: every process the runtime starts (boot scripts, API
//     servers, components) leads a process group of its own, which is sent
//     SIGTERM and then SIGKILL to stop it, and gets SIGKILL from the kernel
//     when the runtime's process dies, even by kill -9 (Pdeathsig; strictly,
//     when the OS thread that started it ends, which the Go runtime does not
//     do on its own).
//
// # What it cannot play
//
//   - Scheduling of node Pods: it runs them whether or not spec.nodeName is
//     set, and binds none, since there are no management Nodes to bind to.
//   - Anything else a command would do: bootcmd, runcmd, users, ntp, mounts,
//     disk setup are printed by the script, not run. Of kubeadm init only the
//     control plane above runs: without etcd.local no etcd of the node's
//     own (one shared etcd, a prefix per cluster), no addons (CoreDNS,
//     kube-proxy), no cluster-info, kubeadm's RBAC, bootstrap token or
//     kubeadm-config ConfigMap, and a joining control plane registers its
//     Node but starts no API server: the cluster has one.
//   - kubeadm's waits: a join that discovery or the token refuses fails at
//     once, where kubeadm retries until its discovery timeout.
//   - The kubelet's TLS bootstrap: Nodes register and heartbeat with the
//     cluster's admin credentials (minted from ca.key on init, from the
//     kubeconfig Secret on join), not with a kubelet certificate from a CSR,
//     so the Node authorizer and NodeRestriction do not apply to them.
//   - Other probes: a worker's readiness probe (the sentinel) is taken as
//     passing once the boot succeeded; workload Pods' probes and readiness
//     gates are not evaluated.
//   - Container processes: nothing runs in node Pods or in workload Pods, so
//     there are no logs, no exec or port-forward (nothing listens on the
//     kubelet port), no traffic to Pod IPs or through Services, no resource
//     accounting or pressure, Pods never complete (a Job never finishes),
//     and volumes are not populated (the boot root starts empty on every
//     boot, as the node's emptyDirs would).
//   - A kubelet that outlives its Node: a Node deleted while its node Pod
//     runs stays gone until the node boots again or the runtime restarts.
//   - A crashing workload API server is not restarted: once booted, it
//     runs until its node Pod goes or the runtime stops (components are
//     restarted, see above).
//   - The KubernetesMachine and Cluster CRDs must be installed: the kubelet
//     controller watches KubernetesMachines for injected failures, and the
//     cluster controller watches Clusters to clean up after them.
package sim
