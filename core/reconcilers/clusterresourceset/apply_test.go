package clusterresourceset

import (
	"testing"

	. "github.com/onsi/gomega"

	addonsv1 "github.com/podcluster/podcluster/api/addons/v1beta2"
)

func TestDecodeObjects(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    []string // kind/name of each object, in order
		wantErr string
	}{
		{name: "YAML documents, empty ones skipped", data: "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: a}\n",
			want: []string{"Namespace/a", "ConfigMap/b"}},
		{name: "JSON objects one after another", data: `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"b"}}`,
			want: []string{"Namespace/a", "Namespace/b"}},
		{name: "a JSON array", data: `[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}},{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"b"}}]`,
			want: []string{"Namespace/a", "Namespace/b"}},
		{name: "a List stands for its items", data: "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ServiceAccount\n  metadata: {name: s}\n",
			want: []string{"ServiceAccount/s"}},
		{name: "empty", data: "", want: nil},
		{name: "no kind", data: "apiVersion: v1\nmetadata: {name: a}\n", wantErr: "document 1: an object without kind"},
		{name: "no name in the second document", data: "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\n", wantErr: "document 2: an object without metadata.name"},
		{name: "a scalar", data: "hello\n", wantErr: "document 1: not an object but string"},
		{name: "broken YAML", data: "kind: [\n", wantErr: "document 1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			objs, err := decodeObjects([]byte(tt.data))
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			var got []string
			for _, o := range objs {
				got = append(got, o.GetKind()+"/"+o.GetName())
			}
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

func TestHashOf(t *testing.T) {
	g := NewWithT(t)
	a := hashOf(map[string][]byte{"a": []byte("1"), "b": []byte("2")})
	g.Expect(a).To(HavePrefix("sha256:"))
	g.Expect(a).To(HaveLen(len("sha256:") + 64))
	g.Expect(hashOf(map[string][]byte{"b": []byte("2"), "a": []byte("1")})).To(Equal(a), "independent of map order")
	g.Expect(hashOf(map[string][]byte{"a": []byte("1"), "b": []byte("3")})).NotTo(Equal(a), "a changed value")
	g.Expect(hashOf(map[string][]byte{"a": []byte("12")})).NotTo(Equal(hashOf(map[string][]byte{"a1": []byte("2")})), "keys and values cannot run into each other")
}

func TestNeedsApply(t *testing.T) {
	applied := &addonsv1.ResourceBinding{Applied: true, Hash: "sha256:old"}
	failed := &addonsv1.ResourceBinding{Applied: false, Hash: "sha256:old"}
	tests := []struct {
		name     string
		strategy string
		record   *addonsv1.ResourceBinding
		hash     string
		want     bool
	}{
		{"never applied", addonsv1.ApplyOnceStrategy, nil, "sha256:old", true},
		{"failed before", addonsv1.ApplyOnceStrategy, failed, "sha256:old", true},
		{"ApplyOnce, applied, unchanged", addonsv1.ApplyOnceStrategy, applied, "sha256:old", false},
		{"ApplyOnce, applied, changed", addonsv1.ApplyOnceStrategy, applied, "sha256:new", false},
		{"Reconcile, applied, unchanged", addonsv1.ReconcileStrategy, applied, "sha256:old", false},
		{"Reconcile, applied, changed", addonsv1.ReconcileStrategy, applied, "sha256:new", true},
		{"Reconcile, failed before", addonsv1.ReconcileStrategy, failed, "sha256:old", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(needsApply(tt.strategy, tt.record, tt.hash)).To(Equal(tt.want))
		})
	}
}
