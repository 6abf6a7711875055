// Command pause is the process of a Pod sandbox (registry.k8s.io/pause in the
// node image). It holds the Pod's namespaces open and does nothing else: it
// waits for SIGINT or SIGTERM and exits 0. As PID 1 of a Pod that shares its
// process namespace it also reaps the orphans that are handed to it.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if os.Getpid() != 1 {
		// Like the upstream pause, warn but carry on: it is harmless elsewhere.
		_, _ = os.Stderr.WriteString("pause: warning: not PID 1\n")
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		reap()
	}
}

// reap collects every child that has exited.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
