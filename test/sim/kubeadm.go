package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// kubeadmCommand is a kubeadm init or join the node would have run.
type kubeadmCommand struct {
	// phase is "init" or "join".
	phase string
	// config is the --config file, a path on the node.
	config string
}

// findKubeadm returns the first kubeadm init or join among the commands, the
// way the script runs them: as argv, or as a simple command of a /bin/sh -c
// string (words split on blanks, commands on &&, ||, ; and | standing alone;
// quoting is not interpreted).
func findKubeadm(commands [][]string) (kubeadmCommand, bool) {
	for _, argv := range commands {
		words := argv
		if len(argv) >= 3 && path.Base(argv[0]) == "sh" && argv[1] == "-c" {
			words = strings.Fields(argv[2])
		}
		for i := 0; i+1 < len(words); i++ {
			// Only a word that starts a simple command runs kubeadm.
			if i > 0 && !slices.Contains([]string{"&&", "||", ";", "|"}, words[i-1]) {
				continue
			}
			if path.Base(words[i]) != "kubeadm" || (words[i+1] != "init" && words[i+1] != "join") {
				continue
			}
			if i+2 < len(words) && words[i+2] == "phase" {
				continue
			}
			cmd := kubeadmCommand{phase: words[i+1]}
			for j := i + 2; j < len(words) && !slices.Contains([]string{"&&", "||", ";", "|"}, words[j]); j++ {
				if v, ok := strings.CutPrefix(words[j], "--config="); ok {
					cmd.config = v
				} else if words[j] == "--config" && j+1 < len(words) {
					cmd.config = words[j+1]
				}
			}
			return cmd, true
		}
	}
	return kubeadmCommand{}, false
}

// kubeadmConfig is what the simulation reads of a kubeadm configuration
// (ClusterConfiguration, InitConfiguration or JoinConfiguration documents).
type kubeadmConfig struct {
	ClusterName          string
	ControlPlaneEndpoint string
	KubernetesVersion    string
	ServiceSubnet        string
	DNSDomain            string
	// NodeName is nodeRegistration.name; empty means the hostname.
	NodeName string
	// Taints is nodeRegistration.taints; nil means kubeadm's default.
	Taints *[]corev1.Taint
	// NodeLabels are the kubelet's --node-labels from kubeletExtraArgs.
	NodeLabels map[string]string
	// LocalEtcd is set when the ClusterConfiguration has etcd.local: the
	// cluster runs a stacked etcd member on each control-plane node.
	LocalEtcd bool
}

type kubeadmDoc struct {
	Kind                 string `json:"kind"`
	ClusterName          string `json:"clusterName"`
	ControlPlaneEndpoint string `json:"controlPlaneEndpoint"`
	KubernetesVersion    string `json:"kubernetesVersion"`
	Etcd                 struct {
		Local map[string]any `json:"local"`
	} `json:"etcd"`
	Networking struct {
		ServiceSubnet string `json:"serviceSubnet"`
		DNSDomain     string `json:"dnsDomain"`
	} `json:"networking"`
	NodeRegistration *struct {
		Name             string          `json:"name"`
		Taints           *[]corev1.Taint `json:"taints"`
		KubeletExtraArgs kubeletArgs     `json:"kubeletExtraArgs"`
	} `json:"nodeRegistration"`
}

// kubeletArgs are nodeRegistration.kubeletExtraArgs, by name: a list of
// {name, value} in kubeadm.k8s.io/v1beta4, a map in v1beta3 (what the
// bootstrap provider writes for Machines before v1.31). With a name given
// twice in a list, the last wins, as on the kubelet's command line.
type kubeletArgs map[string]string

func (a *kubeletArgs) UnmarshalJSON(raw []byte) error {
	var list []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	if err := json.Unmarshal(raw, &list); err == nil {
		*a = kubeletArgs{}
		for _, arg := range list {
			(*a)[arg.Name] = arg.Value
		}
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("kubeletExtraArgs is neither a list of {name, value} (v1beta4) nor a map (v1beta3): %w", err)
	}
	*a = m
	return nil
}

// readKubeadmConfig reads the --config file from the node's root.
func readKubeadmConfig(root, file string) (*kubeadmConfig, error) {
	if file == "" {
		return nil, fmt.Errorf("kubeadm runs without --config, which the simulated runtime cannot play")
	}
	raw, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		return nil, fmt.Errorf("reading the kubeadm config: %w", err)
	}
	cfg := &kubeadmConfig{NodeLabels: map[string]string{}}
	for _, part := range bytes.Split(raw, []byte("\n---")) {
		if len(bytes.TrimSpace(part)) == 0 {
			continue
		}
		var doc kubeadmDoc
		if err := yaml.Unmarshal(part, &doc); err != nil {
			return nil, fmt.Errorf("parsing the kubeadm config %s: %w", file, err)
		}
		if doc.Kind == "ClusterConfiguration" {
			cfg.ClusterName = doc.ClusterName
			cfg.ControlPlaneEndpoint = doc.ControlPlaneEndpoint
			cfg.KubernetesVersion = doc.KubernetesVersion
			cfg.ServiceSubnet = doc.Networking.ServiceSubnet
			cfg.DNSDomain = doc.Networking.DNSDomain
			cfg.LocalEtcd = doc.Etcd.Local != nil
		}
		if nr := doc.NodeRegistration; nr != nil {
			// kubeadm validates the name; an unrendered template
			// ({{ ds.meta_data.local_hostname }}) fails here, as on a node.
			if msgs := validation.IsDNS1123Subdomain(nr.Name); nr.Name != "" && len(msgs) > 0 {
				return nil, fmt.Errorf("%s: nodeRegistration.name %q is not a valid node name: %s", file, nr.Name, strings.Join(msgs, "; "))
			}
			cfg.NodeName = nr.Name
			cfg.Taints = nr.Taints
			if labels, ok := nr.KubeletExtraArgs["node-labels"]; ok {
				for _, kv := range strings.Split(labels, ",") {
					if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
						cfg.NodeLabels[k] = v
					}
				}
			}
		}
	}
	return cfg, nil
}
