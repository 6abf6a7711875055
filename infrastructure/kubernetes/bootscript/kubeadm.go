package bootscript

import (
	"bytes"
	"path"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v2" // see parse.go
)

// preflightIgnores are the kubeadm preflight checks every node fails because it
// runs in a container: the kernel config is not readable (SystemVerification),
// swap belongs to the host (Swap), and br_netfilter's sysctl may not be visible
// in the container's /proc (FileContent--proc-sys-net-bridge-...).
var preflightIgnores = []string{"SystemVerification", "Swap", "FileContent--proc-sys-net-bridge-bridge-nf-call-iptables"}

const ignoreFlag = "--ignore-preflight-errors"

// withPreflightIgnores returns cmd with preflightIgnores added when it runs
// kubeadm init or kubeadm join; see the package documentation for the rules.
// configIgnoresAll reports whether the kubeadm config file at a path ignores
// "all", which kubeadm refuses to combine with named checks.
func withPreflightIgnores(cmd Command, configIgnoresAll func(string) bool) Command {
	if cmd.Argv != nil {
		e, ok := preflightEdit(cmd.Argv, configIgnoresAll)
		if !ok {
			return cmd
		}
		argv := slices.Clone(cmd.Argv)
		if e.insert {
			argv = slices.Insert(argv, e.index, e.text)
		} else {
			argv[e.index] = e.text
		}
		return Command{Argv: argv}
	}
	words, spans := simpleCommand(cmd.Shell)
	e, ok := preflightEdit(words, configIgnoresAll)
	if !ok {
		return cmd
	}
	// Edit the string in place so that everything else stays byte for byte.
	s := cmd.Shell
	if e.insert {
		at := spans[e.index-1][1]
		return Command{Shell: s[:at] + " " + e.text + s[at:]}
	}
	return Command{Shell: s[:spans[e.index][0]] + e.text + s[spans[e.index][1]:]}
}

// runsKubeadm reports whether cmd runs kubeadm init or kubeadm join (a phase
// of them too): its first word is kubeadm or an absolute path to it, and its
// second init or join. For a string entry the words are those before its
// first "&&", ";" or "|", quotes and all: a string that hides kubeadm behind
// quotes or variables is not recognised.
func runsKubeadm(cmd Command) bool {
	words := cmd.Argv
	if words == nil {
		head := cmd.Shell
		if i := strings.IndexAny(head, "&;|\n"); i >= 0 {
			head = head[:i]
		}
		words = strings.Fields(head)
	}
	return len(words) >= 2 && path.Base(words[0]) == "kubeadm" && (words[0] == "kubeadm" || path.IsAbs(words[0])) &&
		(words[1] == "init" || words[1] == "join")
}

// edit is a change to a kubeadm command line: insert text as a new word at
// index, or replace the word at index with text.
type edit struct {
	index  int
	insert bool
	text   string
}

func preflightEdit(words []string, configIgnoresAll func(string) bool) (edit, bool) {
	if len(words) < 2 || path.Base(words[0]) != "kubeadm" || (words[0] != "kubeadm" && !path.IsAbs(words[0])) ||
		(words[1] != "init" && words[1] != "join") || (len(words) > 2 && words[2] == "phase") {
		return edit{}, false
	}
	var have []string
	valueAt, joined, end := -1, false, len(words)
	for i := 2; i < len(words); i++ {
		w, next := words[i], ""
		if i+1 < len(words) {
			next = words[i+1]
		}
		if w == "--" { // the flag must go before arguments that follow "--"
			end = i
			break
		}
		switch {
		case strings.HasPrefix(w, ignoreFlag+"="):
			have = append(have, strings.Split(strings.TrimPrefix(w, ignoreFlag+"="), ",")...)
			if valueAt < 0 {
				valueAt, joined = i, true
			}
		case w == ignoreFlag && next != "":
			have = append(have, strings.Split(next, ",")...)
			if valueAt < 0 {
				valueAt = i + 1
			}
			i++
		case strings.HasPrefix(w, "--config="):
			if configIgnoresAll(strings.TrimPrefix(w, "--config=")) {
				return edit{}, false
			}
		case w == "--config" && configIgnoresAll(next):
			return edit{}, false
		}
	}
	var missing []string
	for _, p := range preflightIgnores {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(strings.TrimSpace(h), p) }) {
			missing = append(missing, p)
		}
	}
	// kubeadm matches check names case-insensitively and rejects "all" next to
	// named checks, so a user's "all" is left exactly as written.
	if len(missing) == 0 || slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(strings.TrimSpace(h), "all") }) {
		return edit{}, false
	}
	if valueAt < 0 {
		return edit{index: end, insert: true, text: ignoreFlag + "=" + strings.Join(missing, ",")}, true
	}
	value := strings.TrimPrefix(words[valueAt], ignoreFlag+"=")
	if value != "" {
		value += ","
	}
	value += strings.Join(missing, ",")
	if joined {
		value = ignoreFlag + "=" + value
	}
	return edit{index: valueAt, text: value}, true
}

// simpleCommand splits the part of a shell string before its first "&&" into
// words with their byte spans, when that part holds nothing but words of plain
// characters separated by blanks. Anything else (quotes, expansions, other
// operators, newlines) gives nil: such a string is never rewritten.
func simpleCommand(s string) ([]string, [][2]int) {
	head, _, _ := strings.Cut(s, "&&")
	var words []string
	var spans [][2]int
	start := -1
	for i := 0; i <= len(head); i++ {
		if i == len(head) || head[i] == ' ' || head[i] == '\t' {
			if start >= 0 {
				words, spans = append(words, head[start:i]), append(spans, [2]int{start, i})
				start = -1
			}
			continue
		}
		if !plain(head[i]) {
			return nil, nil
		}
		if start < 0 {
			start = i
		}
	}
	return words, spans
}

// plain reports whether c means itself to the shell wherever it is in a word.
func plain(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_-./:=,@%+", c) >= 0
}

// kubeadmConfigIgnoresAll reports whether a kubeadm config file (several YAML
// documents) sets nodeRegistration.ignorePreflightErrors to include "all".
func kubeadmConfigIgnoresAll(content []byte) bool {
	dec := yaml.NewDecoder(bytes.NewReader(content))
	for {
		var doc map[string]any
		if dec.Decode(&doc) != nil {
			return false // the end, or YAML that kubeadm will complain about itself
		}
		reg, _ := doc["nodeRegistration"].(map[any]any)
		ignores, _ := reg["ignorePreflightErrors"].([]any)
		for _, i := range ignores {
			if s, ok := i.(string); ok && strings.EqualFold(s, "all") {
				return true
			}
		}
	}
}
