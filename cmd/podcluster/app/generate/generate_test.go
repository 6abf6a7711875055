package generate

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
	"github.com/podcluster/podcluster/test/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var env *testenv.Environment

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

func run(args ...string) (stdout string, err error) {
	var out, errOut bytes.Buffer
	cmd := NewCommand(streams.IO{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut})
	cmd.SetArgs(args)
	cmd.SetOut(&errOut)
	cmd.SetErr(&errOut)
	cmd.SilenceErrors = true
	cmd.SilenceUsage = true
	err = cmd.Execute()
	return out.String(), err
}

var flavors = []string{"default", "kcp", "persistent", "autoscale"}

// TestGenerateGolden: each flavor's output with its defaults matches its golden file.
func TestGenerateGolden(t *testing.T) {
	for _, flavor := range flavors {
		t.Run(flavor, func(t *testing.T) {
			g := NewWithT(t)
			out, err := run("cluster", "demo", "--flavor", flavor)
			g.Expect(err).NotTo(HaveOccurred())
			path := filepath.Join("testdata", flavor+".golden.yaml")
			if *update {
				g.Expect(os.MkdirAll("testdata", 0o750)).To(Succeed())
				g.Expect(os.WriteFile(path, []byte(out), 0o600)).To(Succeed())
			}
			want, err := os.ReadFile(path)
			g.Expect(err).NotTo(HaveOccurred(), "run with -update to create %s", path)
			g.Expect(out).To(Equal(string(want)), "%s differs; run with -update if the change is intended", path)
		})
	}
}

// TestGenerateApplies: each flavor, with its defaults and with every setting
// changed, is accepted by the API server with strict field validation.
func TestGenerateApplies(t *testing.T) {
	for _, flavor := range flavors {
		for _, extra := range [][]string{
			nil,
			{"--node-cpu", "2", "--node-memory", "4Gi", "--control-plane-machine-count", "5", "--worker-machine-count", "0",
				"--kubernetes-version", "v1.36.0", "--pod-cidr", "10.0.0.0/16", "--service-cidr", "10.96.0.0/12",
				"--service-type", "NodePort", "--etcd-volume-size", "5Gi"},
		} {
			t.Run(flavor, func(t *testing.T) {
				g := NewWithT(t)
				ns := env.NewNamespace(t)
				out, err := run(append([]string{"cluster", "demo", "--flavor", flavor, "-n", ns}, extra...)...)
				g.Expect(err).NotTo(HaveOccurred())
				objs, err := manifest.Decode([]byte(out))
				g.Expect(err).NotTo(HaveOccurred())
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				for _, o := range objs {
					g.Expect(o.GetNamespace()).To(Equal(ns))
					g.Expect(env.Client.Create(ctx, o, client.FieldValidation("Strict"))).To(Succeed(), "%s %s", o.GetKind(), o.GetName())
				}
			})
		}
	}
}

// TestGenerateSettings: environment variables set what flags do not, flags win,
// and bad values fail naming their flag.
func TestGenerateSettings(t *testing.T) {
	g := NewWithT(t)
	t.Setenv("KUBERNETES_VERSION", "v1.36.3")
	t.Setenv("WORKER_MACHINE_COUNT", "7")
	out, err := run("cluster", "demo", "--worker-machine-count", "4")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("version: v1.36.3"))
	g.Expect(out).To(ContainSubstring("replicas: 4"))

	_, err = run("cluster", "demo", "--flavor", "kcp", "--control-plane-machine-count", "4")
	g.Expect(err).To(MatchError(ContainSubstring(`invalid --control-plane-machine-count (CONTROL_PLANE_MACHINE_COUNT) "4"`)))
	t.Setenv("POD_CIDR", "10.0.0.0")
	_, err = run("cluster", "demo")
	g.Expect(err).To(MatchError(ContainSubstring(`invalid --pod-cidr (POD_CIDR) "10.0.0.0"`)))
	_, err = run("cluster")
	g.Expect(err).To(MatchError(ContainSubstring("accepts 1 arg(s)")))
}

// TestListVariables prints the variables of a flavor with their defaults.
func TestListVariables(t *testing.T) {
	g := NewWithT(t)
	out, err := run("cluster", "--flavor", "persistent", "--list-variables")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(MatchRegexp(`CONTROL_PLANE_MACHINE_COUNT\s+--control-plane-machine-count\s+3\s`))
	g.Expect(out).To(MatchRegexp(`ETCD_VOLUME_SIZE\s+--etcd-volume-size\s+1Gi\s`))
	g.Expect(out).To(MatchRegexp(`NODE_CPU\s+--node-cpu\s+\(optional\)`))

	out, err = run("cluster", "--list-variables")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(MatchRegexp(`CONTROL_PLANE_MACHINE_COUNT\s+--control-plane-machine-count\s+1\s`))
	g.Expect(out).NotTo(ContainSubstring("ETCD_VOLUME_SIZE"))
}
