package sim

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
)

// maxTerminationMessage is the kubelet's limit on a termination message.
const maxTerminationMessage = 4096

// The reasons the kubelet gives in the Pod and Node status it reports. They
// are the kubelet's, not podcluster's API, so they live here rather than in
// api/; k8s.io/api does not export them.
const (
	// reasonContainersNotReady is the Pod's Ready and ContainersReady reason
	// while a container is not ready.
	reasonContainersNotReady = "ContainersNotReady"
	// reasonPodFailed is the Pod's Ready and ContainersReady reason once it failed.
	reasonPodFailed = "PodFailed"
	// reasonCompleted is the terminated reason of a container that exited 0.
	reasonCompleted = "Completed"
	// reasonError is the terminated reason of a container that exited non-zero.
	reasonError = "Error"
	// reasonKubeletReady is the Node's Ready reason while the kubelet posts status.
	reasonKubeletReady = "KubeletReady"
	// reasonKubeletNotReady is the Node's Ready reason once it stopped.
	reasonKubeletNotReady = "KubeletNotReady"
)

// kubeletReconciler plays the kubelet for node Pods: it moves them from
// Pending to Running, boots them, and reports the outcome in their status.
type kubeletReconciler struct {
	client client.Client
	// apiReader reads a Pod around the cache when the cache is behind the
	// status this kubelet wrote (see written).
	apiReader client.Reader
	rt        *Runtime
	// written holds, per Pod (namespace/name), the UID and resourceVersion
	// of the last status this kubelet wrote. A reconcile woken by another event before the
	// cache shows that write would act on the old status again and fail on
	// a conflict: it reads the Pod from the API server instead.
	written sync.Map
}

// kubeletWorkers is how many node Pods the simulated kubelet starts and
// boots at once.
const kubeletWorkers = 16

func (r *kubeletReconciler) setup(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("sim-kubelet").
		For(&corev1.Pod{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			_, ok := o.GetLabels()[clusterv1.ClusterNameLabel]
			return ok
		}))).
		// A Pod whose boot Secret is missing waits for it, as a kubelet waits
		// to mount a Secret volume.
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			name, ok := strings.CutSuffix(o.GetName(), nodepod.BootstrapSecretName(""))
			if !ok || name == "" {
				return nil
			}
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
		})).
		// Failures are injected through the KubernetesMachine too.
		Watches(&infrav1.KubernetesMachine{}, &handler.EnqueueRequestForObject{}).
		// Pods deleted while the runtime was down left their scratch
		// directories (and maybe Nodes): their reconcile finds them gone.
		WatchesRawSource(source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			dirs, err := filepath.Glob(filepath.Join(r.rt.ScratchDir, "*", "*"))
			if err != nil {
				return fmt.Errorf("listing the node Pods' scratch directories: %w", err)
			}
			for _, d := range dirs {
				ns, name := filepath.Base(filepath.Dir(d)), filepath.Base(d)
				if strings.HasPrefix(ns, ".") {
					continue
				}
				q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
			}
			return nil
		})).
		// Boots run bash and take a moment, mostly waiting on the workload
		// API server; real nodes boot side by side, each on its own
		// machine, so many boot at once here too.
		WithOptions(controller.Options{MaxConcurrentReconciles: kubeletWorkers}).
		Complete(r)
}

func (r *kubeletReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	owner := "pod/" + req.String()
	pod := &corev1.Pod{}
	if err := r.client.Get(ctx, req.NamespacedName, pod); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(ctx, req.NamespacedName, owner)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("reading Pod %s: %w", req, err)
	}
	if !isNodePod(pod) {
		return ctrl.Result{}, nil
	}
	if w, ok := r.written.Load(req.String()); ok && w != (writtenStatus{pod.UID, pod.ResourceVersion}) && r.apiReader != nil {
		if err := r.apiReader.Get(ctx, req.NamespacedName, pod); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	if pod.DeletionTimestamp != nil {
		return ctrl.Result{}, r.remove(ctx, pod, owner)
	}
	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed:
		return ctrl.Result{}, nil
	case corev1.PodRunning:
		cs := containerStatus(pod, nodepod.ContainerName)
		if cs == nil || cs.State.Terminated != nil {
			return ctrl.Result{}, nil
		}
		if cs.Started != nil && *cs.Started {
			return r.running(ctx, pod, owner)
		}
		if s := r.rt.servers.get(req.String()); s != nil && s.podUID == string(pod.UID) {
			// kubeadm init is waiting for its API server.
			return r.awaitAPIServer(ctx, pod, s)
		}
		return r.boot(ctx, pod)
	default:
		return ctrl.Result{}, r.start(ctx, pod, owner)
	}
}

// isNodePod says whether pod is a node Pod of a workload cluster.
func isNodePod(pod *corev1.Pod) bool {
	if _, ok := pod.Labels[clusterv1.ClusterNameLabel]; !ok {
		return false
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == nodepod.ContainerName {
			return true
		}
	}
	return false
}

// scratch is the Pod's directory under ScratchDir.
func (r *kubeletReconciler) scratch(key types.NamespacedName) string {
	return filepath.Join(r.rt.ScratchDir, key.Namespace, key.Name)
}

// forget stops what a gone node Pod ran and deletes its Node, as a cloud's
// node lifecycle controller deletes the Node of an instance that is gone.
func (r *kubeletReconciler) forget(ctx context.Context, key types.NamespacedName, owner string) {
	r.rt.nodes.remove(key.String())
	r.written.Delete(key.String())
	r.deleteNode(ctx, key)
	// The API server and the etcd member stop side by side: each may take
	// its stop grace, and the member must not wait for the server's.
	var wg sync.WaitGroup
	wg.Go(func() { r.rt.servers.remove(key.String()) })
	wg.Go(func() { r.rt.etcd.remove(key.String()) })
	wg.Wait()
	r.rt.podAddrs.release(owner)
	_ = os.RemoveAll(r.scratch(key))
}

// remove finishes a deletion as the kubelet does once the containers stopped:
// nothing runs here, so at once.
func (r *kubeletReconciler) remove(ctx context.Context, pod *corev1.Pod, owner string) error {
	err := r.client.Delete(ctx, pod, client.GracePeriodSeconds(0), client.Preconditions{UID: &pod.UID})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting Pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	r.forget(ctx, client.ObjectKeyFromObject(pod), owner)
	return nil
}

// deleteNode deletes the Node a gone node Pod registered, when its workload
// cluster can be reached; otherwise the Node stays, as it would with a cloud
// controller that cannot reach the cluster.
func (r *kubeletReconciler) deleteNode(ctx context.Context, key types.NamespacedName) {
	log := ctrl.LoggerFrom(ctx)
	st, err := readNodeState(r.scratch(key))
	if err != nil || st == nil {
		return
	}
	cfg, err := r.rt.workloadConfig(ctx, r.client, types.NamespacedName{Namespace: key.Namespace, Name: st.Cluster})
	if err != nil || cfg == nil {
		return
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, workloadCallTimeout)
	defer cancel()
	log.Info("Deleting the Node of a gone node Pod", "node", st.Node)
	if err := cs.CoreV1().Nodes().Delete(ctx, st.Node, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		log.Info("Cannot delete the Node of a gone node Pod; it stays", "node", st.Node, "error", err.Error())
	}
}

// workloadCallTimeout bounds a call the runtime makes to a workload cluster
// on behalf of a management object.
const workloadCallTimeout = 5 * time.Second

// workloadConfig reaches a workload cluster as an admin: through its API
// server when this process runs it, else through the cluster's kubeconfig
// Secret. It is nil when neither exists.
func (r *Runtime) workloadConfig(ctx context.Context, c client.Client, cluster types.NamespacedName) (*rest.Config, error) {
	if s := r.servers.forCluster(cluster); s != nil {
		return s.restConfig(), nil
	}
	secret := &corev1.Secret{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: cluster.Namespace, Name: cluster.Name + "-kubeconfig"}, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading the kubeconfig of cluster %s: %w", cluster, err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(secret.Data["value"])
	if err != nil {
		return nil, fmt.Errorf("parsing the kubeconfig of cluster %s: %w", cluster, err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

// start moves a Pending Pod to Running: an address, the init containers done,
// the node container running but not started (its startup probe waits for the
// bootstrap sentinel).
func (r *kubeletReconciler) start(ctx context.Context, pod *corev1.Pod, owner string) error {
	secret := &corev1.Secret{}
	if err := r.client.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: nodepod.BootstrapSecretName(pod.Name)}, secret); err != nil {
		if apierrors.IsNotFound(err) {
			// The Secret watch brings the Pod back when it appears.
			ctrl.LoggerFrom(ctx).Info("Waiting for the boot Secret", "secret", nodepod.BootstrapSecretName(pod.Name))
			return nil
		}
		return fmt.Errorf("reading the boot Secret of Pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}

	ip, err := r.podIP(ctx, pod, owner)
	if err != nil {
		return err
	}
	// The node container is running but not started: its startup probe waits
	// for the bootstrap sentinel.
	runPod(pod, HostIP, ip.String(), metav1.Now(), false)
	if err := r.updateStatus(ctx, pod); err != nil {
		return fmt.Errorf("setting Pod %s/%s Running: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// podIP gives the Pod a loopback address no other node Pod has.
func (r *kubeletReconciler) podIP(ctx context.Context, pod *corev1.Pod, owner string) (netip.Addr, error) {
	pods := &corev1.PodList{}
	// Read-only: every boot scans every node Pod, so no copies of them.
	if err := r.client.List(ctx, pods, client.HasLabels{clusterv1.ClusterNameLabel}, client.UnsafeDisableDeepCopy); err != nil {
		return netip.Addr{}, fmt.Errorf("listing node Pods: %w", err)
	}
	used := map[netip.Addr]bool{}
	for i := range pods.Items {
		if pods.Items[i].UID == pod.UID {
			continue
		}
		if ip, err := netip.ParseAddr(pods.Items[i].Status.PodIP); err == nil {
			used[ip] = true
		}
	}
	ip, err := r.rt.podAddrs.allocate(owner, used)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("allocating an address for Pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return ip, nil
}

// boot runs the node's boot and reports its outcome.
func (r *kubeletReconciler) boot(ctx context.Context, pod *corev1.Pod) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	dir := r.scratch(client.ObjectKeyFromObject(pod))
	msg, err := r.injectedFailure(ctx, pod)
	if err != nil {
		return ctrl.Result{}, err
	}
	failCommand, _, err := r.injected(ctx, pod, FailCommandAnnotation)
	if err != nil {
		return ctrl.Result{}, err
	}
	var res *bootResult
	if msg == "" {
		secret := &corev1.Secret{}
		if err := r.client.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: nodepod.BootstrapSecretName(pod.Name)}, secret); err != nil {
			return ctrl.Result{}, fmt.Errorf("reading the boot Secret of Pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		script, ok := secret.Data[nodepod.BootstrapScriptKey]
		if !ok {
			// The bootstrap service would find no script and fail.
			msg = fmt.Sprintf("the boot Secret %s has no %s", secret.Name, nodepod.BootstrapScriptKey)
		} else if res, err = runBoot(ctx, r.rt.Bash, dir, script, failCommand); err != nil {
			return ctrl.Result{}, fmt.Errorf("booting Pod %s/%s: %w", pod.Namespace, pod.Name, err)
		} else if res.exitCode != 0 {
			msg = res.failure
		}
	} else if err := writeFailure(dir, msg); err != nil {
		return ctrl.Result{}, err
	}
	if msg != "" {
		log.Info("Boot failed", "message", msg)
		return ctrl.Result{}, r.fail(ctx, pod, msg)
	}
	if k, ok := findKubeadm(res.commands); ok && k.phase == "init" {
		return r.kubeadmInit(ctx, pod, dir, res, k)
	} else if ok {
		msg, started, err := r.kubeadmJoin(ctx, pod, res, k)
		if errors.Is(err, errDiscoveryRetry) {
			log.V(1).Info("kubeadm join: the API server is not reachable yet; trying again", "message", msg)
			return ctrl.Result{RequeueAfter: discoveryRetry}, nil
		}
		if err != nil || msg != "" {
			if err != nil {
				return ctrl.Result{}, err
			}
			log.Info("Boot failed", "message", msg)
			return ctrl.Result{}, r.fail(ctx, pod, msg)
		}
		if started {
			// The node's API server finishes the join once it serves.
			return ctrl.Result{RequeueAfter: apiServerPoll}, nil
		}
	}
	return ctrl.Result{}, r.finishBoot(ctx, pod, res)
}

// finishBoot plays the commands after kubeadm and reports the node started
// and ready once the sentinel is there.
func (r *kubeletReconciler) finishBoot(ctx context.Context, pod *corev1.Pod, res *bootResult) error {
	log := ctrl.LoggerFrom(ctx)
	if err := playCommands(res); err != nil {
		return fmt.Errorf("booting Pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if _, err := os.Stat(filepath.Join(res.root, nodepod.BootstrapSuccessFile)); err != nil {
		// The startup probe would never pass; the provider times out as it
		// would with a real node.
		log.Info("Boot finished without the success sentinel; the node container never starts", "sentinel", nodepod.BootstrapSuccessFile)
		return nil
	}
	return r.ready(ctx, pod)
}

// injectedFailure is the message of a failure injected on the Pod or its
// KubernetesMachine, or "".
func (r *kubeletReconciler) injectedFailure(ctx context.Context, pod *corev1.Pod) (string, error) {
	msg, ok, err := r.injected(ctx, pod, FailBootstrapAnnotation)
	if err != nil || !ok {
		return "", err
	}
	return orDefault(msg), nil
}

// injected reads an injection annotation from the Pod, else from its
// KubernetesMachine.
func (r *kubeletReconciler) injected(ctx context.Context, pod *corev1.Pod, key string) (string, bool, error) {
	if v, ok := pod.Annotations[key]; ok {
		return v, true, nil
	}
	km := &infrav1.KubernetesMachine{}
	if err := r.client.Get(ctx, client.ObjectKeyFromObject(pod), km); err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("reading the KubernetesMachine of Pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	v, ok := km.Annotations[key]
	return v, ok, nil
}

// machineVersion is spec.version of the Machine that owns the Pod's
// KubernetesMachine, or "" when the Pod has none (tests make bare Pods).
func (r *kubeletReconciler) machineVersion(ctx context.Context, pod *corev1.Pod) (string, error) {
	km := &infrav1.KubernetesMachine{}
	if err := r.client.Get(ctx, client.ObjectKeyFromObject(pod), km); err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return "", nil
		}
		return "", fmt.Errorf("reading the KubernetesMachine of Pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	owner := metav1.GetControllerOf(km)
	if owner == nil || owner.Kind != "Machine" {
		return "", nil
	}
	m := &clusterv1.Machine{}
	if err := r.client.Get(ctx, client.ObjectKey{Namespace: km.Namespace, Name: owner.Name}, m); err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return "", nil
		}
		return "", fmt.Errorf("reading Machine %s/%s: %w", km.Namespace, owner.Name, err)
	}
	return m.Spec.Version, nil
}

func orDefault(msg string) string {
	if strings.TrimSpace(msg) == "" {
		return "bootstrap failed (injected by " + FailBootstrapAnnotation + ")"
	}
	return msg
}

// fail reports a failed boot: systemd exits with BootstrapFailedExitCode, the
// container terminates, and with restartPolicy Never the Pod fails.
func (r *kubeletReconciler) fail(ctx context.Context, pod *corev1.Pod, msg string) error {
	return r.terminate(ctx, pod, nodepod.BootstrapFailedExitCode, msg)
}

// terminate reports the node container ended with exitCode and msg.
func (r *kubeletReconciler) terminate(ctx context.Context, pod *corev1.Pod, exitCode int32, msg string) error {
	if len(msg) > maxTerminationMessage {
		msg = msg[:maxTerminationMessage]
	}
	now := metav1.Now()
	cs := containerStatus(pod, nodepod.ContainerName)
	started := now
	if cs.State.Running != nil {
		started = cs.State.Running.StartedAt
	}
	cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: exitCode, Reason: reasonError, Message: msg,
		StartedAt: started, FinishedAt: now, ContainerID: cs.ContainerID,
	}}
	cs.Ready, cs.Started = false, ptrTo(false)
	pod.Status.Phase = corev1.PodFailed
	setCondition(pod, corev1.PodReadyToStartContainers, corev1.ConditionFalse, "")
	setCondition(pod, corev1.ContainersReady, corev1.ConditionFalse, reasonPodFailed)
	setCondition(pod, corev1.PodReady, corev1.ConditionFalse, reasonPodFailed)
	if err := r.updateStatus(ctx, pod); err != nil {
		return fmt.Errorf("reporting the node container of Pod %s/%s terminated: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// ready reports a booted node: the startup probe (the sentinel) passed, and so
// does the readiness probe.
func (r *kubeletReconciler) ready(ctx context.Context, pod *corev1.Pod) error {
	cs := containerStatus(pod, nodepod.ContainerName)
	cs.Started, cs.Ready = ptrTo(true), true
	setCondition(pod, corev1.ContainersReady, corev1.ConditionTrue, "")
	setCondition(pod, corev1.PodReady, corev1.ConditionTrue, "")
	if err := r.updateStatus(ctx, pod); err != nil {
		return fmt.Errorf("reporting Pod %s/%s ready: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// updateStatus writes the Pod's status and remembers the version it made.
func (r *kubeletReconciler) updateStatus(ctx context.Context, pod *corev1.Pod) error {
	if err := r.client.Status().Update(ctx, pod); err != nil {
		return err
	}
	r.written.Store(client.ObjectKeyFromObject(pod).String(), writtenStatus{pod.UID, pod.ResourceVersion})
	return nil
}

// writtenStatus is a Pod version this kubelet wrote.
type writtenStatus struct {
	uid types.UID
	rv  string
}

func containerStatus(pod *corev1.Pod, name string) *corev1.ContainerStatus {
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == name {
			return &pod.Status.ContainerStatuses[i]
		}
	}
	return nil
}

func containerID(pod *corev1.Pod, name string) string {
	return "sim://" + string(pod.UID) + "/" + name
}

// setCondition sets a Pod condition, moving its transition time only when the
// status changes, as the kubelet does.
func setCondition(pod *corev1.Pod, t corev1.PodConditionType, status corev1.ConditionStatus, reason string) {
	now := metav1.Now()
	for i := range pod.Status.Conditions {
		c := &pod.Status.Conditions[i]
		if c.Type != t {
			continue
		}
		if c.Status != status {
			c.LastTransitionTime = now
		}
		c.Status, c.Reason = status, reason
		return
	}
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{
		Type: t, Status: status, Reason: reason, LastTransitionTime: now,
	})
}

// running is the kubelet of a booted node: it plays failures injected on the
// Pod or its KubernetesMachine (a crash of the node container, the loss of
// the Pod, a NotReady Node), and brings back what the node runs when this
// process did not boot it (see resume).
func (r *kubeletReconciler) running(ctx context.Context, pod *corev1.Pod, owner string) (ctrl.Result, error) {
	annotations := map[string]string{}
	km := &infrav1.KubernetesMachine{}
	if err := r.client.Get(ctx, client.ObjectKeyFromObject(pod), km); err == nil {
		annotations = km.Annotations
	} else if !apierrors.IsNotFound(err) && !meta.IsNoMatchError(err) {
		return ctrl.Result{}, fmt.Errorf("reading the KubernetesMachine of Pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	injected := func(key string) (string, bool) {
		if v, ok := pod.Annotations[key]; ok {
			return v, true
		}
		v, ok := annotations[key]
		return v, ok
	}
	key := client.ObjectKeyFromObject(pod).String()
	if _, ok := injected(LosePodAnnotation); ok {
		// The Pod's node went away and the Pod with it.
		ctrl.LoggerFrom(ctx).Info("Injected: losing the Pod")
		return ctrl.Result{}, r.remove(ctx, pod, owner)
	}
	if msg, ok := injected(CrashAnnotation); ok {
		if msg == "" {
			msg = "the node crashed (injected by " + CrashAnnotation + ")"
		}
		ctrl.LoggerFrom(ctx).Info("Injected: the node crashes", "message", msg)
		// The kubelet dies with the node: no more heartbeats.
		r.rt.nodes.remove(key)
		r.rt.servers.remove(key)
		r.rt.etcd.remove(key)
		return ctrl.Result{}, r.terminate(ctx, pod, CrashExitCode, msg)
	}
	_, stopEtcd := injected(StopEtcdAnnotation)
	if err := r.rt.playEtcdInjection(ctx, key, string(pod.UID), stopEtcd); err != nil {
		return ctrl.Result{}, err
	}
	if res, err := r.resume(ctx, pod); err != nil || !res.IsZero() {
		return res, err
	}
	msg, ok := injected(NodeNotReadyAnnotation)
	if ok && msg == "" {
		msg = "the kubelet reports the node not ready (injected by " + NodeNotReadyAnnotation + ")"
	}
	if err := r.rt.setNotReady(ctx, key, msg); err != nil {
		return ctrl.Result{}, fmt.Errorf("reporting the Node of Pod %s NotReady: %w", key, err)
	}
	return ctrl.Result{}, nil
}
