package nodepod

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestImageFor(t *testing.T) {
	cases := []struct {
		name      string
		version   string
		overrides map[string]string
		want      string
		wantErr   string
	}{
		{name: "known version", version: "v1.37.2", want: "kindest/node:v1.37.2"},
		{name: "valid version outside the table", version: "v1.36.4", want: "kindest/node:v1.36.4"},
		{name: "pre-release", version: "v1.38.0-rc.1", want: "kindest/node:v1.38.0-rc.1"},
		{
			name:      "override wins over the table",
			version:   "v1.37.2",
			overrides: map[string]string{"v1.37.2": "registry.example.com/node:v1.37.2-podcluster"},
			want:      "registry.example.com/node:v1.37.2-podcluster",
		},
		{
			name:      "override for a version that is no tag",
			version:   "v1.37.2+custom.1",
			overrides: map[string]string{"v1.37.2+custom.1": "registry.example.com/node:custom"},
			want:      "registry.example.com/node:custom",
		},
		{
			name:      "overrides for other versions do not apply",
			version:   "v1.37.2",
			overrides: map[string]string{"v1.36.0": "registry.example.com/node:v1.36.0"},
			want:      "kindest/node:v1.37.2",
		},
		{
			name:      "empty override",
			version:   "v1.37.2",
			overrides: map[string]string{"v1.37.2": ""},
			wantErr:   `ConfigMap podcluster-node-images maps Kubernetes version "v1.37.2" to an empty image`,
		},
		{name: "no leading v", version: "1.37.2", wantErr: `Kubernetes version "1.37.2": it is not of the form vX.Y.Z`},
		{name: "build metadata", version: "v1.37.2+abc", wantErr: "podcluster-node-images"},
		{name: "two parts", version: "v1.37", wantErr: "not of the form vX.Y.Z"},
		{name: "empty", version: "", wantErr: "not of the form vX.Y.Z"},
		{name: "leading zero", version: "v1.037.2", wantErr: "not of the form vX.Y.Z"},
		{name: "tag injection", version: "v1.37.2/evil", wantErr: "not of the form vX.Y.Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := ImageFor(tc.version, tc.overrides)
			if tc.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
				g.Expect(got).To(BeEmpty())
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tc.want))
		})
	}
}

func TestKnownImagesAreTagsOfTheirVersion(t *testing.T) {
	g := NewWithT(t)
	for version, image := range knownImages {
		g.Expect(version).To(MatchRegexp(versionTag.String()))
		g.Expect(image).To(ContainSubstring(":"+version), "the table pins images; it must not move a version to another one")
	}
}
