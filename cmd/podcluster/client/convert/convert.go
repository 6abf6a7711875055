// Package convert rewrites manifests written for Cluster API v1alpha2 (the API
// of the seed walkthrough) into Cluster API v1beta2 and podcluster's own
// infrastructure kinds. It is pure: objects in, objects and warnings out.
//
// Every converter moves the fields it understands out of a copy of the input
// and into the output. Whatever is still left in the copy afterwards is
// reported field by field, so nothing is ever dropped without a warning.
package convert

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// API versions of the input.
const (
	coreV1alpha2      = "cluster.x-k8s.io/v1alpha2"
	bootstrapV1alpha2 = "bootstrap.cluster.x-k8s.io/v1alpha2"
	// oldInfraGroup is the group of the Kubernetes infrastructure provider of the seed.
	oldInfraGroup    = "infrastructure.lukeaddison.co.uk"
	oldInfraV1alpha2 = oldInfraGroup + "/v1alpha2"
)

// Groups and versions of the output.
const (
	coreGroup         = "cluster.x-k8s.io"
	bootstrapGroup    = "bootstrap.cluster.x-k8s.io"
	controlPlaneGroup = "controlplane.cluster.x-k8s.io"
	infraGroup        = "infrastructure.cluster.x-k8s.io"

	coreV1beta2      = coreGroup + "/v1beta2"
	bootstrapV1beta2 = bootstrapGroup + "/v1beta2"
	infraV1alpha1    = infraGroup + "/v1alpha1"
)

// servedVersions are the apiVersions podcluster serves: objects already written
// for them pass through without a warning.
var servedVersions = map[string]bool{
	coreV1beta2:                    true,
	bootstrapV1beta2:               true,
	controlPlaneGroup + "/v1beta2": true,
	infraV1alpha1:                  true,
}

// infraKinds are the kinds of the old Kubernetes provider that podcluster serves too.
var infraKinds = map[string]bool{
	"KubernetesCluster":         true,
	"KubernetesMachine":         true,
	"KubernetesMachineTemplate": true,
}

// Convert returns the v1beta2 form of each object, in input order, and a
// warning for every field that could not be carried over. Objects of kinds or
// versions it does not know are returned unchanged, with a warning unless they
// are already in a version podcluster serves. The input is not modified.
func Convert(objs []*unstructured.Unstructured) (out []*unstructured.Unstructured, warnings []string) {
	for _, obj := range expandLists(objs) {
		c := &converter{kind: obj.GetKind(), name: obj.GetName()}
		in := obj.DeepCopy().Object
		convert, ok := converters[obj.GetAPIVersion()+" "+obj.GetKind()]
		if !ok {
			if !servedVersions[obj.GetAPIVersion()] {
				c.warn("", "passed through unchanged: podcluster does not convert %s %s", obj.GetAPIVersion(), obj.GetKind())
			}
			out = append(out, obj.DeepCopy())
			warnings = append(warnings, c.warnings...)
			continue
		}
		s := c.root(in)
		// apiVersion and kind are replaced; everything else must be consumed.
		s.take("apiVersion")
		s.take("kind")
		o := convert(c, s)
		s.done()
		out = append(out, &unstructured.Unstructured{Object: o})
		warnings = append(warnings, c.warnings...)
	}
	return out, warnings
}

// expandLists replaces each v1 List (what `kubectl get -o yaml` prints) by its items.
func expandLists(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, obj := range objs {
		if !obj.IsList() {
			out = append(out, obj)
			continue
		}
		_ = obj.EachListItem(func(item runtime.Object) error {
			if u, ok := item.(*unstructured.Unstructured); ok {
				out = append(out, u)
			}
			return nil
		})
	}
	return out
}

// converters maps "apiVersion kind" to the function that builds the new object.
var converters = map[string]func(*converter, src) map[string]any{
	coreV1alpha2 + " Cluster":                       convertCluster,
	coreV1alpha2 + " Machine":                       convertMachine,
	coreV1alpha2 + " MachineSet":                    convertMachineSet,
	coreV1alpha2 + " MachineDeployment":             convertMachineDeployment,
	bootstrapV1alpha2 + " KubeadmConfig":            convertKubeadmConfig,
	bootstrapV1alpha2 + " KubeadmConfigTemplate":    convertKubeadmConfigTemplate,
	oldInfraV1alpha2 + " KubernetesCluster":         convertKubernetesCluster,
	oldInfraV1alpha2 + " KubernetesMachine":         convertKubernetesMachine,
	oldInfraV1alpha2 + " KubernetesMachineTemplate": convertKubernetesMachineTemplate,
}

// converter collects the warnings of one object.
type converter struct {
	kind, name string
	warnings   []string
}

// warn records a warning about the field at path ("" for the whole object).
func (c *converter) warn(path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	c.warnings = append(c.warnings, fmt.Sprintf("%s %s: %s", c.kind, c.name, msg))
}

// dropped records that the field at path has no place in the output.
func (c *converter) dropped(path, why string) {
	c.warn(path, "dropped: %s", why)
}

func (c *converter) root(m map[string]any) src { return src{c: c, m: m} }

// src is a view of a map of the input at a path. Taking a field removes it from
// the input, so that done can report whatever nobody took.
type src struct {
	c    *converter
	path string
	m    map[string]any // nil when the field is absent
}

func (s src) at(key string) string {
	if s.path == "" {
		return key
	}
	return s.path + "." + key
}

// take removes and returns a field.
func (s src) take(key string) (any, bool) {
	v, ok := s.m[key]
	if ok {
		delete(s.m, key)
	}
	return v, ok
}

// child returns the map at key, which stays in the input until its own fields
// are taken. A field of the wrong type is reported and ignored.
func (s src) child(key string) src {
	out := src{c: s.c, path: s.at(key)}
	v, ok := s.m[key]
	if !ok || v == nil {
		delete(s.m, key)
		return out
	}
	m, ok := v.(map[string]any)
	if !ok {
		delete(s.m, key)
		s.c.dropped(out.path, fmt.Sprintf("expected an object, found %T", v))
		return out
	}
	out.m = m
	return out
}

// str takes a string field; other scalars are formatted as strings.
func (s src) str(key string) (string, bool) {
	v, ok := s.take(key)
	if !ok || v == nil {
		return "", false
	}
	switch v := v.(type) {
	case string:
		return v, true
	case float64: // YAML numbers decode as float64; 8589934592 must not become 8.589934592e+09
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool, int64, int:
		return fmt.Sprint(v), true
	}
	s.c.dropped(s.at(key), fmt.Sprintf("expected a string, found %T", v))
	return "", false
}

// list takes a list field and returns views of its items, which the caller
// must finish with done since they are no longer part of the input.
func (s src) list(key string) []src {
	v, ok := s.take(key)
	if !ok || v == nil {
		return nil
	}
	items, ok := v.([]any)
	if !ok {
		s.c.dropped(s.at(key), fmt.Sprintf("expected a list, found %T", v))
		return nil
	}
	var out []src
	for i, item := range items {
		path := fmt.Sprintf("%s[%d]", s.at(key), i)
		m, ok := item.(map[string]any)
		if !ok {
			s.c.dropped(path, fmt.Sprintf("expected an object, found %T", item))
			continue
		}
		out = append(out, src{c: s.c, path: path, m: m})
	}
	return out
}

// copy moves each named field unchanged from s to dst (empty values are not set).
func (s src) copy(dst map[string]any, keys ...string) {
	for _, k := range keys {
		if v, ok := s.take(k); ok {
			set(dst, k, v)
		}
	}
}

// done reports every field left in s as dropped.
func (s src) done() {
	reportLeftovers(s.c, s.path, s.m)
}

func reportLeftovers(c *converter, path string, v any) {
	switch v := v.(type) {
	case nil:
		return
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			reportLeftovers(c, p, v[k])
		}
	default:
		c.dropped(path, "no v1beta2 equivalent")
	}
}

// set stores v at key unless it is empty (nil, "", an empty map or list): most
// v1beta2 objects and lists must not be empty when present.
func set(dst map[string]any, key string, v any) {
	if isEmpty(v) {
		return
	}
	dst[key] = v
}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	case []map[string]any:
		return len(v) == 0
	}
	return false
}

// metadata converts object metadata: names, labels and annotations carry over,
// fields the API server sets do not.
func metadata(s src) map[string]any {
	out := map[string]any{}
	s.copy(out, "name", "generateName", "namespace")
	set(out, "labels", labels(s.child("labels")))
	annotations := s.child("annotations")
	if _, ok := annotations.take("kubectl.kubernetes.io/last-applied-configuration"); ok {
		s.c.dropped(annotations.at("kubectl.kubernetes.io/last-applied-configuration"), "it records the v1alpha2 object; kubectl writes it again")
	}
	set(out, "annotations", stringMap(annotations))
	var server []string
	for _, k := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields"} {
		if _, ok := s.take(k); ok {
			server = append(server, s.at(k))
		}
	}
	if len(server) > 0 {
		s.c.dropped(strings.Join(server, ", "), "set by the API server")
	}
	for _, k := range []string{"ownerReferences", "finalizers"} {
		if _, ok := s.take(k); ok {
			s.c.dropped(s.at(k), "the v1beta2 controllers set them again")
		}
	}
	return out
}

// labels converts a label map. The control-plane label of v1alpha2 carried the
// value "true"; v1beta2 uses an empty value.
func labels(s src) map[string]any {
	out := stringMap(s)
	if _, ok := out[clusterv1.MachineControlPlaneLabel]; ok {
		out[clusterv1.MachineControlPlaneLabel] = ""
	}
	return out
}

// stringMap takes every entry of a map of strings.
func stringMap(s src) map[string]any {
	out := map[string]any{}
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	for _, k := range keys {
		if v, ok := s.str(k); ok {
			out[k] = v
		}
	}
	return out
}

// args converts a v1alpha2 map of command-line arguments into the v1beta2 list
// of {name, value}, sorted by name so that the output is deterministic.
func args(s src) []any {
	m := stringMap(s)
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]any, 0, len(names))
	for _, n := range names {
		out = append(out, map[string]any{"name": n, "value": m[n]})
	}
	return out
}

// dropStatus drops the status of an object: it is observed state that the
// v1beta2 controllers compute again.
func dropStatus(s src) {
	if v, ok := s.take("status"); ok && !isEmpty(v) {
		s.c.dropped("status", "observed state; the v1beta2 controllers compute it again")
	}
}

// ref converts a v1alpha2 object reference {apiVersion, kind, name, ...} into a
// v1beta2 {apiGroup, kind, name}. References to the old Kubernetes provider
// change group; references to another namespace cannot be expressed.
func ref(s src, namespace string) map[string]any {
	if s.m == nil {
		return nil
	}
	out := map[string]any{}
	apiVersion, _ := s.str("apiVersion")
	kind, _ := s.str("kind")
	name, _ := s.str("name")
	group, _, found := strings.Cut(apiVersion, "/")
	if !found {
		group = "" // "v1": the core group
	}
	switch {
	case group == oldInfraGroup:
		if !infraKinds[kind] {
			s.c.warn(s.at("apiVersion"), "%s %s has no podcluster equivalent; kept as group %s", apiVersion, kind, infraGroup)
		}
		group = infraGroup
	case group == "":
		s.c.warn(s.at("apiVersion"), "%q is no API group a v1beta2 reference can name; fix the reference by hand", apiVersion)
	case group != coreGroup && group != bootstrapGroup && group != controlPlaneGroup && group != infraGroup:
		s.c.warn(s.at("apiVersion"), "group %s is not served by podcluster; install a provider that serves %s", group, kind)
	}
	set(out, "apiGroup", group)
	set(out, "kind", kind)
	set(out, "name", name)
	if ns, ok := s.str("namespace"); ok && ns != "" && ns != namespace {
		s.c.dropped(s.at("namespace"), fmt.Sprintf("v1beta2 references stay in the object's namespace, not %q", ns))
	}
	for _, k := range []string{"uid", "resourceVersion", "fieldPath"} {
		if _, ok := s.take(k); ok {
			s.c.dropped(s.at(k), "v1beta2 references hold only apiGroup, kind and name")
		}
	}
	return out
}
