package kubeadmconfig

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
)

// kubeletLabels are the labels in the kubernetes.io and k8s.io namespaces that
// a kubelet may set on its own Node; with any other it refuses to start.
var kubeletLabels = map[string]bool{
	"kubernetes.io/hostname":                   true,
	"kubernetes.io/os":                         true,
	"kubernetes.io/arch":                       true,
	"beta.kubernetes.io/os":                    true,
	"beta.kubernetes.io/arch":                  true,
	"beta.kubernetes.io/instance-type":         true,
	"node.kubernetes.io/instance-type":         true,
	"topology.kubernetes.io/region":            true,
	"topology.kubernetes.io/zone":              true,
	"failure-domain.beta.kubernetes.io/region": true,
	"failure-domain.beta.kubernetes.io/zone":   true,
}

// kubeletLabelNamespaces are the label namespaces a kubelet may set in full.
var kubeletLabelNamespaces = []string{"kubelet.kubernetes.io", "node.kubernetes.io"}

// nodeLabelsProblem checks the node-labels kubelet argument of the init and
// join node registrations, as the kubelet would when it starts: a bad one
// would stop the node after it booted, with the reason only in its journal.
// It returns "" when they are fine, else a message naming the field.
func nodeLabelsProblem(spec *bootstrapv1.KubeadmConfigSpec) string {
	for _, reg := range []struct {
		field string
		args  []bootstrapv1.Arg
	}{
		{"spec.initConfiguration.nodeRegistration.kubeletExtraArgs", spec.InitConfiguration.NodeRegistration.KubeletExtraArgs},
		{"spec.joinConfiguration.nodeRegistration.kubeletExtraArgs", spec.JoinConfiguration.NodeRegistration.KubeletExtraArgs},
	} {
		for _, a := range reg.args {
			if a.Name != "node-labels" || a.Value == nil {
				continue
			}
			if err := checkNodeLabels(*a.Value); err != nil {
				return fmt.Sprintf("%s node-labels %q: %v", reg.field, *a.Value, err)
			}
		}
	}
	return ""
}

// checkNodeLabels checks a --node-labels value: key=value pairs separated by
// commas.
func checkNodeLabels(value string) error {
	if value == "" {
		return nil
	}
	for _, pair := range strings.Split(value, ",") {
		key, val, ok := strings.Cut(pair, "=")
		if !ok {
			return fmt.Errorf("%q is not key=value", pair)
		}
		if msgs := validation.IsQualifiedName(key); len(msgs) > 0 {
			return fmt.Errorf("label key %q: %s", key, strings.Join(msgs, "; "))
		}
		if msgs := validation.IsValidLabelValue(val); len(msgs) > 0 {
			return fmt.Errorf("label %q value %q: %s", key, val, strings.Join(msgs, "; "))
		}
		if !kubeletMaySet(key) {
			return fmt.Errorf("label %q is in the kubernetes.io or k8s.io namespace, which the kubelet may not set on its Node "+
				"(it refuses to start); node-role labels come from the Machine's labels instead", key)
		}
	}
	return nil
}

// kubeletMaySet reports whether a kubelet may label its own Node with key.
func kubeletMaySet(key string) bool {
	prefix, _, ok := strings.Cut(key, "/")
	if !ok {
		return true
	}
	restricted := func(ns string) bool { return prefix == ns || strings.HasSuffix(prefix, "."+ns) }
	if !restricted("kubernetes.io") && !restricted("k8s.io") {
		return true
	}
	for _, ns := range kubeletLabelNamespaces {
		if restricted(ns) {
			return true
		}
	}
	return kubeletLabels[key]
}
