package mgmtnode

import (
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// inNetns runs fn on an OS thread that has entered the network namespace at
// nsPath. A socket belongs to the namespace of the thread that creates it, for
// its whole life, so listeners and connections made by fn stay in that
// namespace while everything else in this process stays on the host's.
//
// The thread never leaves the namespace again: it stays locked and ends with
// the goroutine, so that no other goroutine ever runs on it.
func inNetns(nsPath string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		ns, err := os.Open(nsPath)
		if err != nil {
			errc <- fmt.Errorf("opening the network namespace %s: %w", nsPath, err)
			return
		}
		defer func() { _ = ns.Close() }()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("entering the network namespace %s: %w", nsPath, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// listenIn opens a TCP listener inside the network namespace at nsPath.
func listenIn(nsPath, addr string) (net.Listener, error) {
	var l net.Listener
	err := inNetns(nsPath, func() error {
		var err error
		l, err = net.Listen("tcp", addr)
		return err
	})
	return l, err
}

// dialIn opens a TCP connection from inside the network namespace at nsPath.
func dialIn(nsPath, addr string) (net.Conn, error) {
	var c net.Conn
	err := inNetns(nsPath, func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, dialTimeout)
		return err
	})
	return c, err
}
