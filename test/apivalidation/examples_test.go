package apivalidation

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/podcluster/podcluster/test/testenv"
)

var env *testenv.Environment

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

// decodeDocuments splits a multi-document YAML stream into objects.
func decodeDocuments(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("reading YAML: %v", err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		m := map[string]any{}
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("decoding YAML: %v\n%s", err, doc)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// createStrict creates obj in ns with strict field validation, as
// `kubectl apply --validate=strict` would.
func createStrict(ctx context.Context, obj *unstructured.Unstructured, ns string) error {
	obj.SetNamespace(ns)
	return env.Client.Create(ctx, obj, client.FieldValidation("Strict"))
}

// TestExamplesApply applies every manifest under examples/ to the real API
// server; each variant goes to a namespace of its own.
func TestExamplesApply(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	variants, err := filepath.Glob(filepath.Join(root, "examples", "*"))
	if err != nil || len(variants) < 2 {
		t.Fatalf("want at least two example variants under examples/, got %v (%v)", variants, err)
	}
	for _, dir := range variants {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			g := NewWithT(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			ns := env.NewNamespace(t)
			files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(files).NotTo(BeEmpty())
			kinds := map[string]int{}
			for _, f := range files {
				data, err := os.ReadFile(f)
				g.Expect(err).NotTo(HaveOccurred())
				for _, obj := range decodeDocuments(t, data) {
					g.Expect(createStrict(ctx, obj, ns)).To(Succeed(), "%s: %s %s", filepath.Base(f), obj.GetKind(), obj.GetName())
					kinds[obj.GetKind()]++
				}
			}
			g.Expect(kinds).To(HaveKey("Cluster"))
			g.Expect(kinds).To(HaveKey("KubernetesCluster"))
			g.Expect(kinds).To(HaveKey("MachineDeployment"))
		})
	}
}

// TestSeedExampleShape pins the seed walkthrough's shape: one control-plane
// Machine with its KubeadmConfig and KubernetesMachine, and a MachineDeployment
// of three workers with its two templates.
func TestSeedExampleShape(t *testing.T) {
	g := NewWithT(t)
	root, err := testenv.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	files, err := filepath.Glob(filepath.Join(root, "examples", "seed", "*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	kinds := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		g.Expect(err).NotTo(HaveOccurred())
		for _, obj := range decodeDocuments(t, data) {
			kinds[obj.GetKind()]++
			switch obj.GetKind() {
			case "Machine":
				g.Expect(obj.GetLabels()).To(HaveKeyWithValue("cluster.x-k8s.io/control-plane", ""))
			case "MachineDeployment":
				replicas, _, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "replicas")
				g.Expect(replicas).To(BeEquivalentTo(3))
			}
		}
	}
	g.Expect(kinds).To(Equal(map[string]int{
		"KubernetesCluster": 1, "Cluster": 1,
		"KubeadmConfig": 1, "KubernetesMachine": 1, "Machine": 1,
		"KubernetesMachineTemplate": 1, "KubeadmConfigTemplate": 1, "MachineDeployment": 1,
	}))
}
