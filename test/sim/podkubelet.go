package sim

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

var (
	// DefaultWorkloadPodIPBase is the first address given to a Pod of a
	// workload cluster; each cluster counts from it.
	DefaultWorkloadPodIPBase = netip.MustParseAddr("127.3.0.1")
)

// nodeNameIndex indexes Pods by spec.nodeName.
const nodeNameIndex = "spec.nodeName"

// podKubelet plays the kubelets of a workload cluster's Nodes for the Pods
// bound to them: a Pod scheduled onto a Node whose node Pod runs is reported
// Running with its containers started and ready, and a Pod being deleted
// there is removed at once. Nothing runs in those containers. Pods on a Node
// whose node Pod is gone are left to the controller-manager, as a dead
// kubelet would leave them.
type podKubelet struct {
	rt      *Runtime
	cluster types.NamespacedName
	cs      kubernetes.Interface
	log     logr.Logger

	factory  informers.SharedInformerFactory
	informer cache.SharedIndexInformer
	queue    workqueue.TypedRateLimitingInterface[string]
	addrs    *allocator

	stopCh chan struct{}
	done   chan struct{}
}

func newPodKubelet(rt *Runtime, cluster types.NamespacedName, cs kubernetes.Interface, log logr.Logger) *podKubelet {
	factory := informers.NewSharedInformerFactory(cs, 0)
	k := &podKubelet{
		rt: rt, cluster: cluster, cs: cs, log: log.WithValues("workloadCluster", cluster.String()),
		factory:  factory,
		informer: factory.Core().V1().Pods().Informer(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "sim-workload-pods-" + cluster.String()}),
		addrs:  newAllocator(rt.WorkloadPodIPBase),
		stopCh: make(chan struct{}),
		done:   make(chan struct{}),
	}
	_ = k.informer.AddIndexers(cache.Indexers{nodeNameIndex: func(obj any) ([]string, error) {
		if pod, ok := obj.(*corev1.Pod); ok && pod.Spec.NodeName != "" {
			return []string{pod.Spec.NodeName}, nil
		}
		return nil, nil
	}})
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			k.queue.Add(key)
		}
	}
	_, _ = k.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	})
	return k
}

func (k *podKubelet) start() {
	k.factory.Start(k.stopCh)
	go func() {
		defer close(k.done)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-k.stopCh
			cancel()
		}()
		if !cache.WaitForCacheSync(k.stopCh, k.informer.HasSynced) {
			return
		}
		for k.next(ctx) {
		}
	}()
}

func (k *podKubelet) stop() {
	select {
	case <-k.stopCh:
	default:
		close(k.stopCh)
	}
	k.queue.ShutDown()
	<-k.done
	k.factory.Shutdown()
}

// nodeUp wakes the Pods bound to a node that now runs.
func (k *podKubelet) nodeUp(node string) {
	objs, err := k.informer.GetIndexer().ByIndex(nodeNameIndex, node)
	if err != nil {
		return
	}
	for _, obj := range objs {
		if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			k.queue.Add(key)
		}
	}
}

func (k *podKubelet) next(ctx context.Context) bool {
	key, shutdown := k.queue.Get()
	if shutdown {
		return false
	}
	defer k.queue.Done(key)
	if err := k.sync(ctx, key); err != nil {
		k.log.V(1).Info("Playing the kubelet for a workload Pod failed; retrying", "pod", key, "error", err.Error())
		k.queue.AddRateLimited(key)
		return true
	}
	k.queue.Forget(key)
	return true
}

// sync plays the kubelet for one Pod of the workload cluster.
func (k *podKubelet) sync(ctx context.Context, key string) error {
	obj, exists, err := k.informer.GetIndexer().GetByKey(key)
	if err != nil {
		return err
	}
	if !exists {
		k.addrs.release(key)
		return nil
	}
	pod := obj.(*corev1.Pod)
	if pod.Spec.NodeName == "" {
		return nil // the scheduler's
	}
	hostIP, alive := k.rt.nodes.alive(k.cluster, pod.Spec.NodeName)
	if !alive {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if pod.DeletionTimestamp != nil {
		// Nothing runs, so the containers stopped at once.
		err := k.cs.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: ptrTo[int64](0), Preconditions: &metav1.Preconditions{UID: &pod.UID},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("deleting Pod %s: %w", key, err)
		}
		return nil
	}
	if _, mirror := pod.Annotations[mirrorAnnotation]; mirror {
		// A static Pod's: its node's staticPodReporter says how it runs.
		return nil
	}
	if pod.Status.Phase != corev1.PodPending && pod.Status.Phase != "" {
		return nil
	}
	pod = pod.DeepCopy()
	podIP := hostIP
	if !pod.Spec.HostNetwork {
		ip, err := k.podIP(key, pod)
		if err != nil {
			return err
		}
		podIP = ip.String()
	}
	runPod(pod, hostIP, podIP, metav1.Now(), true)
	if _, err := k.cs.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("reporting Pod %s running: %w", key, err)
	}
	return nil
}

// podIP gives a Pod an address no other Pod of the cluster has.
func (k *podKubelet) podIP(key string, pod *corev1.Pod) (netip.Addr, error) {
	used := map[netip.Addr]bool{}
	for _, obj := range k.informer.GetIndexer().List() {
		other := obj.(*corev1.Pod)
		if other.UID == pod.UID || other.Spec.HostNetwork {
			continue
		}
		if ip, err := netip.ParseAddr(other.Status.PodIP); err == nil {
			used[ip] = true
		}
	}
	ip, err := k.addrs.allocate(key, used)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("allocating an address for Pod %s: %w", key, err)
	}
	return ip, nil
}

// runPod reports a Pod running as the kubelet does once its sandbox is up:
// an address, its init containers completed, its containers running. A
// workload Pod has no probes to wait for, so its containers are started and
// ready at once and the Pod Ready (ready true); a node Pod's node container
// waits for its startup probe, the bootstrap sentinel (ready false).
func runPod(pod *corev1.Pod, hostIP, podIP string, now metav1.Time, ready bool) {
	pod.Status.Phase = corev1.PodRunning
	pod.Status.HostIP, pod.Status.HostIPs = hostIP, []corev1.HostIP{{IP: hostIP}}
	pod.Status.PodIP, pod.Status.PodIPs = podIP, []corev1.PodIP{{IP: podIP}}
	pod.Status.StartTime = &now
	pod.Status.InitContainerStatuses = nil
	for _, c := range pod.Spec.InitContainers {
		pod.Status.InitContainerStatuses = append(pod.Status.InitContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, ContainerID: containerID(pod, c.Name),
			Ready: true, Started: ptrTo(false),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 0, Reason: reasonCompleted, StartedAt: now, FinishedAt: now, ContainerID: containerID(pod, c.Name),
			}},
		})
	}
	pod.Status.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, ContainerID: containerID(pod, c.Name),
			Ready: ready, Started: ptrTo(ready),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
	setCondition(pod, corev1.PodReadyToStartContainers, corev1.ConditionTrue, "")
	setCondition(pod, corev1.PodInitialized, corev1.ConditionTrue, "")
	if ready {
		setCondition(pod, corev1.ContainersReady, corev1.ConditionTrue, "")
		setCondition(pod, corev1.PodReady, corev1.ConditionTrue, "")
	} else {
		setCondition(pod, corev1.ContainersReady, corev1.ConditionFalse, reasonContainersNotReady)
		setCondition(pod, corev1.PodReady, corev1.ConditionFalse, reasonContainersNotReady)
	}
}
