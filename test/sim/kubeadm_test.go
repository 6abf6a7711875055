package sim

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
)

func TestFindKubeadm(t *testing.T) {
	g := NewWithT(t)
	for _, tc := range []struct {
		argv  [][]string
		found bool
		want  kubeadmCommand
	}{
		{argv: [][]string{{"/bin/sh", "-c", "kubeadm init --config /run/kubeadm/kubeadm.yaml --ignore-preflight-errors=Swap && echo done"}},
			found: true, want: kubeadmCommand{phase: "init", config: "/run/kubeadm/kubeadm.yaml"}},
		{argv: [][]string{{"/usr/bin/kubeadm", "join", "--config=/run/kubeadm/kubeadm-join-config.yaml"}},
			found: true, want: kubeadmCommand{phase: "join", config: "/run/kubeadm/kubeadm-join-config.yaml"}},
		{argv: [][]string{{"/bin/sh", "-c", "kubeadm init phase certs all"}}},
		{argv: [][]string{{"/bin/sh", "-c", "echo kubeadm && kubeadm init --config /a.yaml && echo --config /b.yaml"}},
			found: true, want: kubeadmCommand{phase: "init", config: "/a.yaml"}},
		{argv: [][]string{{"/bin/sh", "-c", "echo kubeadm init"}}},
		{argv: [][]string{{"/bin/sh", "-c", "set -e"}}},
	} {
		got, found := findKubeadm(tc.argv)
		g.Expect(found).To(Equal(tc.found), "%v", tc.argv)
		g.Expect(got).To(Equal(tc.want), "%v", tc.argv)
	}
}

func TestReadKubeadmConfig(t *testing.T) {
	g := NewWithT(t)
	root := t.TempDir()
	file := "/run/kubeadm/kubeadm.yaml"
	g.Expect(os.MkdirAll(filepath.Join(root, "run", "kubeadm"), 0o755)).To(Succeed())
	g.Expect(os.WriteFile(filepath.Join(root, file), []byte(`apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: c1
controlPlaneEndpoint: 127.1.0.1:6443
kubernetesVersion: v1.37.2
networking:
  serviceSubnet: 172.16.0.0/12
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
nodeRegistration:
  name: cp-0
  taints:
  - key: example.com/dedicated
    effect: NoExecute
  kubeletExtraArgs:
  - name: node-labels
    value: a=1,b=2
`), 0o644)).To(Succeed())
	cfg, err := readKubeadmConfig(root, file)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cfg.ControlPlaneEndpoint).To(Equal("127.1.0.1:6443"))
	g.Expect(cfg.ServiceSubnet).To(Equal("172.16.0.0/12"))
	g.Expect(cfg.NodeName).To(Equal("cp-0"))
	g.Expect(cfg.Taints).To(HaveValue(ConsistOf(corev1.Taint{Key: "example.com/dedicated", Effect: corev1.TaintEffectNoExecute})))
	g.Expect(cfg.NodeLabels).To(Equal(map[string]string{"a": "1", "b": "2"}))

	_, err = readKubeadmConfig(root, "")
	g.Expect(err).To(MatchError(ContainSubstring("without --config")))

	// kubeadm.k8s.io/v1beta3, for Machines before v1.31: the kubelet's
	// arguments are a map.
	g.Expect(os.WriteFile(filepath.Join(root, file), []byte(`apiVersion: kubeadm.k8s.io/v1beta3
kind: JoinConfiguration
nodeRegistration:
  name: worker-0
  kubeletExtraArgs:
    eviction-hard: nodefs.available<0%
    node-labels: pool=batch
`), 0o644)).To(Succeed())
	cfg, err = readKubeadmConfig(root, file)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cfg.NodeName).To(Equal("worker-0"))
	g.Expect(cfg.NodeLabels).To(Equal(map[string]string{"pool": "batch"}))
}
