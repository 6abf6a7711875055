package sim

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSetStaticPodStatus(t *testing.T) {
	started := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	exited := &processExit{code: 143, reason: reasonError, finished: started.Add(time.Minute)}
	tests := []struct {
		name     string
		st       staticPodState
		ready    corev1.ConditionStatus
		running  bool
		waiting  string
		lastExit *int32
	}{
		{name: "running and ready", st: staticPodState{running: true, ready: true, started: started}, ready: corev1.ConditionTrue, running: true},
		{name: "running, its readiness probe failing", st: staticPodState{running: true, started: started}, ready: corev1.ConditionFalse, running: true},
		{name: "stopped after a run: waiting to be started again", st: staticPodState{lastExit: exited, restarts: 1},
			ready: corev1.ConditionFalse, waiting: reasonCrashLoopBackOff, lastExit: ptrTo[int32](143)},
		{name: "never started", st: staticPodState{}, ready: corev1.ConditionFalse, waiting: reasonContainerCreating},
		{name: "running again after an exit", st: staticPodState{running: true, ready: true, started: started, restarts: 1, lastExit: exited},
			ready: corev1.ConditionTrue, running: true, lastExit: ptrTo[int32](143)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "etcd-n", UID: "u"},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "etcd", Image: "registry.k8s.io/etcd"}}},
			}
			now := metav1.NewTime(started.Add(time.Hour))
			setStaticPodStatus(pod, tt.st, "127.2.0.7", now)
			g.Expect(pod.Status.Phase).To(Equal(corev1.PodRunning), "a static Pod stays Running while the kubelet restarts its container")
			g.Expect(pod.Status.HostIP).To(Equal("127.2.0.7"))
			g.Expect(pod.Status.PodIP).To(Equal("127.2.0.7"), "on the host's network")
			g.Expect(podReady(pod)).To(Equal(tt.ready))
			g.Expect(pod.Status.ContainerStatuses).To(HaveLen(1))
			cs := pod.Status.ContainerStatuses[0]
			g.Expect(cs.Ready).To(Equal(tt.ready == corev1.ConditionTrue))
			g.Expect(cs.RestartCount).To(Equal(tt.st.restarts))
			if tt.running {
				g.Expect(cs.State.Running).NotTo(BeNil())
				g.Expect(cs.State.Running.StartedAt.Time).To(BeTemporally("==", started))
			} else {
				g.Expect(cs.State.Running).To(BeNil())
				g.Expect(cs.State.Waiting).To(HaveField("Reason", tt.waiting))
			}
			if tt.lastExit != nil {
				g.Expect(cs.LastTerminationState.Terminated).To(HaveField("ExitCode", *tt.lastExit))
			} else {
				g.Expect(cs.LastTerminationState.Terminated).To(BeNil())
			}
		})
	}
}

// TestSetStaticPodStatusKeepsTransitionTimes: a report with the same
// readiness moves no transition time; a change moves the Ready one.
func TestSetStaticPodStatusKeepsTransitionTimes(t *testing.T) {
	g := NewWithT(t)
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}}
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC))
	setStaticPodStatus(pod, staticPodState{running: true, ready: true, started: t0.Time}, "h", t0)
	readyAt := func() time.Time {
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodReady {
				return c.LastTransitionTime.Time
			}
		}
		return time.Time{}
	}
	first := readyAt()
	setStaticPodStatus(pod, staticPodState{running: true, ready: true, started: t0.Time}, "h", metav1.NewTime(t0.Add(time.Minute)))
	g.Expect(readyAt()).To(Equal(first))
	g.Expect(pod.Status.StartTime.Time).To(Equal(t0.Time))
	setStaticPodStatus(pod, staticPodState{lastExit: &processExit{code: 1}}, "h", metav1.NewTime(t0.Add(time.Minute)))
	g.Expect(podReady(pod)).To(Equal(corev1.ConditionFalse))
}

// TestStaticPodStatusDiffers: a report is written when the status says
// otherwise than the process in what the kubelet reports, and not for times.
func TestStaticPodStatusDiffers(t *testing.T) {
	g := NewWithT(t)
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 123, time.UTC)
	running := staticPodState{running: true, ready: true, started: t0}
	pod := func(st staticPodState) *corev1.Pod {
		p := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "etcd"}}}}
		setStaticPodStatus(p, st, "127.2.0.7", metav1.NewTime(t0))
		return p
	}
	have := pod(running)
	g.Expect(staticPodStatusDiffers(have, pod(running))).To(BeFalse())

	// The same status read back from the API: times at a second's precision.
	readBack := have.DeepCopy()
	readBack.Status.ContainerStatuses[0].State.Running.StartedAt = metav1.NewTime(t0.Truncate(time.Second))
	g.Expect(staticPodStatusDiffers(readBack, pod(running))).To(BeFalse())

	// The controller-manager marked it not ready: written again.
	marked := have.DeepCopy()
	setCondition(marked, corev1.PodReady, corev1.ConditionFalse, "")
	g.Expect(staticPodStatusDiffers(marked, pod(running))).To(BeTrue())

	// The process stopped, or restarted.
	g.Expect(staticPodStatusDiffers(have, pod(staticPodState{lastExit: &processExit{code: 143}}))).To(BeTrue())
	g.Expect(staticPodStatusDiffers(have, pod(staticPodState{running: true, ready: true, started: t0, restarts: 1}))).To(BeTrue())
	// Never reported.
	g.Expect(staticPodStatusDiffers(&corev1.Pod{Spec: have.Spec}, pod(running))).To(BeTrue())
}
