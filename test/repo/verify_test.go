// Package repo tests properties of the repository itself: generated files are
// current and `make verify` notices when they are not.
package repo

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/podcluster/podcluster/test/testenv"
)

// copyTree copies the files git would commit (tracked, plus untracked ones that
// are not ignored) into a fresh folder, as a clean clone would have them.
func copyTree(t *testing.T) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dst := t.TempDir()
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, rel)
		info, err := os.Lstat(src)
		if err != nil {
			continue // deleted in the working tree
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func makeVerify(dir string) (string, error) {
	cmd := exec.Command("make", "-s", "verify")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func TestMakeVerify(t *testing.T) {
	dir := copyTree(t)

	t.Run("passes on a clean tree", func(t *testing.T) {
		out, err := makeVerify(dir)
		NewWithT(t).Expect(err).NotTo(HaveOccurred(), out)
	})

	cases := []struct {
		name string
		file string
		edit func(string) string
		want string
	}{
		{"a CRD was edited by hand", "config/crd/bases/cluster.x-k8s.io_machines.yaml",
			func(s string) string { return s + "# edited by hand\n" }, "generated files are stale"},
		{"deepcopy was edited by hand", "api/core/v1beta2/zz_generated.deepcopy.go",
			func(s string) string { return s + "\n// edited by hand\n" }, "generated files are stale"},
		{"an API doc comment changed without make generate", "api/core/v1beta2/machine_types.go",
			func(s string) string {
				return strings.Replace(s, "// clusterName is the name of the Cluster this Machine belongs to.",
					"// clusterName names the Cluster of this Machine.", 1)
			}, "generated files are stale"},
		{"go.mod has an unused requirement", "go.mod",
			func(s string) string { return s + "\nrequire github.com/google/uuid v1.6.0\n" }, "go.mod is not tidy"},
	}
	for _, tc := range cases {
		t.Run("fails when "+tc.name, func(t *testing.T) {
			g := NewWithT(t)
			path := filepath.Join(dir, tc.file)
			orig, err := os.ReadFile(path)
			g.Expect(err).NotTo(HaveOccurred())
			edited := tc.edit(string(orig))
			g.Expect(edited).NotTo(Equal(string(orig)), "the edit must change the file")
			g.Expect(os.WriteFile(path, []byte(edited), 0o644)).To(Succeed())
			defer func() { g.Expect(os.WriteFile(path, orig, 0o644)).To(Succeed()) }()

			out, err := makeVerify(dir)
			g.Expect(err).To(HaveOccurred(), "make verify passed on a stale tree:\n%s", out)
			g.Expect(out).To(ContainSubstring(tc.want))
		})
	}

	t.Run("passes again once restored", func(t *testing.T) {
		out, err := makeVerify(dir)
		NewWithT(t).Expect(err).NotTo(HaveOccurred(), out)
	})
}
