// Package release embeds the rendered release manifests (hack/release-manifests.sh),
// so that `podcluster init` installs exactly what `make release-manifests` renders.
package release

import (
	"embed"
	"fmt"
)

//go:embed *.yaml
var files embed.FS

// Manifest returns the rendered manifest of a provider, or of everything ("podcluster").
func Manifest(name string) ([]byte, error) {
	data, err := files.ReadFile(name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("no release manifest %q: %w", name, err)
	}
	return data, nil
}
