package sim

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/podcluster/podcluster/cmd/podcluster/client/tools"
	"github.com/podcluster/podcluster/test/testenv"
)

const (
	timeout  = 20 * time.Second
	interval = 100 * time.Millisecond
)

var (
	env *testenv.Environment
	// scratchDir is the runtime's ScratchDir in these tests.
	scratchDir string
	// rt is the runtime the tests drive, with its defaults filled in.
	rt *Runtime
	// workloadEtcd is the etcd the workload API servers share.
	workloadEtcd string
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		// A child of TestProcessDiesWithTheRuntime, standing in for the
		// runtime's process.
		os.Exit(runHelper())
	}
	if os.Getenv("PODCLUSTER_TEST_LOGS") != "" {
		log.SetLogger(zap.New(zap.UseDevMode(true)))
	} else {
		log.SetLogger(zap.New(zap.WriteTo(discard{})))
	}
	os.Exit(testenv.Run(m, &env, startRuntime))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// startRuntime runs the simulated runtime in a manager of its own, as
// `podcluster up` would next to the providers.
func startRuntime() (func(), error) {
	dir, err := os.MkdirTemp("", "podcluster-sim-")
	if err != nil {
		return nil, err
	}
	scratchDir = filepath.Join(dir, "nodes")
	bin, err := testenv.BinDir()
	if err != nil {
		return nil, err
	}
	// The workload control-plane components, which the harness itself needs not.
	if _, err := tools.EnsureBinDir(os.Stderr, DefaultComponents...); err != nil {
		return nil, err
	}
	// The etcd the workload API servers share, apart from the management one.
	etcd := &envtest.Etcd{Path: filepath.Join(bin, "etcd"), DataDir: filepath.Join(dir, "etcd")}
	if err := etcd.Start(); err != nil {
		return nil, fmt.Errorf("starting etcd: %w", err)
	}
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptrTo(true)},
	})
	if err != nil {
		_ = etcd.Stop()
		return nil, err
	}
	workloadEtcd = etcd.URL.String()
	rt = &Runtime{ScratchDir: scratchDir, EtcdURL: workloadEtcd, BinDir: bin}
	// The addresses `podcluster up` takes from the same variables, so that
	// these tests can run next to another plane on the host.
	for env, addr := range map[string]*netip.Addr{
		"PODCLUSTER_SIM_LOADBALANCER_BASE": &rt.LoopbackBase,
		"PODCLUSTER_SIM_POD_IP_BASE":       &rt.PodIPBase,
	} {
		if v := os.Getenv(env); v != "" {
			a, err := netip.ParseAddr(v)
			if err != nil {
				_ = etcd.Stop()
				return nil, fmt.Errorf("$%s: %w", env, err)
			}
			*addr = a
		}
	}
	if err := rt.Setup(mgr); err != nil {
		_ = etcd.Stop()
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctrl.LoggerInto(context.Background(), ctrl.Log))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "manager: %v\n", err)
		}
	}()
	return func() {
		cancel()
		<-done
		_ = etcd.Stop()
		_ = os.RemoveAll(dir)
	}, nil
}
