package sim

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/bootscript"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
	"github.com/podcluster/podcluster/test/testenv"
)

// plainScript boots a node without kubeadm: a file and the sentinel, so that
// the kubelet's part is tested apart from the kubeadm play.
func plainScript(t *testing.T) []byte {
	t.Helper()
	script, err := bootscript.Convert([]byte(`#cloud-config
write_files:
- path: /run/kubeadm/kubeadm-join-config.yaml
  content: |
    kind: Simulated
runcmd:
- mkdir -p /run/cluster-api && echo success > /run/cluster-api/bootstrap-success.complete
`))
	if err != nil {
		t.Fatal(err)
	}
	return script
}

// joinNodeScript is the boot script of the bootstrap provider's golden join
// cloud-config.
func joinNodeScript(t *testing.T) []byte {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cc, err := os.ReadFile(filepath.Join(root, "bootstrap", "kubeadm", "cloudinit", "testdata", "join-node.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := bootscript.Convert(cc)
	if err != nil {
		t.Fatal(err)
	}
	return script
}

// newMachine creates a KubernetesMachine with the given annotations, and
// returns it with its node Pod, built as the provider builds it (not created).
func newMachine(g Gomega, ns, name string, annotations map[string]string) (*infrav1.KubernetesMachine, *corev1.Pod) {
	km := &infrav1.KubernetesMachine{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations}}
	g.Expect(env.Client.Create(context.Background(), km)).To(Succeed())
	pod, err := nodepod.Build(nodepod.Input{Machine: km, ClusterName: "c1", Image: "kindest/node:v1.37.2"})
	g.Expect(err).NotTo(HaveOccurred())
	return km, pod
}

func newBootSecret(g Gomega, ns, machine string, script []byte) {
	g.Expect(env.Client.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: nodepod.BootstrapSecretName(machine)},
		Data:       map[string][]byte{nodepod.BootstrapScriptKey: script},
	})).To(Succeed())
}

func getPod(g Gomega, pod *corev1.Pod) *corev1.Pod {
	got := &corev1.Pod{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(pod), got)).To(Succeed())
	return got
}

func podReady(pod *corev1.Pod) corev1.ConditionStatus {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status
		}
	}
	return ""
}

// bootRoot is where the runtime put the Pod's file system.
func bootRoot(pod *corev1.Pod, path string) string {
	return filepath.Join(scratchDir, pod.Namespace, pod.Name, "root", path)
}

func TestKubeletBootsANodePod(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	ctx := context.Background()
	_, pod := newMachine(g, ns, "worker-0", nil)
	g.Expect(env.Client.Create(ctx, pod)).To(Succeed())

	// Without its boot Secret the Pod cannot start, as its volume cannot mount.
	g.Consistently(func() corev1.PodPhase { return getPod(g, pod).Status.Phase }, time.Second, interval).
		Should(Equal(corev1.PodPending))

	newBootSecret(g, ns, pod.Name, plainScript(t))
	g.Eventually(func(g Gomega) {
		got := getPod(g, pod)
		g.Expect(got.Status.Phase).To(Equal(corev1.PodRunning))
		g.Expect(podReady(got)).To(Equal(corev1.ConditionTrue))
		cs := containerStatus(got, nodepod.ContainerName)
		g.Expect(cs).NotTo(BeNil())
		g.Expect(cs.Started).To(HaveValue(BeTrue()))
		g.Expect(cs.Ready).To(BeTrue())
		g.Expect(cs.State.Running).NotTo(BeNil())
		g.Expect(got.Status.InitContainerStatuses).To(ConsistOf(And(
			HaveField("Name", nodepod.SeedContainerName),
			HaveField("State.Terminated.ExitCode", BeZero()))))
		// From the runtime's base (127.2.0.1 unless the environment moves it).
		g.Expect(got.Status.PodIP).To(HavePrefix(strings.Join(strings.Split(rt.PodIPBase.String(), ".")[:2], ".") + "."))
		g.Expect(got.Status.HostIP).To(Equal(HostIP))
	}, timeout, interval).Should(Succeed())

	// The script's files are where the node would have them, and so is the
	// sentinel its runcmd writes.
	cfg, err := os.ReadFile(bootRoot(pod, "/run/kubeadm/kubeadm-join-config.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(cfg)).To(Equal("kind: Simulated\n"))
	g.Expect(bootRoot(pod, nodepod.BootstrapSuccessFile)).To(BeAnExistingFile())
}

func TestKubeletGivesEachPodItsOwnAddress(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	script := plainScript(t)
	var pods []*corev1.Pod
	for _, name := range []string{"a", "b", "c"} {
		_, pod := newMachine(g, ns, name, nil)
		newBootSecret(g, ns, name, script)
		g.Expect(env.Client.Create(context.Background(), pod)).To(Succeed())
		pods = append(pods, pod)
	}
	ips := map[string]bool{}
	for _, pod := range pods {
		g.Eventually(func() string { return getPod(g, pod).Status.PodIP }, timeout, interval).ShouldNot(BeEmpty())
		ips[getPod(g, pod).Status.PodIP] = true
	}
	g.Expect(ips).To(HaveLen(3))
}

// expectBootFailed waits for the node container to terminate as a failed
// bootstrap does, with a termination message matching msg.
func expectBootFailed(g Gomega, pod *corev1.Pod, msg types.GomegaMatcher) {
	g.Eventually(func(g Gomega) {
		got := getPod(g, pod)
		g.Expect(got.Status.Phase).To(Equal(corev1.PodFailed))
		g.Expect(podReady(got)).To(Equal(corev1.ConditionFalse))
		cs := containerStatus(got, nodepod.ContainerName)
		g.Expect(cs).NotTo(BeNil())
		g.Expect(cs.State.Terminated).NotTo(BeNil())
		g.Expect(cs.State.Terminated.ExitCode).To(Equal(int32(nodepod.BootstrapFailedExitCode)))
		g.Expect(cs.State.Terminated.Message).To(msg)
	}, timeout, interval).Should(Succeed())
}

func TestKubeletInjectsABootstrapFailure(t *testing.T) {
	ns := env.NewNamespace(t)
	script := plainScript(t)

	t.Run("on the Pod", func(t *testing.T) {
		g := NewWithT(t)
		_, pod := newMachine(g, ns, "on-pod", nil)
		pod.Annotations = map[string]string{FailBootstrapAnnotation: "kubeadm join: token expired"}
		newBootSecret(g, ns, pod.Name, script)
		g.Expect(env.Client.Create(context.Background(), pod)).To(Succeed())
		expectBootFailed(g, pod, ContainSubstring("kubeadm join: token expired"))
		g.Expect(bootRoot(pod, nodepod.BootstrapFailureFile)).To(BeAnExistingFile())
		g.Expect(bootRoot(pod, nodepod.BootstrapSuccessFile)).NotTo(BeAnExistingFile())
	})
	t.Run("on the KubernetesMachine", func(t *testing.T) {
		g := NewWithT(t)
		_, pod := newMachine(g, ns, "on-machine", map[string]string{FailBootstrapAnnotation: "disk full"})
		newBootSecret(g, ns, pod.Name, script)
		g.Expect(env.Client.Create(context.Background(), pod)).To(Succeed())
		expectBootFailed(g, pod, ContainSubstring("disk full"))
	})
}

func TestKubeletReportsAFailingScript(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	// The second file's directory is the first file: the write fails on a
	// node, and so it does under the scratch root.
	script, err := bootscript.Convert([]byte(`#cloud-config
write_files:
- path: /etc/podcluster-sim
  content: a file
- path: /etc/podcluster-sim/below
  content: cannot be written
runcmd:
- mkdir -p /run/cluster-api && echo success > /run/cluster-api/bootstrap-success.complete
`))
	g.Expect(err).NotTo(HaveOccurred())
	_, pod := newMachine(g, ns, "broken", nil)
	newBootSecret(g, ns, pod.Name, script)
	g.Expect(env.Client.Create(context.Background(), pod)).To(Succeed())
	expectBootFailed(g, pod, ContainSubstring("failed step: write_files[1]"))
	g.Expect(bootRoot(pod, nodepod.BootstrapSuccessFile)).NotTo(BeAnExistingFile())
}

func TestKubeletRemovesADeletedPod(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	ctx := context.Background()
	_, pod := newMachine(g, ns, "doomed", nil)
	// A Pod bound to a node waits for its kubelet to finish the deletion.
	pod.Spec.NodeName = "sim-host"
	newBootSecret(g, ns, pod.Name, plainScript(t))
	g.Expect(env.Client.Create(ctx, pod)).To(Succeed())
	g.Eventually(func() corev1.ConditionStatus { return podReady(getPod(g, pod)) }, timeout, interval).
		Should(Equal(corev1.ConditionTrue))

	g.Expect(env.Client.Delete(ctx, pod)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{}))
	}, timeout, interval).Should(BeTrue())
	g.Eventually(func() string { return filepath.Join(scratchDir, ns, pod.Name) }, timeout, interval).
		ShouldNot(BeADirectory())
}

func TestKubeletFailsAJoinWithoutAControlPlane(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	_, pod := newMachine(g, ns, "lonely", nil)
	newBootSecret(g, ns, pod.Name, joinNodeScript(t))
	g.Expect(env.Client.Create(context.Background(), pod)).To(Succeed())
	expectBootFailed(g, pod, ContainSubstring("kubeadm join: cluster c1 has no kubeconfig Secret"))
	// The files were written before kubeadm ran.
	cfg, err := os.ReadFile(bootRoot(pod, "/run/kubeadm/kubeadm-join-config.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(cfg)).To(ContainSubstring("token: abcdef.0123456789abcdef"))
}

func TestKubeletInjectsACrashAndALostPod(t *testing.T) {
	ns := env.NewNamespace(t)
	ctx := context.Background()
	booted := func(g Gomega, name string) (*infrav1.KubernetesMachine, *corev1.Pod) {
		km, pod := newMachine(g, ns, name, nil)
		newBootSecret(g, ns, name, plainScript(t))
		g.Expect(env.Client.Create(ctx, pod)).To(Succeed())
		g.Eventually(func() corev1.ConditionStatus { return podReady(getPod(g, pod)) }, timeout, interval).
			Should(Equal(corev1.ConditionTrue))
		return km, pod
	}

	t.Run("a crash, on the KubernetesMachine", func(t *testing.T) {
		g := NewWithT(t)
		km, pod := booted(g, "crashing")
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(km), km)).To(Succeed())
		km.Annotations = map[string]string{CrashAnnotation: "kernel panic"}
		g.Expect(env.Client.Update(ctx, km)).To(Succeed())
		g.Eventually(func(g Gomega) {
			got := getPod(g, pod)
			g.Expect(got.Status.Phase).To(Equal(corev1.PodFailed))
			cs := containerStatus(got, nodepod.ContainerName)
			g.Expect(cs.State.Terminated).NotTo(BeNil())
			g.Expect(cs.State.Terminated.ExitCode).To(Equal(int32(CrashExitCode)))
			g.Expect(cs.State.Terminated.Message).To(Equal("kernel panic"))
		}, timeout, interval).Should(Succeed())
	})
	t.Run("a lost Pod, on the Pod", func(t *testing.T) {
		g := NewWithT(t)
		_, pod := booted(g, "lost")
		got := getPod(g, pod)
		got.Annotations = map[string]string{LosePodAnnotation: ""}
		g.Expect(env.Client.Update(ctx, got)).To(Succeed())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{}))
		}, timeout, interval).Should(BeTrue())
	})
}

// TestKubeletPlaysAFailingCommand: with FailCommandAnnotation the dry run
// fails the matching commands, and the boot script's rules decide, as on a
// node: a failing preKubeadmCommand is logged and the boot goes on (cloud-init
// runs runcmd without errexit); after the `set -e` that the kubeadm bootstrap
// provider puts before kubeadm, a failing postKubeadmCommand fails the boot;
// kubeadm join failing fails it in any case.
func TestKubeletPlaysAFailingCommand(t *testing.T) {
	ns := env.NewNamespace(t)
	script, err := bootscript.Convert([]byte(`#cloud-config
write_files:
- path: /run/kubeadm/kubeadm-join-config.yaml
  content: |
    kind: Simulated
runcmd:
- echo pre-command
- set -e
- echo post-command
- mkdir -p /run/cluster-api && echo success > /run/cluster-api/bootstrap-success.complete
`))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a failing pre command is gone past", func(t *testing.T) {
		g := NewWithT(t)
		_, pod := newMachine(g, ns, "pre-fails", map[string]string{FailCommandAnnotation: "pre-command"})
		newBootSecret(g, ns, pod.Name, script)
		g.Expect(env.Client.Create(context.Background(), pod)).To(Succeed())
		g.Eventually(func(g Gomega) {
			got := getPod(g, pod)
			g.Expect(podReady(got)).To(Equal(corev1.ConditionTrue))
			g.Expect(containerStatus(got, nodepod.ContainerName).Started).To(HaveValue(BeTrue()))
		}, timeout, interval).Should(Succeed())
		log, err := os.ReadFile(bootRoot(pod, "/var/log/podcluster-bootstrap.log"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(log)).To(ContainSubstring("runcmd[0]: echo pre-command failed with exit code 1; going on"))
		g.Expect(bootRoot(pod, nodepod.BootstrapFailureFile)).NotTo(BeAnExistingFile())
	})
	t.Run("a failing post command after set -e fails the boot", func(t *testing.T) {
		g := NewWithT(t)
		_, pod := newMachine(g, ns, "post-fails", map[string]string{FailCommandAnnotation: "post-command"})
		newBootSecret(g, ns, pod.Name, script)
		g.Expect(env.Client.Create(context.Background(), pod)).To(Succeed())
		expectBootFailed(g, pod, HavePrefix("failed step: runcmd[2]: echo post-command\nexit code: 1\n"))
		g.Expect(bootRoot(pod, nodepod.BootstrapSuccessFile)).NotTo(BeAnExistingFile())
	})
	t.Run("kubeadm join failing fails the boot without set -e", func(t *testing.T) {
		g := NewWithT(t)
		upstream, err := bootscript.Convert([]byte(`#cloud-config
runcmd:
- echo pre-command
- kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml && mkdir -p /run/cluster-api && echo success > /run/cluster-api/bootstrap-success.complete
- echo post-command
`))
		g.Expect(err).NotTo(HaveOccurred())
		_, pod := newMachine(g, ns, "join-fails", map[string]string{FailCommandAnnotation: "kubeadm join"})
		newBootSecret(g, ns, pod.Name, upstream)
		g.Expect(env.Client.Create(context.Background(), pod)).To(Succeed())
		expectBootFailed(g, pod, HavePrefix("failed step: runcmd[1]: kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml"))
	})
}

func TestDiscoveryLeft(t *testing.T) {
	r := &kubeletReconciler{}
	pod := func(started time.Time) *corev1.Pod {
		p := &corev1.Pod{}
		if !started.IsZero() {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: nodepod.ContainerName,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(started)}}}}
		}
		return p
	}
	cases := []struct {
		name    string
		started time.Time
		left    bool
	}{
		{"not started yet: the whole timeout", time.Time{}, true},
		{"started a minute ago", time.Now().Add(-time.Minute), true},
		{"started past the timeout", time.Now().Add(-discoveryTimeout - time.Second), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(r.discoveryLeft(pod(tc.started)) > 0).To(Equal(tc.left))
		})
	}
}
