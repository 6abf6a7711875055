package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podcluster/podcluster/internal/scheme"
)

// benchMachine is a Running worker Machine as the API server stores it.
const benchMachine = `{"apiVersion":"cluster.x-k8s.io/v1beta2","kind":"Machine","metadata":{"name":"worker-abcde-fghij","namespace":"default","uid":"0f4b5a1c-1111-2222-3333-444455556666","resourceVersion":"123456","generation":2,"creationTimestamp":"2026-12-04T10:00:00Z",
"labels":{"cluster.x-k8s.io/cluster-name":"example","cluster.x-k8s.io/deployment-name":"worker","cluster.x-k8s.io/set-name":"worker-abcde","machine-template-hash":"1234567890"},
"finalizers":["machine.cluster.x-k8s.io"],
"ownerReferences":[{"apiVersion":"cluster.x-k8s.io/v1beta2","kind":"MachineSet","name":"worker-abcde","uid":"aaaa-bbbb","controller":true,"blockOwnerDeletion":true}],
"managedFields":[{"manager":"podcluster","operation":"Update","apiVersion":"cluster.x-k8s.io/v1beta2","time":"2026-12-04T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:cluster.x-k8s.io/cluster-name":{},"f:cluster.x-k8s.io/deployment-name":{}},"f:ownerReferences":{".":{},"k:{\"uid\":\"aaaa-bbbb\"}":{}}},"f:spec":{".":{},"f:bootstrap":{".":{},"f:configRef":{}},"f:clusterName":{},"f:infrastructureRef":{},"f:version":{}}}},
{"manager":"podcluster","operation":"Update","apiVersion":"cluster.x-k8s.io/v1beta2","time":"2026-12-04T10:00:05Z","fieldsType":"FieldsV1","fieldsV1":{"f:status":{".":{},"f:addresses":{},"f:conditions":{},"f:initialization":{".":{},"f:bootstrapDataSecretCreated":{},"f:infrastructureProvisioned":{}},"f:nodeInfo":{},"f:nodeRef":{},"f:phase":{}}},"subresource":"status"}]},
"spec":{"clusterName":"example","version":"v1.30.0","bootstrap":{"configRef":{"apiGroup":"bootstrap.cluster.x-k8s.io","kind":"KubeadmConfig","name":"worker-abcde-fghij"},"dataSecretName":"worker-abcde-fghij"},"infrastructureRef":{"apiGroup":"infrastructure.cluster.x-k8s.io","kind":"KubernetesMachine","name":"worker-abcde-fghij"},"providerID":"kubernetes://default/worker-abcde-fghij"},
"status":{"phase":"Running","observedGeneration":2,"nodeRef":{"name":"worker-abcde-fghij"},"initialization":{"bootstrapDataSecretCreated":true,"infrastructureProvisioned":true},
"addresses":[{"type":"InternalIP","address":"127.46.0.5"},{"type":"Hostname","address":"worker-abcde-fghij"}],
"nodeInfo":{"machineID":"m","systemUUID":"s","bootID":"b","kernelVersion":"6.1","osImage":"Debian","containerRuntimeVersion":"containerd://1.7","kubeletVersion":"v1.30.0","kubeProxyVersion":"v1.30.0","operatingSystem":"linux","architecture":"amd64"},
"conditions":[
{"type":"Available","status":"True","reason":"Available","lastTransitionTime":"2026-12-04T10:00:05Z","observedGeneration":2},
{"type":"Ready","status":"True","reason":"Ready","lastTransitionTime":"2026-12-04T10:00:05Z","observedGeneration":2},
{"type":"UpToDate","status":"True","reason":"UpToDate","lastTransitionTime":"2026-12-04T10:00:05Z","observedGeneration":2},
{"type":"BootstrapConfigReady","status":"True","reason":"Ready","lastTransitionTime":"2026-12-04T10:00:05Z","observedGeneration":2},
{"type":"InfrastructureReady","status":"True","reason":"Ready","lastTransitionTime":"2026-12-04T10:00:05Z","observedGeneration":2},
{"type":"NodeHealthy","status":"True","reason":"NodeHealthy","lastTransitionTime":"2026-12-04T10:00:05Z","observedGeneration":2},
{"type":"NodeReady","status":"True","reason":"NodeReady","lastTransitionTime":"2026-12-04T10:00:05Z","observedGeneration":2},
{"type":"Deleting","status":"False","reason":"NotDeleting","lastTransitionTime":"2026-12-04T10:00:05Z","observedGeneration":2},
{"type":"Paused","status":"False","reason":"NotPaused","lastTransitionTime":"2026-12-04T10:00:05Z","observedGeneration":2}],
"deprecated":{"v1beta1":{"conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-12-04T10:00:05Z"},{"type":"BootstrapReady","status":"True","lastTransitionTime":"2026-12-04T10:00:05Z"},{"type":"InfrastructureReady","status":"True","lastTransitionTime":"2026-12-04T10:00:05Z"},{"type":"NodeHealthy","status":"True","lastTransitionTime":"2026-12-04T10:00:05Z"}]}}}}`

// BenchmarkConvertMachine measures what the API server's v1beta1 watch cache
// costs the webhook per Machine write: one ConversionReview of a Running
// Machine from v1beta2 to v1beta1, through the handler.
func BenchmarkConvertMachine(b *testing.B) {
	h := Handler(Scheme(scheme.New()))
	review, err := json.Marshal(apiextensionsv1.ConversionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "ConversionReview"},
		Request: &apiextensionsv1.ConversionRequest{
			UID:               types.UID("bench"),
			DesiredAPIVersion: "cluster.x-k8s.io/v1beta1",
			Objects:           []runtime.RawExtension{{Raw: []byte(benchMachine)}},
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, ConvertPath, bytes.NewReader(review))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"status":"Success"`)) {
			b.Fatalf("conversion failed: %d %s", rec.Code, rec.Body.String())
		}
	}
}
