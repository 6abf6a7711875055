// Package hostile sends hostile and invalid input to a real API server with
// the project's CRDs, and to the real bootstrap and infrastructure controllers
// behind it. Each case is a manifest and what must become of it: rejected at
// admission with a message that names the field, or, where admission cannot
// tell, a condition on the user's object that names the field, with no node
// Pod started and no data made from the bad input. The tests play the core
// provider: they create Machines and set the Cluster's status themselves.
package hostile

import (
	"context"
	"os"
	"testing"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/podcluster/podcluster/bootstrap/kubeadm"
	"github.com/podcluster/podcluster/infrastructure/kubernetes"
	"github.com/podcluster/podcluster/internal/manager"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/test/testenv"
	"github.com/podcluster/podcluster/test/testmanager"
)

var (
	env, workload      *testenv.Environment
	workloadKubeconfig []byte
)

func TestMain(m *testing.M) {
	if os.Getenv("PODCLUSTER_TEST_LOGS") != "" {
		log.SetLogger(zap.New(zap.UseDevMode(true)))
	} else {
		log.SetLogger(zap.New(zap.WriteTo(discard{})))
	}
	os.Exit(testenv.Run(m, &env, func() (func(), error) {
		var err error
		if workload, err = testenv.StartWorkload(); err != nil {
			return nil, err
		}
		if workloadKubeconfig, err = os.ReadFile(workload.KubeconfigPath); err != nil {
			return nil, err
		}
		stop, err := startManager()
		if err != nil {
			return nil, err
		}
		return func() {
			stop()
			_ = workload.Stop()
		}, nil
	}))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// startManager runs the kubeadm bootstrap and the infrastructure providers'
// controllers, as their managers would.
func startManager() (func(), error) {
	m := &testmanager.Manager{
		Config:  env.Config,
		Options: manager.Options{AllowRestart: true},
		Setup: func(ctx context.Context, mgr ctrl.Manager, cc *remote.ClusterCache) error {
			if err := kubeadm.Setup(ctx, mgr, kubeadm.Options{ClusterCache: cc}); err != nil {
				return err
			}
			return kubernetes.Setup(ctx, mgr, kubernetes.Options{ClusterCache: cc})
		},
	}
	return m.Stop, m.Start()
}
