package kubeadmtypes

import (
	"bytes"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// MarshalInitData renders the file `kubeadm init --config` reads: the
// ClusterConfiguration, the InitConfiguration and any component configs, as
// YAML documents separated by "---". apiVersion and kind are set here, and keys
// are sorted, so the output is stable. The format is the one the kubeadm of
// cc.KubernetesVersion reads (APIVersionFor): v1beta4, or v1beta3 before v1.31,
// which fails on a setting v1beta3 cannot carry.
func MarshalInitData(cc ClusterConfiguration, ic InitConfiguration, components ComponentConfigs) ([]byte, error) {
	apiVersion, err := APIVersionFor(cc.KubernetesVersion)
	if err != nil {
		return nil, err
	}
	cc.TypeMeta = metav1.TypeMeta{APIVersion: APIVersion, Kind: "ClusterConfiguration"}
	ic.TypeMeta = metav1.TypeMeta{APIVersion: APIVersion, Kind: "InitConfiguration"}
	docs := []any{cc, ic}
	if apiVersion == APIVersionV1Beta3 {
		icDoc, healthCheck, err := initConfigurationV1Beta3(ic, cc.KubernetesVersion)
		if err != nil {
			return nil, err
		}
		ccDoc, err := clusterConfigurationV1Beta3(cc, healthCheck, cc.KubernetesVersion)
		if err != nil {
			return nil, err
		}
		docs = []any{ccDoc, icDoc}
	}
	// Copies, so that the caller's values are not changed.
	if components.Kubelet != nil {
		k := *components.Kubelet
		if apiVersion == APIVersionV1Beta3 {
			// No such kubelet setting before v1.31, and none needed: only
			// kubelet v1.35 and later refuse cgroup v1 without it.
			k.FailCgroupV1 = nil
		}
		k.TypeMeta = metav1.TypeMeta{APIVersion: "kubelet.config.k8s.io/v1beta1", Kind: "KubeletConfiguration"}
		docs = append(docs, k)
	}
	if components.KubeProxy != nil {
		p := *components.KubeProxy
		p.TypeMeta = metav1.TypeMeta{APIVersion: "kubeproxy.config.k8s.io/v1alpha1", Kind: "KubeProxyConfiguration"}
		docs = append(docs, p)
	}
	return marshalDocs(docs...)
}

// MarshalJoinData renders the file `kubeadm join --config` reads, in the
// format the kubeadm of kubernetesVersion reads (see MarshalInitData). A
// Machine without a version gets v1beta4.
func MarshalJoinData(jc JoinConfiguration, kubernetesVersion string) ([]byte, error) {
	jc.TypeMeta = metav1.TypeMeta{APIVersion: APIVersion, Kind: "JoinConfiguration"}
	if kubernetesVersion == "" {
		return marshalDocs(jc)
	}
	apiVersion, err := APIVersionFor(kubernetesVersion)
	if err != nil {
		return nil, err
	}
	if apiVersion == APIVersion {
		return marshalDocs(jc)
	}
	doc, err := joinConfigurationV1Beta3(jc, kubernetesVersion)
	if err != nil {
		return nil, err
	}
	return marshalDocs(doc)
}

func marshalDocs(docs ...any) ([]byte, error) {
	var buf bytes.Buffer
	for i, d := range docs {
		out, err := yaml.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("marshaling kubeadm document %T: %w", d, err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(out)
	}
	return buf.Bytes(), nil
}
