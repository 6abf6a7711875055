package kubeadmconfig

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
)

// maxDataSize is the most bootstrap data the data Secret can carry: the API
// server refuses a Secret whose data adds up to more than this, and the
// infrastructure provider passes the data on in a Secret of its own.
const maxDataSize = corev1.MaxSecretSize

// payloadPart is a field of the spec and the bytes it adds to the data.
type payloadPart struct {
	field string
	size  int
}

// payloadParts lists the fields of a resolved spec (contentFrom already read
// in) that carry user data into the cloud-config, largest first. Each file is
// its own part, so that a message can name the one that makes the data big.
func payloadParts(spec *bootstrapv1.KubeadmConfigSpec) []payloadPart {
	var parts []payloadPart
	for i, f := range spec.Files {
		parts = append(parts, payloadPart{fmt.Sprintf("spec.files[%d] (%s)", i, f.Path), len(f.Content) + len(f.Path)})
	}
	commands := func(field string, list []string) {
		n := 0
		for _, c := range list {
			n += len(c)
		}
		if n > 0 {
			parts = append(parts, payloadPart{field, n})
		}
	}
	commands("spec.preKubeadmCommands", spec.PreKubeadmCommands)
	commands("spec.postKubeadmCommands", spec.PostKubeadmCommands)
	commands("spec.bootCommands", spec.BootCommands)
	users := 0
	for _, u := range spec.Users {
		users += len(u.Name) + len(u.Passwd) + len(strings.Join(u.SSHAuthorizedKeys, ""))
	}
	if users > 0 {
		parts = append(parts, payloadPart{"spec.users", users})
	}
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].size > parts[j].size })
	return parts
}

// payloadSize is what the parts add up to.
func payloadSize(parts []payloadPart) int {
	n := 0
	for _, p := range parts {
		n += p.size
	}
	return n
}

// oversizedMessage says that the data (size bytes) is over the limit and which
// fields make it big: the largest three.
func oversizedMessage(size int, parts []payloadPart) string {
	var named []string
	for i, p := range parts {
		if i == 3 {
			break
		}
		named = append(named, fmt.Sprintf("%s %d bytes", p.field, p.size))
	}
	msg := fmt.Sprintf("the bootstrap data would be %d bytes, more than the %d bytes (1 MiB) a Secret can carry to the machine", size, maxDataSize)
	if len(named) > 0 {
		msg += "; the largest parts are " + strings.Join(named, ", ")
	}
	return msg + ": make the files or commands smaller, or move content to the node image"
}
