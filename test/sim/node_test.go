package sim

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
)

func TestNodeCapacity(t *testing.T) {
	q := resource.MustParse
	host := corev1.ResourceList{corev1.ResourceCPU: q("8"), corev1.ResourceMemory: q("32Gi")}
	tests := []struct {
		name string
		res  corev1.ResourceRequirements
		want corev1.ResourceList
	}{
		{
			name: "no resources: the host's",
			want: corev1.ResourceList{corev1.ResourceCPU: q("8"), corev1.ResourceMemory: q("32Gi"), corev1.ResourcePods: q("110")},
		},
		{
			name: "limits",
			res:  corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: q("2"), corev1.ResourceMemory: q("4Gi")}},
			want: corev1.ResourceList{corev1.ResourceCPU: q("2"), corev1.ResourceMemory: q("4Gi"), corev1.ResourcePods: q("110")},
		},
		{
			name: "limits win over requests, requests over the host",
			res: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: q("1"), corev1.ResourceMemory: q("2Gi")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: q("1500m")},
			},
			want: corev1.ResourceList{corev1.ResourceCPU: q("1500m"), corev1.ResourceMemory: q("2Gi"), corev1.ResourcePods: q("110")},
		},
		{
			name: "only cpu bounded: memory is the host's",
			res:  corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: q("1")}},
			want: corev1.ResourceList{corev1.ResourceCPU: q("1"), corev1.ResourceMemory: q("32Gi"), corev1.ResourcePods: q("110")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := nodeCapacity(tt.res, host)
			g.Expect(got).To(HaveLen(len(tt.want)))
			for name, want := range tt.want {
				g.Expect(got).To(HaveKey(name))
				have := got[name]
				g.Expect(have.Cmp(want)).To(BeZero(), "%s: got %s, want %s", name, have.String(), want.String())
			}
		})
	}
}

func TestHostCapacity(t *testing.T) {
	g := NewWithT(t)
	host := hostCapacity()
	g.Expect(host.Cpu().Value()).To(BeNumerically(">", 0))
	g.Expect(host.Memory().Value()).To(BeNumerically(">", 0))
}

func TestKubeletVersion(t *testing.T) {
	pod := func(image string) *corev1.Pod {
		return &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: nodepod.ContainerName, Image: image}}}}
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		cfg  kubeadmConfig
		want string
	}{
		{"the kubeadm config's version", pod("kindest/node:v1.36.0"), kubeadmConfig{KubernetesVersion: "v1.37.2"}, "v1.37.2"},
		{"the image tag", pod("kindest/node:v1.37.2"), kubeadmConfig{}, "v1.37.2"},
		{"a tag with a digest", pod("registry.example.com:5000/node:v1.37.2@sha256:0123"), kubeadmConfig{}, "v1.37.2"},
		{"a pre-release", pod("kindest/node:v1.38.0-alpha.1"), kubeadmConfig{}, "v1.38.0-alpha.1"},
		{"a tag that is no version", pod("kindest/node:latest"), kubeadmConfig{}, ""},
		{"a registry port, no tag", pod("registry.example.com:5000/node"), kubeadmConfig{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(kubeletVersion(tt.pod, &tt.cfg)).To(Equal(tt.want))
		})
	}
}

func TestKubeletConditions(t *testing.T) {
	g := NewWithT(t)
	then := metav1.NewTime(time.Now().Add(-time.Hour).Truncate(time.Second))
	now := metav1.NewTime(time.Now().Truncate(time.Second))

	ready := kubeletConditions(nil, "", then)
	// The kubelet's four conditions with its reasons (the wire values, written
	// out): upstream's core reads the pressure conditions too.
	g.Expect(ready).To(ConsistOf(
		And(HaveField("Type", corev1.NodeReady), HaveField("Status", corev1.ConditionTrue), HaveField("Reason", "KubeletReady")),
		And(HaveField("Type", corev1.NodeMemoryPressure), HaveField("Status", corev1.ConditionFalse), HaveField("Reason", "KubeletHasSufficientMemory")),
		And(HaveField("Type", corev1.NodeDiskPressure), HaveField("Status", corev1.ConditionFalse), HaveField("Reason", "KubeletHasNoDiskPressure")),
		And(HaveField("Type", corev1.NodePIDPressure), HaveField("Status", corev1.ConditionFalse), HaveField("Reason", "KubeletHasSufficientPID")),
	))
	for _, c := range ready {
		g.Expect(c.Message).NotTo(BeEmpty(), string(c.Type))
		g.Expect(c.LastHeartbeatTime).To(Equal(then), string(c.Type))
	}

	// A heartbeat keeps the transition times of unchanged conditions.
	again := kubeletConditions(ready, "", now)
	g.Expect(conditionsDiffer(ready, again)).To(BeFalse())
	for _, c := range again {
		g.Expect(c.LastHeartbeatTime).To(Equal(now))
		g.Expect(c.LastTransitionTime).To(Equal(then))
	}

	// The controller-manager marked the Node Unknown: the kubelet posts over it.
	unknown := kubeletConditions(ready, "", then)
	for i := range unknown {
		unknown[i].Status, unknown[i].Reason = corev1.ConditionUnknown, "NodeStatusUnknown"
	}
	back := kubeletConditions(unknown, "", now)
	g.Expect(conditionsDiffer(unknown, back)).To(BeTrue())
	g.Expect(back).To(ContainElement(And(HaveField("Type", corev1.NodeReady), HaveField("Status", corev1.ConditionTrue),
		HaveField("LastTransitionTime", now))))

	// An injected NotReady.
	notReady := kubeletConditions(ready, "runtime down", now)
	g.Expect(conditionsDiffer(ready, notReady)).To(BeTrue())
	g.Expect(notReady).To(ContainElement(And(HaveField("Type", corev1.NodeReady), HaveField("Status", corev1.ConditionFalse),
		HaveField("Reason", reasonKubeletNotReady), HaveField("Message", "runtime down"))))

	// A Node without conditions yet gets them.
	g.Expect(conditionsDiffer(nil, ready)).To(BeTrue())
}

func TestComponentArgs(t *testing.T) {
	g := NewWithT(t)
	args := controllerManagerArgs("/s/controller-manager.conf", "/s/root", "", 20*time.Second, 2*time.Second, false)
	g.Expect(args).To(ContainElements(
		"--kubeconfig=/s/controller-manager.conf",
		"--authentication-kubeconfig=/s/controller-manager.conf",
		"--authorization-kubeconfig=/s/controller-manager.conf",
		"--cluster-name=kubernetes",
		"--service-account-private-key-file=/s/root/etc/kubernetes/pki/sa.key",
		"--root-ca-file=/s/root/etc/kubernetes/pki/ca.crt",
		"--cluster-signing-cert-file=/s/root/etc/kubernetes/pki/ca.crt",
		"--cluster-signing-key-file=/s/root/etc/kubernetes/pki/ca.key",
		"--use-service-account-credentials=true",
		"--controllers=*,bootstrapsigner,tokencleaner",
		"--leader-elect=false",
		"--secure-port=0",
		"--node-monitor-grace-period=20s",
		"--node-monitor-period=2s",
	))
	g.Expect(schedulerArgs("/s/scheduler.conf", false)).To(ConsistOf(
		"--kubeconfig=/s/scheduler.conf",
		"--authentication-kubeconfig=/s/scheduler.conf",
		"--authorization-kubeconfig=/s/scheduler.conf",
		"--leader-elect=false",
		"--secure-port=0",
	))
	// One pair per node of a stacked control plane elects its leader.
	g.Expect(controllerManagerArgs("/s/controller-manager.conf", "/s/root", "", 20*time.Second, 2*time.Second, true)).
		To(ContainElement("--leader-elect=true"))
	g.Expect(schedulerArgs("/s/scheduler.conf", true)).To(ContainElement("--leader-elect=true"))
}

func TestRuntimePeriods(t *testing.T) {
	tests := []struct {
		name                      string
		heartbeat, grace, monitor time.Duration
		wantErr                   string
	}{
		{name: "defaults"},
		{name: "grace below the heartbeat", heartbeat: 10 * time.Second, grace: 5 * time.Second, wantErr: "must exceed HeartbeatInterval"},
		{name: "heartbeat below a second", heartbeat: 100 * time.Millisecond, wantErr: "below a second"},
		{name: "negative", monitor: -time.Second, wantErr: "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			r := &Runtime{HeartbeatInterval: tt.heartbeat, NodeMonitorGracePeriod: tt.grace, NodeMonitorPeriod: tt.monitor}
			err := r.defaultPeriods()
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(r.HeartbeatInterval).To(Equal(DefaultHeartbeatInterval))
			g.Expect(r.NodeStatusReportInterval).To(Equal(DefaultNodeStatusReportInterval))
			g.Expect(r.NodeMonitorGracePeriod).To(Equal(DefaultNodeMonitorGracePeriod))
			g.Expect(r.NodeMonitorPeriod).To(Equal(DefaultNodeMonitorPeriod))
		})
	}
}

func TestPrefixEnd(t *testing.T) {
	g := NewWithT(t)
	g.Expect(string(prefixEnd("/ns/c1/"))).To(Equal("/ns/c10"))
	g.Expect(prefixEnd("a\xff")).To(Equal([]byte("b")))
	g.Expect(prefixEnd("\xff")).To(Equal([]byte{0}))
}
