package nodepod

import (
	"fmt"
	"regexp"
)

// ImagesConfigMapName is the ConfigMap, in the KubernetesMachine's namespace
// (so that each tenant namespace can choose its own images), whose data maps
// Kubernetes versions to node images: key v1.37.2, value
// registry.example.com/node:v1.37.2. Its entries win over the built-in table.
const ImagesConfigMapName = "podcluster-node-images"

// DefaultImageRepository publishes kind's node images, tagged with the
// Kubernetes version.
const DefaultImageRepository = "kindest/node"

// knownImages are node images published for these versions. The table exists to
// pin an image where the plain tag is not wanted (for example with its digest);
// any other valid version falls back to DefaultImageRepository:<version>.
var knownImages = map[string]string{
	"v1.37.2": DefaultImageRepository + ":v1.37.2",
	"v1.34.0": DefaultImageRepository + ":v1.34.0",
	"v1.33.1": DefaultImageRepository + ":v1.33.1",
	"v1.32.5": DefaultImageRepository + ":v1.32.5",
	"v1.31.9": DefaultImageRepository + ":v1.31.9",
}

// versionTag is a Kubernetes version that is also a valid image tag: semantic
// version with a leading v and an optional pre-release, without build metadata
// (a tag cannot hold a +).
var versionTag = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

// ImageFor returns the node image for a Kubernetes version. overrides, the data
// of the ConfigMap ImagesConfigMapName, win; then the built-in table; then
// DefaultImageRepository tagged with the version, for any version of the form
// vX.Y.Z[-pre]. Other versions are an error, unless overridden.
func ImageFor(version string, overrides map[string]string) (string, error) {
	if image, ok := overrides[version]; ok {
		if image == "" {
			return "", fmt.Errorf("ConfigMap %s maps Kubernetes version %q to an empty image", ImagesConfigMapName, version)
		}
		return image, nil
	}
	if !versionTag.MatchString(version) {
		return "", fmt.Errorf("no node image for Kubernetes version %q: it is not of the form vX.Y.Z; "+
			"set the KubernetesMachine's spec.image, or map the version to an image in the ConfigMap %s",
			version, ImagesConfigMapName)
	}
	if image, ok := knownImages[version]; ok {
		return image, nil
	}
	return DefaultImageRepository + ":" + version, nil
}
