package managercmd

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
	"github.com/podcluster/podcluster/test/testenv"
)

var env *testenv.Environment

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// TestManagerFlags runs `podcluster manager` with a watch filter, a
// namespace, leader election, metrics and health endpoints: the endpoints
// answer, a Lease is taken, and only the labelled Cluster in the namespace
// is reconciled.
func TestManagerFlags(t *testing.T) {
	g := NewWithT(t)
	ns, elsewhere := env.NewNamespace(t), env.NewNamespace(t)
	metrics, health := freeAddr(t), freeAddr(t)
	var logs bytes.Buffer
	cmd := NewCommand(streams.IO{Out: &logs, ErrOut: &logs})
	cmd.SetArgs([]string{"--kubeconfig", env.KubeconfigPath, "--providers=core", "--watch-filter=team-a",
		"--metrics-bind-address", metrics, "--health-probe-bind-address", health,
		"--leader-elect", "--leader-election-namespace", ns, "--concurrency=machine=2", "--log-format=json", "--namespace=" + ns})
	ctx, cancel := context.WithCancel(context.Background())
	cmd.SetContext(ctx)
	done := make(chan error, 1)
	go func() { done <- cmd.Execute() }()
	defer func() {
		cancel()
		g.Expect(<-done).To(Succeed())
	}()

	for _, path := range []string{"http://" + health + "/healthz", "http://" + health + "/readyz", "http://" + metrics + "/metrics"} {
		g.Eventually(func() int {
			resp, err := http.Get(path) //nolint:gosec,noctx // a test endpoint on loopback
			if err != nil {
				return 0
			}
			_ = resp.Body.Close()
			return resp.StatusCode
		}, 30*time.Second, 200*time.Millisecond).Should(Equal(http.StatusOK), path)
	}

	mine := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mine", Labels: map[string]string{clusterv1.WatchLabel: "team-a"}},
		Spec: clusterv1.ClusterSpec{Paused: ptr(false)}}
	theirs := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "theirs", Labels: map[string]string{clusterv1.WatchLabel: "team-b"}},
		Spec: clusterv1.ClusterSpec{Paused: ptr(false)}}
	// Labelled for this manager, but outside its namespace.
	outside := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: elsewhere, Name: "outside", Labels: map[string]string{clusterv1.WatchLabel: "team-a"}},
		Spec: clusterv1.ClusterSpec{Paused: ptr(false)}}
	g.Expect(env.Client.Create(ctx, outside)).To(Succeed())
	g.Expect(env.Client.Create(ctx, mine)).To(Succeed())
	g.Expect(env.Client.Create(ctx, theirs)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := &clusterv1.Cluster{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(mine), got)).To(Succeed())
		g.Expect(got.Finalizers).To(ContainElement(clusterv1.ClusterFinalizer))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Consistently(func(g Gomega) {
		got := &clusterv1.Cluster{}
		for _, other := range []*clusterv1.Cluster{theirs, outside} {
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(other), got)).To(Succeed())
			g.Expect(got.Finalizers).To(BeEmpty(), other.Name)
		}
	}, 2*time.Second, 200*time.Millisecond).Should(Succeed())

	out, err := env.Kubectl(ctx, "get", "leases", "-n", ns, "-o", "name")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("lease.coordination.k8s.io/podcluster-core"))
	g.Expect(logs.String()).To(ContainSubstring(`"msg":"Starting manager"`), "JSON logs")
	g.Expect(logs.String()).To(ContainSubstring(`"namespaces":["` + ns + `"]`))
}

func TestManagerRejectsUnknownProvider(t *testing.T) {
	cmd := NewCommand(streams.IO{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	cmd.SetArgs([]string{"--kubeconfig", env.KubeconfigPath, "--providers=core,nonsense", "--metrics-bind-address=0", "--health-probe-bind-address=0"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd.SetContext(ctx)
	err := cmd.Execute()
	NewWithT(t).Expect(err).To(MatchError(ContainSubstring(fmt.Sprintf("unknown provider %q", "nonsense"))))
}

func ptr[T any](v T) *T { return &v }
