package kubeadmconfig

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
)

func TestPayloadParts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		spec      bootstrapv1.KubeadmConfigSpec
		wantFirst string
		wantSize  int
	}{
		{name: "empty", spec: bootstrapv1.KubeadmConfigSpec{}},
		{
			name: "the biggest file comes first",
			spec: bootstrapv1.KubeadmConfigSpec{Files: []bootstrapv1.File{
				{Path: "/a", Content: "xx"}, {Path: "/big", Content: strings.Repeat("x", 100)},
			}, PreKubeadmCommands: []string{"echo"}},
			wantFirst: "spec.files[1] (/big)", wantSize: 2 + 2 + 4 + 100 + 4,
		},
		{
			name:      "commands",
			spec:      bootstrapv1.KubeadmConfigSpec{PostKubeadmCommands: []string{strings.Repeat("y", 50), "z"}, PreKubeadmCommands: []string{"a"}},
			wantFirst: "spec.postKubeadmCommands", wantSize: 52,
		},
		{
			name:      "users",
			spec:      bootstrapv1.KubeadmConfigSpec{Users: []bootstrapv1.User{{Name: "u", SSHAuthorizedKeys: []string{strings.Repeat("k", 20)}}}},
			wantFirst: "spec.users", wantSize: 21,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			parts := payloadParts(&tc.spec)
			g.Expect(payloadSize(parts)).To(Equal(tc.wantSize))
			if tc.wantFirst == "" {
				g.Expect(parts).To(BeEmpty())
				return
			}
			g.Expect(parts[0].field).To(Equal(tc.wantFirst))
		})
	}
}

func TestOversizedMessageNamesTheLargestFields(t *testing.T) {
	g := NewWithT(t)
	msg := oversizedMessage(2<<20, []payloadPart{
		{"spec.files[3] (/opt/blob)", 1 << 20}, {"spec.preKubeadmCommands", 900}, {"spec.files[0] (/x)", 10}, {"spec.users", 1},
	})
	g.Expect(msg).To(ContainSubstring("2097152 bytes"))
	g.Expect(msg).To(ContainSubstring("1048576 bytes (1 MiB)"))
	g.Expect(msg).To(ContainSubstring("spec.files[3] (/opt/blob) 1048576 bytes, spec.preKubeadmCommands 900 bytes, spec.files[0] (/x) 10 bytes"))
	g.Expect(msg).NotTo(ContainSubstring("spec.users"), "three parts at most")
}
