// Package testmanager runs providers' controllers for a test package, as
// their binary would.
package testmanager

import (
	"context"
	"fmt"
	"os"
	"sync"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/podcluster/podcluster/internal/manager"
	"github.com/podcluster/podcluster/internal/remote"
)

// Manager runs providers' controllers for a test package, as their binary
// would, and can be stopped and started again: a test that drives a
// reconciler itself (for example through a lagging client) stops it first,
// so that the manager's own copy does not act on the same objects.
type Manager struct {
	Config  *rest.Config
	Options manager.Options
	// Setup registers the controllers with the manager.
	Setup func(ctx context.Context, mgr ctrl.Manager, cc *remote.ClusterCache) error

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Start starts the manager unless it runs.
func (m *Manager) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cancel != nil {
		return nil
	}
	mgr, cc, err := manager.New(m.Config, m.Options)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctrl.LoggerInto(context.Background(), ctrl.Log))
	if err := m.Setup(ctx, mgr, cc); err != nil {
		cancel()
		return err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "manager: %v\n", err)
		}
	}()
	m.cancel, m.done = cancel, done
	return nil
}

// Stop stops the manager and waits until it has stopped.
func (m *Manager) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cancel != nil {
		m.cancel()
		<-m.done
		m.cancel = nil
	}
}
