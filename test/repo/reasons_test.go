package repo

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/podcluster/podcluster/test/testenv"
)

// reasonArg says which argument of a condition-making call is the reason.
var reasonArg = map[string]int{
	"conditions.True":        1,
	"conditions.False":       1,
	"conditions.Unknown":     1,
	"conditions.Mirror":      3,
	"machinecount.Aggregate": 3, // and 4, checked below
}

// reasonLiterals finds condition reasons written as string literals in one
// file: every reason a controller sets must be a constant in api/, named
// <Kind><Condition><Why>Reason, so that its wire value is declared (and
// checked against upstream) in one place. It looks at the reason argument of
// the condition helpers, at Reason fields of composite literals, at
// assignments to anything named ...Reason, and at Reason constants declared
// outside api/.
func reasonLiterals(fset *token.FileSet, f *ast.File) []string {
	var out []string
	report := func(n ast.Node, what string) {
		out = append(out, fmt.Sprintf("%s: %s", fset.Position(n.Pos()), what))
	}
	isString := func(e ast.Expr) bool {
		lit, ok := e.(*ast.BasicLit)
		return ok && lit.Kind == token.STRING
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			name := pkg.Name + "." + sel.Sel.Name
			i, ok := reasonArg[name]
			if !ok {
				return true
			}
			for _, j := range []int{i, i + 1} {
				if j < len(n.Args) && isString(n.Args[j]) && (j == i || name == "machinecount.Aggregate") {
					report(n.Args[j], "reason literal in "+name)
				}
			}
		case *ast.CompositeLit:
			// Only Cluster API conditions (metav1.Condition): the reasons a
			// simulated kubelet writes into Node and container status are
			// Kubernetes' own words, not ours.
			if !isConditionType(n.Type) {
				return true
			}
			for _, elt := range n.Elts {
				if inner, ok := elt.(*ast.CompositeLit); ok && inner.Type == nil {
					elt = &ast.CompositeLit{Type: n.Type, Elts: inner.Elts}
				}
				checkReasonField(elt, report, isString)
			}
		case *ast.AssignStmt:
			for i, lhs := range n.Lhs {
				if i < len(n.Rhs) && endsWithReason(lhs) && isString(n.Rhs[i]) {
					report(n.Rhs[i], "reason literal assigned")
				}
			}
		case *ast.ValueSpec:
			for _, id := range n.Names {
				if strings.HasPrefix(id.Name, "Reason") || strings.HasSuffix(id.Name, "Reason") {
					report(id, "reason constant "+id.Name+" declared outside api/")
				}
			}
		}
		return true
	})
	return out
}

// isConditionType matches metav1.Condition and slices of it.
func isConditionType(e ast.Expr) bool {
	if arr, ok := e.(*ast.ArrayType); ok {
		e = arr.Elt
	}
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "metav1" && sel.Sel.Name == "Condition"
}

// checkReasonField reports a Reason: "..." field of one condition literal,
// or of each element when elt is itself a condition literal of a slice.
func checkReasonField(elt ast.Expr, report func(ast.Node, string), isString func(ast.Expr) bool) {
	if lit, ok := elt.(*ast.CompositeLit); ok {
		for _, e := range lit.Elts {
			checkReasonField(e, report, isString)
		}
		return
	}
	if kv, ok := elt.(*ast.KeyValueExpr); ok {
		if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Reason" && isString(kv.Value) {
			report(kv.Value, "reason literal in a Reason field")
		}
	}
}

func endsWithReason(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return strings.HasSuffix(strings.ToLower(e.Name), "reason")
	case *ast.SelectorExpr:
		return strings.HasSuffix(strings.ToLower(e.Sel.Name), "reason")
	}
	return false
}

func TestNoReasonLiteralsOutsideAPI(t *testing.T) {
	g := NewWithT(t)
	root, err := testenv.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	fset := token.NewFileSet()
	var found []string
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch rel {
			case "api", "hack", "bin", ".git":
				return filepath.SkipDir
			}
			if d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		// Tests may spell a reason out: they check the wire value.
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasPrefix(d.Name(), "zz_generated") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files++
		found = append(found, reasonLiterals(fset, f)...)
		return nil
	})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(files).To(BeNumerically(">", 50), "the walk found the sources")
	sort.Strings(found)
	g.Expect(found).To(BeEmpty(), "condition reasons must be constants in api/:\n%s", strings.Join(found, "\n"))
}

// TestReasonLiteralCheckCatches proves the check fails on each pattern.
func TestReasonLiteralCheckCatches(t *testing.T) {
	src := `package x
const ReasonOld = "Old"
func f(s *scope) {
	conditions.Set(&c, 1, conditions.False(clusterv1.ReadyCondition, "NotReady", "m"))
	conditions.Set(&c, 1, conditions.True(clusterv1.ReadyCondition, clusterv1.MachineReadyReason, ""))
	_ = metav1.Condition{Type: "Ready", Reason: "Bad"}
	_ = corev1.NodeCondition{Type: "Ready", Reason: "KubeletReady"}
	_ = []metav1.Condition{{Type: "Ready", Reason: "AlsoBad"}}
	s.deletingReason = "DrainingNode"
	_ = machinecount.Aggregate(ms, "Ready", "MachinesReady", clusterv1.MachineSetMachinesReadyReason, "NotReady")
	_ = conditions.Mirror(u, "Ready", "InfrastructureReady", "DoesNotExist", "m")
}
`
	g := NewWithT(t)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, 0)
	g.Expect(err).NotTo(HaveOccurred())
	got := reasonLiterals(fset, f)
	g.Expect(got).To(HaveLen(7), "%v", got)
	g.Expect(strings.Join(got, "\n")).To(And(
		ContainSubstring("x.go:2:7: reason constant ReasonOld"),
		ContainSubstring("x.go:4:"),
		ContainSubstring("Reason field"),
		ContainSubstring("reason literal assigned"),
		ContainSubstring("in machinecount.Aggregate"),
		ContainSubstring("in conditions.Mirror"),
	))
}
