package mgmtnode

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// EgressProxy is the plane's API server's way into the management node's
// network: an HTTP CONNECT proxy on a Unix socket, which the API server's
// egress selector uses for its traffic to the cluster (localplane's
// EgressSocket). That traffic is the admission and conversion webhooks, which
// the API server, with aggregator routing, dials at a ready endpoint of their
// Service (a Pod's address), and the kubelets, for `kubectl logs`, `exec` and
// `port-forward`. A target in the management node's Pod network (PodSubnet:
// its Pods and its kubelet) is dialed inside the node's network namespace once
// SetNode has named it; any other target is dialed from the host, as the API
// server itself would (the in-process conversion webhook of `podcluster up`
// on loopback).
type EgressProxy struct {
	// Socket is the Unix socket the proxy serves.
	Socket string

	f       *forwarder
	onClose []func()

	mu        sync.Mutex
	netnsPath string
}

// ListenEgress serves the proxy on the Unix socket at path.
func ListenEgress(path string, log logr.Logger) (*EgressProxy, error) {
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listening on %s for the API server's egress: %w", path, err)
	}
	e := &EgressProxy{Socket: path}
	e.f = startForwarder(l, log, func(ctx context.Context, c net.Conn) (net.Conn, error) {
		return connectHandshake(ctx, c, e.dial)
	})
	return e, nil
}

// SetNode makes targets in PodSubnet reachable, in the network namespace at
// netnsPath; empty makes them unreachable again (the node stopped).
func (e *EgressProxy) SetNode(netnsPath string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.netnsPath = netnsPath
}

// OnClose runs fn once Close has stopped the proxy.
func (e *EgressProxy) OnClose(fn func()) { e.onClose = append(e.onClose, fn) }

// Close stops the proxy, ends its connections and removes the socket.
func (e *EgressProxy) Close() {
	e.f.close()
	_ = os.Remove(e.Socket)
	for _, fn := range e.onClose {
		fn()
	}
}

func (e *EgressProxy) dial(ctx context.Context, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip, err := netip.ParseAddr(host); err == nil && netip.MustParsePrefix(PodSubnet).Contains(ip) {
		e.mu.Lock()
		ns := e.netnsPath
		e.mu.Unlock()
		if ns == "" {
			return nil, fmt.Errorf("%s is in the management node's network, which is not running", addr)
		}
		return dialIn(ns, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// connectHandshake reads an HTTP CONNECT request from c, dials its target,
// and answers 200 (or an error status); then the bytes that follow are the
// tunnel's. The client sends nothing before the answer, so nothing read past
// the request can be lost.
func connectHandshake(ctx context.Context, c net.Conn, dial func(ctx context.Context, addr string) (net.Conn, error)) (net.Conn, error) {
	_ = c.SetReadDeadline(time.Now().Add(dialTimeout))
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, fmt.Errorf("reading a CONNECT request: %w", err)
	}
	_ = c.SetReadDeadline(time.Time{})
	if req.Method != http.MethodConnect || br.Buffered() > 0 {
		_, _ = io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\n\r\n")
		return nil, errors.New("not a CONNECT request: " + req.Method)
	}
	backend, err := dial(ctx, req.Host)
	if err != nil {
		_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
		return nil, fmt.Errorf("dialing %s: %w", req.Host, err)
	}
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		_ = backend.Close()
		return nil, err
	}
	return backend, nil
}
