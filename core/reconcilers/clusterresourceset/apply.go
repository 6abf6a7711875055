package clusterresourceset

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	addonsv1 "github.com/podcluster/podcluster/api/addons/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/internal/util"
)

// fieldManager is the field manager of what the Reconcile strategy applies.
const fieldManager = "podcluster-clusterresourceset"

// errWrongSecretType marks a Secret the set may not read.
var errWrongSecretType = errors.New("wrong Secret type")

// clusterResult is what applying a set to one Cluster came to.
type clusterResult struct {
	cluster string
	// failures name each resource that is not applied, and why.
	failures []string
	// wrongSecretType is set when a failure is a Secret of another type.
	wrongSecretType bool
	// unreachable is set when the workload cluster could not be reached.
	unreachable bool
	// retry is set when applying or recording failed in a way that may pass
	// on its own (an object whose CRD is not established yet, a conflict on
	// the binding). A missing Secret or ConfigMap does not retry: its
	// creation brings the set back.
	retry bool
}

// resource is a Secret's or ConfigMap's data, read for applying.
type resource struct {
	ref  addonsv1.ResourceRef
	data map[string][]byte
}

// applyToCluster applies each resource of the set that the Cluster's binding
// does not show as applied (or, with Reconcile, as applied with the same
// hash), in the set's order, and records the outcome in the binding.
func (r *Reconciler) applyToCluster(ctx context.Context, s *scope, cluster *clusterv1.Cluster) clusterResult {
	result := clusterResult{cluster: cluster.Name}
	binding, err := r.binding(ctx, s.set, cluster)
	if err != nil {
		result.failures = append(result.failures, fmt.Sprintf("reading its ClusterResourceSetBinding: %v", err))
		result.retry = true
		return result
	}
	before := binding.DeepCopy()
	entry := binding.Binding(s.set.Name)
	if entry == nil {
		binding.Spec.Bindings = append(binding.Spec.Bindings, addonsv1.ResourceSetBinding{ClusterResourceSetName: s.set.Name})
		entry = &binding.Spec.Bindings[len(binding.Spec.Bindings)-1]
	}

	var wc client.Client
	for _, ref := range s.set.Spec.Resources {
		res, err := r.readResource(ctx, s.set.Namespace, ref)
		if err != nil {
			result.failures = append(result.failures, fmt.Sprintf("%s/%s: %v", ref.Kind, ref.Name, err))
			result.wrongSecretType = result.wrongSecretType || errors.Is(err, errWrongSecretType)
			continue
		}
		hash := hashOf(res.data)
		if !needsApply(s.set.EffectiveStrategy(), entry.Resource(ref), hash) {
			continue
		}
		if wc == nil {
			if wc, err = r.ClusterCache.Client(ctx, remote.ClusterKey(cluster.Namespace, cluster.Name)); err != nil {
				result.unreachable = true
				result.failures = append(result.failures, fmt.Sprintf("the workload cluster cannot be reached: %v", err))
				break
			}
		}
		record := addonsv1.ResourceBinding{ResourceRef: ref, Hash: hash, LastAppliedTime: metav1.Now(), Applied: true}
		if err := applyResource(ctx, wc, s.set.EffectiveStrategy(), res); err != nil {
			ctrl.LoggerFrom(ctx).Info("Applying a ClusterResourceSet resource failed", "cluster", cluster.Name, "resource", ref.Kind+"/"+ref.Name, "error", err.Error())
			result.failures = append(result.failures, fmt.Sprintf("%s/%s: %v", ref.Kind, ref.Name, err))
			result.retry = true
			record.Applied = false
		}
		setRecord(entry, record)
	}
	if err := r.saveBinding(ctx, before, binding); err != nil {
		result.failures = append(result.failures, fmt.Sprintf("recording what was applied: %v", err))
		result.retry = true
	}
	return result
}

// needsApply decides whether a resource goes to the Cluster now.
func needsApply(strategy string, record *addonsv1.ResourceBinding, hash string) bool {
	switch {
	case record == nil || !record.Applied:
		return true
	case strategy == addonsv1.ReconcileStrategy:
		return record.Hash != hash
	}
	return false
}

// setRecord replaces the record of a resource, or adds it.
func setRecord(entry *addonsv1.ResourceSetBinding, record addonsv1.ResourceBinding) {
	if old := entry.Resource(record.ResourceRef); old != nil {
		*old = record
		return
	}
	entry.Resources = append(entry.Resources, record)
}

// binding returns the Cluster's binding, a new one (not yet created) when it
// has none, with owner references to the Cluster (which deletes it with
// itself) and to the set.
func (r *Reconciler) binding(ctx context.Context, set *addonsv1.ClusterResourceSet, cluster *clusterv1.Cluster) (*addonsv1.ClusterResourceSetBinding, error) {
	b := &addonsv1.ClusterResourceSetBinding{}
	err := r.Client.Get(ctx, client.ObjectKeyFromObject(cluster), b)
	switch {
	case apierrors.IsNotFound(err):
		b = &addonsv1.ClusterResourceSetBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: cluster.Namespace, Name: cluster.Name},
			Spec:       addonsv1.ClusterResourceSetBindingSpec{ClusterName: cluster.Name},
		}
	case err != nil:
		return nil, err
	}
	util.SetLabel(b, clusterv1.ClusterNameLabel, cluster.Name)
	util.EnsureOwnerRef(b, util.OwnerRef(cluster, clusterv1.GroupVersion.WithKind("Cluster"), false))
	util.EnsureOwnerRef(b, util.OwnerRef(set, addonsv1.GroupVersion.WithKind("ClusterResourceSet"), false))
	return b, nil
}

// saveBinding creates the binding, or patches what changed in it.
func (r *Reconciler) saveBinding(ctx context.Context, before, b *addonsv1.ClusterResourceSetBinding) error {
	if b.ResourceVersion == "" {
		return r.Client.Create(ctx, b)
	}
	patch := client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})
	data, err := patch.Data(b)
	if err != nil || isEmptyPatch(data) {
		return err
	}
	return r.Client.Patch(ctx, b, patch)
}

// isEmptyPatch reports a merge patch that changes nothing but carries the
// resourceVersion for the optimistic lock.
func isEmptyPatch(data []byte) bool {
	return bytes.Equal(data, []byte("{}")) || (bytes.HasPrefix(data, []byte(`{"metadata":{"resourceVersion":`)) && bytes.Count(data, []byte(":")) == 2)
}

// readResource reads a Secret or ConfigMap of the set. Only Secrets of type
// addons.cluster.x-k8s.io/resource-set are read, as upstream does.
func (r *Reconciler) readResource(ctx context.Context, namespace string, ref addonsv1.ResourceRef) (resource, error) {
	key := client.ObjectKey{Namespace: namespace, Name: ref.Name}
	switch ref.Kind {
	case addonsv1.SecretKind:
		secret := &corev1.Secret{}
		if err := r.Client.Get(ctx, key, secret); err != nil {
			return resource{}, notFoundMessage(err)
		}
		if secret.Type != addonsv1.ClusterResourceSetSecretType {
			return resource{}, fmt.Errorf("%w %q: only Secrets of type %q are applied", errWrongSecretType, secret.Type, addonsv1.ClusterResourceSetSecretType)
		}
		return resource{ref: ref, data: secret.Data}, nil
	case addonsv1.ConfigMapKind:
		cm := &corev1.ConfigMap{}
		if err := r.Client.Get(ctx, key, cm); err != nil {
			return resource{}, notFoundMessage(err)
		}
		data := map[string][]byte{}
		for k, v := range cm.Data {
			data[k] = []byte(v)
		}
		for k, v := range cm.BinaryData {
			data[k] = v
		}
		return resource{ref: ref, data: data}, nil
	}
	return resource{}, fmt.Errorf("kind %q is neither Secret nor ConfigMap", ref.Kind)
}

func notFoundMessage(err error) error {
	if apierrors.IsNotFound(err) {
		return errors.New("not found")
	}
	return err
}

// hashOf is "sha256:" and the digest of the data's keys and values, by
// sorted key.
func hashOf(data map[string][]byte) string {
	h := sha256.New()
	keys := sortedKeys(data)
	for _, k := range keys {
		fmt.Fprintf(h, "%d:%s%d:", len(k), k, len(data[k]))
		h.Write(data[k])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func sortedKeys(data map[string][]byte) []string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// applyResource applies every object of a resource, key by key in sorted
// order: created under ApplyOnce (one that exists counts as applied),
// server-side applied under Reconcile. It goes on after a failing object and
// returns all failures.
func applyResource(ctx context.Context, wc client.Client, strategy string, res resource) error {
	var errs []error
	for _, key := range sortedKeys(res.data) {
		objs, err := decodeObjects(res.data[key])
		if err != nil {
			errs = append(errs, fmt.Errorf("key %q: %w", key, err))
			continue
		}
		for _, obj := range objs {
			if err := applyObject(ctx, wc, strategy, obj); err != nil {
				errs = append(errs, fmt.Errorf("%s %s: %w", obj.GetKind(), objectName(obj), err))
			}
		}
	}
	return errors.Join(errs...)
}

func applyObject(ctx context.Context, wc client.Client, strategy string, obj *unstructured.Unstructured) error {
	if obj.GetNamespace() == "" {
		namespaced, err := wc.IsObjectNamespaced(obj)
		if err != nil {
			return err
		}
		if namespaced {
			obj.SetNamespace(metav1.NamespaceDefault)
		}
	}
	if strategy == addonsv1.ReconcileStrategy {
		return wc.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(fieldManager), client.ForceOwnership)
	}
	if err := wc.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

func objectName(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}

// decodeObjects reads the objects of one data value: YAML documents or JSON
// objects, one after another, where a List or a JSON array stands for its
// items. An empty document is skipped; anything that is not an object with
// apiVersion, kind and name is an error.
func decodeObjects(data []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for i := 1; ; i++ {
		var raw any
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		items, err := objectsOf(raw)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		out = append(out, items...)
	}
}

func objectsOf(raw any) ([]*unstructured.Unstructured, error) {
	switch v := raw.(type) {
	case nil:
		return nil, nil
	case []any:
		var out []*unstructured.Unstructured
		for _, item := range v {
			objs, err := objectsOf(item)
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		}
		return out, nil
	case map[string]any:
		u := &unstructured.Unstructured{Object: v}
		if u.IsList() {
			list, err := u.ToList()
			if err != nil {
				return nil, err
			}
			var out []*unstructured.Unstructured
			for i := range list.Items {
				out = append(out, &list.Items[i])
			}
			return out, nil
		}
		var missing []string
		if u.GetAPIVersion() == "" {
			missing = append(missing, "apiVersion")
		}
		if u.GetKind() == "" {
			missing = append(missing, "kind")
		}
		if u.GetName() == "" {
			missing = append(missing, "metadata.name")
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("an object without %s", strings.Join(missing, ", "))
		}
		return []*unstructured.Unstructured{u}, nil
	}
	return nil, fmt.Errorf("not an object but %T", raw)
}
