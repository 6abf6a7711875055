package bootscript

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	. "github.com/onsi/gomega"
)

// yamlQuote writes s as a YAML double-quoted scalar that both go-yaml and
// PyYAML read back as s: printable ASCII as is, everything else escaped.
func yamlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r >= ' ' && r < 0x7f:
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// hostile are strings that would break out of a naively quoted script.
func hostile(canary string) []string {
	return []string{
		"$(touch " + canary + ")",
		"`touch " + canary + "`",
		"a; touch " + canary,
		"x' ; touch " + canary + " ; echo 'y",
		`it's "quoted" \ and \\ back`,
		"line1\ntouch " + canary + "\nline3",
		"$HOME ${HOME} $((6*7)) !! !$ *",
		"EOF\n'EOF'\n__PODCLUSTER_EOF__",
		"-rf",
		"tab\there\r\nand CRLF",
	}
}

// TestInjectionDryRun feeds hostile strings as paths, contents, commands and
// user fields: nothing runs, paths are created literally under the root and
// the printed argv are exactly the input.
func TestInjectionDryRun(t *testing.T) {
	g := NewWithT(t)
	canary := filepath.Join(t.TempDir(), "canary")
	values := hostile(canary)

	var cfg strings.Builder
	cfg.WriteString("#cloud-config\nwrite_files:\n")
	for i, v := range values {
		fmt.Fprintf(&cfg, "- path: %s\n  content: %s\n  permissions: '0600'\n", yamlQuote(fmt.Sprintf("/weird/%d/%s", i, v)), yamlQuote(v))
	}
	cfg.WriteString("bootcmd:\n")
	for _, v := range values {
		fmt.Fprintf(&cfg, "- [printf, '%%s', %s]\n", yamlQuote(v))
	}
	cfg.WriteString("users:\n")
	fmt.Fprintf(&cfg, "- name: %s\n  gecos: %s\n  sudo: %s\n  lock_passwd: false\n", yamlQuote(values[0]), yamlQuote(values[3]), yamlQuote(values[1]))
	cfg.WriteString("runcmd:\n")
	for _, v := range values {
		fmt.Fprintf(&cfg, "- %s\n", yamlQuote(v))
	}
	cfg.WriteString("- [echo")
	for _, v := range values {
		cfg.WriteString(", " + yamlQuote(v))
	}
	cfg.WriteString("]\n")

	script, err := Convert([]byte(cfg.String()))
	g.Expect(err).NotTo(HaveOccurred())
	root := t.TempDir()
	res := run(t, script, root, true, "HOME="+t.TempDir())
	g.Expect(res.code).To(Equal(0), res.stdout+res.stderr)
	g.Expect(canary).NotTo(BeAnExistingFile())

	for i, v := range values {
		p := filepath.Join(root, "weird", fmt.Sprint(i), v)
		g.Expect(os.ReadFile(p)).To(Equal([]byte(v)), "%q", p)
		g.Expect(octalMode(mode(t, p))).To(Equal("0600"))
	}
	var want [][]string
	for _, v := range values {
		want = append(want, []string{"printf", "%s", v})
	}
	want = append(want,
		[]string{"/bin/sh", "-c", useraddScript.text, "useradd", values[0], "--", "--comment", values[3], "-m"},
		[]string{"/bin/sh", "-c", sudoScript.text, "sudo", values[0], values[1]})
	for _, v := range values {
		want = append(want, []string{"/bin/sh", "-c", v})
	}
	want = append(want, append([]string{"echo"}, values...))
	g.Expect(res.commands).To(Equal(want))
}

// TestInjectionRealRun executes an argv command whose argument looks like a
// command substitution: printf prints it, nothing else runs.
func TestInjectionRealRun(t *testing.T) {
	g := NewWithT(t)
	canary := filepath.Join(t.TempDir(), "CANARY")
	script, err := Convert([]byte(`#cloud-config
write_files:
- path: ` + yamlQuote("/a/$(touch "+canary+")/`touch "+canary+"`") + `
  owner: "-1"
  content: ` + yamlQuote("$(touch "+canary+")") + `
runcmd:
- [printf, "%s\n", ` + yamlQuote("$(touch "+canary+")") + `]
- [printf, "%s\n", ` + yamlQuote("`touch "+canary+"`; touch "+canary) + `]
`))
	g.Expect(err).NotTo(HaveOccurred())
	root := t.TempDir()
	res := run(t, script, root, false, "PATH=/usr/bin:/bin")
	g.Expect(res.code).To(Equal(0), res.stdout+res.stderr)
	g.Expect(canary).NotTo(BeAnExistingFile())
	g.Expect(res.stdout).To(ContainSubstring("\n$(touch " + canary + ")\n"))
	log, err := os.ReadFile(filepath.Join(root, "var/log/podcluster-bootstrap.log"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(log)).To(ContainSubstring("\n$(touch " + canary + ")\n"))
	g.Expect(string(log)).To(ContainSubstring("\n`touch " + canary + "`; touch " + canary + "\n"))
	g.Expect(os.ReadFile(filepath.Join(root, "a", "$(touch "+canary+")", "`touch "+canary+"`"))).To(Equal([]byte("$(touch " + canary + ")")))
}

func TestYAMLQuote(t *testing.T) {
	g := NewWithT(t)
	for _, s := range []string{"", "plain", "\x00\x01\t\n\r\x7f", `"\`, "é✓\U0001F600\u0085\ufeff", "a: b # c"} {
		g.Expect(utf8.ValidString(s)).To(BeTrue())
		c, err := Parse([]byte("#cloud-config\nwrite_files:\n- {path: /x, content: " + yamlQuote(s) + "}\n"))
		g.Expect(err).NotTo(HaveOccurred(), "%q", s)
		g.Expect(string(c.WriteFiles[0].Content)).To(Equal(s))
	}
}
