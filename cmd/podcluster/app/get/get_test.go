package get

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
	"github.com/podcluster/podcluster/test/testenv"
)

var env *testenv.Environment

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

func run(args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	cmd := NewCommand(streams.IO{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut})
	cmd.SetArgs(args)
	cmd.SetOut(&errOut)
	cmd.SetErr(&errOut)
	cmd.SilenceErrors = true
	cmd.SilenceUsage = true
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

// TestGetKubeconfig prints the value of <name>-kubeconfig, writes it to a file
// only its owner can read, and names the Secret when it is missing.
func TestGetKubeconfig(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	const kubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\n"
	g.Expect(env.Client.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "demo-kubeconfig"},
		Data:       map[string][]byte{"value": []byte(kubeconfig)},
	})).To(Succeed())

	out, _, err := run("kubeconfig", "demo", "-n", ns, "--kubeconfig", env.KubeconfigPath)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(Equal(kubeconfig))

	// --output replaces an existing, too open file and makes it private.
	file := filepath.Join(t.TempDir(), "demo.kubeconfig")
	g.Expect(os.WriteFile(file, []byte("old and longer than the new content......................."), 0o644)).To(Succeed()) //nolint:gosec // the point is a too open file
	out, stderr, err := run("kubeconfig", "demo", "-n", ns, "--kubeconfig", env.KubeconfigPath, "--output", file)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(BeEmpty())
	g.Expect(stderr).To(ContainSubstring(file))
	got, err := os.ReadFile(file)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(got)).To(Equal(kubeconfig))
	info, err := os.Stat(file)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)))

	// $KUBECONFIG is the default management cluster.
	t.Setenv("KUBECONFIG", env.KubeconfigPath)
	_, _, err = run("kubeconfig", "missing", "-n", ns)
	g.Expect(err).To(MatchError(ContainSubstring("no Secret " + ns + "/missing-kubeconfig")))
}
