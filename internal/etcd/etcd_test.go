package etcd

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/podcluster/podcluster/internal/pki"
	"github.com/podcluster/podcluster/test/testenv"
)

// startMember runs the etcd binary the tests use with m's flags, until the
// test ends.
func startMember(t *testing.T, g Gomega, ca *pki.KeyPair, m MemberConfig) *exec.Cmd {
	t.Helper()
	bin, err := testenv.BinDir()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(m.WriteCertificates(ca)).To(Succeed())
	log, err := os.Create(filepath.Join(m.CertDir, "etcd.log"))
	g.Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(filepath.Join(bin, "etcd"), m.Args()...)
	cmd.Stdout, cmd.Stderr = log, log
	g.Expect(cmd.Start()).To(Succeed())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = log.Close()
		if t.Failed() {
			out, _ := os.ReadFile(log.Name())
			t.Logf("etcd %s:\n%s", m.Name, tail(out))
		}
	})
	return cmd
}

func tail(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// member is a member's configuration on its own loopback address, under dir.
func member(dir, name, ip string) MemberConfig {
	return MemberConfig{
		Name: name, IP: ip,
		DataDir: filepath.Join(dir, name, "data"), CertDir: filepath.Join(dir, name, "pki"),
	}
}

// TestClientOnARealCluster: a cluster of three members grown one at a time as
// kubeadm does (a member add, then the member started with
// initial-cluster-state=existing), listed, asked for their status, the
// leadership moved and a member removed, all over TLS with a client
// certificate signed by the etcd CA; a certificate of another CA is refused.
func TestClientOnARealCluster(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	dir := t.TempDir()
	ca, err := pki.NewCA("etcd-ca", pki.ECDSAP256, time.Hour)
	g.Expect(err).NotTo(HaveOccurred())
	tlsConfig, err := TLSConfig(ca, ClientCommonName)
	g.Expect(err).NotTo(HaveOccurred())

	// Addresses of this worktree's test range, apart from the simulated
	// runtime's node Pods.
	configs := []MemberConfig{
		member(dir, "node-a", "127.32.250.1"),
		member(dir, "node-b", "127.32.250.2"),
		member(dir, "node-c", "127.32.250.3"),
	}
	first := configs[0]
	first.InitialCluster = []string{first.Name + "=" + first.PeerURL()}
	startMember(t, g, ca, first)

	c, err := New([]string{first.ClientURL()}, tlsConfig)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = c.Close() }()
	g.Eventually(func(g Gomega) {
		ms, err := c.Members(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ms).To(HaveLen(1))
		g.Expect(ms[0].Name).To(Equal("node-a"))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())

	endpoints := []string{first.ClientURL()}
	for _, m := range configs[1:] {
		// etcd refuses an add until the leader has been connected to the
		// members it has for a while (its strict reconfiguration check);
		// kubeadm retries, and so do we.
		var id uint64
		var members []Member
		g.Eventually(func() error {
			id, members, err = c.AddMember(ctx, m.PeerURL())
			return err
		}, 30*time.Second, 500*time.Millisecond).Should(Succeed())
		m.InitialCluster = InitialCluster(members, id, m.Name)
		m.Existing = true
		g.Expect(m.InitialCluster).To(ContainElement(m.Name + "=" + m.PeerURL()))
		startMember(t, g, ca, m)
		endpoints = append(endpoints, m.ClientURL())
		// The next member is added once this one runs: etcd refuses an add
		// that a started member's absence would leave without quorum.
		g.Eventually(func(g Gomega) {
			st, err := c.Status(ctx, m.ClientURL())
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(st.MemberID).To(Equal(id))
			g.Expect(st.Leader).NotTo(BeZero())
		}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	}
	g.Expect(c.Close()).To(Succeed())
	c, err = New(endpoints, tlsConfig)
	g.Expect(err).NotTo(HaveOccurred())

	var members []Member
	g.Eventually(func(g Gomega) {
		members, err = c.Members(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(members).To(HaveLen(3))
		names := []string{}
		for _, m := range members {
			names = append(names, m.Name)
		}
		g.Expect(names).To(ConsistOf("node-a", "node-b", "node-c"))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())

	// Every member follows the same leader.
	leader := uint64(0)
	for _, ep := range endpoints {
		st, err := c.Status(ctx, ep)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Errors).To(BeEmpty())
		if leader == 0 {
			leader = st.Leader
		}
		g.Expect(st.Leader).To(Equal(leader), ep)
	}

	// The leadership moves to a follower.
	var to uint64
	for _, m := range members {
		if m.ID != leader {
			to = m.ID
			break
		}
	}
	g.Expect(c.MoveLeader(ctx, to)).To(Succeed())
	g.Eventually(func(g Gomega) {
		st, err := c.Status(ctx, endpoints[0])
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Leader).To(Equal(to))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())

	// The old leader is removed; two members are left. A new leader
	// refuses changes until it has been connected to its peers for a while.
	g.Eventually(func() error { return c.RemoveMember(ctx, leader) }, 30*time.Second, 500*time.Millisecond).Should(Succeed())
	members, err = c.Members(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(members).To(HaveLen(2))
	for _, m := range members {
		g.Expect(m.ID).NotTo(Equal(leader))
	}

	// A client certificate of another CA is refused.
	other, err := pki.NewCA("other-ca", pki.ECDSAP256, time.Hour)
	g.Expect(err).NotTo(HaveOccurred())
	otherTLS, err := TLSConfig(other, ClientCommonName)
	g.Expect(err).NotTo(HaveOccurred())
	otherTLS.RootCAs = tlsConfig.RootCAs
	oc, err := New(endpoints, otherTLS)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = oc.Close() }()
	_, err = oc.Members(ctx)
	g.Expect(err).To(HaveOccurred())
}

func TestInitialCluster(t *testing.T) {
	members := []Member{
		{ID: 1, Name: "a", PeerURLs: []string{"https://127.0.0.1:2380"}},
		{ID: 2, PeerURLs: []string{"https://127.0.0.2:2380"}},
		{ID: 0x1f, PeerURLs: []string{"https://127.0.0.3:2380"}},
	}
	for _, tc := range []struct {
		name  string
		newID uint64
		want  []string
	}{
		{"the new member is named", 2, []string{"a=https://127.0.0.1:2380", "b=https://127.0.0.2:2380", "1f=https://127.0.0.3:2380"}},
		{"another unstarted member gets its ID", 0x1f, []string{"a=https://127.0.0.1:2380", "2=https://127.0.0.2:2380", "b=https://127.0.0.3:2380"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(InitialCluster(members, tc.newID, "b")).To(Equal(tc.want))
		})
	}
}

func TestMemberArgs(t *testing.T) {
	g := NewWithT(t)
	m := MemberConfig{Name: "n", IP: "127.2.0.4", DataDir: "/d", CertDir: "/p", InitialCluster: []string{"n=https://127.2.0.4:2380"}, Existing: true}
	g.Expect(m.Args()).To(ContainElements(
		"--listen-client-urls=https://127.2.0.4:2379",
		"--initial-advertise-peer-urls=https://127.2.0.4:2380",
		"--initial-cluster-state=existing",
		"--listen-metrics-urls=http://127.2.0.4:2381",
		"--client-cert-auth=true",
		"--peer-client-cert-auth=true",
		"--trusted-ca-file=/p/ca.crt",
	))
	m.Existing = false
	g.Expect(m.Args()).To(ContainElement("--initial-cluster-state=new"))
}
