// Package testenv starts real Kubernetes API servers for tests: etcd and
// kube-apiserver built by hack/tools at the pinned version, driven by
// controller-runtime's envtest, with podcluster's CRDs installed.
//
// A test package starts one environment in TestMain and creates a fresh
// namespace per test:
//
//	var env *testenv.Environment
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }
//
//	func TestSomething(t *testing.T) {
//		ns := env.NewNamespace(t)
//		...
//	}
//
// A second environment without CRDs (StartWorkload) stands in for a workload
// cluster.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/podcluster/podcluster/cmd/podcluster/client/tools"
	"github.com/podcluster/podcluster/internal/scheme"
)

// Environment is a running API server with a client for it.
type Environment struct {
	// Config reaches the API server as a cluster admin.
	Config *rest.Config
	// Client is a controller-runtime client with podcluster's scheme.
	Client client.Client
	// Scheme knows the built-in types and every podcluster API group.
	Scheme *runtime.Scheme
	// KubeconfigPath is an admin kubeconfig file, for kubectl.
	KubeconfigPath string

	env *envtest.Environment
	dir string
}

// Options tune Start.
type Options struct {
	// WithoutCRDs starts a bare API server, as a workload cluster would be.
	WithoutCRDs bool
}

// Start starts etcd and kube-apiserver and, unless told otherwise, installs the CRDs.
func Start(opts Options) (*Environment, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	s := scheme.New()
	te := &envtest.Environment{
		BinaryAssetsDirectory:    bin,
		Scheme:                   s,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	if !opts.WithoutCRDs {
		te.CRDDirectoryPaths = []string{filepath.Join(root, "config", "crd", "bases")}
		te.ErrorIfCRDPathMissing = true
	}
	cfg, err := te.Start()
	if err != nil {
		return nil, fmt.Errorf("starting envtest from %s: %w", bin, err)
	}
	e := &Environment{Config: cfg, Scheme: s, env: te}
	if e.Client, err = client.New(cfg, client.Options{Scheme: s}); err != nil {
		_ = te.Stop()
		return nil, fmt.Errorf("creating client: %w", err)
	}
	if e.dir, err = os.MkdirTemp("", "podcluster-testenv-"); err != nil {
		_ = te.Stop()
		return nil, fmt.Errorf("creating temp dir: %w", err)
	}
	e.KubeconfigPath = filepath.Join(e.dir, "kubeconfig")
	if err := os.WriteFile(e.KubeconfigPath, te.KubeConfig, 0o600); err != nil {
		_ = e.Stop()
		return nil, fmt.Errorf("writing kubeconfig: %w", err)
	}
	return e, nil
}

// StartWorkload starts a bare API server that stands in for a workload cluster.
func StartWorkload() (*Environment, error) {
	return Start(Options{WithoutCRDs: true})
}

// Stop stops the API server and etcd and removes the temporary files.
func (e *Environment) Stop() error {
	err := e.env.Stop()
	if e.dir != "" {
		err = errors.Join(err, os.RemoveAll(e.dir))
	}
	return err
}

// Run starts an environment, stores it in *env, runs the package's setups
// (each returns its own teardown), runs the package's tests, tears down in
// reverse order and stops the environment. It returns the exit code for os.Exit.
func Run(m *testing.M, env **Environment, setups ...func() (func(), error)) int {
	e, err := Start(Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		return 1
	}
	*env = e
	defer func() {
		if err := e.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: stopping: %v\n", err)
		}
	}()
	var teardowns []func()
	defer func() {
		for i := len(teardowns) - 1; i >= 0; i-- {
			teardowns[i]()
		}
	}()
	for _, setup := range setups {
		teardown, err := setup()
		if err != nil {
			fmt.Fprintf(os.Stderr, "testenv: setup: %v\n", err)
			return 1
		}
		teardowns = append(teardowns, teardown)
	}
	return m.Run()
}

// NewNamespace creates a namespace with a unique name for the test and deletes
// it when the test ends.
func (e *Environment) NewNamespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Client.Create(ctx, ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = e.Client.Delete(ctx, ns)
	})
	return ns.Name
}

// Kubectl runs the pinned kubectl against the environment and returns its
// standard output; standard error is part of the error.
func (e *Environment) Kubectl(ctx context.Context, args ...string) (string, error) {
	kubectl, err := Tool("kubectl")
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", e.KubeconfigPath}, args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// RepoRoot finds the repository root above the working directory.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return tools.RepoRoot(wd)
}

// testTools are the binaries the harness needs; hack/tools/ensure.sh builds
// them once per version.
var testTools = []string{"etcd", "kube-apiserver", "kubectl", "kubeadm"}

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// BinDir returns the folder holding etcd, kube-apiserver, kubectl and kubeadm,
// building what is missing (a no-op when the tools cache is warm).
func BinDir() (string, error) {
	binOnce.Do(func() { binDir, binErr = tools.EnsureBinDir(os.Stderr, testTools...) })
	return binDir, binErr
}

// Tool returns the path of one of the harness binaries.
func Tool(name string) (string, error) {
	dir, err := BinDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}
