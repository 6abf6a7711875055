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

// TestConvertVerbErrors: only unreadable input fails: a missing file, YAML that
// does not parse, or YAML with a key twice in one mapping.
func TestConvertVerbErrors(t *testing.T) {
	g := NewWithT(t)
	_, _, err := run("", "-f", filepath.Join(t.TempDir(), "missing.yaml"))
	g.Expect(err).To(MatchError(ContainSubstring("missing.yaml")))

	_, _, err = run("a: [", "-f", "-")
	g.Expect(err).To(MatchError(ContainSubstring("standard input")))

	_, _, err = run("")
	g.Expect(err).To(MatchError(ContainSubstring(`"filename" not set`)))
}

// TestConvertVerbRefusesDuplicateKeys: eight objects, where the "---" between
// the fourth and the fifth is missing. Read leniently the fifth object's keys
// would replace the fourth's and one object would vanish without a word; the
// verb fails instead, names the document and prints nothing.
func TestConvertVerbRefusesDuplicateKeys(t *testing.T) {
	g := NewWithT(t)
	var docs []string
	for i := range 8 {
		docs = append(docs, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm"+string(rune('0'+i))+"}\n")
	}
	in := strings.Join(docs[:4], "---\n") + docs[4] + "---\n" + strings.Join(docs[5:], "---\n")
	stdout, _, err := run(in, "-f", "-")
	g.Expect(err).To(MatchError(And(
		ContainSubstring("standard input: decoding YAML document 4 (ConfigMap cm4)"),
		ContainSubstring(`line 4: key "apiVersion" already set in map`))))
	g.Expect(stdout).To(BeEmpty())

	// The same stream with every separator converts all eight.
	stdout, _, err = run(strings.Join(docs, "---\n"), "-f", "-")
	g.Expect(err).NotTo(HaveOccurred())
	objs, err := manifest.Decode([]byte(stdout))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(objs).To(HaveLen(8))
}
