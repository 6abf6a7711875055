package v1beta1

import (
	"encoding/json"
	"testing"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

const benchMachine = `{"apiVersion":"cluster.x-k8s.io/v1beta2","kind":"Machine","metadata":{"name":"worker-abcde-fghij","namespace":"default","uid":"0f4b5a1c-1111-2222-3333-444455556666","resourceVersion":"123456","generation":2,"creationTimestamp":"2026-12-04T10:00:00Z",
"labels":{"cluster.x-k8s.io/cluster-name":"example","cluster.x-k8s.io/deployment-name":"worker","cluster.x-k8s.io/set-name":"worker-abcde","machine-template-hash":"1234567890","cluster.x-k8s.io/deployment-name2":"x"},
"annotations":{"machine.cluster.x-k8s.io/certificates-expiry":"2027-12-04T10:00:00Z"},
"finalizers":["machine.cluster.x-k8s.io"],
"ownerReferences":[{"apiVersion":"cluster.x-k8s.io/v1beta2","kind":"MachineSet","name":"worker-abcde","uid":"aaaa-bbbb","controller":true,"blockOwnerDeletion":true}],
"managedFields":[{"manager":"podcluster","operation":"Update","apiVersion":"cluster.x-k8s.io/v1beta2","time":"2026-12-04T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:cluster.x-k8s.io/cluster-name":{},"f:cluster.x-k8s.io/deployment-name":{}},"f:ownerReferences":{".":{},"k:{\"uid\":\"aaaa-bbbb\"}":{}}},"f:spec":{".":{},"f:bootstrap":{".":{},"f:configRef":{}},"f:clusterName":{},"f:infrastructureRef":{},"f:version":{}}}},
{"manager":"podcluster","operation":"Update","apiVersion":"cluster.x-k8s.io/v1beta2","time":"2026-12-04T10:00:05Z","fieldsType":"FieldsV1","fieldsV1":{"f:status":{".":{},"f:addresses":{},"f:conditions":{},"f:initialization":{".":{},"f:bootstrapDataSecretCreated":{},"f:infrastructureProvisioned":{}},"f:nodeInfo":{},"f:nodeRef":{},"f:phase":{}}},"subresource":"status"}]},
"spec":{"clusterName":"example","version":"v1.30.0","bootstrap":{"configRef":{"apiGroup":"bootstrap.cluster.x-k8s.io","kind":"KubeadmConfig","name":"worker-abcde-fghij"},"dataSecretName":"worker-abcde-fghij"},"infrastructureRef":{"apiGroup":"infrastructure.cluster.x-k8s.io","kind":"KubernetesMachine","name":"worker-abcde-fghij"},"providerID":"kubernetes://default/worker-abcde-fghij","deletion":{"nodeDrainTimeoutSeconds":60}},
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

func BenchmarkMachineFromHub(b *testing.B) {
	hub := &clusterv1.Machine{}
	if err := json.Unmarshal([]byte(benchMachine), hub); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		spoke := &Machine{}
		if err := spoke.ConvertFrom(hub); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMachineToHub(b *testing.B) {
	hub := &clusterv1.Machine{}
	if err := json.Unmarshal([]byte(benchMachine), hub); err != nil {
		b.Fatal(err)
	}
	spoke := &Machine{}
	if err := spoke.ConvertFrom(hub); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		h := &clusterv1.Machine{}
		if err := spoke.ConvertTo(h); err != nil {
			b.Fatal(err)
		}
	}
}
