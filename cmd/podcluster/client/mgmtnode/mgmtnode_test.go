package mgmtnode

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"

	"github.com/podcluster/podcluster/internal/scheme"
)

func TestPodViewOf(t *testing.T) {
	for _, tc := range []struct {
		base, ip, prefix, view string
	}{
		{base: "127.71.1.1", ip: "127.71.1.1", prefix: "127.71.0.0/16", view: "10.72.1.1"},
		{base: "127.71.1.1", ip: "127.71.3.200", prefix: "127.71.0.0/16", view: "10.72.3.200"},
		{base: "127.1.0.1", ip: "127.1.0.1", prefix: "127.1.0.0/16", view: "10.72.0.1"},
	} {
		t.Run(tc.ip, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(LoadBalancerPrefix(netip.MustParseAddr(tc.base)).String()).To(Equal(tc.prefix))
			g.Expect(PodViewOf(netip.MustParseAddr(tc.ip)).String()).To(Equal(tc.view))
		})
	}
}

func TestCNIConfig(t *testing.T) {
	g := NewWithT(t)
	b, err := cniConfig("/state/ipam")
	g.Expect(err).NotTo(HaveOccurred())
	var conf struct {
		Plugins []map[string]any `json:"plugins"`
	}
	g.Expect(json.Unmarshal(b, &conf)).To(Succeed())
	g.Expect(conf.Plugins).To(HaveLen(3))
	// The loopback plugin runs first: it needs no previous result.
	g.Expect(conf.Plugins[0]["type"]).To(Equal(loopbackPluginName))
	g.Expect(conf.Plugins[1]["type"]).To(Equal("bridge"))
	g.Expect(conf.Plugins[1]["bridge"]).To(Equal(BridgeName))
	g.Expect(string(b)).To(ContainSubstring(`"dataDir": "/state/ipam"`))
}

// TestLoopbackPlugin checks the plugin's shell syntax and its answers to
// VERSION and to a command it ignores.
func TestLoopbackPlugin(t *testing.T) {
	g := NewWithT(t)
	script := fmt.Sprintf(loopbackPlugin, "127.71.0.0/16", LoadBalancerSubnet)
	g.Expect(script).To(ContainSubstring("-d 127.71.0.0/16 -p tcp -j NETMAP --to 10.72.0.0/16"))
	path := t.TempDir() + "/plugin"
	g.Expect(os.WriteFile(path, []byte(script), 0o700)).To(Succeed())
	out, err := exec.Command("sh", "-n", path).CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))
	for cmd, want := range map[string]string{"VERSION": `"supportedVersions"`, "DEL": ""} {
		c := exec.Command("sh", path)
		c.Env = []string{"CNI_COMMAND=" + cmd, "PATH=/usr/bin:/bin"}
		c.Stdin = strings.NewReader(`{"cniVersion":"1.0.0"}`)
		out, err := c.Output()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(out)).To(ContainSubstring(want))
	}
}

func TestKubeletConfig(t *testing.T) {
	g := NewWithT(t)
	var conf map[string]any
	g.Expect(yaml.Unmarshal([]byte(kubeletConfig(kubeletInput{
		cgroupRoot: "/podcluster-x", runtimeEndpoint: "unix:///s/containerd.sock", podLogsDir: "/s/pod-logs",
		resolvConf: "/s/resolv.conf", clientCAFile: "/s/ca.crt",
	})), &conf)).To(Succeed())
	g.Expect(conf).To(HaveKeyWithValue("failCgroupV1", false))
	g.Expect(conf).To(HaveKeyWithValue("cgroupDriver", "cgroupfs"))
	g.Expect(conf).To(HaveKeyWithValue("cgroupRoot", "/podcluster-x"))
	g.Expect(conf).To(HaveKeyWithValue("evictionHard", HaveKeyWithValue("nodefs.available", "0%")))
}

func TestEndpoint(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c-apiserver"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "apiserver", Port: 6443}}}}
	slice := func(name string, port int32, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name,
				Labels: map[string]string{discoveryv1.LabelServiceName: "c-apiserver"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("apiserver"), Port: ptr.To(port)}},
			Endpoints:   eps,
		}
	}
	ep := func(ip string, ready, serving bool) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{Addresses: []string{ip},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready), Serving: ptr.To(serving)}}
	}
	for _, tc := range []struct {
		name    string
		slices  []*discoveryv1.EndpointSlice
		want    string
		wantErr bool
	}{
		{name: "no endpoints", wantErr: true},
		{name: "a ready endpoint wins", slices: []*discoveryv1.EndpointSlice{
			slice("a", 6443, ep("10.71.0.2", false, true), ep("10.71.0.3", true, true)),
		}, want: "10.71.0.3:6443"},
		{name: "a serving one when none is ready", slices: []*discoveryv1.EndpointSlice{
			slice("a", 6443, ep("10.71.0.2", false, false), ep("10.71.0.4", false, true)),
		}, want: "10.71.0.4:6443"},
		{name: "the slice's port", slices: []*discoveryv1.EndpointSlice{
			slice("a", 7443, ep("10.71.0.2", true, true)),
		}, want: "10.71.0.2:7443"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			b := fake.NewClientBuilder().WithScheme(scheme.New())
			for _, s := range tc.slices {
				b = b.WithObjects(s)
			}
			lb := &LoadBalancer{Client: b.Build()}
			got, err := lb.endpoint(context.Background(), svc, svc.Spec.Ports[0])
			if tc.wantErr {
				g.Expect(err).To(HaveOccurred())
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tc.want))
		})
	}
}

func TestAllocate(t *testing.T) {
	g := NewWithT(t)
	held := func(name, ip string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: ip}}}}}
	}
	c := fake.NewClientBuilder().WithScheme(scheme.New()).
		WithObjects(held("a", "127.71.1.1"), held("b", "127.71.1.3")).
		WithStatusSubresource(&corev1.Service{}).Build()
	lb := &LoadBalancer{Client: c, Base: netip.MustParseAddr("127.71.1.1")}
	ip, err := lb.allocate(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ip.String()).To(Equal("127.71.1.2"))

	// The range ends with the base's /16.
	lb.Base = netip.MustParseAddr("127.71.255.255")
	g.Expect(c.Status().Update(context.Background(), held("a", "127.71.255.255"))).To(Succeed())
	_, err = lb.allocate(context.Background())
	g.Expect(err).To(MatchError(ContainSubstring("no address left in 127.71.0.0/16")))
}

func TestForwarder(t *testing.T) {
	g := NewWithT(t)
	backend := echoServer(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	f := newForwarder(l, logr.Discard(), func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", backend.Addr().String())
	})

	c, err := net.Dial("tcp", l.Addr().String())
	g.Expect(err).NotTo(HaveOccurred())
	expectEcho(g, c)

	// close ends open connections and the listener.
	f.close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(make([]byte, 4))
	g.Expect(err).To(HaveOccurred())
	_, err = net.Dial("tcp", l.Addr().String())
	g.Expect(err).To(HaveOccurred())
}

// TestListenIn checks that a listener made with listenIn lives in the other
// network namespace: reachable with dialIn, not from the host.
func TestListenIn(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("entering a network namespace needs root")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare (util-linux) is missing")
	}
	g := NewWithT(t)
	holder := exec.Command("unshare", "--net", "--", "sh", "-c", "ip link set lo up && echo ready && exec sleep 600")
	out, err := holder.StdoutPipe()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(holder.Start()).To(Succeed())
	defer func() { _ = holder.Process.Kill(); _ = holder.Wait() }()
	line := make([]byte, 6)
	_, err = io.ReadFull(out, line)
	g.Expect(err).NotTo(HaveOccurred())
	ns := fmt.Sprintf("/proc/%d/ns/net", holder.Process.Pid)

	l, err := listenIn(ns, "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = l.Close() }()
	go func() {
		if c, err := l.Accept(); err == nil {
			_, _ = c.Write([]byte("hi"))
			_ = c.Close()
		}
	}()
	// The host has nothing there (a port chosen in another namespace may be
	// taken on the host by chance; then it is not ours either).
	if c, err := net.DialTimeout("tcp", l.Addr().String(), time.Second); err == nil {
		buf := make([]byte, 2)
		n, _ := c.Read(buf)
		g.Expect(string(buf[:n])).NotTo(Equal("hi"))
		_ = c.Close()
	}
	c, err := dialIn(ns, l.Addr().String())
	g.Expect(err).NotTo(HaveOccurred())
	buf, err := io.ReadAll(c)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(buf)).To(Equal("hi"))
}

func TestImportedNames(t *testing.T) {
	g := NewWithT(t)
	out := "unpacking podcluster.local/podcluster:b82e2cff706f (sha256:970ae4db4db4)...done\n" +
		"unpacking registry.k8s.io/pause:3.10.2 (sha256:0123)...done\n"
	g.Expect(importedNames(out)).To(Equal([]string{"podcluster.local/podcluster:b82e2cff706f", "registry.k8s.io/pause:3.10.2"}))
	g.Expect(importedNames("")).To(BeEmpty())
}

// TestEgressProxy speaks to the proxy as the API server's egress selector
// does: CONNECT over the Unix socket, then the tunnel.
func TestEgressProxy(t *testing.T) {
	g := NewWithT(t)
	backend := echoServer(t)
	socket := filepath.Join(t.TempDir(), "egress.sock")
	e, err := ListenEgress(socket, logr.Discard())
	g.Expect(err).NotTo(HaveOccurred())
	closed := false
	e.OnClose(func() { closed = true })

	connect := func(addr string) (net.Conn, *http.Response) {
		c, err := net.Dial("unix", socket)
		g.Expect(err).NotTo(HaveOccurred())
		_, err = fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", addr)
		g.Expect(err).NotTo(HaveOccurred())
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		g.Expect(err).NotTo(HaveOccurred())
		return c, res
	}
	// A host address: dialed from the host.
	c, res := connect(backend.Addr().String())
	g.Expect(res.StatusCode).To(Equal(http.StatusOK))
	expectEcho(g, c)
	_ = c.Close()

	// The management node's network, before SetNode: refused.
	c, res = connect("10.71.0.1:10250")
	g.Expect(res.StatusCode).To(Equal(http.StatusBadGateway))
	_ = c.Close()

	e.Close()
	g.Expect(closed).To(BeTrue())
	_, err = net.Dial("unix", socket)
	g.Expect(err).To(HaveOccurred())
}

// echoServer serves TCP on loopback, sending back what it reads, until the
// test ends.
func echoServer(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); _ = c.Close() }()
		}
	}()
	return l
}

// expectEcho sends "ping" on c and expects it back.
func expectEcho(g Gomega, c net.Conn) {
	_, err := c.Write([]byte("ping"))
	g.Expect(err).NotTo(HaveOccurred())
	buf := make([]byte, 4)
	_, err = io.ReadFull(c, buf)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(buf)).To(Equal("ping"))
}
