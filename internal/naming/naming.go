// Package naming renders the names of the Machines an owner creates from its
// spec.machineNaming.template, the same way for every owner (MachineSets and
// control planes), as upstream's machineNaming contract describes.
package naming

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"

	utilrand "k8s.io/apimachinery/pkg/util/rand"
)

// MachineName renders text, or def when text is empty. names gives the
// template its objects: {"cluster": "c1"} is {{ .cluster.name }}.
// {{ .random }} is five random characters, and the template must use it:
// without it, the second Machine would collide with the first and the owner
// could never scale past one. Names longer than 63 characters lose their
// beginning, so that the random part stays.
func MachineName(text, def string, names map[string]string) (string, error) {
	if text == "" {
		text = def
	}
	if !strings.Contains(text, "{{ .random }}") && !strings.Contains(text, "{{.random}}") {
		return "", fmt.Errorf("spec.machineNaming.template %q must contain {{ .random }}", text)
	}
	// missingkey=error turns a typo in the template into an error rather
	// than a name with "<no value>" in it.
	tmpl, err := template.New("name").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("spec.machineNaming.template: %w", err)
	}
	data := map[string]any{"random": utilrand.String(5)}
	for object, name := range names {
		data[object] = map[string]string{"name": name}
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("spec.machineNaming.template: %w", err)
	}
	name := b.String()
	if len(name) > 63 {
		name = strings.TrimLeft(name[len(name)-63:], "-.")
	}
	return name, nil
}
