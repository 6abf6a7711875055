package remote

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// rootOnly answers "/" with code and everything else, /readyz included, with
// 404, as upstream's in-memory API server does for paths it does not serve.
// It counts the requests for "/".
func rootOnly(code int, hits *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		if hits != nil {
			hits.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"paths":["/api","/apis"]}`))
	})
}

// configFor is a rest.Config for a TLS test server, with a bearer token as a
// workload kubeconfig would have.
func configFor(srv *httptest.Server) *rest.Config {
	return &rest.Config{Host: srv.URL, BearerToken: "token", Timeout: 2 * time.Second,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
}

func TestProbe(t *testing.T) {
	cases := []struct {
		name    string
		handler http.Handler
		// wantErr is "" for a reachable server.
		wantErr      string
		unauthorized bool
	}{
		{name: "a server that answers only /", handler: rootOnly(http.StatusOK, nil)},
		{name: "forbidden: the identity may not read /, the server answers", handler: rootOnly(http.StatusForbidden, nil)},
		{name: "no root document, the server answers", handler: http.NotFoundHandler()},
		{name: "too many requests, the server answers", handler: rootOnly(http.StatusTooManyRequests, nil)},
		{name: "unauthorized", handler: rootOnly(http.StatusUnauthorized, nil),
			wantErr: "refused the kubeconfig's credentials", unauthorized: true},
		{name: "server error", handler: rootOnly(http.StatusInternalServerError, nil), wantErr: "probing https://"},
		{name: "unavailable", handler: rootOnly(http.StatusServiceUnavailable, nil), wantErr: "probing https://"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			srv := httptest.NewTLSServer(tc.handler)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := probe(ctx, configFor(srv))
			if tc.wantErr == "" {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
			g.Expect(err).To(WithTransform(func(err error) bool { return errors.Is(err, errUnauthorized) }, Equal(tc.unauthorized)))
		})
	}

	t.Run("it asks for / and nothing else", func(t *testing.T) {
		g := NewWithT(t)
		var hits atomic.Int32
		srv := httptest.NewTLSServer(rootOnly(http.StatusOK, &hits))
		defer srv.Close()
		g.Expect(probe(context.Background(), configFor(srv))).To(Succeed())
		g.Expect(hits.Load()).To(BeEquivalentTo(1))
	})

	t.Run("nothing listens", func(t *testing.T) {
		g := NewWithT(t)
		srv := httptest.NewTLSServer(rootOnly(http.StatusOK, nil))
		cfg := configFor(srv)
		srv.Close()
		g.Expect(probe(context.Background(), cfg)).To(MatchError(ContainSubstring("probing https://")))
	})

	t.Run("a server that does not answer in time", func(t *testing.T) {
		g := NewWithT(t)
		block := make(chan struct{})
		srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }))
		defer srv.Close()
		defer close(block)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		g.Expect(probe(ctx, configFor(srv))).To(HaveOccurred())
		g.Expect(time.Since(start)).To(BeNumerically("<", 2*time.Second))
	})
}

// TestHealthWatch runs the health loop of a connection against servers that
// answer only "/": a healthy one keeps its entry, one that refuses the
// credentials loses it at the first probe, without waiting for the threshold.
func TestHealthWatch(t *testing.T) {
	watch := func(t *testing.T, h http.Handler) (*ClusterCache, client.ObjectKey, *entry) {
		t.Helper()
		srv := httptest.NewTLSServer(h)
		t.Cleanup(srv.Close)
		c := New(nil, nil, Options{Timeout: time.Second, HealthProbeInterval: 20 * time.Millisecond, FailureThreshold: 1000})
		key := ClusterKey("ns", "c")
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		e := &entry{cancel: cancel}
		c.clusters[key] = e
		go c.watchHealth(ctx, key, configFor(srv), e)
		return c, key, e
	}
	present := func(c *ClusterCache, key client.ObjectKey) bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.clusters[key]
		return ok
	}

	t.Run("healthy", func(t *testing.T) {
		g := NewWithT(t)
		var hits atomic.Int32
		c, key, _ := watch(t, rootOnly(http.StatusOK, &hits))
		g.Eventually(hits.Load, 5*time.Second, 10*time.Millisecond).Should(BeNumerically(">=", 5))
		g.Expect(present(c, key)).To(BeTrue())
	})
	t.Run("credentials refused", func(t *testing.T) {
		g := NewWithT(t)
		c, key, _ := watch(t, rootOnly(http.StatusUnauthorized, nil))
		g.Eventually(func() bool { return present(c, key) }, 5*time.Second, 10*time.Millisecond).Should(BeFalse())
	})
}
