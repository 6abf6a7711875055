package sim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

// upstreamJoinCloudConfig is a kubeadm join cloud-config in the format of
// upstream Cluster API's kubeadm bootstrap provider: a Jinja template
// ("## template: jinja") that names the node after the data source's local
// hostname, with 4-space list items, the /run/cluster-api placeholder file and
// a runcmd that writes the success sentinel after kubeadm join. The instance
// id becomes a node label, so that a test can tell a rendered value from
// kubeadm's default (the hostname).
func upstreamJoinCloudConfig(endpoint, token, hash string) []byte {
	return []byte(`## template: jinja
#cloud-config

write_files:
-   path: /run/kubeadm/kubeadm-join-config.yaml
    owner: root:root
    permissions: '0640'
    content: |
      ---
      apiVersion: kubeadm.k8s.io/v1beta4
      discovery:
        bootstrapToken:
          apiServerEndpoint: ` + endpoint + `
          caCertHashes:
          - ` + hash + `
          token: ` + token + `
      kind: JoinConfiguration
      nodeRegistration:
        imagePullPolicy: IfNotPresent
        kubeletExtraArgs:
        - name: node-labels
          value: example.com/instance={{ v1.instance_id }},example.com/cloud={{ v1.cloud_name }}
        name: '{{ ds.meta_data.local_hostname }}'
        taints: []
-   path: /run/cluster-api/placeholder
    owner: root:root
    permissions: '0640'
    content: "This placeholder file creates the /run/cluster-api directory."
runcmd:
  - 'echo "127.0.0.1 {{ ds.meta_data.local_hostname }}" >>/etc/hosts'
  - 'kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml  && echo success > /run/cluster-api/bootstrap-success.complete'
`)
}

// TestReadKubeadmConfigRefusesInvalidNodeNames: kubeadm refuses a
// nodeRegistration.name that is not a DNS subdomain, such as a Jinja
// expression nobody rendered, and so does the simulation.
func TestReadKubeadmConfigRefusesInvalidNodeNames(t *testing.T) {
	for name, want := range map[string]string{
		"worker-0":                          "",
		"worker-0.example.com":              "",
		"{{ ds.meta_data.local_hostname }}": `nodeRegistration.name "{{ ds.meta_data.local_hostname }}" is not a valid node name`,
		"Worker_0":                          `nodeRegistration.name "Worker_0" is not a valid node name`,
		strings.Repeat("a", 254):            "is not a valid node name",
	} {
		t.Run(name[:min(len(name), 40)], func(t *testing.T) {
			g := NewWithT(t)
			root := t.TempDir()
			g.Expect(os.MkdirAll(filepath.Join(root, "run", "kubeadm"), 0o755)).To(Succeed())
			g.Expect(os.WriteFile(filepath.Join(root, "run", "kubeadm", "join.yaml"),
				[]byte("apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\nnodeRegistration:\n  name: '"+name+"'\n"), 0o644)).To(Succeed())
			cfg, err := readKubeadmConfig(root, "/run/kubeadm/join.yaml")
			if want == "" {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(cfg.NodeName).To(Equal(name))
				return
			}
			g.Expect(err).To(MatchError(ContainSubstring(want)))
		})
	}
}
