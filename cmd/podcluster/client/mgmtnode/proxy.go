package mgmtnode

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// dialTimeout bounds a proxy's connection to its backend.
const dialTimeout = 5 * time.Second

// forwarder accepts TCP connections on a listener and joins each to a
// connection that dial opens, copying bytes both ways until either side
// closes. It is how traffic crosses between the host's network namespace and
// the management node's without any interface, route or address on the host.
type forwarder struct {
	l net.Listener
	// dial opens the backend of the accepted connection c; it may talk on c
	// first (see ListenEgress, whose CONNECT handshake does).
	dial func(ctx context.Context, c net.Conn) (net.Conn, error)
	log  logr.Logger

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func newForwarder(l net.Listener, log logr.Logger, dial func(ctx context.Context) (net.Conn, error)) *forwarder {
	return startForwarder(l, log, func(ctx context.Context, _ net.Conn) (net.Conn, error) { return dial(ctx) })
}

func startForwarder(l net.Listener, log logr.Logger, dial func(ctx context.Context, c net.Conn) (net.Conn, error)) *forwarder {
	f := &forwarder{l: l, dial: dial, log: log, conns: map[net.Conn]struct{}{}}
	f.wg.Add(1)
	go f.serve()
	return f
}

func (f *forwarder) serve() {
	defer f.wg.Done()
	for {
		c, err := f.l.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				f.log.Error(err, "Accepting a connection")
			}
			return
		}
		f.wg.Add(1)
		go f.handle(c)
	}
}

func (f *forwarder) handle(c net.Conn) {
	defer f.wg.Done()
	if !f.track(c) {
		_ = c.Close()
		return
	}
	defer f.untrack(c)
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	backend, err := f.dial(ctx, c)
	cancel()
	if err != nil {
		f.log.V(1).Info("No backend for a connection", "from", c.RemoteAddr().String(), "err", err.Error())
		return
	}
	if !f.track(backend) {
		_ = backend.Close()
		return
	}
	defer f.untrack(backend)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(backend, c)
	go pipe(c, backend)
	<-done
	<-done
}

// track records an open connection so that close can end it; false once the
// forwarder is closed.
func (f *forwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *forwarder) untrack(c net.Conn) {
	_ = c.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.conns, c)
}

// close stops accepting, ends every open connection and waits for them.
func (f *forwarder) close() {
	_ = f.l.Close()
	f.mu.Lock()
	for c := range f.conns {
		_ = c.Close()
	}
	f.conns = nil
	f.mu.Unlock()
	f.wg.Wait()
}
