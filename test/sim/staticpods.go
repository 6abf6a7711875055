package sim

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// mirrorAnnotation marks a mirror Pod: the API server's copy of a static Pod,
// which only the node's kubelet reports on.
const mirrorAnnotation = "kubernetes.io/config.mirror"

// reasonCrashLoopBackOff is the kubelet's waiting reason of a container that
// exited and waits to be started again; reasonContainerCreating that of one
// that never started.
const (
	reasonCrashLoopBackOff  = "CrashLoopBackOff"
	reasonContainerCreating = "ContainerCreating"
)

// staticPodReportTimeout bounds one mirror Pod's report.
const staticPodReportTimeout = 5 * time.Second

// staticPodComponents are the static Pods kubeadm would run on the API
// server's node that the runtime runs a process for, so that a mirror Pod
// exists only for a process there is: the etcd member on a stacked node,
// the API server, and the components the runtime runs next to it. A control-
// plane join without an API server of its own (not stacked) runs none.
func (r *Runtime) staticPodComponents(s *workloadAPIServer) []string {
	var out []string
	if s.stacked() {
		out = append(out, "etcd")
	}
	out = append(out, "kube-apiserver")
	return append(out, r.Components...)
}

// staticPodState is what a static Pod's one container is doing, as the
// kubelet sees its process.
type staticPodState struct {
	// running: the process runs; ready: its readiness (the API server's
	// /readyz; the others have no readiness probe in kubeadm's manifests)
	// passes; started is when the running process started.
	running, ready bool
	started        time.Time
	// restarts counts the starts after the first; lastExit is how the last
	// process ended, nil when none did.
	restarts int32
	lastExit *processExit
}

// setStaticPodStatus writes into a mirror Pod's status what the kubelet
// reports for a static Pod in state st on a node at hostIP: Running (a static
// Pod restarts its container, so it stays Running when the process is down),
// the container running (ready when st.ready) or waiting to be started again
// after its last exit (CrashLoopBackOff), and the Pod Ready only when the
// container is. Transition times move only when a condition's status
// changes (setCondition).
func setStaticPodStatus(pod *corev1.Pod, st staticPodState, hostIP string, now metav1.Time) {
	pod.Status.Phase = corev1.PodRunning
	pod.Status.HostIP, pod.Status.HostIPs = hostIP, []corev1.HostIP{{IP: hostIP}}
	// Static Pods run on the host's network.
	pod.Status.PodIP, pod.Status.PodIPs = hostIP, []corev1.PodIP{{IP: hostIP}}
	if pod.Status.StartTime == nil {
		pod.Status.StartTime = &now
	}
	var statuses []corev1.ContainerStatus
	for _, c := range pod.Spec.Containers {
		cs := corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, ContainerID: containerID(pod, c.Name),
			RestartCount: st.restarts, Ready: st.running && st.ready, Started: ptrTo(st.running),
		}
		switch {
		case st.running:
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(st.started)}
		case st.lastExit != nil:
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: reasonCrashLoopBackOff, Message: "back-off restarting failed container " + c.Name}
		default:
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: reasonContainerCreating}
		}
		if e := st.lastExit; e != nil {
			cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{
				ExitCode: e.code, Reason: e.reason, FinishedAt: metav1.NewTime(e.finished), ContainerID: cs.ContainerID,
			}
		}
		statuses = append(statuses, cs)
	}
	pod.Status.ContainerStatuses = statuses
	setCondition(pod, corev1.PodScheduled, corev1.ConditionTrue, "")
	setCondition(pod, corev1.PodReadyToStartContainers, corev1.ConditionTrue, "")
	setCondition(pod, corev1.PodInitialized, corev1.ConditionTrue, "")
	if st.running && st.ready {
		setCondition(pod, corev1.ContainersReady, corev1.ConditionTrue, "")
		setCondition(pod, corev1.PodReady, corev1.ConditionTrue, "")
	} else {
		setCondition(pod, corev1.ContainersReady, corev1.ConditionFalse, reasonContainersNotReady)
		setCondition(pod, corev1.PodReady, corev1.ConditionFalse, reasonContainersNotReady)
	}
}

// staticPodReporter plays a control-plane node's kubelet for its static
// Pods: every HeartbeatInterval, and at once when kicked, it looks at the
// processes they stand for (the node's etcd member, its API server and the
// components next to it), reads the node's mirror Pods (one list) and
// writes the status of each whose status says otherwise than its process,
// as the kubelet reconciles its mirror Pods: a process that started,
// stopped or became ready or not, and a status someone else wrote (the
// controller-manager marks a silent Node's Pods not ready). A steady node
// writes nothing. It reaches the cluster as the node's kubelet does
// (workloadAPIServer.kubeletConfig).
type staticPodReporter struct {
	rt  *Runtime
	s   *workloadAPIServer
	cs  kubernetes.Interface
	log logr.Logger

	kick   chan struct{}
	stopCh chan struct{}
	done   chan struct{}
	// apiReady and apiFailures are the API server's readiness probe: ready
	// after one success, not ready after apiFailureThreshold failures in a
	// row, as kubeadm's manifest sets it, so that one slow answer on a busy
	// host does not turn it not ready. Only run touches them.
	apiReady    bool
	apiFailures int
}

// apiFailureThreshold is the failureThreshold of kubeadm's kube-apiserver
// readiness probe.
const apiFailureThreshold = 3

func newStaticPodReporter(rt *Runtime, s *workloadAPIServer, cs kubernetes.Interface, log logr.Logger) *staticPodReporter {
	return &staticPodReporter{
		rt: rt, s: s, cs: cs, log: log.WithValues("node", s.node),
		kick: make(chan struct{}, 1), stopCh: make(chan struct{}), done: make(chan struct{}),
	}
}

func (p *staticPodReporter) run() {
	defer close(p.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-p.stopCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	ticker := time.NewTicker(p.rt.HeartbeatInterval)
	defer ticker.Stop()
	for {
		if err := p.report(ctx); err != nil && ctx.Err() == nil {
			// Tried again at the next report.
			p.log.V(1).Info("Cannot report the node's static Pods yet", "error", err.Error())
		}
		select {
		case <-p.stopCh:
			return
		case <-ticker.C:
		case <-p.kick:
		}
	}
}

// stop ends the reports.
func (p *staticPodReporter) stop() {
	select {
	case <-p.stopCh:
	default:
		close(p.stopCh)
	}
	<-p.done
}

// kickReporter has the node's static Pods reported now: their mirror Pods
// were just written, or a process changed.
func (s *workloadAPIServer) kickReporter() {
	s.mu.Lock()
	p := s.reporter
	s.mu.Unlock()
	if p == nil {
		return
	}
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// probeAPIServer asks the API server's /readyz and says whether it counts
// as ready.
func (p *staticPodReporter) probeAPIServer(ctx context.Context) bool {
	if p.s.ready(ctx) {
		p.apiReady, p.apiFailures = true, 0
		return true
	}
	if p.apiFailures++; p.apiFailures >= apiFailureThreshold {
		p.apiReady = false
	}
	return p.apiReady
}

// report writes the mirror Pods whose status differs from their process.
func (p *staticPodReporter) report(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, staticPodReportTimeout)
	defer cancel()
	pods := p.cs.CoreV1().Pods(metav1.NamespaceSystem)
	list, err := pods.List(ctx, metav1.ListOptions{
		LabelSelector: "tier=control-plane",
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", p.s.node).String(),
	})
	if err != nil {
		return fmt.Errorf("listing the static Pods of Node %s: %w", p.s.node, err)
	}
	byName := map[string]*corev1.Pod{}
	for i := range list.Items {
		byName[list.Items[i].Name] = &list.Items[i]
	}
	var errs []error
	for _, component := range p.rt.staticPodComponents(p.s) {
		pod := byName[component+"-"+p.s.node]
		if pod == nil {
			continue // not written yet (writeControlPlaneObjects kicks)
		}
		st := p.observe(ctx, component)
		want := pod.DeepCopy()
		setStaticPodStatus(want, st, p.s.nodeIP, metav1.Now())
		if !staticPodStatusDiffers(pod, want) {
			continue
		}
		if _, err := pods.UpdateStatus(ctx, want, metav1.UpdateOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("reporting the static Pod %s: %w", pod.Name, err))
		}
	}
	return errors.Join(errs...)
}

// staticPodStatusDiffers says whether a mirror Pod's status says otherwise
// than want in what the kubelet reports: the phase, the addresses, the
// Ready and ContainersReady conditions, and each container's state, ready,
// started, restarts and last exit code. Times are left out: they round-trip
// through the API at a second's precision. Pure.
func staticPodStatusDiffers(have, want *corev1.Pod) bool {
	type container struct {
		name, state, waiting string
		ready, started       bool
		restarts, lastExit   int32
	}
	type summary struct {
		phase                  corev1.PodPhase
		hostIP, podIP          string
		ready, containersReady corev1.ConditionStatus
		containers             []container
	}
	sum := func(p *corev1.Pod) summary {
		s := summary{phase: p.Status.Phase, hostIP: p.Status.HostIP, podIP: p.Status.PodIP}
		for _, c := range p.Status.Conditions {
			switch c.Type {
			case corev1.PodReady:
				s.ready = c.Status
			case corev1.ContainersReady:
				s.containersReady = c.Status
			}
		}
		for _, cs := range p.Status.ContainerStatuses {
			c := container{name: cs.Name, ready: cs.Ready, started: cs.Started != nil && *cs.Started, restarts: cs.RestartCount, lastExit: -1}
			switch {
			case cs.State.Running != nil:
				c.state = "running"
			case cs.State.Waiting != nil:
				c.state, c.waiting = "waiting", cs.State.Waiting.Reason
			case cs.State.Terminated != nil:
				c.state = "terminated"
			}
			if t := cs.LastTerminationState.Terminated; t != nil {
				c.lastExit = t.ExitCode
			}
			s.containers = append(s.containers, c)
		}
		return s
	}
	return !reflect.DeepEqual(sum(have), sum(want))
}

// observe is the state of the process a static Pod stands for.
func (p *staticPodReporter) observe(ctx context.Context, component string) staticPodState {
	s := p.s
	switch component {
	case "etcd":
		if m := p.rt.etcd.get(s.key); m != nil && m.podUID == s.podUID {
			return m.state()
		}
		return staticPodState{}
	case "kube-apiserver":
		if ended, _ := s.exited(); ended {
			return staticPodState{lastExit: s.proc.exit()}
		}
		// kubeadm's API server has a readiness probe on /readyz, which
		// fails while its etcd member is down.
		return staticPodState{running: true, ready: p.probeAPIServer(ctx), started: s.started}
	}
	s.mu.Lock()
	components := s.components
	s.mu.Unlock()
	for _, c := range components {
		if c.name == component {
			return c.state()
		}
	}
	return staticPodState{}
}
