// Package etcd reaches the stacked etcd of a workload cluster with the etcd
// v3 client, as a control plane does to list, check, move the leadership of
// and remove its members. The rest of the code sees it through Client, so
// that the decisions built on a member list stay pure functions.
package etcd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/podcluster/podcluster/internal/pki"
)

const (
	// DefaultClientPort is the port etcd serves clients on (kubeadm's).
	DefaultClientPort = 2379
	// DefaultPeerPort is the port etcd members talk to each other on.
	DefaultPeerPort = 2380
	// ClientCommonName is the common name of the client certificate a
	// control plane makes from the etcd CA. etcd checks only that the
	// certificate is signed by its CA.
	ClientCommonName = "podcluster-etcd-client"
	// callTimeout bounds one call to one member, so that a dead member makes
	// a slow answer, not a stuck reconcile.
	callTimeout = 5 * time.Second
	// dialTimeout bounds connecting to a set of endpoints.
	dialTimeout = 5 * time.Second
)

// Member is an etcd member as the member list reports it.
type Member struct {
	// ID is the member's etcd ID.
	ID uint64
	// Name is the member's --name: kubeadm names members after their Node.
	// It is empty for a member added and not started yet.
	Name string
	// PeerURLs and ClientURLs are where the member listens.
	PeerURLs, ClientURLs []string
	// IsLearner is set for a learner (a non-voting member).
	IsLearner bool
}

// Status is what one member says of itself.
type Status struct {
	// MemberID is the answering member's ID.
	MemberID uint64
	// Leader is the leader the member follows; 0 when it has none.
	Leader uint64
	// Errors are the member's own errors (alarms such as NOSPACE).
	Errors []string
}

// Client is what a control plane asks of its etcd cluster.
type Client interface {
	// Members lists the cluster's members.
	Members(ctx context.Context) ([]Member, error)
	// Status asks the member serving clients at endpoint for its status.
	Status(ctx context.Context, endpoint string) (*Status, error)
	// AddMember adds a member that will serve peers at peerURL, as kubeadm
	// join does before the new member starts. It returns the new member's
	// ID and the members after the change.
	AddMember(ctx context.Context, peerURL string) (uint64, []Member, error)
	// RemoveMember removes a member from the cluster.
	RemoveMember(ctx context.Context, id uint64) error
	// MoveLeader hands the leadership to member to. It is sent to the
	// current leader, which alone can move it.
	MoveLeader(ctx context.Context, to uint64) error
	// Close releases the connections.
	Close() error
}

// TLSConfig is the TLS configuration of a client of the etcd cluster whose CA
// is ca: the server certificates are checked against it, and the client
// presents a certificate of its own signed by it, as a control plane makes
// one from the cluster's etcd CA Secret.
func TLSConfig(ca *pki.KeyPair, commonName string) (*tls.Config, error) {
	if ca == nil || ca.Key == nil {
		return nil, errors.New("the etcd CA has no private key to sign a client certificate with")
	}
	cert, err := ca.Sign(pki.CertOptions{
		CommonName: commonName,
		Usages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		Algorithm:  pki.ECDSAP256,
	})
	if err != nil {
		return nil, fmt.Errorf("signing the etcd client certificate: %w", err)
	}
	pair, err := tls.X509KeyPair(cert.CertPEM, cert.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("loading the etcd client certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// v3Client is Client over go.etcd.io/etcd/client/v3.
type v3Client struct {
	c         *clientv3.Client
	tls       *tls.Config
	endpoints []string
}

// New connects to the etcd cluster through endpoints (https URLs of members'
// client ports). The connection is lazy: New fails only on bad arguments.
func New(endpoints []string, tlsConfig *tls.Config) (Client, error) {
	c, err := newV3(endpoints, tlsConfig)
	if err != nil {
		return nil, err
	}
	return &v3Client{c: c, tls: tlsConfig, endpoints: slices.Clone(endpoints)}, nil
}

func newV3(endpoints []string, tlsConfig *tls.Config) (*clientv3.Client, error) {
	if len(endpoints) == 0 {
		return nil, errors.New("no etcd endpoints")
	}
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		TLS:         tlsConfig,
		DialTimeout: dialTimeout,
		// The client's own log goes nowhere: errors come back to the caller.
		Logger: zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to etcd at %v: %w", endpoints, err)
	}
	return c, nil
}

func (v *v3Client) Members(ctx context.Context) ([]Member, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := v.c.MemberList(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the etcd members: %w", err)
	}
	out := make([]Member, 0, len(resp.Members))
	for _, m := range resp.Members {
		out = append(out, Member{ID: m.ID, Name: m.Name, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs, IsLearner: m.IsLearner})
	}
	return out, nil
}

func (v *v3Client) Status(ctx context.Context, endpoint string) (*Status, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := v.c.Status(ctx, endpoint)
	if err != nil {
		return nil, fmt.Errorf("asking etcd member %s for its status: %w", endpoint, err)
	}
	return &Status{MemberID: resp.Header.MemberId, Leader: resp.Leader, Errors: resp.Errors}, nil
}

func (v *v3Client) AddMember(ctx context.Context, peerURL string) (uint64, []Member, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := v.c.MemberAdd(ctx, []string{peerURL})
	if err != nil {
		return 0, nil, fmt.Errorf("adding the etcd member %s: %w", peerURL, err)
	}
	out := make([]Member, 0, len(resp.Members))
	for _, m := range resp.Members {
		out = append(out, Member{ID: m.ID, Name: m.Name, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs, IsLearner: m.IsLearner})
	}
	return resp.Member.ID, out, nil
}

func (v *v3Client) RemoveMember(ctx context.Context, id uint64) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := v.c.MemberRemove(ctx, id); err != nil {
		return fmt.Errorf("removing etcd member %x: %w", id, err)
	}
	return nil
}

func (v *v3Client) MoveLeader(ctx context.Context, to uint64) error {
	// Only the leader moves the leadership: find it through the members'
	// own status, and talk to it alone.
	var leaderEndpoint string
	for _, ep := range v.endpoints {
		st, err := v.Status(ctx, ep)
		if err == nil && st.Leader != 0 && st.Leader == st.MemberID {
			leaderEndpoint = ep
			break
		}
	}
	if leaderEndpoint == "" {
		return fmt.Errorf("moving the etcd leadership to %x: no endpoint of %v is the leader", to, v.endpoints)
	}
	c, err := newV3([]string{leaderEndpoint}, v.tls)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := c.MoveLeader(ctx, to); err != nil {
		return fmt.Errorf("moving the etcd leadership from %s to %x: %w", leaderEndpoint, to, err)
	}
	return nil
}

func (v *v3Client) Close() error {
	return v.c.Close()
}
