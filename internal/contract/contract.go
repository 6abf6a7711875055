// Package contract reads and writes provider objects (bootstrap configs,
// infrastructure clusters and machines, control planes) as unstructured data,
// through the fields the Cluster API v1beta2 contract names. The core
// controllers use it instead of any provider's Go types, so that podcluster's
// core works with upstream providers and the other way round.
package contract

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// Resolver turns a ContractVersionedObjectReference into a full
// GroupVersionKind, as upstream does: it finds the provider's CRD by group and
// kind, and the version is the last one listed in the CRD's contract label.
// It does not ask a RESTMapper, whose view of a group may predate the
// provider's installation: a kind whose CRD appears after the manager started
// is found without a restart. The CRD of each group and kind is remembered by
// name; its contract label is read again on every call (from the metadata
// cache), so a provider upgrade that changes the label is followed too.
type Resolver struct {
	// Reader reads CRDs; a cached client is fine (and cheap: the label is read
	// from CRD metadata only).
	Reader client.Reader

	mu    sync.RWMutex
	names map[schema.GroupKind]string
}

// GVK returns the group, version and kind the reference points at.
func (r *Resolver) GVK(ctx context.Context, ref clusterv1.ContractVersionedObjectReference) (schema.GroupVersionKind, error) {
	gk := schema.GroupKind{Group: ref.APIGroup, Kind: ref.Kind}
	r.mu.RLock()
	name, known := r.names[gk]
	r.mu.RUnlock()
	if known {
		md, err := r.crdMetadata(ctx, name)
		switch {
		case err == nil:
			v, err := contractVersion(name, md.Labels)
			return gk.WithVersion(v), err
		case !apierrors.IsNotFound(err):
			return schema.GroupVersionKind{}, fmt.Errorf("reading CRD %s: %w", name, err)
		}
		// The CRD went away, perhaps replaced under another name: look again.
		r.mu.Lock()
		delete(r.names, gk)
		r.mu.Unlock()
	}
	crd, err := r.findCRD(ctx, gk)
	if err != nil {
		return schema.GroupVersionKind{}, err
	}
	v, err := ContractVersion(crd)
	if err != nil {
		return schema.GroupVersionKind{}, err
	}
	r.mu.Lock()
	if r.names == nil {
		r.names = map[schema.GroupKind]string{}
	}
	r.names[gk] = crd.Name
	r.mu.Unlock()
	return gk.WithVersion(v), nil
}

// crdMetadata reads only the metadata of a CRD.
func (r *Resolver) crdMetadata(ctx context.Context, name string) (*metav1.PartialObjectMetadata, error) {
	md := &metav1.PartialObjectMetadata{}
	md.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	if err := r.Reader.Get(ctx, client.ObjectKey{Name: name}, md); err != nil {
		return nil, err
	}
	return md, nil
}

// findCRD finds the CRD that serves a group and kind: first under the name
// the usual plural gives, then among all CRDs.
func (r *Resolver) findCRD(ctx context.Context, gk schema.GroupKind) (*apiextensionsv1.CustomResourceDefinition, error) {
	serves := func(crd *apiextensionsv1.CustomResourceDefinition) bool {
		return crd.Spec.Group == gk.Group && crd.Spec.Names.Kind == gk.Kind
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	err := r.Reader.Get(ctx, client.ObjectKey{Name: guessPlural(gk.Kind) + "." + gk.Group}, crd)
	switch {
	case err == nil && serves(crd):
		return crd, nil
	case err != nil && !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("reading the CRD of %s: %w", gk, err)
	}
	list := &apiextensionsv1.CustomResourceDefinitionList{}
	if err := r.Reader.List(ctx, list); err != nil {
		return nil, fmt.Errorf("listing CRDs to find %s: %w", gk, err)
	}
	for i := range list.Items {
		if serves(&list.Items[i]) {
			return &list.Items[i], nil
		}
	}
	return nil, &NoCRDError{GroupKind: gk}
}

// NoCRDError says that no CRD serves a group and kind: its provider is not
// installed (yet).
type NoCRDError struct {
	GroupKind schema.GroupKind
}

func (e *NoCRDError) Error() string {
	return fmt.Sprintf("no CustomResourceDefinition serves kind %q of group %q: is its provider installed?", e.GroupKind.Kind, e.GroupKind.Group)
}

// guessPlural is the plural Kubernetes tools derive from a kind for a CRD's
// name: lower case, "es" after s, x, z, ch and sh, "ies" for a consonant and
// y, "s" otherwise. A CRD named otherwise is still found, by listing.
func guessPlural(kind string) string {
	k := strings.ToLower(kind)
	switch {
	case strings.HasSuffix(k, "s"), strings.HasSuffix(k, "x"), strings.HasSuffix(k, "z"),
		strings.HasSuffix(k, "ch"), strings.HasSuffix(k, "sh"):
		return k + "es"
	case len(k) > 1 && strings.HasSuffix(k, "y") && !strings.ContainsAny(k[len(k)-2:len(k)-1], "aeiou"):
		return k[:len(k)-1] + "ies"
	}
	return k + "s"
}

// ContractVersion returns the API version a provider CRD serves for the
// v1beta2 contract: the last of the versions its contract label lists.
func ContractVersion(crd *apiextensionsv1.CustomResourceDefinition) (string, error) {
	return contractVersion(crd.Name, crd.Labels)
}

func contractVersion(crdName string, labels map[string]string) (string, error) {
	label, ok := labels[clusterv1.ContractLabelKey]
	if !ok || label == "" {
		return "", fmt.Errorf("CRD %s has no %q label: it does not implement the Cluster API v1beta2 contract", crdName, clusterv1.ContractLabelKey)
	}
	versions := strings.Split(label, "_")
	if v := versions[len(versions)-1]; v != "" {
		return v, nil
	}
	return "", fmt.Errorf("CRD %s: label %s=%q does not end with a version", crdName, clusterv1.ContractLabelKey, label)
}

// Get reads the object a reference points at, in namespace.
func (r *Resolver) Get(ctx context.Context, c client.Reader, ref clusterv1.ContractVersionedObjectReference, namespace string) (*unstructured.Unstructured, error) {
	gvk, err := r.GVK(ctx, ref)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, u); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, err
		}
		return nil, fmt.Errorf("reading %s %s/%s: %w", ref.Kind, namespace, ref.Name, err)
	}
	return u, nil
}

// Every accessor below reads content another provider wrote, which may be
// anything JSON can hold: a missing field or an explicit null is "not set", and
// a value of the wrong shape is an error that names the object and the field.
// None of them panics, whatever the object holds (FuzzAccessors).

// field returns the value at path. A missing field, or null anywhere along the
// path, is (nil, false, nil); a value on the path that is not an object is an
// error.
func field(u *unstructured.Unstructured, path ...string) (any, bool, error) {
	if u == nil {
		return nil, false, fmt.Errorf("field %s: no object to read", strings.Join(path, "."))
	}
	var cur any = u.Object
	for i, p := range path {
		if cur == nil {
			return nil, false, nil
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false, fieldError(u, path[:i], fmt.Errorf("is %s, not an object", describe(cur)))
		}
		if cur, ok = m[p]; !ok {
			return nil, false, nil
		}
	}
	if cur == nil {
		return nil, false, nil
	}
	return cur, true, nil
}

func fieldError(u *unstructured.Unstructured, path []string, err error) error {
	return fmt.Errorf("%s %s: field %s: %w", u.GetKind(), u.GetName(), strings.Join(path, "."), err)
}

// describe names the JSON type of a value for an error message.
func describe(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("the boolean %t", x)
	default:
		return fmt.Sprintf("the %T %v", v, v)
	}
}

// Bool reads an optional boolean field; a missing field is (false, false).
func Bool(u *unstructured.Unstructured, path ...string) (value, found bool, err error) {
	v, found, err := field(u, path...)
	if err != nil || !found {
		return false, false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, false, fieldError(u, path, fmt.Errorf("is %s, not a boolean", describe(v)))
	}
	return b, true, nil
}

// String reads an optional string field.
func String(u *unstructured.Unstructured, path ...string) (string, error) {
	v, found, err := field(u, path...)
	if err != nil || !found {
		return "", err
	}
	str, ok := v.(string)
	if !ok {
		return "", fieldError(u, path, fmt.Errorf("is %s, not a string", describe(v)))
	}
	return str, nil
}

// Int32 reads an optional integer field as *int32 (nil when missing). A number
// that is not a whole number, or does not fit in 32 bits, is an error rather
// than a silently different count.
func Int32(u *unstructured.Unstructured, path ...string) (*int32, error) {
	v, found, err := field(u, path...)
	if err != nil || !found {
		return nil, err
	}
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case int32:
		n = int64(x)
	case int:
		n = int64(x)
	case float64: // JSON decoded without apimachinery's integer handling
		if x != math.Trunc(x) || math.IsInf(x, 0) {
			return nil, fieldError(u, path, fmt.Errorf("is %v, not a whole number", x))
		}
		if x < math.MinInt32 || x > math.MaxInt32 {
			return nil, fieldError(u, path, fmt.Errorf("%v does not fit in 32 bits", x))
		}
		n = int64(x)
	default:
		return nil, fieldError(u, path, fmt.Errorf("is %s, not an integer", describe(v)))
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return nil, fieldError(u, path, fmt.Errorf("%d does not fit in 32 bits", n))
	}
	i := int32(n)
	return &i, nil
}

// into decodes the value at path into out; a missing field leaves out alone.
func into(u *unstructured.Unstructured, out any, path ...string) (bool, error) {
	v, found, err := field(u, path...)
	if err != nil || !found {
		return false, err
	}
	data, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(data, out)
	}
	if err != nil {
		return false, fieldError(u, path, err)
	}
	return true, nil
}

// Condition returns the metav1 condition of the given type, or nil.
func Condition(u *unstructured.Unstructured, conditionType string) (*metav1.Condition, error) {
	var conds []metav1.Condition
	if _, err := into(u, &conds, "status", "conditions"); err != nil {
		return nil, err
	}
	return meta.FindStatusCondition(conds, conditionType), nil
}

// InfraCluster fields.

// InfraClusterProvisioned reads status.initialization.provisioned.
func InfraClusterProvisioned(u *unstructured.Unstructured) (bool, error) {
	v, _, err := Bool(u, "status", "initialization", "provisioned")
	return v, err
}

// ControlPlaneEndpoint reads spec.controlPlaneEndpoint of an InfraCluster.
func ControlPlaneEndpoint(u *unstructured.Unstructured) (clusterv1.APIEndpoint, error) {
	var ep clusterv1.APIEndpoint
	_, err := into(u, &ep, "spec", "controlPlaneEndpoint")
	return ep, err
}

// FailureDomains reads status.failureDomains of an InfraCluster.
func FailureDomains(u *unstructured.Unstructured) ([]clusterv1.FailureDomain, error) {
	var fds []clusterv1.FailureDomain
	_, err := into(u, &fds, "status", "failureDomains")
	return fds, err
}

// InfraMachine fields.

// InfraMachineProvisioned reads status.initialization.provisioned.
func InfraMachineProvisioned(u *unstructured.Unstructured) (bool, error) {
	v, _, err := Bool(u, "status", "initialization", "provisioned")
	return v, err
}

// ProviderID reads spec.providerID.
func ProviderID(u *unstructured.Unstructured) (string, error) {
	return String(u, "spec", "providerID")
}

// Addresses reads status.addresses.
func Addresses(u *unstructured.Unstructured) ([]clusterv1.MachineAddress, error) {
	var a []clusterv1.MachineAddress
	_, err := into(u, &a, "status", "addresses")
	return a, err
}

// InfraMachineFailureDomain reads status.failureDomain, then the deprecated spec.failureDomain.
func InfraMachineFailureDomain(u *unstructured.Unstructured) (string, error) {
	fd, err := String(u, "status", "failureDomain")
	if err != nil || fd != "" {
		return fd, err
	}
	return String(u, "spec", "failureDomain")
}

// Interruptible reads status.interruptible.
func Interruptible(u *unstructured.Unstructured) (bool, error) {
	v, _, err := Bool(u, "status", "interruptible")
	return v, err
}

// BootstrapConfig fields.

// DataSecretCreated reads status.initialization.dataSecretCreated.
func DataSecretCreated(u *unstructured.Unstructured) (bool, error) {
	v, _, err := Bool(u, "status", "initialization", "dataSecretCreated")
	return v, err
}

// DataSecretName reads status.dataSecretName.
func DataSecretName(u *unstructured.Unstructured) (string, error) {
	return String(u, "status", "dataSecretName")
}

// ControlPlane fields.

// ControlPlaneInitialized reads status.initialization.controlPlaneInitialized.
func ControlPlaneInitialized(u *unstructured.Unstructured) (bool, error) {
	v, _, err := Bool(u, "status", "initialization", "controlPlaneInitialized")
	return v, err
}

// ControlPlaneReplicas are the replica counters of a control plane.
type ControlPlaneReplicas struct {
	Desired, Current, Ready, Available, UpToDate *int32
}

// ReplicasOf reads spec.replicas and the status counters of a control plane.
func ReplicasOf(u *unstructured.Unstructured) (ControlPlaneReplicas, error) {
	var r ControlPlaneReplicas
	var err error
	for _, f := range []struct {
		dst  **int32
		path []string
	}{
		{&r.Desired, []string{"spec", "replicas"}},
		{&r.Current, []string{"status", "replicas"}},
		{&r.Ready, []string{"status", "readyReplicas"}},
		{&r.Available, []string{"status", "availableReplicas"}},
		{&r.UpToDate, []string{"status", "upToDateReplicas"}},
	} {
		if *f.dst, err = Int32(u, f.path...); err != nil {
			return r, err
		}
	}
	return r, nil
}

// Versions reads status.versions of a control plane.
func Versions(u *unstructured.Unstructured) ([]clusterv1.StatusVersion, error) {
	var v []clusterv1.StatusVersion
	_, err := into(u, &v, "status", "versions")
	return v, err
}

// IsPaused reports whether the object carries the paused annotation.
func IsPaused(obj metav1.Object) bool {
	_, ok := obj.GetAnnotations()[clusterv1.PausedAnnotation]
	return ok
}
