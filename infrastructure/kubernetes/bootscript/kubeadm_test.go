package bootscript

import (
	"testing"

	. "github.com/onsi/gomega"
)

const ignores = "SystemVerification,Swap,FileContent--proc-sys-net-bridge-bridge-nf-call-iptables"

func TestPreflightIgnores(t *testing.T) {
	configs := map[string]bool{"/run/kubeadm/all.yaml": true}
	configIgnoresAll := func(p string) bool { return configs[p] }
	for _, tc := range []struct {
		name    string
		in, out Command
	}{
		// argv form
		{"init", Command{Argv: []string{"kubeadm", "init", "--config", "/run/kubeadm/kubeadm.yaml"}},
			Command{Argv: []string{"kubeadm", "init", "--config", "/run/kubeadm/kubeadm.yaml", "--ignore-preflight-errors=" + ignores}}},
		{"join by path", Command{Argv: []string{"/usr/bin/kubeadm", "join", "10.0.0.1:6443"}},
			Command{Argv: []string{"/usr/bin/kubeadm", "join", "10.0.0.1:6443", "--ignore-preflight-errors=" + ignores}}},
		{"existing joined value", Command{Argv: []string{"kubeadm", "init", "--ignore-preflight-errors=NumCPU,swap"}},
			Command{Argv: []string{"kubeadm", "init", "--ignore-preflight-errors=NumCPU,swap,SystemVerification,FileContent--proc-sys-net-bridge-bridge-nf-call-iptables"}}},
		{"existing separate value", Command{Argv: []string{"kubeadm", "join", "--ignore-preflight-errors", "Mem", "--v=5"}},
			Command{Argv: []string{"kubeadm", "join", "--ignore-preflight-errors", "Mem," + ignores, "--v=5"}}},
		{"repeated flag", Command{Argv: []string{"kubeadm", "init", "--ignore-preflight-errors=Swap", "--ignore-preflight-errors=systemverification"}},
			Command{Argv: []string{"kubeadm", "init", "--ignore-preflight-errors=Swap,FileContent--proc-sys-net-bridge-bridge-nf-call-iptables", "--ignore-preflight-errors=systemverification"}}},
		{"empty value", Command{Argv: []string{"kubeadm", "init", "--ignore-preflight-errors="}},
			Command{Argv: []string{"kubeadm", "init", "--ignore-preflight-errors=" + ignores}}},
		{"already complete", Command{Argv: []string{"kubeadm", "init", "--ignore-preflight-errors=" + ignores}},
			Command{Argv: []string{"kubeadm", "init", "--ignore-preflight-errors=" + ignores}}},
		{"all", Command{Argv: []string{"kubeadm", "init", "--ignore-preflight-errors=all"}},
			Command{Argv: []string{"kubeadm", "init", "--ignore-preflight-errors=all"}}},
		{"All among others", Command{Argv: []string{"kubeadm", "join", "--ignore-preflight-errors", "Swap,All"}},
			Command{Argv: []string{"kubeadm", "join", "--ignore-preflight-errors", "Swap,All"}}},
		{"config file ignores all", Command{Argv: []string{"kubeadm", "init", "--config", "/run/kubeadm/all.yaml"}},
			Command{Argv: []string{"kubeadm", "init", "--config", "/run/kubeadm/all.yaml"}}},
		{"config= file ignores all", Command{Argv: []string{"kubeadm", "join", "--config=/run/kubeadm/all.yaml"}},
			Command{Argv: []string{"kubeadm", "join", "--config=/run/kubeadm/all.yaml"}}},
		{"before --", Command{Argv: []string{"kubeadm", "init", "--", "x"}},
			Command{Argv: []string{"kubeadm", "init", "--ignore-preflight-errors=" + ignores, "--", "x"}}},
		{"flag after -- does not count", Command{Argv: []string{"kubeadm", "init", "--", "--ignore-preflight-errors=all"}},
			Command{Argv: []string{"kubeadm", "init", "--ignore-preflight-errors=" + ignores, "--", "--ignore-preflight-errors=all"}}},
		{"phase", Command{Argv: []string{"kubeadm", "init", "phase", "preflight"}}, Command{Argv: []string{"kubeadm", "init", "phase", "preflight"}}},
		{"reset", Command{Argv: []string{"kubeadm", "reset", "-f"}}, Command{Argv: []string{"kubeadm", "reset", "-f"}}},
		{"relative path", Command{Argv: []string{"./kubeadm", "init"}}, Command{Argv: []string{"./kubeadm", "init"}}},
		{"flags first", Command{Argv: []string{"kubeadm", "-v5", "init"}}, Command{Argv: []string{"kubeadm", "-v5", "init"}}},
		{"sudo", Command{Argv: []string{"sudo", "kubeadm", "init"}}, Command{Argv: []string{"sudo", "kubeadm", "init"}}},

		// string form
		{"upstream init", Command{Shell: "kubeadm init --config /run/kubeadm/kubeadm.yaml  && echo success > /run/cluster-api/bootstrap-success.complete"},
			Command{Shell: "kubeadm init --config /run/kubeadm/kubeadm.yaml --ignore-preflight-errors=" + ignores + "  && echo success > /run/cluster-api/bootstrap-success.complete"}},
		{"plain join", Command{Shell: "kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml"},
			Command{Shell: "kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml --ignore-preflight-errors=" + ignores}},
		{"blanks kept", Command{Shell: "\t kubeadm\tinit\t"}, Command{Shell: "\t kubeadm\tinit --ignore-preflight-errors=" + ignores + "\t"}},
		{"no space before &&", Command{Shell: "kubeadm join x&&touch y"}, Command{Shell: "kubeadm join x --ignore-preflight-errors=" + ignores + "&&touch y"}},
		{"string existing value", Command{Shell: "kubeadm init --ignore-preflight-errors NumCPU --v=5 && echo ok"},
			Command{Shell: "kubeadm init --ignore-preflight-errors NumCPU," + ignores + " --v=5 && echo ok"}},
		{"string all", Command{Shell: "kubeadm init --ignore-preflight-errors=all && echo ok"}, Command{Shell: "kubeadm init --ignore-preflight-errors=all && echo ok"}},
		{"string config ignores all", Command{Shell: "kubeadm init --config=/run/kubeadm/all.yaml"}, Command{Shell: "kubeadm init --config=/run/kubeadm/all.yaml"}},
		{"quotes", Command{Shell: "kubeadm init --config '/run/kubeadm/kubeadm.yaml'"}, Command{Shell: "kubeadm init --config '/run/kubeadm/kubeadm.yaml'"}},
		{"variable", Command{Shell: "kubeadm init --config $CONFIG"}, Command{Shell: "kubeadm init --config $CONFIG"}},
		{"semicolon", Command{Shell: "kubeadm init; echo done"}, Command{Shell: "kubeadm init; echo done"}},
		{"pipe", Command{Shell: "kubeadm init | tee /tmp/log"}, Command{Shell: "kubeadm init | tee /tmp/log"}},
		{"or", Command{Shell: "kubeadm join x || true"}, Command{Shell: "kubeadm join x || true"}},
		{"redirect", Command{Shell: "kubeadm init > /tmp/log && echo ok"}, Command{Shell: "kubeadm init > /tmp/log && echo ok"}},
		{"newline", Command{Shell: "kubeadm init\necho hi"}, Command{Shell: "kubeadm init\necho hi"}},
		{"env prefix", Command{Shell: "KUBECONFIG=/x kubeadm init"}, Command{Shell: "KUBECONFIG=/x kubeadm init"}},
		{"second command only", Command{Shell: "true && kubeadm init"}, Command{Shell: "true && kubeadm init"}},
		{"string phase", Command{Shell: "kubeadm join phase preflight"}, Command{Shell: "kubeadm join phase preflight"}},
		{"not kubeadm", Command{Shell: "kubeadmx init"}, Command{Shell: "kubeadmx init"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(withPreflightIgnores(tc.in, configIgnoresAll)).To(Equal(tc.out))
		})
	}
}

func TestKubeadmConfigIgnoresAll(t *testing.T) {
	g := NewWithT(t)
	g.Expect(kubeadmConfigIgnoresAll([]byte("---\nkind: ClusterConfiguration\n---\nkind: InitConfiguration\nnodeRegistration:\n  ignorePreflightErrors: [NumCPU, ALL]\n"))).To(BeTrue())
	g.Expect(kubeadmConfigIgnoresAll([]byte("kind: JoinConfiguration\nnodeRegistration:\n  ignorePreflightErrors: [NumCPU]\n"))).To(BeFalse())
	g.Expect(kubeadmConfigIgnoresAll([]byte("not: [yaml"))).To(BeFalse())

	// Through Render: the config file comes from write_files.
	script, err := Convert([]byte(`#cloud-config
write_files:
- path: /run/kubeadm/kubeadm.yaml
  content: |
    kind: InitConfiguration
    nodeRegistration:
      ignorePreflightErrors: [all]
runcmd:
- kubeadm init --config /run/kubeadm/kubeadm.yaml && echo success > /run/cluster-api/bootstrap-success.complete
`))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(script)).NotTo(ContainSubstring("SystemVerification"))
}
