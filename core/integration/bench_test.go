package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// BenchmarkScaleMachineDeployment scales one MachineDeployment from 0 to 10
// and, in a second run, to 100 Machines with stand-in providers and reports
// the core controllers' API requests to the management cluster per Machine
// (all verbs, and writes alone), conflicts, and the wall time until all are
// Running and Available. Run it with:
//
//	go test ./core/integration/ -run '^$' -bench ScaleMachineDeployment -benchtime 1x
func BenchmarkScaleMachineDeployment(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("0To%d", n), func(b *testing.B) { benchmarkScaleMachineDeployment(b, n) })
	}
}

func benchmarkScaleMachineDeployment(b *testing.B, n int) {
	for i := 0; i < b.N; i++ {
		b.StopTimer() // the set-up and the wait for quiet are not the scale-up
		g := NewWithT(b)
		ctx := context.Background()
		ns := env.NewNamespace(b)
		c := newCluster(b, g, ns, fmt.Sprintf("bench%d-%d", n, i))
		md := newMachineDeployment(g, c, "workers", 0, 1, 0)
		g.Eventually(func(g Gomega) {
			got := &clusterv1.MachineDeployment{}
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(md), got)).To(Succeed())
			g.Expect(got.Status.Phase).To(Equal("Running"))
		}, time.Minute, 100*time.Millisecond).Should(Succeed())
		waitForQuiet(g) // the set-up's last status writes are not the scale-up's
		requests.Reset()

		b.StartTimer()
		start := time.Now()
		replicas := int32(n)
		got := &clusterv1.MachineDeployment{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(md), got)).To(Succeed())
		before := got.DeepCopy()
		got.Spec.Replicas = &replicas
		g.Expect(env.Client.Patch(ctx, got, client.MergeFrom(before))).To(Succeed())
		g.Eventually(func(g Gomega) {
			got := &clusterv1.MachineDeployment{}
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(md), got)).To(Succeed())
			g.Expect(got.Status.AvailableReplicas).NotTo(BeNil())
			g.Expect(*got.Status.AvailableReplicas).To(BeEquivalentTo(n))
			g.Expect(got.Status.Phase).To(Equal("Running"))
		}, 5*time.Minute, 250*time.Millisecond).Should(Succeed())
		elapsed := time.Since(start)
		b.StopTimer()
		// Count the trailing status updates too.
		waitForQuiet(g)

		b.Logf("requests by verb and resource: %v", requests.Breakdown())
		writes := requests.Writes()
		all := writes + requests.Get("GET") + requests.Get("LIST") + requests.Get("WATCH")
		b.ReportMetric(float64(all)/float64(n), "requests/machine")
		b.ReportMetric(float64(writes)/float64(n), "writes/machine")
		b.ReportMetric(float64(requests.Get("POST"))/float64(n), "creates/machine")
		b.ReportMetric(float64(requests.Get("PATCH"))/float64(n), "patches/machine")
		b.ReportMetric(float64(requests.Get("CONFLICT")), "conflicts")
		b.ReportMetric(elapsed.Seconds(), "s/scale-up")
	}
}

// waitForQuiet waits until the core manager has sent no write to the
// management cluster for three polls in a row: its reconciles caught up with
// the last change, and what they write next belongs to the next one.
func waitForQuiet(g Gomega) {
	last := -1
	g.Eventually(func() int {
		writes := requests.Writes()
		delta := writes - last
		last = writes
		return delta
	}, time.Minute, 500*time.Millisecond).MustPassRepeatedly(3).Should(BeZero(), "the core manager keeps writing")
}
