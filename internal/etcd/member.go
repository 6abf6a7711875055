package etcd

import (
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/podcluster/podcluster/internal/pki"
)

// The files of a member's certificates, as kubeadm names them under
// /etc/kubernetes/pki/etcd.
const (
	CACertFile     = "ca.crt"
	ServerCertFile = "server.crt"
	ServerKeyFile  = "server.key"
	PeerCertFile   = "peer.crt"
	PeerKeyFile    = "peer.key"
)

// MemberConfig is one stacked etcd member as kubeadm's etcd manifest runs
// it: TLS for clients and peers with certificates signed by the cluster's
// etcd CA, client certificates required on both.
type MemberConfig struct {
	// Name is the member's name: its Node's, as kubeadm names it.
	Name string
	// IP is the address the member listens on and advertises.
	IP string
	// ClientPort and PeerPort default to DefaultClientPort and DefaultPeerPort.
	ClientPort, PeerPort int
	// DataDir holds the member's data.
	DataDir string
	// CertDir holds the files WriteCertificates writes.
	CertDir string
	// InitialCluster is etcd's --initial-cluster: name=peerURL pairs, this
	// member's among them.
	InitialCluster []string
	// Existing starts the member with --initial-cluster-state=existing: it
	// joins a cluster it was added to, rather than founding one.
	Existing bool
}

func (m MemberConfig) clientPort() int {
	if m.ClientPort == 0 {
		return DefaultClientPort
	}
	return m.ClientPort
}

func (m MemberConfig) peerPort() int {
	if m.PeerPort == 0 {
		return DefaultPeerPort
	}
	return m.PeerPort
}

// ClientURL is where the member serves clients.
func (m MemberConfig) ClientURL() string {
	return "https://" + net.JoinHostPort(m.IP, strconv.Itoa(m.clientPort()))
}

// PeerURL is where the member serves its peers.
func (m MemberConfig) PeerURL() string {
	return "https://" + net.JoinHostPort(m.IP, strconv.Itoa(m.peerPort()))
}

// WriteCertificates writes the CA certificate and the member's server and
// peer certificates, signed by ca, into CertDir, as kubeadm generates them
// from etcd/ca.key on each control-plane node. Both serve and are clients
// (peers dial each other), for the member's IP, its name and localhost.
func (m MemberConfig) WriteCertificates(ca *pki.KeyPair) error {
	if err := os.MkdirAll(m.CertDir, 0o700); err != nil {
		return fmt.Errorf("creating the etcd certificate directory: %w", err)
	}
	ips := []net.IP{net.ParseIP("127.0.0.1")}
	if ip := net.ParseIP(m.IP); ip != nil {
		ips = append(ips, ip)
	}
	files := map[string][]byte{CACertFile: ca.CertPEM}
	for _, f := range []struct{ cert, key string }{{ServerCertFile, ServerKeyFile}, {PeerCertFile, PeerKeyFile}} {
		kp, err := ca.Sign(pki.CertOptions{
			CommonName: m.Name,
			DNSNames:   []string{m.Name, "localhost"},
			IPs:        ips,
			Usages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			Algorithm:  pki.ECDSAP256,
		})
		if err != nil {
			return fmt.Errorf("signing the etcd %s certificate of %s: %w", strings.TrimSuffix(f.cert, ".crt"), m.Name, err)
		}
		files[f.cert], files[f.key] = kp.CertPEM, kp.KeyPEM
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(m.CertDir, name), data, 0o600); err != nil {
			return fmt.Errorf("writing the etcd certificate %s: %w", name, err)
		}
	}
	return nil
}

// Args are the etcd flags of kubeadm's etcd manifest, on the member's IP
// (the metrics listener too: members of several nodes share one host here).
func (m MemberConfig) Args() []string {
	state := "new"
	if m.Existing {
		state = "existing"
	}
	cert := func(f string) string { return filepath.Join(m.CertDir, f) }
	return []string{
		"--name=" + m.Name,
		"--data-dir=" + m.DataDir,
		"--listen-client-urls=" + m.ClientURL(),
		"--advertise-client-urls=" + m.ClientURL(),
		"--listen-peer-urls=" + m.PeerURL(),
		"--initial-advertise-peer-urls=" + m.PeerURL(),
		"--initial-cluster=" + strings.Join(m.InitialCluster, ","),
		"--initial-cluster-state=" + state,
		"--listen-metrics-urls=http://" + net.JoinHostPort(m.IP, strconv.Itoa(m.peerPort()+1)),
		"--cert-file=" + cert(ServerCertFile),
		"--key-file=" + cert(ServerKeyFile),
		"--trusted-ca-file=" + cert(CACertFile),
		"--client-cert-auth=true",
		"--peer-cert-file=" + cert(PeerCertFile),
		"--peer-key-file=" + cert(PeerKeyFile),
		"--peer-trusted-ca-file=" + cert(CACertFile),
		"--peer-client-cert-auth=true",
		"--snapshot-count=10000",
	}
}

// InitialCluster is --initial-cluster for a member joining after AddMember:
// every member by name, the new one (which has no name in the list yet) as
// name.
func InitialCluster(members []Member, newID uint64, name string) []string {
	var out []string
	for _, m := range members {
		n := m.Name
		if m.ID == newID {
			n = name
		}
		if n == "" {
			// Added by someone else and not started yet: etcd matches the
			// list by peer URLs, so any name that is not this one's will do.
			n = fmt.Sprintf("%x", m.ID)
		}
		for _, u := range m.PeerURLs {
			out = append(out, n+"="+u)
		}
	}
	return out
}
