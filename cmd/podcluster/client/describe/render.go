package describe

import (
	"io"
	"strings"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ANSI colours of condition statuses.
const (
	green  = "\x1b[32m"
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	reset  = "\x1b[0m"
)

var header = []string{"NAME", "REPLICAS", "READY", "AVAILABLE", "UP-TO-DATE"}

// line is one row of the table before padding.
type line struct {
	cells []string // as many as header; cells[0] holds the tree drawing and name
	// notes are printed under the row, outside the columns: the node's problems.
	notes []string
}

// Render writes the tree as a table: a tree of names, then the replicas and the
// Ready, Available and UpToDate statuses, and under each unhealthy object one
// indented line per problem with its reason and message. With color, statuses
// are green (True), red (False) or yellow (Unknown).
func Render(w io.Writer, root *Node, color bool) error {
	lines := []line{{cells: header}}
	lines = appendLines(lines, root, "", "", color)

	widths := make([]int, len(header))
	for _, l := range lines {
		for i, c := range l.cells {
			widths[i] = max(widths[i], visibleWidth(c))
		}
	}
	var b strings.Builder
	for _, l := range lines {
		var row strings.Builder
		for i, c := range l.cells {
			row.WriteString(c)
			if i < len(l.cells)-1 {
				row.WriteString(strings.Repeat(" ", widths[i]-visibleWidth(c)+2))
			}
		}
		b.WriteString(strings.TrimRight(row.String(), " "))
		b.WriteString("\n")
		for _, n := range l.notes {
			b.WriteString(strings.TrimRight(n, " "))
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// appendLines adds the lines of n and its children. prefix draws n's own branch;
// childPrefix continues the tree under n.
func appendLines(lines []line, n *Node, prefix, childPrefix string, color bool) []line {
	l := line{cells: []string{
		prefix + title(n),
		n.Replicas,
		paint(n.Ready, color),
		paint(n.Available, color),
		paint(n.UpToDate, color),
	}}
	// Problem lines sit under the row; a bar links the row to its children.
	notePrefix := childPrefix + "  "
	if len(n.Children) > 0 {
		notePrefix = childPrefix + "│ "
	}
	for _, p := range n.Problems {
		l.notes = append(l.notes, problemLines(notePrefix+"  ", p, color)...)
	}
	lines = append(lines, l)
	for i, c := range n.Children {
		if i == len(n.Children)-1 {
			lines = appendLines(lines, c, childPrefix+"└─", childPrefix+"  ", color)
		} else {
			lines = appendLines(lines, c, childPrefix+"├─", childPrefix+"│ ", color)
		}
	}
	return lines
}

func title(n *Node) string {
	object := ""
	if n.Kind != "" {
		object = n.Kind + "/" + n.Name
	}
	if n.Health != "" {
		object += " [" + n.Health + "]"
	}
	switch {
	case n.Role == "":
		return object
	case object == "":
		return n.Role
	default:
		return n.Role + " - " + object
	}
}

// problemLines formats a problem as "Type: Status (Reason) message"; the lines
// of a multi-line message are indented under the first.
func problemLines(prefix string, p Problem, color bool) []string {
	head := p.Type + ": " + paint(p.Status, color)
	if p.Reason != "" {
		head += " (" + p.Reason + ")"
	}
	msg := strings.Split(strings.TrimSpace(p.Message), "\n")
	if msg[0] != "" {
		head += " " + msg[0]
	}
	out := []string{prefix + head}
	for _, m := range msg[1:] {
		out = append(out, prefix+"  "+m)
	}
	return out
}

func paint(status string, color bool) string {
	if !color || status == "" {
		return status
	}
	switch metav1.ConditionStatus(status) {
	case metav1.ConditionTrue:
		return green + status + reset
	case metav1.ConditionFalse:
		return red + status + reset
	default:
		return yellow + status + reset
	}
}

// visibleWidth counts the runes of s that take room on a terminal: ANSI
// colour sequences take none.
func visibleWidth(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == '\x1b' {
			if j := strings.IndexByte(s[i:], 'm'); j >= 0 {
				i += j + 1
				continue
			}
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return n
}
