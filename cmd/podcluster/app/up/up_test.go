package up

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
)

func TestRuntimeFlag(t *testing.T) {
	for _, tc := range []struct {
		name, runtime, simulate, want string
		wantErr                       bool
	}{
		{name: "default", runtime: runtimeAuto, want: runtimeAuto},
		{name: "real", runtime: runtimeReal, want: runtimeReal},
		{name: "sim", runtime: runtimeSim, want: runtimeSim},
		{name: "none", runtime: runtimeNone, want: runtimeNone},
		{name: "unknown", runtime: "docker", wantErr: true},
		{name: "--simulate=true is sim", runtime: runtimeAuto, simulate: "true", want: runtimeSim},
		{name: "--simulate=false is none", runtime: runtimeAuto, simulate: "false", want: runtimeNone},
		{name: "--simulate=auto is auto", runtime: runtimeAuto, simulate: "auto", want: runtimeAuto},
		{name: "--simulate wins", runtime: runtimeReal, simulate: "false", want: runtimeNone},
		{name: "bad --simulate", runtime: runtimeAuto, simulate: "yes", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			o := &options{runtime: tc.runtime, simulate: tc.simulate}
			got, err := o.runtimeFlag()
			if tc.wantErr {
				g.Expect(err).To(HaveOccurred())
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tc.want))
		})
	}
}

func TestResolveLoadImages(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(archive, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Dir(archive))
	for _, tc := range []struct {
		name, runtime string
		images        []string
		want          []string
		wantErr       string
	}{
		{name: "none", runtime: runtimeSim},
		{name: "real, relative path made absolute", runtime: runtimeReal, images: []string{"image.tar"}, want: []string{archive}},
		{name: "not real", runtime: runtimeAuto, images: []string{archive}, wantErr: "--load-image needs --runtime=real"},
		{name: "missing archive", runtime: runtimeReal, images: []string{"missing.tar"}, wantErr: "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			o := &options{loadImages: tc.images}
			err := o.resolveLoadImages(tc.runtime)
			if tc.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(o.loadImages).To(Equal(tc.want))
		})
	}
}
