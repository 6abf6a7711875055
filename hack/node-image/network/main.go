// Command podcluster-network is the Pod network of a workload cluster made of
// podcluster's node images: a node agent in the spirit of kind's kindnetd. It
// runs as the DaemonSet of /usr/share/podcluster/network.yaml, which the node
// image carries with the agent's image preloaded, on the host's network and
// with the host's root filesystem at /host; the control plane's cloud-config
// applies it (examples/real), and a cluster that brings another CNI does not.
//
// Every few seconds it reads the cluster's Nodes (with its ServiceAccount: a
// kubelet may read only its own Node) and makes its node match them:
//   - the CNI configuration (/etc/cni/net.d/10-podcluster.conflist): a bridge
//     with host-local addresses from the node's spec.podCIDR, which the
//     controller-manager allocates from the Cluster's Pod range (kubeadm's
//     networking.podSubnet), plus portmap for hostPorts. The kubelet reports
//     the node Ready once it is there;
//   - a route to every other node's podCIDR through that node's InternalIP.
//     Node Pods of one management node share a network, so each node is one
//     hop from the others; routes of nodes that went are removed (the agent
//     marks its routes with its own protocol number);
//   - masquerading of Pod traffic that leaves the Pod network (to the
//     management network, the host), never of traffic between Pods: Pods see
//     each other's addresses, as the Kubernetes network model requires.
//
// Its image holds only this binary: ip and iptables are the node's, run in
// the host's root (chroot), so their versions match the node's kernel setup
// and kube-proxy's.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// routeProtocol marks the routes this agent owns (ip route's "proto"), so
// that it removes the routes of nodes that went and nothing else.
const routeProtocol = "83"

// masqChain is the nat chain of the masquerading rules.
const masqChain = "PODCLUSTER-MASQ"

func main() {
	hostRoot := flag.String("host-root", "/host", "where the node's root filesystem is mounted: ip and iptables run there, the CNI configuration goes there (empty: this root)")
	cniFile := flag.String("cni-config", "/etc/cni/net.d/10-podcluster.conflist", "the CNI configuration, in the node's root")
	nodeName := flag.String("node-name", os.Getenv("NODE_NAME"), "this node's name (the DaemonSet sets $NODE_NAME from spec.nodeName)")
	interval := flag.Duration("interval", 5*time.Second, "how often the Nodes are read")
	flag.Parse()
	log.SetFlags(0)
	if *nodeName == "" {
		log.Fatal("podcluster-network: no node name: set --node-name or $NODE_NAME")
	}
	api, err := inClusterAPI()
	if err != nil {
		log.Fatalf("podcluster-network: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a := &agent{api: api, hostRoot: *hostRoot, cniFile: *cniFile, node: *nodeName}
	for {
		if err := a.sync(ctx); err != nil {
			log.Printf("podcluster-network: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(*interval):
		}
	}
}

type agent struct {
	api                     *apiClient
	hostRoot, cniFile, node string
	// applied is the plan last made true, so that an unchanged one costs
	// one read of the Nodes and nothing else.
	applied *plan
}

func (a *agent) sync(ctx context.Context) error {
	out, err := a.api.get(ctx, "/api/v1/nodes")
	if err != nil {
		return fmt.Errorf("reading the Nodes: %w", err)
	}
	nodes, err := parseNodes(out)
	if err != nil {
		return err
	}
	p, err := planFor(nodes, a.node)
	if err != nil {
		return err
	}
	if a.applied != nil && a.applied.equal(p) {
		return nil
	}
	if err := a.apply(ctx, p); err != nil {
		return err
	}
	log.Printf("podcluster-network: Pods of %s in %s; routes %v", a.node, p.podCIDR, p.routes)
	a.applied = p
	return nil
}

// node is what the agent reads of a Node.
type node struct {
	name       string
	podCIDR    netip.Prefix
	internalIP netip.Addr
}

// parseNodes reads the IPv4 podCIDR and InternalIP of each Node of a Node
// list (GET /api/v1/nodes); a Node without them yet is listed without them.
func parseNodes(data []byte) ([]node, error) {
	var list struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				PodCIDR  string   `json:"podCIDR"`
				PodCIDRs []string `json:"podCIDRs"`
			} `json:"spec"`
			Status struct {
				Addresses []struct {
					Type    string `json:"type"`
					Address string `json:"address"`
				} `json:"addresses"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("reading the Nodes: %w", err)
	}
	out := make([]node, 0, len(list.Items))
	for _, item := range list.Items {
		n := node{name: item.Metadata.Name}
		for _, c := range append([]string{item.Spec.PodCIDR}, item.Spec.PodCIDRs...) {
			if p, err := netip.ParsePrefix(c); err == nil && p.Addr().Is4() {
				n.podCIDR = p.Masked()
				break
			}
		}
		for _, a := range item.Status.Addresses {
			if ip, err := netip.ParseAddr(a.Address); err == nil && a.Type == "InternalIP" && ip.Is4() {
				n.internalIP = ip
				break
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// route is a route to another node's Pods.
type route struct {
	dst netip.Prefix
	via netip.Addr
}

func (r route) String() string { return r.dst.String() + " via " + r.via.String() }

// plan is what the node must look like.
type plan struct {
	podCIDR netip.Prefix
	// routes to the other nodes' Pods, sorted by destination.
	routes []route
	// podCIDRs are every node's Pod ranges, this one's included: traffic to
	// them is not masqueraded. Sorted.
	podCIDRs []netip.Prefix
}

func (p *plan) equal(q *plan) bool {
	return p.podCIDR == q.podCIDR && slices.Equal(p.routes, q.routes) && slices.Equal(p.podCIDRs, q.podCIDRs)
}

// errNoPodCIDR says that the node has no Pod range yet: the controller-manager
// allocates it once the node registers (and only when the cluster has a Pod
// range, kubeadm's networking.podSubnet).
var errNoPodCIDR = errors.New("no spec.podCIDR yet")

// planFor decides what node self must look like among nodes. Pure.
func planFor(nodes []node, self string) (*plan, error) {
	p := &plan{}
	found := false
	for _, n := range nodes {
		if n.name == self {
			found = true
			p.podCIDR = n.podCIDR
		}
		if n.podCIDR.IsValid() {
			p.podCIDRs = append(p.podCIDRs, n.podCIDR)
		}
		if n.name != self && n.podCIDR.IsValid() && n.internalIP.IsValid() {
			p.routes = append(p.routes, route{dst: n.podCIDR, via: n.internalIP})
		}
	}
	if !found {
		return nil, fmt.Errorf("node %s: not registered yet", self)
	}
	if !p.podCIDR.IsValid() {
		return nil, fmt.Errorf("node %s: %w", self, errNoPodCIDR)
	}
	slices.SortFunc(p.routes, func(a, b route) int { return strings.Compare(a.dst.String(), b.dst.String()) })
	slices.SortFunc(p.podCIDRs, func(a, b netip.Prefix) int { return strings.Compare(a.String(), b.String()) })
	p.podCIDRs = slices.Compact(p.podCIDRs)
	return p, nil
}

// cniConfig is the node's CNI configuration for its Pod range. Pure.
func cniConfig(podCIDR netip.Prefix) []byte {
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "podcluster",
		"plugins": []any{
			map[string]any{
				"type": "bridge", "bridge": "cni0", "isGateway": true, "hairpinMode": true,
				// Masquerading is the agent's, by destination (see masqRules):
				// the bridge's own would hide Pods from Pods of other nodes.
				"ipMasq": false,
				"ipam": map[string]any{
					"type":   "host-local",
					"ranges": [][]map[string]string{{{"subnet": podCIDR.String()}}},
					"routes": []map[string]string{{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	b, _ := json.MarshalIndent(conf, "", "  ")
	return append(b, '\n')
}

// masqRules are the rules of masqChain, as iptables arguments: traffic to any
// node's Pods returns unchanged, everything else is masqueraded. Pure.
func masqRules(p *plan) [][]string {
	var rules [][]string
	for _, c := range p.podCIDRs {
		rules = append(rules, []string{"-d", c.String(), "-j", "RETURN"})
	}
	return append(rules, []string{"-j", "MASQUERADE"})
}

func (a *agent) apply(ctx context.Context, p *plan) error {
	if err := writeIfChanged(filepath.Join(a.hostRoot, a.cniFile), cniConfig(p.podCIDR)); err != nil {
		return err
	}
	h := host{root: a.hostRoot}
	if err := h.syncRoutes(ctx, p.routes); err != nil {
		return err
	}
	return h.syncMasquerade(ctx, p)
}

// host runs the node's own commands, in its root filesystem.
type host struct{ root string }

func (h host) run(ctx context.Context, name string, args ...string) (string, error) {
	return run(ctx, h.root, name, args...)
}

// writeIfChanged replaces file with data, atomically, unless it holds it
// already: the kubelet reads the directory whenever it likes.
func writeIfChanged(file string, data []byte) error {
	if old, err := os.ReadFile(file); err == nil && string(old) == string(data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(file), "."+filepath.Base(file)+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil { //nolint:gosec // a CNI configuration is public
		return err
	}
	return os.Rename(tmp, file)
}

// syncRoutes makes the agent's routes exactly want.
func (h host) syncRoutes(ctx context.Context, want []route) error {
	out, err := h.run(ctx, "ip", "-json", "route", "show", "proto", routeProtocol)
	if err != nil {
		return fmt.Errorf("listing routes: %w", err)
	}
	have, err := parseRoutes([]byte(out))
	if err != nil {
		return err
	}
	for _, r := range want {
		if slices.Contains(have, r) {
			continue
		}
		if _, err := h.run(ctx, "ip", "route", "replace", r.dst.String(), "via", r.via.String(), "proto", routeProtocol); err != nil {
			return fmt.Errorf("adding the route %s: %w", r, err)
		}
	}
	for _, r := range have {
		if !slices.ContainsFunc(want, func(w route) bool { return w.dst == r.dst }) {
			if _, err := h.run(ctx, "ip", "route", "del", r.dst.String(), "proto", routeProtocol); err != nil {
				return fmt.Errorf("removing the route %s: %w", r, err)
			}
		}
	}
	return nil
}

// parseRoutes reads `ip -json route show`. Pure.
func parseRoutes(data []byte) ([]route, error) {
	if strings.TrimSpace(string(data)) == "" {
		return nil, nil
	}
	var list []struct {
		Dst     string `json:"dst"`
		Gateway string `json:"gateway"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("reading routes: %w", err)
	}
	var out []route
	for _, r := range list {
		dst, err1 := netip.ParsePrefix(r.Dst)
		via, err2 := netip.ParseAddr(r.Gateway)
		if err1 == nil && err2 == nil {
			out = append(out, route{dst: dst, via: via})
		}
	}
	return out, nil
}

// syncMasquerade fills masqChain anew and sends the node's Pod traffic there.
func (h host) syncMasquerade(ctx context.Context, p *plan) error {
	ipt := func(args ...string) error {
		_, err := h.run(ctx, "iptables", append([]string{"-w", "-t", "nat"}, args...)...)
		return err
	}
	if ipt("-L", masqChain, "-n") != nil {
		if err := ipt("-N", masqChain); err != nil {
			return fmt.Errorf("creating the chain %s: %w", masqChain, err)
		}
	}
	if err := ipt("-F", masqChain); err != nil {
		return fmt.Errorf("flushing the chain %s: %w", masqChain, err)
	}
	for _, rule := range masqRules(p) {
		if err := ipt(append([]string{"-A", masqChain}, rule...)...); err != nil {
			return fmt.Errorf("filling the chain %s: %w", masqChain, err)
		}
	}
	jump := []string{"POSTROUTING", "-s", p.podCIDR.String(), "-m", "comment", "--comment", "podcluster-network", "-j", masqChain}
	if ipt(append([]string{"-C"}, jump...)...) != nil {
		if err := ipt(append([]string{"-A"}, jump...)...); err != nil {
			return fmt.Errorf("sending Pod traffic to %s: %w", masqChain, err)
		}
	}
	return nil
}

// nodePath is the PATH of the node's commands.
const nodePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// lookPathIn finds command name in the root filesystem at root, as PATH would
// there, and returns its path inside that root.
func lookPathIn(root, name string) (string, error) {
	for _, dir := range filepath.SplitList(nodePath) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(filepath.Join(root, p)); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in %s of %s", name, nodePath, root)
}

// run runs a command of the root filesystem at root ("" for this one) and
// returns its output.
func run(ctx context.Context, root, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if root != "" && root != "/" {
		// exec looked name up in this root; the command is the node's.
		path, err := lookPathIn(root, name)
		if err != nil {
			return "", err
		}
		cmd.Path, cmd.Err = path, nil
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
		cmd.Dir = "/"
		cmd.Env = []string{"PATH=" + nodePath}
	}
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && len(exit.Stderr) > 0 {
			return "", fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(string(exit.Stderr)))
		}
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return string(out), nil
}

// apiClient reads the workload cluster's API with the Pod's ServiceAccount.
type apiClient struct {
	base   string
	client *http.Client
}

const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// inClusterAPI is the API server as a Pod sees it: the kubernetes Service's
// address from the environment, the ServiceAccount's token and CA.
func inClusterAPI() (*apiClient, error) {
	hostEnv, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if hostEnv == "" || port == "" {
		return nil, errors.New("not in a Pod: $KUBERNETES_SERVICE_HOST or $KUBERNETES_SERVICE_PORT is not set")
	}
	ca, err := os.ReadFile(filepath.Join(serviceAccountDir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("%s/ca.crt holds no certificate", serviceAccountDir)
	}
	return &apiClient{
		base: "https://" + net.JoinHostPort(hostEnv, port),
		client: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		}},
	}, nil
}

// get reads path. The token is read again each time: the kubelet rotates it.
func (c *apiClient) get(ctx context.Context, path string) ([]byte, error) {
	token, err := os.ReadFile(filepath.Join(serviceAccountDir, "token"))
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}
