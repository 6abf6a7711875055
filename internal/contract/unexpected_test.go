package contract

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// accessors calls every reader of the contract on u and returns, per
// accessor, its result and error. It is what the core controllers may call on
// an object of any provider.
func accessors(u *unstructured.Unstructured) map[string]struct {
	value any
	err   error
} {
	out := map[string]struct {
		value any
		err   error
	}{}
	put := func(name string, v any, err error) {
		out[name] = struct {
			value any
			err   error
		}{v, err}
	}
	v1, err := InfraClusterProvisioned(u)
	put("InfraClusterProvisioned", v1, err)
	v2, err := ControlPlaneEndpoint(u)
	put("ControlPlaneEndpoint", v2, err)
	v3, err := FailureDomains(u)
	put("FailureDomains", v3, err)
	v4, err := InfraMachineProvisioned(u)
	put("InfraMachineProvisioned", v4, err)
	v5, err := ProviderID(u)
	put("ProviderID", v5, err)
	v6, err := Addresses(u)
	put("Addresses", v6, err)
	v7, err := InfraMachineFailureDomain(u)
	put("InfraMachineFailureDomain", v7, err)
	v8, err := Interruptible(u)
	put("Interruptible", v8, err)
	v9, err := DataSecretCreated(u)
	put("DataSecretCreated", v9, err)
	v10, err := DataSecretName(u)
	put("DataSecretName", v10, err)
	v11, err := ControlPlaneInitialized(u)
	put("ControlPlaneInitialized", v11, err)
	v12, err := ReplicasOf(u)
	put("ReplicasOf", v12, err)
	v13, err := Versions(u)
	put("Versions", v13, err)
	v14, err := Condition(u, "Ready")
	put("Condition", v14, err)
	return out
}

// object decodes JSON the way the API client does (integers as int64).
func object(t testing.TB, js string) *unstructured.Unstructured {
	t.Helper()
	m := map[string]any{}
	if err := utiljson.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("decoding %s: %v", js, err)
	}
	return obj(m)
}

// TestAccessorsOnUnexpectedContent feeds the accessors what another provider,
// or a test server, may really return: missing fields, explicit nulls, values
// of the wrong type, lists where objects belong. Absent or null fields read as
// not set; wrong shapes are errors that name the object and the field; nothing
// panics.
func TestAccessorsOnUnexpectedContent(t *testing.T) {
	cases := []struct {
		name string
		json string
		// wantErr maps accessors to a substring of their error; every other
		// accessor must succeed.
		wantErr map[string]string
	}{
		{name: "empty object", json: `{}`},
		{name: "null spec and status", json: `{"spec": null, "status": null}`},
		{name: "null initialization and fields", json: `{"status": {"initialization": null, "conditions": null, "addresses": null,
			"failureDomains": null, "versions": null, "dataSecretName": null, "readyReplicas": null}, "spec": {"replicas": null, "providerID": null}}`},
		{name: "empty lists", json: `{"status": {"conditions": [], "addresses": [], "failureDomains": [], "versions": []}}`},
		{name: "status is a string", json: `{"status": "ready"}`, wantErr: map[string]string{
			"InfraClusterProvisioned": "field status: is the string \"ready\", not an object",
			"FailureDomains":          "field status: is the string",
			"InfraMachineProvisioned": "field status:", "Addresses": "field status:", "InfraMachineFailureDomain": "field status:",
			"Interruptible": "field status:", "DataSecretCreated": "field status:", "DataSecretName": "field status:",
			"ControlPlaneInitialized": "field status:", "ReplicasOf": "field status:", "Versions": "field status:", "Condition": "field status:",
		}},
		{name: "spec is a list", json: `{"spec": [1, 2]}`, wantErr: map[string]string{
			"ControlPlaneEndpoint": "field spec: is a list, not an object", "ProviderID": "field spec: is a list",
			"InfraMachineFailureDomain": "field spec: is a list", "ReplicasOf": "field spec: is a list",
		}},
		{name: "initialization is a list", json: `{"status": {"initialization": [true]}}`, wantErr: map[string]string{
			"InfraClusterProvisioned": "field status.initialization: is a list", "InfraMachineProvisioned": "field status.initialization",
			"DataSecretCreated": "field status.initialization", "ControlPlaneInitialized": "field status.initialization",
		}},
		{name: "booleans as strings", json: `{"status": {"initialization": {"provisioned": "true", "dataSecretCreated": "yes",
			"controlPlaneInitialized": 1}, "interruptible": "false"}}`, wantErr: map[string]string{
			"InfraClusterProvisioned": `field status.initialization.provisioned: is the string "true", not a boolean`,
			"InfraMachineProvisioned": "status.initialization.provisioned", "DataSecretCreated": "status.initialization.dataSecretCreated",
			"ControlPlaneInitialized": "field status.initialization.controlPlaneInitialized: is the int64 1, not a boolean",
			"Interruptible":           "status.interruptible",
		}},
		{name: "strings as numbers and objects", json: `{"spec": {"providerID": 42}, "status": {"dataSecretName": {"name": "x"},
			"failureDomain": false}}`, wantErr: map[string]string{
			"ProviderID": "field spec.providerID: is the int64 42, not a string", "DataSecretName": "field status.dataSecretName: is an object",
			"InfraMachineFailureDomain": "field status.failureDomain: is the boolean false",
		}},
		{name: "counters out of shape", json: `{"spec": {"replicas": "3"}, "status": {"readyReplicas": 2.5}}`, wantErr: map[string]string{
			"ReplicasOf": `field spec.replicas: is the string "3", not an integer`,
		}},
		{name: "fractional counter", json: `{"status": {"readyReplicas": 2.5}}`, wantErr: map[string]string{
			"ReplicasOf": "field status.readyReplicas: is 2.5, not a whole number",
		}},
		{name: "counter beyond int32", json: `{"status": {"availableReplicas": 4294967296}}`, wantErr: map[string]string{
			"ReplicasOf": "field status.availableReplicas: 4294967296 does not fit in 32 bits",
		}},
		{name: "huge float counter", json: `{"status": {"replicas": 1e300}}`, wantErr: map[string]string{
			"ReplicasOf": "field status.replicas: 1e+300 does not fit in 32 bits",
		}},
		{name: "conditions not a list", json: `{"status": {"conditions": {"type": "Ready"}}}`, wantErr: map[string]string{
			"Condition": "field status.conditions",
		}},
		{name: "condition of the wrong shape", json: `{"status": {"conditions": ["Ready", 5]}}`, wantErr: map[string]string{
			"Condition": "field status.conditions",
		}},
		{name: "condition with a bad time", json: `{"status": {"conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "yesterday"}]}}`,
			wantErr: map[string]string{"Condition": "field status.conditions"}},
		{name: "endpoint of the wrong shape", json: `{"spec": {"controlPlaneEndpoint": {"host": 10, "port": "6443"}}}`,
			wantErr: map[string]string{"ControlPlaneEndpoint": "field spec.controlPlaneEndpoint"}},
		{name: "addresses as an object", json: `{"status": {"addresses": {"type": "InternalIP"}}}`,
			wantErr: map[string]string{"Addresses": "field status.addresses"}},
		{name: "failure domains as strings", json: `{"status": {"failureDomains": ["zone-a"]}}`,
			wantErr: map[string]string{"FailureDomains": "field status.failureDomains"}},
		{name: "versions of the wrong shape", json: `{"status": {"versions": [{"version": 1, "replicas": "two"}]}}`,
			wantErr: map[string]string{"Versions": "field status.versions"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			u := object(t, tc.json)
			var got map[string]struct {
				value any
				err   error
			}
			g.Expect(func() { got = accessors(u) }).NotTo(Panic())
			for name, r := range got {
				want, ok := tc.wantErr[name]
				if !ok {
					g.Expect(r.err).NotTo(HaveOccurred(), name)
					continue
				}
				g.Expect(r.err).To(HaveOccurred(), name)
				// The error names the object and the field.
				g.Expect(r.err.Error()).To(HavePrefix("TestMachine m: field "), name)
				g.Expect(r.err.Error()).To(ContainSubstring(want), name)
			}
			for name := range tc.wantErr {
				g.Expect(got).To(HaveKey(name), "the case names an accessor that does not exist")
			}
		})
	}

	t.Run("no object at all", func(t *testing.T) {
		g := NewWithT(t)
		var got map[string]struct {
			value any
			err   error
		}
		g.Expect(func() { got = accessors(nil) }).NotTo(Panic())
		for name, r := range got {
			g.Expect(r.err).To(MatchError(ContainSubstring("no object to read")), name)
		}
	})

	t.Run("nulls read as not set", func(t *testing.T) {
		g := NewWithT(t)
		u := object(t, `{"spec": {"replicas": null}, "status": {"initialization": {"provisioned": null}, "readyReplicas": 2}}`)
		p, found, err := Bool(u, "status", "initialization", "provisioned")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(p || found).To(BeFalse())
		r, err := ReplicasOf(u)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(r.Desired).To(BeNil())
		g.Expect(r.Ready).To(HaveValue(BeEquivalentTo(2)))
	})

	t.Run("whole floats are counts", func(t *testing.T) {
		g := NewWithT(t)
		u := obj(map[string]any{"spec": map[string]any{"replicas": float64(3)}, "status": map[string]any{"replicas": int32(2), "readyReplicas": 1}})
		r, err := ReplicasOf(u)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(r.Desired).To(HaveValue(BeEquivalentTo(3)))
		g.Expect(r.Current).To(HaveValue(BeEquivalentTo(2)))
		g.Expect(r.Ready).To(HaveValue(BeEquivalentTo(1)))
		_, err = Int32(obj(map[string]any{"n": math.Inf(1)}), "n")
		g.Expect(err).To(HaveOccurred())
	})
}

func TestContractVersionOfOddLabels(t *testing.T) {
	for _, label := range []string{"_", "v1beta1_", "__"} {
		t.Run(label, func(t *testing.T) {
			crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "x.example.com",
				Labels: map[string]string{"cluster.x-k8s.io/v1beta2": label}}}
			_, err := ContractVersion(crd)
			NewWithT(t).Expect(err).To(MatchError(ContainSubstring("does not end with a version")))
		})
	}
}

// FuzzAccessors feeds arbitrary JSON objects to every accessor: none may
// panic, and every error must name the object. `go test` runs the seeds;
// `go test -fuzz FuzzAccessors ./internal/contract` explores further.
func FuzzAccessors(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"status": null}`, `{"status": "x"}`, `{"spec": []}`,
		`{"status": {"initialization": {"provisioned": "true"}}}`,
		`{"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Ready", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}`,
		`{"status": {"conditions": [null, 1, "x", {"type": null}]}}`,
		`{"spec": {"replicas": 1e40, "controlPlaneEndpoint": {"host": [], "port": -1}}}`,
		`{"status": {"readyReplicas": -2147483649, "versions": [{}], "addresses": [null], "failureDomains": [{"controlPlane": "yes"}]}}`,
		`{"spec": {"providerID": {"a": {"b": null}}}, "status": {"failureDomain": 0.5, "interruptible": null}}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, js string) {
		m := map[string]any{}
		if utiljson.Unmarshal([]byte(js), &m) != nil {
			return // not a JSON object: the API client would not hand it over
		}
		// Real objects always have their own kind and metadata; the errors name them.
		delete(m, "kind")
		delete(m, "metadata")
		u := obj(m)
		for name, r := range accessors(u) {
			if r.err != nil && !strings.HasPrefix(r.err.Error(), "TestMachine m: ") {
				t.Errorf("%s: the error does not name the object: %v", name, r.err)
			}
		}
		// The standard library's decoding (float64 numbers) must be safe too.
		var plain map[string]any
		if json.Unmarshal([]byte(js), &plain) == nil {
			delete(plain, "kind")
			delete(plain, "metadata")
			_ = accessors(obj(plain))
		}
	})
}
