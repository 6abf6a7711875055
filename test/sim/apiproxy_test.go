package sim

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	. "github.com/onsi/gomega"
)

// TestEndpointProxyBalancesOverReadyServers: the control-plane endpoint of a
// stacked control plane forwards to every API server behind it, leaves out
// one whose /readyz fails (cutting its open connections), takes it back once
// ready, and stops listening when the last one goes.
func TestEndpointProxyBalancesOverReadyServers(t *testing.T) {
	g := NewWithT(t)
	var bReady atomic.Bool
	bReady.Store(true)
	server := func(name string, ready func() bool) *httptest.Server {
		return httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/readyz" && !ready() {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			_, _ = io.WriteString(w, name)
		}))
	}
	a := server("a", func() bool { return true })
	defer a.Close()
	b := server("b", bReady.Load)
	defer b.Close()

	var proxies endpointProxies
	defer proxies.stopAll()
	// An address of this worktree's test range, with a port the kernel picks.
	ln, err := net.Listen("tcp", "127.32.251.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	addr := ln.Addr().String()
	g.Expect(ln.Close()).To(Succeed())
	backend := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "https://") }
	g.Expect(proxies.add(addr, backend(a))).To(Succeed())
	g.Expect(proxies.add(addr, backend(b))).To(Succeed())
	g.Expect(proxies.backends(addr)).To(ConsistOf(backend(a), backend(b)))

	// A fresh connection per request, so that each is balanced on its own.
	get := func() (string, error) {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}} //nolint:gosec // test servers
		resp, err := hc.Get("https://" + addr + "/")
		if err != nil {
			return "", err
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		return string(body), err
	}
	seen := func() map[string]bool {
		out := map[string]bool{}
		for range 6 {
			if body, err := get(); err == nil {
				out[body] = true
			}
		}
		return out
	}
	g.Eventually(seen, timeout, interval).Should(Equal(map[string]bool{"a": true, "b": true}))

	bReady.Store(false)
	g.Eventually(seen, timeout, interval).Should(Equal(map[string]bool{"a": true}))
	bReady.Store(true)
	g.Eventually(seen, timeout, interval).Should(Equal(map[string]bool{"a": true, "b": true}))

	proxies.remove(backend(a))
	proxies.remove(backend(b))
	g.Expect(proxies.backends(addr)).To(BeEmpty())
	_, err = get()
	g.Expect(err).To(HaveOccurred())
}
