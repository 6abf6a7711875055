package repo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/podcluster/podcluster/test/testenv"
)

const module = "github.com/podcluster/podcluster"

// layoutViolations checks the import rules that keep the tree readable. It
// takes each package's imports (full import paths) and returns one line per
// broken rule:
//   - api/** imports only the standard library, k8s.io/api, k8s.io/apimachinery
//     and other api/ packages, so a consumer can take the types without the
//     controllers. The one exception is an older version served by
//     conversion (a package named v1beta1): its types carry ConvertTo and
//     ConvertFrom, which controller-runtime's webhook finds through its
//     conversion interfaces, so it may import that interface package and the
//     shared field-moving rules of internal/conversion. The stored versions
//     stay pure;
//   - internal/** is shared controller machinery: it never imports a provider
//     tree, the binary or the tests;
//   - no reconciler package imports another reconciler package: what two
//     reconcilers share lives in a package of its own.
func layoutViolations(imports map[string][]string) []string {
	var out []string
	for pkg, deps := range imports {
		for _, dep := range deps {
			switch {
			case under(pkg, "api"):
				if !under(dep, "api") && !isStdlib(dep) &&
					!strings.HasPrefix(dep, "k8s.io/apimachinery/") && !strings.HasPrefix(dep, "k8s.io/api/") &&
					!conversionSpokeImport(pkg, dep) {
					out = append(out, fmt.Sprintf("%s imports %s: api packages may import only the standard library, k8s.io/api, k8s.io/apimachinery and api/", pkg, dep))
				}
			case under(pkg, "internal"):
				for _, banned := range []string{"core", "bootstrap", "controlplane", "infrastructure", "cmd", "test"} {
					if under(dep, banned) {
						out = append(out, fmt.Sprintf("%s imports %s: internal/ is shared machinery and must not import %s/", pkg, dep, banned))
					}
				}
			}
			if isReconciler(pkg) && isReconciler(dep) && pkg != dep {
				out = append(out, fmt.Sprintf("%s imports %s: a reconciler must not import another reconciler", pkg, dep))
			}
		}
	}
	sort.Strings(out)
	return out
}

// conversionSpokeImport reports whether dep is one of the two conversion
// imports an older, converted API version may have (see layoutViolations).
func conversionSpokeImport(pkg, dep string) bool {
	return strings.HasSuffix(pkg, "/v1beta1") &&
		(dep == "sigs.k8s.io/controller-runtime/pkg/conversion" || dep == module+"/internal/conversion")
}

// under reports whether pkg is the project's folder dir or below it.
func under(pkg, dir string) bool {
	dir = module + "/" + dir
	return pkg == dir || strings.HasPrefix(pkg, dir+"/")
}

func isReconciler(pkg string) bool {
	return strings.HasPrefix(pkg, module+"/") && strings.Contains(pkg+"/", "/reconcilers/")
}

// isStdlib: standard-library import paths have no dot in their first element.
func isStdlib(pkg string) bool {
	first, _, _ := strings.Cut(pkg, "/")
	return !strings.Contains(first, ".")
}

// listImports runs `go list` over the module and returns every non-test
// package's imports.
func listImports(t *testing.T) map[string][]string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", "./...")
	cmd.Dir = root
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list: %v", err)
		}
		imports[p.ImportPath] = p.Imports
	}
	return imports
}

func TestLayoutRules(t *testing.T) {
	g := NewWithT(t)
	imports := listImports(t)
	g.Expect(imports).To(HaveKey(module+"/api/core/v1beta2"), "go list found the api packages")
	g.Expect(layoutViolations(imports)).To(BeEmpty())
}

// TestLayoutRulesCatchViolations proves each rule fails when broken, on a
// made-up tree, so a green TestLayoutRules means something.
func TestLayoutRulesCatchViolations(t *testing.T) {
	p := func(rel string) string { return module + "/" + rel }
	cases := []struct {
		name    string
		imports map[string][]string
		want    string
	}{
		{"api imports controller-runtime", map[string][]string{p("api/core/v1beta2"): {"sigs.k8s.io/controller-runtime/pkg/client"}}, "api packages may import only"},
		{"api imports a project package", map[string][]string{p("api/core/v1beta2"): {p("internal/util")}}, "api packages may import only"},
		{"a stored version imports conversion", map[string][]string{p("api/core/v1beta2"): {p("internal/conversion")}}, "api packages may import only"},
		{"a converted version imports more", map[string][]string{p("api/core/v1beta1"): {"sigs.k8s.io/controller-runtime/pkg/client"}}, "api packages may import only"},
		{"internal imports a provider", map[string][]string{p("internal/util"): {p("core/reconcilers/machine")}}, "must not import core/"},
		{"internal imports the binary", map[string][]string{p("internal/manager"): {p("cmd/podcluster/providers")}}, "must not import cmd/"},
		{"reconciler imports reconciler", map[string][]string{p("core/reconcilers/cluster"): {p("core/reconcilers/machineset")}}, "must not import another reconciler"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got := layoutViolations(tc.imports)
			g.Expect(got).To(HaveLen(1))
			g.Expect(got[0]).To(ContainSubstring(tc.want))
		})
	}
	g := NewWithT(t)
	g.Expect(layoutViolations(map[string][]string{
		p("api/controlplane/v1beta2"): {p("api/bootstrap/v1beta2"), "k8s.io/apimachinery/pkg/runtime", "k8s.io/api/core/v1", "fmt"},
		p("api/core/v1beta1"):         {"sigs.k8s.io/controller-runtime/pkg/conversion", p("internal/conversion")},
		p("internal/remote"):          {p("internal/scheme"), "sigs.k8s.io/controller-runtime"},
		p("core/reconcilers/machine"): {p("core/drain"), p("internal/patch")},
	})).To(BeEmpty(), "allowed imports pass")
}
