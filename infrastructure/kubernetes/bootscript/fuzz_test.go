package bootscript

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzFile is one write_files entry of a fuzzed cloud-config.
type fuzzFile struct {
	path     string
	content  []byte
	encoding int // index into fuzzEncodings
	append   bool
	deferred bool
	mode     uint32
	modeForm int // 0: no permissions key (0644), 1: "0644", 2: "644", 3: "00644"
}

// fuzzEncodings are the ways a file's content is written in the YAML.
var fuzzEncodings = []string{"plain", "binary", "b64", "base64 block", "gzip binary", "gz+b64", "gzip+base64 block", "text/plain"}

// fuzzFiles derives 1 to 3 files from the fuzzer's values; opts holds 2 bits
// for the count and 16 bits per file.
func fuzzFiles(a, b []byte, name string, opts uint64) []fuzzFile {
	files := make([]fuzzFile, 1+(opts&3)%3)
	for i := range files {
		bits := opts >> (2 + 16*i)
		f := fuzzFile{
			path:     fmt.Sprintf("/f%d/%s", i, sanitizePath(name)),
			content:  [][]byte{a, b, append(append([]byte{}, a...), b...)}[i],
			encoding: int(bits & 7),
			append:   bits&8 != 0,
			deferred: bits&16 != 0,
			modeForm: int(bits>>6) & 3,
			mode:     0o600 | uint32(bits>>8)&0o177,
		}
		if bits&0x8000 != 0 {
			f.mode |= 0o4000
		}
		if f.modeForm == 0 {
			f.mode = 0o644
		}
		if i > 0 && bits&32 != 0 { // the same path again, to append to it or replace it
			f.path = files[0].path
		}
		files[i] = f
	}
	return files
}

// sanitizePath turns fuzzed bytes into up to three path components that stay
// under the root: any bytes but NUL and /, valid UTF-8, no . or .. components.
func sanitizePath(name string) string {
	var parts []string
	for _, p := range strings.Split(strings.ToValidUTF8(strings.ReplaceAll(name, "\x00", ""), "?"), "/") {
		if r := []rune(p); len(r) > 40 {
			p = string(r[:40])
		}
		if p != "" && p != "." && p != ".." && len(parts) < 3 {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "file"
	}
	return strings.Join(parts, "/")
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

// block is a YAML literal block scalar of s, wrapped at 60 characters.
func block(s string) string {
	var b strings.Builder
	b.WriteString("|\n")
	for len(s) > 60 {
		b.WriteString("    " + s[:60] + "\n")
		s = s[60:]
	}
	if s != "" {
		b.WriteString("    " + s + "\n")
	}
	return b.String()
}

// fuzzConfig writes the cloud-config for files.
func fuzzConfig(files []fuzzFile) string {
	var b strings.Builder
	b.WriteString("#cloud-config\nwrite_files:\n")
	for _, f := range files {
		fmt.Fprintf(&b, "- path: %s\n", yamlQuote(f.path))
		text := utf8.Valid(f.content)
		binary := "!!binary " + yamlQuote(base64.StdEncoding.EncodeToString(f.content)) + "\n"
		switch fuzzEncodings[f.encoding] {
		case "plain", "text/plain":
			if f.encoding == 7 {
				b.WriteString("  encoding: text/plain\n")
			}
			if text {
				b.WriteString("  content: " + yamlQuote(string(f.content)) + "\n")
			} else {
				b.WriteString("  content: " + binary) // the only way to give arbitrary bytes as text
			}
		case "binary":
			b.WriteString("  content: " + binary)
		case "b64":
			b.WriteString("  encoding: b64\n  content: " + yamlQuote(base64.StdEncoding.EncodeToString(f.content)) + "\n")
		case "base64 block":
			b.WriteString("  encoding: BASE64\n  content: " + block(base64.StdEncoding.EncodeToString(f.content)))
		case "gzip binary":
			b.WriteString("  encoding: gzip\n  content: !!binary " + yamlQuote(base64.StdEncoding.EncodeToString(gzipped(f.content))) + "\n")
		case "gz+b64":
			b.WriteString("  encoding: gz+b64\n  content: " + yamlQuote(base64.StdEncoding.EncodeToString(gzipped(f.content))) + "\n")
		case "gzip+base64 block":
			b.WriteString("  encoding: gzip+base64\n  content: " + block(base64.StdEncoding.EncodeToString(gzipped(f.content))))
		}
		if f.append {
			b.WriteString("  append: true\n")
		}
		if f.deferred {
			b.WriteString("  defer: true\n")
		}
		if f.modeForm != 0 {
			format := []string{"", "%04o", "%o", "%05o"}[f.modeForm]
			fmt.Fprintf(&b, "  permissions: '"+format+"'\n", f.mode)
		}
	}
	return b.String()
}

type fileState struct {
	content []byte
	mode    uint32
}

// FuzzWriteFiles renders fuzzed write_files, runs the script in dry-run mode
// and compares every file under the root, byte for byte, with its mode.
func FuzzWriteFiles(f *testing.F) {
	f.Add([]byte("hello\n"), []byte("world"), "etc/motd", uint64(0x1141_0000_0002))
	f.Add([]byte("'\"$(touch /tmp/pwned)`id`\\\n$HOME\nEOF\n"), []byte{0, 0xff, 0xfe, '\r', '\n'}, "a b/$(x)/'q'\n\"", uint64(0x20a5_2029_0001))
	f.Fuzz(func(t *testing.T, a, b []byte, name string, opts uint64) {
		files := fuzzFiles(a, b, name, opts)
		cfg := fuzzConfig(files)
		script, err := Convert([]byte(cfg))
		if err != nil {
			t.Fatalf("Convert: %v\n%s", err, cfg)
		}
		root := t.TempDir()
		res := run(t, script, root, true)
		if res.code != 0 || len(res.commands) != 0 {
			t.Fatalf("exit code %d, commands %q\n%s%s", res.code, res.commands, res.stdout, res.stderr)
		}

		// What cloud-init would leave: the init stage's files, then the deferred ones.
		want := map[string]fileState{}
		for _, deferred := range []bool{false, true} {
			for _, f := range files {
				if f.deferred != deferred {
					continue
				}
				s := fileState{content: f.content, mode: f.mode}
				if f.append {
					s.content = append(append([]byte{}, want[f.path].content...), f.content...)
				}
				want[f.path] = s
			}
		}
		want["/run/podcluster/bootstrap.started"] = fileState{content: []byte{}, mode: 0o644}
		got := map[string]fileState{}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || p == filepath.Join(root, "var/log/podcluster-bootstrap.log") {
				return err
			}
			content, err := os.ReadFile(p)
			got[strings.TrimPrefix(p, root)] = fileState{content: content, mode: mode(t, p)}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for p, w := range want {
			g, ok := got[p]
			switch {
			case !ok:
				t.Errorf("%q was not written", p)
			case !bytes.Equal(g.content, w.content):
				t.Errorf("%q holds %q, want %q", p, g.content, w.content)
			case g.mode != w.mode:
				t.Errorf("%q has mode %04o, want %04o", p, g.mode, w.mode)
			}
		}
		for p := range got {
			if _, ok := want[p]; !ok {
				t.Errorf("unexpected file %q", p)
			}
		}
		if t.Failed() {
			t.Logf("cloud-config:\n%s", cfg)
		}
	})
}
