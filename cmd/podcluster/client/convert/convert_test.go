package convert_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/podcluster/podcluster/cmd/podcluster/client/convert"
	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/test/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var env *testenv.Environment

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

// TestConvertSeed converts the seed's v1alpha2 manifests: nothing is lost, the
// output matches the golden file, and the API server accepts every converted
// object with strict field validation.
func TestConvertSeed(t *testing.T) {
	g := NewWithT(t)
	objs, err := manifest.ReadPaths("testdata/01-cluster.yaml", "testdata/02-controller.yaml", "testdata/03-workers.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(objs).To(HaveLen(8))

	out, warnings := convert.Convert(objs)
	g.Expect(warnings).To(BeEmpty())
	golden(t, "testdata/seed.golden.yaml", render(t, out))
	createStrict(t, out)
}

// TestConvertExtras converts v1alpha2 fields the seed does not use: the output
// and every warning match the golden files, and the API server accepts the
// converted objects with strict field validation.
func TestConvertExtras(t *testing.T) {
	g := NewWithT(t)
	objs, err := manifest.ReadPaths("testdata/extras.yaml")
	g.Expect(err).NotTo(HaveOccurred())

	out, warnings := convert.Convert(objs)
	golden(t, "testdata/extras.golden.yaml", render(t, out))
	golden(t, "testdata/extras.warnings.golden", []byte(strings.Join(warnings, "\n")+"\n"))
	createStrict(t, out)
}

func render(t *testing.T, objs []*unstructured.Unstructured) []byte {
	t.Helper()
	var docs []string
	for _, o := range objs {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	return []byte(strings.Join(docs, "---\n"))
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	NewWithT(t).Expect(string(got)).To(Equal(string(want)), "%s differs; run the test with -update if the change is intended", path)
}

func createStrict(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, o := range objs {
		o = o.DeepCopy()
		o.SetNamespace(ns)
		g.Expect(env.Client.Create(ctx, o, client.FieldValidation("Strict"))).To(Succeed(), "creating %s %s", o.GetKind(), o.GetName())
	}
}
