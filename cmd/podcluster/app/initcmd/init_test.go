package initcmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
	"github.com/podcluster/podcluster/config/release"
	"github.com/podcluster/podcluster/test/testenv"
)

var env *testenv.Environment

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

func runInit(t *testing.T, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	cmd := NewCommand(streams.IO{Out: &out, ErrOut: &errOut})
	cmd.SetArgs(args)
	cmd.SetContext(context.Background())
	err := cmd.Execute()
	t.Log(errOut.String())
	return out.String(), err
}

// versions reads the resourceVersion of every object of the manifest.
func versions(g Gomega, objs []*unstructured.Unstructured) map[string]string {
	out := map[string]string{}
	for _, o := range objs {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(o.GroupVersionKind())
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(o), got)).To(Succeed(), "%s %s", o.GetKind(), o.GetName())
		out[o.GetKind()+"/"+o.GetName()] = got.GetResourceVersion()
	}
	return out
}

// TestInitInstallsAndIsIdempotent: init installs every object of the release
// manifest, and a second init changes nothing.
func TestInitInstallsAndIsIdempotent(t *testing.T) {
	g := NewWithT(t)
	_, err := runInit(t, "--kubeconfig", env.KubeconfigPath, "--wait=false")
	g.Expect(err).NotTo(HaveOccurred())
	data, err := release.Manifest("podcluster")
	g.Expect(err).NotTo(HaveOccurred())
	objs, err := manifest.Decode(data)
	g.Expect(err).NotTo(HaveOccurred())
	first := versions(g, objs)
	g.Expect(first).To(HaveKey("Deployment/podcluster-core"))
	g.Expect(first).To(HaveKey("ClusterRole/podcluster-kubeadm-bootstrap-manager"))

	_, err = runInit(t, "--kubeconfig", env.KubeconfigPath, "--wait=false")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(versions(g, objs)).To(Equal(first), "a second init must not change anything")
}

// TestDryRunMatchesReleaseManifests: --dry-run prints what make
// release-manifests renders. make verify (tested in test/repo) fails when the
// committed config/release/podcluster.yaml differs from a fresh rendering.
func TestDryRunMatchesReleaseManifests(t *testing.T) {
	g := NewWithT(t)
	out, err := runInit(t, "--dry-run")
	g.Expect(err).NotTo(HaveOccurred())
	root, err := testenv.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	rendered, err := os.ReadFile(filepath.Join(root, "config", "release", "podcluster.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(Equal(string(rendered)))
	g.Expect(out).To(ContainSubstring("kind: CustomResourceDefinition"))
	g.Expect(out).To(ContainSubstring("kind: Deployment"))
}
