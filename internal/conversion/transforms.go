package conversion

import (
	"encoding/json"
	"math"
	"sort"
	"strings"
	"time"
)

// Value transforms for Rule.ToHub and Rule.ToSpoke. Each takes a JSON value
// and returns the value to write, or nil to write nothing; a value of an
// unexpected shape is dropped, and the annotation keeps the original.

// DurationToSeconds turns a duration string ("90s", "1m30s") into whole seconds.
func DurationToSeconds(v any) any {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return nil
	}
	secs := int64(d / time.Second)
	if secs > math.MaxInt32 || secs < math.MinInt32 {
		return nil
	}
	return json.Number(fmtInt(secs))
}

// SecondsToDuration turns whole seconds into a duration string.
func SecondsToDuration(v any) any {
	n, ok := number(v)
	if !ok {
		return nil
	}
	return (time.Duration(n) * time.Second).String()
}

// TrueOnly keeps true and drops false, for a bool that becomes an optional
// pointer whose absence means false.
func TrueOnly(v any) any {
	if b, ok := v.(bool); ok && b {
		return true
	}
	return nil
}

// ZeroOmitted drops 0, for a plain number that becomes an optional pointer.
func ZeroOmitted(v any) any {
	if n, ok := number(v); ok && n == 0 {
		return nil
	}
	return v
}

// APIVersionResolver returns the apiVersion to write in a v1beta1 object
// reference for a group and kind, when the annotation does not say.
type APIVersionResolver func(group, kind string) string

// knownVersions are the served versions of the kinds podcluster knows.
var knownVersions = map[string]string{
	"bootstrap.cluster.x-k8s.io/KubeadmConfig":                     "v1beta2",
	"bootstrap.cluster.x-k8s.io/KubeadmConfigTemplate":             "v1beta2",
	"controlplane.cluster.x-k8s.io/KubeadmControlPlane":            "v1beta2",
	"infrastructure.cluster.x-k8s.io/KubernetesCluster":            "v1alpha1",
	"infrastructure.cluster.x-k8s.io/KubernetesMachine":            "v1alpha1",
	"infrastructure.cluster.x-k8s.io/KubernetesMachineTemplate":    "v1alpha1",
	"cluster.x-k8s.io/Cluster":                                     "v1beta2",
	"cluster.x-k8s.io/Machine":                                     "v1beta2",
	"cluster.x-k8s.io/MachineSet":                                  "v1beta2",
	"cluster.x-k8s.io/MachineDeployment":                           "v1beta2",
	"remediation.cluster.x-k8s.io/ExternalRemediationTemplate":     "v1beta1",
	"infrastructure.cluster.x-k8s.io/KubernetesMachinePoolMachine": "v1alpha1",
}

// DefaultAPIVersion knows podcluster's own kinds and guesses v1beta1, the
// contract of most other providers that still speak v1beta1, for the rest.
func DefaultAPIVersion(group, kind string) string {
	if v, ok := knownVersions[group+"/"+kind]; ok {
		return group + "/" + v
	}
	if group == "" {
		return "v1"
	}
	return group + "/v1beta1"
}

// ObjectRefToContractRef turns {apiVersion, kind, name, ...} into
// {apiGroup, kind, name}.
func ObjectRefToContractRef(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := map[string]any{}
	if av, ok := m["apiVersion"].(string); ok {
		group := ""
		if i := strings.LastIndex(av, "/"); i >= 0 {
			group = av[:i]
		}
		out["apiGroup"] = group
	}
	copyKeys(out, m, "kind", "name")
	return out
}

// ContractRefToObjectRef is the reverse of ObjectRefToContractRef, with the
// version from resolve.
func ContractRefToObjectRef(resolve APIVersionResolver) func(any) any {
	return func(v any) any {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		out := map[string]any{}
		group, _ := m["apiGroup"].(string)
		kind, _ := m["kind"].(string)
		if _, ok := m["apiGroup"]; ok {
			out["apiVersion"] = resolve(group, kind)
		}
		copyKeys(out, m, "kind", "name")
		return out
	}
}

// NameOnly keeps only the name of a reference (a Node reference).
func NameOnly(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := map[string]any{}
	copyKeys(out, m, "name")
	return out
}

// MapToNamedList turns {k: v} into [{<key>: k, <value>: v}] sorted by k.
func MapToNamedList(key, value string) func(any) any {
	return func(v any) any {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		out := make([]any, 0, len(m))
		for _, k := range names {
			item := map[string]any{key: k}
			if value == "" {
				if sub, ok := m[k].(map[string]any); ok {
					for sk, sv := range sub {
						item[sk] = sv
					}
				}
			} else {
				item[value] = m[k]
			}
			out = append(out, item)
		}
		return out
	}
}

// NamedListToMap is the reverse of MapToNamedList. With value "", the other
// fields of each item become the map value.
func NamedListToMap(key, value string) func(any) any {
	return func(v any) any {
		l, ok := v.([]any)
		if !ok {
			return nil
		}
		out := map[string]any{}
		for _, it := range l {
			item, ok := it.(map[string]any)
			if !ok {
				continue
			}
			k, ok := item[key].(string)
			if !ok {
				continue
			}
			if value == "" {
				rest := map[string]any{}
				for ik, iv := range item {
					if ik != key {
						rest[ik] = iv
					}
				}
				out[k] = rest
				continue
			}
			out[k] = item[value]
		}
		return out
	}
}

// Items applies f to every item of a list.
func Items(f func(map[string]any) map[string]any) func(any) any {
	return func(v any) any {
		l, ok := v.([]any)
		if !ok {
			return nil
		}
		out := make([]any, 0, len(l))
		for _, it := range l {
			if m, ok := it.(map[string]any); ok {
				out = append(out, f(m))
			} else {
				out = append(out, it)
			}
		}
		return out
	}
}

// Prefixed returns rules with prefix+"." before both paths, for a struct that
// appears inside several kinds (a Machine spec inside a template).
func Prefixed(prefix string, rules Rules) Rules {
	out := make(Rules, 0, len(rules))
	for _, r := range rules {
		r.Spoke = prefix + "." + r.Spoke
		r.Hub = prefix + "." + r.Hub
		out = append(out, r)
	}
	return out
}

func copyKeys(dst, src map[string]any, keys ...string) {
	for _, k := range keys {
		if v, ok := src[k]; ok {
			dst[k] = v
		}
	}
}

func number(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case float64:
		return int64(n), n == math.Trunc(n)
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	}
	return 0, false
}

func fmtInt(i int64) string {
	b, _ := json.Marshal(i)
	return string(b)
}
