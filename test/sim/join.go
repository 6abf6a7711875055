package sim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/kubeadmtypes"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
)

// joinDiscoveryRetry bounds how long a join tries to reach the API server at
// its endpoint (kubeadm's discovery timeout is 5 minutes; a node Pod boot
// holds a worker of the runtime meanwhile, so it is shorter here).
const joinDiscoveryRetry = 20 * time.Second

// joinTokenRetry bounds how long a join tries again when the API server
// refuses its bootstrap token: long enough for a lagging API server to see
// the token's Secret, short enough that a wrong token fails soon.
const joinTokenRetry = 8 * time.Second

// joinDiscovery is what kubeadm join reads of a JoinConfiguration.
type joinDiscovery struct {
	APIServerEndpoint        string   `json:"apiServerEndpoint"`
	Token                    string   `json:"token"`
	CACertHashes             []string `json:"caCertHashes"`
	UnsafeSkipCAVerification bool     `json:"unsafeSkipCAVerification"`
}

type joinDoc struct {
	Kind      string `json:"kind"`
	Discovery struct {
		BootstrapToken *joinDiscovery `json:"bootstrapToken"`
	} `json:"discovery"`
	ControlPlane *struct{} `json:"controlPlane"`
}

// readJoinConfig reads the discovery and the control-plane flag of the
// JoinConfiguration in file.
func readJoinConfig(root, file string) (*joinDiscovery, bool, error) {
	raw, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		return nil, false, fmt.Errorf("reading the kubeadm config: %w", err)
	}
	for _, part := range strings.Split(string(raw), "\n---") {
		var doc joinDoc
		if err := yaml.Unmarshal([]byte(part), &doc); err != nil {
			return nil, false, fmt.Errorf("parsing the kubeadm config %s: %w", file, err)
		}
		if doc.Kind != "JoinConfiguration" {
			continue
		}
		if doc.Discovery.BootstrapToken == nil {
			return nil, false, fmt.Errorf("the JoinConfiguration has no bootstrap token discovery, which the simulated runtime cannot play")
		}
		return doc.Discovery.BootstrapToken, doc.ControlPlane != nil, nil
	}
	return nil, false, fmt.Errorf("%s has no JoinConfiguration", file)
}

// kubeadmJoin plays kubeadm join: discovery checks the API server's CA against
// caCertHashes, the API server itself checks the bootstrap token, and the
// kubelet registers the Node. It returns a message when the join is refused,
// as kubeadm would fail the boot. A control-plane join of a stacked control
// plane starts the node's etcd member and API server instead (started), and
// awaitAPIServer finishes it.
func (r *kubeletReconciler) kubeadmJoin(ctx context.Context, pod *corev1.Pod, res *bootResult, k kubeadmCommand) (msg string, started bool, err error) {
	cfg, err := readKubeadmConfig(res.root, k.config)
	if err != nil {
		return "kubeadm join: " + err.Error(), false, nil
	}
	disc, controlPlane, err := readJoinConfig(res.root, k.config)
	if err != nil {
		return "kubeadm join: " + err.Error(), false, nil
	}

	// The workload cluster's CA and an admin credential come from the
	// cluster's kubeconfig Secret: the simulation's stand-in for cluster-info
	// (CA) and for the kubelet's TLS bootstrap (credential).
	cluster := pod.Labels[clusterv1.ClusterNameLabel]
	secret := &corev1.Secret{}
	if err := r.client.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: cluster + "-kubeconfig"}, secret); err != nil {
		if apierrors.IsNotFound(err) {
			// No control plane to join yet: kubeadm's discovery would time out.
			return fmt.Sprintf("kubeadm join: cluster %s has no kubeconfig Secret %s-kubeconfig, so no API server to join", cluster, cluster), false, nil
		}
		return "", false, fmt.Errorf("kubeadm join: reading the kubeconfig Secret of cluster %s: %w", cluster, err)
	}
	admin, err := clientcmd.RESTConfigFromKubeConfig(secret.Data["value"])
	if err != nil {
		return "", false, fmt.Errorf("kubeadm join: parsing the kubeconfig of cluster %s: %w", cluster, err)
	}
	caPEM := admin.CAData
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return "", false, fmt.Errorf("kubeadm join: the kubeconfig of cluster %s has no CA", cluster)
	}

	if !disc.UnsafeSkipCAVerification {
		hash, err := kubeadmtypes.CACertHash(caPEM)
		if err != nil {
			return "", false, fmt.Errorf("kubeadm join: %w", err)
		}
		if !slices.Contains(disc.CACertHashes, hash) {
			return fmt.Sprintf("kubeadm join: the cluster CA's public key hash %s matches none of caCertHashes %v", hash, disc.CACertHashes), false, nil
		}
	}

	// The API server at the endpoint must serve with that CA and accept the
	// token, as a bootstrapping kubelet's requests need.
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+disc.APIServerEndpoint+"/apis", nil)
	if err != nil {
		return "kubeadm join: " + err.Error(), false, nil
	}
	req.Header.Set("Authorization", "Bearer "+disc.Token)
	// A connection that fails is tried again for a while, as kubeadm's
	// discovery retries until its timeout: a load balancer may cut a
	// connection to an API server its health check just took out. A refused
	// token is tried again for a shorter while, as the kubelet's TLS
	// bootstrap retries: behind the load balancer of a stacked control
	// plane, an API server whose Secret informer lags (a busy host, a server
	// just started) does not know a token created a moment ago yet (seen in
	// TestKCPStackedEtcdLifecycle under load: a join refused for good).
	var resp *http.Response
	start := time.Now()
	for {
		resp, err = hc.Do(req)
		refused := err == nil && resp.StatusCode == http.StatusUnauthorized
		if (err == nil && !refused) || ctx.Err() != nil ||
			(err != nil && time.Since(start) > joinDiscoveryRetry) || (refused && time.Since(start) > joinTokenRetry) {
			break
		}
		if refused {
			_ = resp.Body.Close()
		}
		time.Sleep(apiServerPoll)
	}
	if err != nil {
		msg := fmt.Sprintf("kubeadm join: cannot reach the API server at %s: %v", disc.APIServerEndpoint, err)
		if r.discoveryLeft(pod) > 0 {
			// kubeadm's discovery retries until its timeout: an API server
			// that is starting (or being brought back after a restart of
			// this runtime) is not a failed join yet.
			return msg, false, errDiscoveryRetry
		}
		return msg, false, nil
	}
	_ = resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return fmt.Sprintf("kubeadm join: the API server at %s refused the bootstrap token %s...: %s",
			disc.APIServerEndpoint, tokenID(disc.Token), resp.Status), false, nil
	}
	if resp.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("kubeadm join: the API server at %s answered %s", disc.APIServerEndpoint, resp.Status)
		if resp.StatusCode >= 500 && r.discoveryLeft(pod) > 0 {
			return msg, false, errDiscoveryRetry // starting, as above
		}
		return msg, false, nil
	}

	clusterKey := types.NamespacedName{Namespace: pod.Namespace, Name: cluster}
	if controlPlane && len(r.rt.etcd.forCluster(clusterKey)) > 0 {
		// A stacked control plane: the node runs an etcd member and an API
		// server of its own; awaitAPIServer registers the Node.
		host, portStr, err := net.SplitHostPort(disc.APIServerEndpoint)
		if err != nil {
			return "kubeadm join: " + err.Error(), false, nil
		}
		port, err := strconv.Atoi(portStr)
		if err != nil {
			return "kubeadm join: " + err.Error(), false, nil
		}
		msg, err := r.stackedControlPlane(ctx, pod, filepath.Dir(res.root), res, cfg, k, host, port, true)
		return msg, msg == "" && err == nil, err
	}

	// Recorded before the Node registers, so that a Pod deleted from here
	// on takes its Node along.
	if err := writeNodeState(filepath.Dir(res.root), &nodeState{
		PodUID: string(pod.UID), Cluster: cluster, Node: nodeName(pod, cfg), ControlPlane: controlPlane, KubeadmConfig: k.config,
	}); err != nil {
		return "", false, err
	}
	admin.QPS, admin.Burst = 50, 100
	if err := r.register(ctx, pod, cfg, controlPlane, admin); err != nil {
		return "", false, fmt.Errorf("kubeadm join: %w", err)
	}
	return "", false, nil
}

// discoveryTimeout is kubeadm's default timeouts.discovery: how long join
// tries to reach the API server before it fails.
const discoveryTimeout = 5 * time.Minute

// discoveryRetry is how soon an unreachable API server is tried again.
const discoveryRetry = 2 * time.Second

// errDiscoveryRetry says that kubeadm join could not reach the API server
// and tries again (see discoveryLeft).
var errDiscoveryRetry = errors.New("kubeadm join: the API server is not reachable yet")

// discoveryLeft is how long kubeadm join of pod still tries to reach the API
// server: discoveryTimeout from when its node container started.
func (r *kubeletReconciler) discoveryLeft(pod *corev1.Pod) time.Duration {
	cs := containerStatus(pod, nodepod.ContainerName)
	if cs == nil || cs.State.Running == nil || cs.State.Running.StartedAt.IsZero() {
		return discoveryTimeout
	}
	return discoveryTimeout - time.Since(cs.State.Running.StartedAt.Time)
}

// tokenID is the public part of a bootstrap token, safe to log.
func tokenID(token string) string {
	id, _, _ := strings.Cut(token, ".")
	return id
}
