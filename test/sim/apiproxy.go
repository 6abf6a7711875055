package sim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

const (
	// proxyDialTimeout bounds the dial of one API server behind an endpoint.
	proxyDialTimeout = time.Second
	// proxyHealthInterval is how often the load balancer asks each API
	// server's /readyz, which anonymous clients may read.
	proxyHealthInterval = time.Second
	// proxyUnhealthyThreshold is how many failed checks in a row take an API
	// server out, as a cloud load balancer's unhealthy threshold: one slow
	// answer on a busy host does not cut its clients off.
	proxyUnhealthyThreshold = 2
)

// endpointProxy plays the cloud load balancer in front of a stacked control
// plane: it listens on the control-plane endpoint (the LoadBalancer address)
// and forwards each connection, TLS and all, to one of the cluster's serving
// API servers, in turn, passing over those that refuse, as a load balancer
// with health checks does.
type endpointProxy struct {
	addr string
	ln   net.Listener

	mu       sync.Mutex
	backends []string
	// unready are the backends whose last proxyUnhealthyThreshold health
	// checks failed: an API server that lost its etcd member still accepts
	// connections. failures counts each backend's failed checks in a row.
	unready  map[string]bool
	failures map[string]int
	next     int
	// conns are the forwarded connections' two ends, by backend.
	conns map[net.Conn]string
	done  chan struct{}
	// stopHealth ends the health checks.
	stopHealth context.CancelFunc
}

// endpointProxies are the running proxies by endpoint address.
type endpointProxies struct {
	mu      sync.Mutex
	proxies map[string]*endpointProxy
}

// add puts backend behind the endpoint addr, starting the proxy there when
// none runs.
func (e *endpointProxies) add(addr, backend string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.proxies[addr]
	if p == nil {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("serving the control-plane endpoint %s: %w", addr, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		p = &endpointProxy{addr: addr, ln: ln, conns: map[net.Conn]string{}, unready: map[string]bool{}, failures: map[string]int{}, done: make(chan struct{}), stopHealth: cancel}
		go p.serve()
		go p.checkHealth(ctx)
		if e.proxies == nil {
			e.proxies = map[string]*endpointProxy{}
		}
		e.proxies[addr] = p
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !slices.Contains(p.backends, backend) {
		p.backends = append(p.backends, backend)
	}
	return nil
}

// remove takes backend from behind every endpoint; an endpoint left without
// API servers stops listening, as there is nothing to balance.
func (e *endpointProxies) remove(backend string) {
	e.mu.Lock()
	var stop []*endpointProxy
	for addr, p := range e.proxies {
		p.mu.Lock()
		p.backends = slices.DeleteFunc(p.backends, func(b string) bool { return b == backend })
		empty := len(p.backends) == 0
		p.mu.Unlock()
		if empty {
			delete(e.proxies, addr)
			stop = append(stop, p)
		}
	}
	e.mu.Unlock()
	for _, p := range stop {
		p.stop()
	}
}

// backends are the API servers behind the endpoint addr.
func (e *endpointProxies) backends(addr string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.proxies[addr]
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.backends)
}

// stopAll stops every proxy, when the runtime stops.
func (e *endpointProxies) stopAll() {
	e.mu.Lock()
	proxies := e.proxies
	e.proxies = nil
	e.mu.Unlock()
	for _, p := range proxies {
		p.stop()
	}
}

func (p *endpointProxy) serve() {
	defer close(p.done)
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go p.forward(conn)
	}
}

// checkHealth asks each backend's /readyz every proxyHealthInterval, as a
// cloud load balancer's health check, until ctx ends.
func (p *endpointProxy) checkHealth(ctx context.Context) {
	hc := &http.Client{Timeout: proxyHealthInterval, Transport: &http.Transport{
		// A health check, not a client: the serving certificate is not its concern.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see above
	}}
	defer hc.CloseIdleConnections()
	ticker := time.NewTicker(proxyHealthInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		p.mu.Lock()
		backends := slices.Clone(p.backends)
		p.mu.Unlock()
		for _, b := range backends {
			ready := false
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+b+"/readyz", nil)
			if err == nil {
				if resp, err := hc.Do(req); err == nil {
					_ = resp.Body.Close()
					ready = resp.StatusCode == http.StatusOK
				}
			}
			p.mu.Lock()
			var drop []net.Conn
			if ready {
				delete(p.unready, b)
				delete(p.failures, b)
			} else if p.failures[b]++; p.failures[b] >= proxyUnhealthyThreshold && !p.unready[b] {
				// Newly unready: its connections are cut, as a load
				// balancer drains a failing target, so that clients that
				// keep their connections open come back to a ready one.
				p.unready[b] = true
				for c, to := range p.conns {
					if to == b {
						drop = append(drop, c)
					}
				}
			}
			p.mu.Unlock()
			for _, c := range drop {
				_ = c.Close()
			}
		}
	}
}

// forward pipes conn to the next ready API server that accepts a
// connection; when none passed its last check, to any that accepts one.
func (p *endpointProxy) forward(conn net.Conn) {
	p.mu.Lock()
	var backends, unready []string
	for _, b := range p.backends {
		if p.unready[b] {
			unready = append(unready, b)
		} else {
			backends = append(backends, b)
		}
	}
	start := p.next
	p.next++
	p.mu.Unlock()
	if len(backends) == 0 {
		backends = unready
	}
	var upstream net.Conn
	var backend string
	for i := range backends {
		b := backends[(start+i)%len(backends)]
		c, err := net.DialTimeout("tcp", b, proxyDialTimeout)
		if err == nil {
			upstream, backend = c, b
			break
		}
	}
	if upstream == nil {
		_ = conn.Close()
		return
	}
	if !p.track(backend, conn, upstream) {
		return
	}
	var wg sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// One side ended: end both, as a TCP load balancer does.
		_ = dst.Close()
		_ = src.Close()
	}
	wg.Go(func() { pipe(upstream, conn) })
	wg.Go(func() { pipe(conn, upstream) })
	wg.Wait()
	p.untrack(conn, upstream)
}

// track records a forwarded connection's two ends, so that stop closes them;
// a proxy that stopped meanwhile closes them at once.
func (p *endpointProxy) track(backend string, conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = backend
	}
	return true
}

func (p *endpointProxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		delete(p.conns, c)
	}
}

// stop closes the listener and every forwarded connection.
func (p *endpointProxy) stop() {
	p.stopHealth()
	_ = p.ln.Close()
	<-p.done
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for c := range conns {
		_ = c.Close()
	}
}
