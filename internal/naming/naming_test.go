package naming

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

func TestMachineName(t *testing.T) {
	names := map[string]string{"cluster": "c1", "machineSet": "pool"}
	cases := []struct {
		name, text, want, err string
	}{
		{name: "the default", want: `^pool-[a-z0-9]{5}$`},
		{name: "a template of the user's", text: "{{ .cluster.name }}-w-{{.random}}", want: `^c1-w-[a-z0-9]{5}$`},
		{name: "no random part", text: "{{ .cluster.name }}", err: "must contain {{ .random }}"},
		{name: "a typo is an error, not <no value>", text: "{{ .clustr.name }}-{{ .random }}", err: "spec.machineNaming.template"},
		{name: "a long name keeps its end", text: strings.Repeat("a", 60) + "-.{{ .random }}", want: `^a{56}-\.[a-z0-9]{5}$`},
		{name: "trimmed, it does not start with - or .", text: strings.Repeat("a", 5) + strings.Repeat("-", 60) + "{{ .random }}",
			want: `^[a-z0-9]{5}$`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := MachineName(tc.text, "{{ .machineSet.name }}-{{ .random }}", names)
			if tc.err != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.err)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(MatchRegexp(tc.want))
			g.Expect(len(got)).To(BeNumerically("<=", 63))
		})
	}
}
