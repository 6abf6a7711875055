package convert

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/podcluster/podcluster/cmd/podcluster/client/manifest"
	"github.com/podcluster/podcluster/cmd/podcluster/client/streams"
)

const machine = `apiVersion: cluster.x-k8s.io/v1alpha2
kind: Machine
metadata:
  name: controller
  labels: {cluster.x-k8s.io/cluster-name: example}
spec:
  providerID: kubernetes://871cde5a
  bootstrap: {dataSecretName: controller}
  infrastructureRef: {apiVersion: infrastructure.lukeaddison.co.uk/v1alpha2, kind: KubernetesMachine, name: controller}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: notes}
`

func run(stdin string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	cmd := NewCommand(streams.IO{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut})
	cmd.SetArgs(args)
	cmd.SetOut(&errOut) // cobra's own usage text
	cmd.SetErr(&errOut)
	cmd.SilenceErrors = true
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

// TestConvertVerb converts from a file and from standard input: the YAML goes to
// standard output as documents separated by ---, each warning once to standard error.
func TestConvertVerb(t *testing.T) {
	g := NewWithT(t)
	file := filepath.Join(t.TempDir(), "in.yaml")
	g.Expect(os.WriteFile(file, []byte(machine), 0o600)).To(Succeed())

	for _, args := range [][]string{{"-f", file}, {"-f", "-"}} {
		stdout, stderr, err := run(machine, args...)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(stdout).To(ContainSubstring("apiVersion: cluster.x-k8s.io/v1beta2"))
		g.Expect(stdout).To(ContainSubstring("\n---\napiVersion: v1\nkind: ConfigMap"))
		objs, err := manifest.Decode([]byte(stdout))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(objs).To(HaveLen(2))
		g.Expect(stderr).To(Equal("WARNING: Machine controller: spec.providerID: dropped: the Machine controller copies it from the infrastructure machine\n" +
			"WARNING: ConfigMap notes: passed through unchanged: podcluster does not convert v1 ConfigMap\n"))
	}
}

// TestConvertVerbErrors: only unreadable input fails.
func TestConvertVerbErrors(t *testing.T) {
	g := NewWithT(t)
	_, _, err := run("", "-f", filepath.Join(t.TempDir(), "missing.yaml"))
	g.Expect(err).To(MatchError(ContainSubstring("missing.yaml")))

	_, _, err = run("a: [", "-f", "-")
	g.Expect(err).To(MatchError(ContainSubstring("standard input")))

	_, _, err = run("")
	g.Expect(err).To(MatchError(ContainSubstring(`"filename" not set`)))
}
