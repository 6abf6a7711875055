// Package crd embeds the generated CustomResourceDefinitions, so that binaries
// (podcluster up, podcluster init) and tests install exactly what
// `make generate` wrote to config/crd/bases.
package crd

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

//go:embed bases/*.yaml
var bases embed.FS

// Files returns the embedded CRD manifests by file name.
func Files() fs.FS {
	sub, err := fs.Sub(bases, "bases")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder exists
	}
	return sub
}

// All decodes every embedded CRD, sorted by name.
func All() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	entries, err := fs.ReadDir(bases, "bases")
	if err != nil {
		return nil, fmt.Errorf("reading embedded CRDs: %w", err)
	}
	var crds []*apiextensionsv1.CustomResourceDefinition
	for _, e := range entries {
		data, err := fs.ReadFile(bases, "bases/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("reading embedded CRD %s: %w", e.Name(), err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, crd); err != nil {
			return nil, fmt.Errorf("decoding embedded CRD %s: %w", e.Name(), err)
		}
		crds = append(crds, crd)
	}
	sort.Slice(crds, func(i, j int) bool { return crds[i].Name < crds[j].Name })
	return crds, nil
}
