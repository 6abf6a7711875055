package nodepod

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const testImage = "kindest/node:v1.37.2"

// machine builds a KubernetesMachine in namespace "ns" with the given options.
func machine(name string, opts ...func(*infrav1.KubernetesMachine)) *infrav1.KubernetesMachine {
	m := &infrav1.KubernetesMachine{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}}
	for _, o := range opts {
		o(m)
	}
	return m
}

func withTemplate(name string) func(*infrav1.KubernetesMachine) {
	return func(m *infrav1.KubernetesMachine) {
		m.Spec.VolumeClaimTemplates = append(m.Spec.VolumeClaimTemplates, infrav1.VolumeClaimTemplate{
			Metadata: infrav1.VolumeClaimTemplateMetadata{Name: name},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceStorage: resource.MustParse("10Gi"),
				}},
			},
		})
	}
}

func withNodeSelector(k, v string) func(*infrav1.KubernetesMachine) {
	return func(m *infrav1.KubernetesMachine) {
		if m.Spec.NodeSelector == nil {
			m.Spec.NodeSelector = map[string]string{}
		}
		m.Spec.NodeSelector[k] = v
	}
}

func controlPlaneInput() Input {
	m := machine("demo-control-plane-x7k2p", withTemplate(VarLibEtcdVolume), withNodeSelector("podcluster.example/pool", "nodes"))
	m.Spec.VolumeClaimTemplates[0].Metadata.Labels = map[string]string{"backup": "daily"}
	m.Spec.VolumeClaimTemplates[0].Metadata.Annotations = map[string]string{"example.com/note": "etcd data"}
	m.Spec.VolumeClaimTemplates[0].Spec.StorageClassName = ptrTo("fast-ssd")
	m.Spec.Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi")},
	}
	m.Spec.Tolerations = []corev1.Toleration{
		{Key: "podcluster.example/dedicated", Operator: corev1.TolerationOpEqual, Value: "nodes", Effect: corev1.TaintEffectNoSchedule},
		{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	}
	m.Spec.PriorityClassName = "podcluster-control-plane"
	return Input{
		Machine:       m,
		ClusterName:   "demo",
		ControlPlane:  true,
		FailureDomain: "zone-a",
		APIServerPort: 7443,
		Image:         testImage,
	}
}

func workerInput() Input {
	return Input{Machine: machine("demo-md-0-abcde-q8x2z"), ClusterName: "demo", Image: testImage}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	g := NewWithT(t)
	file := filepath.Join("testdata", name)
	if *update {
		g.Expect(os.WriteFile(file, got, 0o644)).To(Succeed())
	}
	want, err := os.ReadFile(file)
	g.Expect(err).NotTo(HaveOccurred(), "run go test with -update to create %s", file)
	g.Expect(string(got)).To(Equal(string(want)), "%s is stale; run go test with -update and review the diff", file)
}

func podYAML(t *testing.T, pod *corev1.Pod) []byte {
	t.Helper()
	pod = pod.DeepCopy()
	pod.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
	out, err := yaml.Marshal(pod)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return out
}

func TestBuildGolden(t *testing.T) {
	cases := []struct {
		name string
		in   Input
		file string
	}{
		{"control plane with an etcd claim, zone, resources and tolerations", controlPlaneInput(), "controlplane-pod.yaml"},
		{"worker with defaults", workerInput(), "worker-pod.yaml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			pod, err := Build(tc.in)
			g.Expect(err).NotTo(HaveOccurred())
			golden(t, tc.file, podYAML(t, pod))

			again, err := Build(tc.in)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(podYAML(t, again)).To(Equal(podYAML(t, pod)), "Build must be deterministic")
		})
	}
}

func TestPVCsGolden(t *testing.T) {
	g := NewWithT(t)
	var docs []string
	for _, pvc := range PVCs(controlPlaneInput()) {
		pvc.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"}
		out, err := yaml.Marshal(pvc)
		g.Expect(err).NotTo(HaveOccurred())
		docs = append(docs, string(out))
	}
	golden(t, "controlplane-pvcs.yaml", []byte(strings.Join(docs, "---\n")))
}

func TestBuildLabelsAndNames(t *testing.T) {
	g := NewWithT(t)

	cp, err := Build(controlPlaneInput())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cp.Name).To(Equal("demo-control-plane-x7k2p"))
	g.Expect(cp.Namespace).To(Equal("ns"))
	g.Expect(cp.Spec.Hostname).To(Equal(cp.Name))
	g.Expect(cp.Labels).To(Equal(map[string]string{clusterv1.ClusterNameLabel: "demo", clusterv1.MachineControlPlaneLabel: ""}))
	g.Expect(cp.Spec.Containers[0].Ports).To(ConsistOf(corev1.ContainerPort{Name: APIServerPortName, ContainerPort: 7443, Protocol: corev1.ProtocolTCP}))
	g.Expect(cp.Spec.Containers[0].ReadinessProbe.HTTPGet).NotTo(BeNil())
	g.Expect(cp.Spec.Containers[0].ReadinessProbe.HTTPGet.Port.StrVal).To(Equal(APIServerPortName))

	in := controlPlaneInput()
	in.APIServerPort = 0
	cp, err = Build(in)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cp.Spec.Containers[0].Ports[0].ContainerPort).To(Equal(DefaultAPIServerPort))

	w, err := Build(workerInput())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(w.Labels).To(Equal(map[string]string{clusterv1.ClusterNameLabel: "demo"}))
	g.Expect(w.Spec.Containers[0].Ports).To(BeEmpty())
	g.Expect(w.Spec.Containers[0].ReadinessProbe.Exec.Command).To(Equal([]string{"test", "-f", BootstrapSuccessFile}))

	g.Expect(BootstrapSecretName("m1")).To(Equal("m1-bootstrap"))
	g.Expect(PVCName("m1", VarLibEtcdVolume)).To(Equal("m1-var-lib-etcd"))
	g.Expect(len(APIServerPortName)).To(BeNumerically("<=", 15), "a port name is at most 15 characters")
}

func TestBuildNodeSelector(t *testing.T) {
	cases := []struct {
		name          string
		selector      map[string]string
		failureDomain string
		want          map[string]string
		wantErr       string
	}{
		{name: "no selector, no failure domain", want: nil},
		{name: "failure domain only", failureDomain: "zone-a", want: map[string]string{corev1.LabelTopologyZone: "zone-a"}},
		{
			name:     "selector only",
			selector: map[string]string{"pool": "nodes"},
			want:     map[string]string{"pool": "nodes"},
		},
		{
			name:          "selector and failure domain",
			selector:      map[string]string{"pool": "nodes"},
			failureDomain: "zone-b",
			want:          map[string]string{"pool": "nodes", corev1.LabelTopologyZone: "zone-b"},
		},
		{
			name:          "selector names the same zone",
			selector:      map[string]string{corev1.LabelTopologyZone: "zone-b"},
			failureDomain: "zone-b",
			want:          map[string]string{corev1.LabelTopologyZone: "zone-b"},
		},
		{
			name:          "selector contradicts the failure domain",
			selector:      map[string]string{corev1.LabelTopologyZone: "zone-a"},
			failureDomain: "zone-b",
			wantErr:       `contradicts the Machine's failure domain "zone-b"`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			in := workerInput()
			in.Machine.Spec.NodeSelector = tc.selector
			in.FailureDomain = tc.failureDomain
			pod, err := Build(in)
			if tc.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pod.Spec.NodeSelector).To(Equal(tc.want))
			g.Expect(in.Machine.Spec.NodeSelector).To(Equal(tc.selector), "the machine's selector must not change")
		})
	}
}

func TestBuildDataVolumes(t *testing.T) {
	type source string
	const (
		emptyDir source = "emptyDir"
		pvc      source = "pvc"
		none     source = ""
	)
	cases := []struct {
		name           string
		controlPlane   bool
		templates      []string
		wantContainerd source
		wantEtcd       source
	}{
		{name: "worker without templates", wantContainerd: emptyDir, wantEtcd: none},
		{name: "control plane without templates", controlPlane: true, wantContainerd: emptyDir, wantEtcd: emptyDir},
		{name: "control plane with an etcd template", controlPlane: true, templates: []string{VarLibEtcdVolume}, wantContainerd: emptyDir, wantEtcd: pvc},
		{
			name: "control plane with both templates", controlPlane: true,
			templates:      []string{VarLibContainerdVolume, VarLibEtcdVolume},
			wantContainerd: pvc, wantEtcd: pvc,
		},
		{name: "worker with a containerd template", templates: []string{VarLibContainerdVolume}, wantContainerd: pvc, wantEtcd: none},
		{name: "worker with an etcd template gets the claim", templates: []string{VarLibEtcdVolume}, wantContainerd: emptyDir, wantEtcd: pvc},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			m := machine("m1")
			for _, name := range tc.templates {
				withTemplate(name)(m)
			}
			pod, err := Build(Input{Machine: m, ClusterName: "c", ControlPlane: tc.controlPlane, Image: testImage})
			g.Expect(err).NotTo(HaveOccurred())

			sourceOf := func(name string) source {
				for _, v := range pod.Spec.Volumes {
					if v.Name != name {
						continue
					}
					switch {
					case v.PersistentVolumeClaim != nil:
						g.Expect(v.PersistentVolumeClaim.ClaimName).To(Equal(PVCName("m1", name)))
						return pvc
					case v.EmptyDir != nil:
						return emptyDir
					}
				}
				return none
			}
			g.Expect(sourceOf(VarLibContainerdVolume)).To(Equal(tc.wantContainerd))
			g.Expect(sourceOf(VarLibEtcdVolume)).To(Equal(tc.wantEtcd))

			// Every volume mounted under /var in the node is seeded: mounted apart in
			// the seed container and paired with its image directory in the arguments.
			node, seed := pod.Spec.Containers[0], pod.Spec.InitContainers[0]
			var varMounts []string
			for _, vm := range node.VolumeMounts {
				if vm.MountPath == "/var" || strings.HasPrefix(vm.MountPath, "/var/") {
					varMounts = append(varMounts, vm.MountPath)
					g.Expect(seed.VolumeMounts).To(ContainElement(corev1.VolumeMount{Name: vm.Name, MountPath: "/seed/" + vm.Name}))
					g.Expect(seed.Args).To(ContainElement(vm.MountPath + ":/seed/" + vm.Name))
				}
			}
			g.Expect(seed.Args).To(HaveLen(len(varMounts)))
			g.Expect(seed.Args[0]).To(Equal("/var:/seed/var"), "the parent first")

			claims := PVCs(Input{Machine: m, ClusterName: "c", ControlPlane: tc.controlPlane})
			g.Expect(claims).To(HaveLen(len(tc.templates)))
			for i, c := range claims {
				g.Expect(c.Name).To(Equal(PVCName("m1", tc.templates[i])))
				g.Expect(c.Namespace).To(Equal("ns"))
				g.Expect(c.Labels).To(HaveKeyWithValue(clusterv1.ClusterNameLabel, "c"))
				g.Expect(c.Spec).To(Equal(m.Spec.VolumeClaimTemplates[i].Spec))
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	cases := []struct {
		name    string
		in      func() Input
		wantErr string
	}{
		{"no machine", func() Input { return Input{ClusterName: "c", Image: testImage} }, "no KubernetesMachine"},
		{
			"name longer than a hostname",
			func() Input {
				in := workerInput()
				in.Machine.Name = strings.Repeat("a", 64)
				return in
			},
			"must be a DNS label of at most 63 characters",
		},
		{
			"name that is no DNS label",
			func() Input {
				in := workerInput()
				in.Machine.Name = "node.example"
				return in
			},
			"hostname",
		},
		{"no cluster name", func() Input { in := workerInput(); in.ClusterName = ""; return in }, "no cluster name"},
		{"no image", func() Input { in := workerInput(); in.Image = ""; return in }, "no node image"},
		{"no namespace", func() Input { in := workerInput(); in.Machine.Namespace = ""; return in }, "no namespace"},
		{"port out of range", func() Input { in := controlPlaneInput(); in.APIServerPort = 70000; return in }, "not in 1-65535"},
		{
			"unknown volumeClaimTemplate",
			func() Input { in := workerInput(); withTemplate("var-lib-kubelet")(in.Machine); return in },
			`volumeClaimTemplate "var-lib-kubelet": the name must be`,
		},
		{
			"duplicate volumeClaimTemplate",
			func() Input {
				in := workerInput()
				withTemplate(VarLibEtcdVolume)(in.Machine)
				withTemplate(VarLibEtcdVolume)(in.Machine)
				return in
			},
			"appears twice",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			pod, err := Build(tc.in())
			g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
			g.Expect(pod).To(BeNil())
		})
	}

	t.Run("a 63-character name is fine", func(t *testing.T) {
		in := workerInput()
		in.Machine.Name = strings.Repeat("a", 63)
		_, err := Build(in)
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
	})
}

// TestBuildNodeEssentials checks, for every shape of Pod, what a node needs on
// these machines (docs/real-nodes.md).
func TestBuildNodeEssentials(t *testing.T) {
	inputs := map[string]Input{"control plane": controlPlaneInput(), "worker": workerInput()}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			pod, err := Build(in)
			g.Expect(err).NotTo(HaveOccurred())
			spec := pod.Spec

			g.Expect(spec.AutomountServiceAccountToken).To(HaveValue(BeFalse()))
			for _, c := range append(spec.InitContainers, spec.Containers...) {
				for _, vm := range c.VolumeMounts {
					g.Expect(vm.MountPath).NotTo(HavePrefix("/var/run/secrets"), "no service-account token in %s", c.Name)
				}
			}
			for _, v := range spec.Volumes {
				g.Expect(v.Projected).To(BeNil(), "no projected token volume")
			}
			g.Expect(spec.RestartPolicy).To(Equal(corev1.RestartPolicyNever))
			g.Expect(spec.EnableServiceLinks).To(HaveValue(BeFalse()))

			g.Expect(spec.Containers).To(HaveLen(1))
			node := spec.Containers[0]
			g.Expect(node.Name).To(Equal(ContainerName))
			g.Expect(node.Image).To(Equal(testImage))
			g.Expect(node.Command).To(Equal([]string{"/bin/bash", BootMountPath + "/" + EntrypointKey}))
			g.Expect(node.SecurityContext.Privileged).To(HaveValue(BeTrue()))
			g.Expect(node.TTY).To(BeTrue())
			g.Expect(node.Env).To(ContainElement(corev1.EnvVar{Name: "container", Value: "docker"}))
			g.Expect(node.Lifecycle.StopSignal).To(HaveValue(Equal(corev1.SIGRTMINPLUS3)))
			g.Expect(spec.OS).To(HaveValue(Equal(corev1.PodOS{Name: corev1.Linux})))
			g.Expect(node.TerminationMessagePath).To(Equal("/dev/termination-log"))
			g.Expect(node.TerminationMessagePolicy).To(Equal(corev1.TerminationMessageReadFile))

			g.Expect(node.StartupProbe.Exec.Command).To(Equal([]string{"test", "-f", BootstrapSuccessFile}))
			g.Expect(node.StartupProbe.PeriodSeconds).To(BeEquivalentTo(2))
			g.Expect(node.StartupProbe.FailureThreshold).To(BeEquivalentTo(900))

			mounts := map[string]corev1.VolumeMount{}
			for _, vm := range node.VolumeMounts {
				mounts[vm.MountPath] = vm
			}
			volumes := map[string]corev1.Volume{}
			for _, v := range spec.Volumes {
				volumes[v.Name] = v
			}
			for _, p := range []string{"/run", "/tmp"} {
				g.Expect(volumes[mounts[p].Name].EmptyDir).To(HaveValue(HaveField("Medium", corev1.StorageMediumMemory)), p)
			}
			g.Expect(volumes[mounts["/var"].Name].EmptyDir).NotTo(BeNil())
			g.Expect(mounts["/lib/modules"].ReadOnly).To(BeTrue())
			g.Expect(volumes[mounts["/lib/modules"].Name].HostPath).To(HaveValue(HaveField("Type", HaveValue(Equal(corev1.HostPathDirectoryOrCreate)))))
			g.Expect(mounts[BootMountPath].ReadOnly).To(BeTrue())
			boot := volumes[mounts[BootMountPath].Name].Secret
			g.Expect(boot).NotTo(BeNil())
			g.Expect(boot.SecretName).To(Equal(BootstrapSecretName(pod.Name)))
			g.Expect(boot.DefaultMode).To(HaveValue(BeEquivalentTo(0o500)))
		})
	}
}

func TestBuildDoesNotAliasTheMachine(t *testing.T) {
	g := NewWithT(t)
	in := controlPlaneInput()
	in.Machine.Spec.RuntimeClassName = ptrTo("kata")
	before := in.Machine.DeepCopy()
	pod, err := Build(in)
	g.Expect(err).NotTo(HaveOccurred())

	pod.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("64")
	pod.Spec.Tolerations[0].Key = "changed"
	pod.Spec.NodeSelector["changed"] = "yes"
	*pod.Spec.RuntimeClassName = "changed"
	claims := PVCs(in)
	claims[0].Labels["changed"] = "yes"
	claims[0].Spec.AccessModes[0] = corev1.ReadOnlyMany
	g.Expect(in.Machine).To(Equal(before))
}
