package bootscript

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

var update = flag.Bool("update", false, "rewrite the golden scripts in testdata")

// TestGolden converts every testdata/*.yaml and compares the result with the
// .sh next to it. Run with -update after a deliberate change, and read the diff.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			g := NewWithT(t)
			cfg, err := os.ReadFile(in)
			g.Expect(err).NotTo(HaveOccurred())
			got, err := Convert(cfg)
			g.Expect(err).NotTo(HaveOccurred())
			golden := strings.TrimSuffix(in, ".yaml") + ".sh"
			if *update {
				g.Expect(os.WriteFile(golden, got, 0o644)).To(Succeed())
			}
			want, err := os.ReadFile(golden)
			g.Expect(err).NotTo(HaveOccurred(), "run go test -update to create it")
			g.Expect(string(got)).To(Equal(string(want)), "run go test -update and review the diff")
			// A golden script must at least be valid bash.
			g.Expect(exec.Command("bash", "-n", golden).Run()).To(Succeed())
		})
	}
}
