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
// are sorted, so the output is stable.
func MarshalInitData(cc ClusterConfiguration, ic InitConfiguration, components ComponentConfigs) ([]byte, error) {
	cc.TypeMeta = metav1.TypeMeta{APIVersion: APIVersion, Kind: "ClusterConfiguration"}
	ic.TypeMeta = metav1.TypeMeta{APIVersion: APIVersion, Kind: "InitConfiguration"}
	docs := []any{cc, ic}
	// Copies, so that the caller's values are not changed.
	if components.Kubelet != nil {
		k := *components.Kubelet
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

// MarshalJoinData renders the file `kubeadm join --config` reads.
func MarshalJoinData(jc JoinConfiguration) ([]byte, error) {
	jc.TypeMeta = metav1.TypeMeta{APIVersion: APIVersion, Kind: "JoinConfiguration"}
	return marshalDocs(jc)
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
