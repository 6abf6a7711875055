// Package manifest reads multi-document YAML manifests and applies them with
// server-side apply, the way `kubectl apply --server-side` does. It also
// installs podcluster's CRDs and waits until the API server serves them.
package manifest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// FieldManager is the field manager of everything podcluster applies.
const FieldManager = "podcluster"

// Decode splits a YAML stream into objects, skipping empty documents. A
// document with a key twice in one mapping is an error that names the
// document (its number, counting non-blank documents from 1, and its kind and
// name): read leniently, the later key would silently replace the earlier, as
// when a "---" between two objects is missing and one of them vanishes.
func Decode(data []byte) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	n := 0
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading YAML: %w", err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		n++
		m := map[string]any{}
		if err := yaml.UnmarshalStrict(doc, &m); err != nil {
			return nil, fmt.Errorf("decoding YAML document %d%s (lines count from its first line): %w", n, describe(doc), err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// describe names the object a document holds, " (Kind name)", as far as a
// lenient read finds it, or "".
func describe(doc []byte) string {
	var obj struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if yaml.Unmarshal(doc, &obj) != nil || obj.Kind == "" {
		return ""
	}
	if obj.Metadata.Name == "" {
		return " (" + obj.Kind + ")"
	}
	return " (" + obj.Kind + " " + obj.Metadata.Name + ")"
}

// ReadPaths reads every .yaml/.yml file named, or found directly inside a
// named folder, in name order.
func ReadPaths(paths ...string) ([]*unstructured.Unstructured, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		for _, pattern := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(p, pattern))
			sort.Strings(m)
			files = append(files, m...)
		}
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		o, err := Decode(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		objs = append(objs, o...)
	}
	return objs, nil
}

// Apply server-side applies each object, in namespace ns when the object names
// none and its kind is namespaced (cluster-scoped kinds ignore ns).
func Apply(ctx context.Context, c client.Client, ns string, objs ...*unstructured.Unstructured) error {
	for _, obj := range objs {
		if obj.GetNamespace() == "" && ns != "" {
			namespaced, err := c.IsObjectNamespaced(obj)
			if err != nil {
				return fmt.Errorf("%s %s: %w", obj.GetKind(), obj.GetName(), err)
			}
			if namespaced {
				obj.SetNamespace(ns)
			}
		}
		obj.SetManagedFields(nil)
		obj.SetResourceVersion("")
		if err := c.Patch(ctx, obj, client.Apply, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil { //nolint:staticcheck // Apply patches of unstructured objects are the supported path here
			return fmt.Errorf("applying %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
	}
	return nil
}

// InstallCRDs applies the CRDs and waits until every one is Established.
func InstallCRDs(ctx context.Context, c client.Client, crds []*apiextensionsv1.CustomResourceDefinition) error {
	for _, crd := range crds {
		u := &unstructured.Unstructured{}
		data, err := runtime.DefaultUnstructuredConverter.ToUnstructured(crd)
		if err != nil {
			return err
		}
		u.SetUnstructuredContent(data)
		u.SetAPIVersion("apiextensions.k8s.io/v1")
		u.SetKind("CustomResourceDefinition")
		unstructured.RemoveNestedField(u.Object, "status")
		if err := Apply(ctx, c, "", u); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, crd := range crds {
		err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			got := &apiextensionsv1.CustomResourceDefinition{}
			if err := c.Get(ctx, client.ObjectKey{Name: crd.Name}, got); err != nil {
				return false, nil
			}
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("waiting for CRD %s to be established: %w", crd.Name, err)
		}
	}
	return nil
}
