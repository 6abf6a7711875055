package clusterresourceset

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	addonsv1 "github.com/podcluster/podcluster/api/addons/v1beta2"
)

func TestResourcesApplied(t *testing.T) {
	many := make([]string, 12)
	for i := range many {
		many[i] = fmt.Sprintf("ConfigMap/c%d: not found", i)
	}
	tests := []struct {
		name        string
		results     []clusterResult
		internal    error
		wantOK      bool
		wantStatus  metav1.ConditionStatus
		wantReason  string
		wantMessage string
	}{
		{name: "no Cluster to apply to says nothing", wantOK: false},
		{name: "all applied", results: []clusterResult{{cluster: "a"}, {cluster: "b"}},
			wantOK: true, wantStatus: metav1.ConditionTrue, wantReason: addonsv1.ResourcesAppliedReason},
		{name: "a failure names the Cluster and the resource", results: []clusterResult{{cluster: "a"}, {cluster: "b", failures: []string{"ConfigMap/cni: not found"}}},
			wantOK: true, wantStatus: metav1.ConditionFalse, wantReason: addonsv1.ResourcesNotAppliedReason, wantMessage: "Cluster b: ConfigMap/cni: not found"},
		{name: "a wrong Secret type wins the reason", results: []clusterResult{
			{cluster: "a", failures: []string{"ConfigMap/cni: not found"}},
			{cluster: "b", failures: []string{`Secret/creds: wrong Secret type "Opaque"`}, wrongSecretType: true}},
			wantOK: true, wantStatus: metav1.ConditionFalse, wantReason: addonsv1.ResourcesWrongSecretTypeReason,
			wantMessage: "Cluster a: ConfigMap/cni: not found\nCluster b: Secret/creds: wrong Secret type \"Opaque\""},
		{name: "long lists are cut", results: []clusterResult{{cluster: "a", failures: many}},
			wantOK: true, wantStatus: metav1.ConditionFalse, wantReason: addonsv1.ResourcesNotAppliedReason,
			wantMessage: "Cluster a: " + strings.Join(many[:10], "\nCluster a: ") + "\n... and 2 more"},
		{name: "listing Clusters failed", internal: errors.New("boom"),
			wantOK: true, wantStatus: metav1.ConditionFalse, wantReason: addonsv1.ResourcesInternalErrorReason, wantMessage: "Listing the matching Clusters failed: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c, ok := resourcesApplied(tt.results, tt.internal)
			g.Expect(ok).To(Equal(tt.wantOK))
			if !ok {
				return
			}
			g.Expect(c.Type).To(Equal(addonsv1.ResourcesAppliedCondition))
			g.Expect(c.Status).To(Equal(tt.wantStatus))
			g.Expect(c.Reason).To(Equal(tt.wantReason))
			g.Expect(c.Message).To(Equal(tt.wantMessage))
		})
	}
}
