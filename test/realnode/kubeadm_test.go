package realnode

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/bootstrapdata"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/cloudinit"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/kubeadmtypes"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/bootscript"
	"github.com/podcluster/podcluster/infrastructure/kubernetes/nodepod"
	"github.com/podcluster/podcluster/internal/pki"
	"github.com/podcluster/podcluster/test/testenv"
)

const (
	// namespace is the containerd namespace of the test's containers, and so
	// the name of their parent cgroup.
	namespace = "podcluster-realnode"
	nodeName  = "realnode-control-plane"
	// nodeAddress is the node's address on a veth pair inside its own network
	// namespace; its "gateway" is the pair's other end, so nothing the node
	// sends can leave the namespace.
	nodeAddress = "10.99.0.2"
	gateway     = "10.99.0.1"
	podSubnet   = "10.244.0.0/16"
	// sigRTMin3 is SIGRTMIN+3, which makes systemd shut down.
	sigRTMin3 = "37"
	// buildEnv lets the test build a missing node image.
	buildEnv = "PODCLUSTER_BUILD_NODE_IMAGE"
	// buildTimeout bounds a cold node-image build.
	buildTimeout = 40 * time.Minute
)

// TestKubeadmInit runs the node image as the first control-plane machine of a
// cluster, booted by podcluster's boot path with podcluster's bootstrap data,
// and checks that kubeadm init makes a Ready node whose control plane and
// add-ons run.
func TestKubeadmInit(t *testing.T) {
	requireHost(t)
	image, archive := nodeImage(t)

	// Registered first, so it runs after everything else is cleaned up.
	sysctlsBefore := procSys(t)
	t.Cleanup(func() {
		if changed := sysctlChanges(sysctlsBefore, procSys(t)); len(changed) > 0 {
			t.Errorf("the host's kernel settings changed:\n%s", strings.Join(changed, "\n"))
		}
		if dirs := cgroupDirs(namespace); len(dirs) > 0 {
			t.Errorf("cgroups left behind: %v", dirs)
		}
	})

	c := startContainerd(t, namespace)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	start := time.Now()
	if _, err := c.ctr(ctx, "images", "import", archive); err != nil {
		t.Fatalf("importing the node image: %v", err)
	}
	t.Logf("imported %s in %s", image, time.Since(start).Round(100*time.Millisecond))

	volumes := t.TempDir()
	boot := filepath.Join(volumes, "podcluster")
	writeBootFiles(t, boot, bootstrapScript(t))
	vars := map[string]string{} // volume -> host folder
	for _, v := range []string{"var", nodepod.VarLibContainerdVolume, nodepod.VarLibEtcdVolume} {
		vars[v] = filepath.Join(volumes, v)
		if err := os.MkdirAll(vars[v], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bind := func(src, dst, mode string) string {
		return "type=bind,src=" + src + ",dst=" + dst + ",options=rbind:" + mode
	}

	// The seed-volumes init container: the image's /var into the empty volumes.
	start = time.Now()
	seed := []string{"run", "--rm", "--fifo-dir", c.fifoDir(), "--runc-root", c.runcRoot(),
		"--mount", bind(boot, nodepod.BootMountPath, "ro"),
		"--mount", bind(vars["var"], "/seed/var", "rw"),
		"--mount", bind(vars[nodepod.VarLibContainerdVolume], "/seed/"+nodepod.VarLibContainerdVolume, "rw"),
		"--mount", bind(vars[nodepod.VarLibEtcdVolume], "/seed/"+nodepod.VarLibEtcdVolume, "rw"),
		image, "realnode-seed", "/bin/bash", filepath.Join(nodepod.BootMountPath, nodepod.SeedVolumesKey),
		"/var:/seed/var", "/var/lib/containerd:/seed/" + nodepod.VarLibContainerdVolume,
		"/var/lib/etcd:/seed/" + nodepod.VarLibEtcdVolume}
	out, err := c.ctr(ctx, seed...)
	c.removeContainer(t, "realnode-seed", "SIGKILL", 0)
	if err != nil {
		t.Fatalf("seed-volumes: %v", err)
	}
	t.Logf("seeded the volumes in %s:\n%s", time.Since(start).Round(100*time.Millisecond), strings.TrimSpace(out))

	// The node container, as the node Pod runs it.
	start = time.Now()
	nodeLog := filepath.Join(volumes, "node.log")
	// The kubelet gives a container a termination-log file; bootstrap.sh
	// writes why it failed there.
	terminationLog := filepath.Join(volumes, "termination-log")
	if err := os.WriteFile(terminationLog, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopped := time.Now()
		c.removeContainer(t, nodeName, sigRTMin3, 30*time.Second)
		t.Logf("stopped and removed the node in %s", time.Since(stopped).Round(100*time.Millisecond))
		if t.Failed() {
			if b, err := os.ReadFile(nodeLog); err == nil {
				t.Logf("node console (tail):\n%s", tail(string(b), 60))
			}
		}
	})
	nodeRun := []string{"run", "--detach", "--runc-root", c.runcRoot(), "--privileged", "--env", "container=docker",
		"--log-uri", "file://" + nodeLog,
		"--mount", bind(boot, nodepod.BootMountPath, "ro"),
		"--mount", bind(terminationLog, nodepod.TerminationMessagePath, "rw"),
		// The cgroup file system, as the CRI plugin gives every container (ctr
		// gives none by default).
		"--mount", "type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=rw:nosuid:nodev:noexec:relatime",
		"--mount", "type=tmpfs,src=tmpfs,dst=/run,options=nosuid:nodev:mode=755",
		"--mount", "type=tmpfs,src=tmpfs,dst=/tmp,options=nosuid:nodev:mode=1777",
		"--mount", bind(vars["var"], "/var", "rw"),
		"--mount", bind(vars[nodepod.VarLibContainerdVolume], "/var/lib/containerd", "rw"),
		"--mount", bind(vars[nodepod.VarLibEtcdVolume], "/var/lib/etcd", "rw"),
	}
	if _, err := os.Stat("/lib/modules"); err == nil {
		nodeRun = append(nodeRun, "--mount", bind("/lib/modules", "/lib/modules", "ro"))
	}
	nodeRun = append(nodeRun, image, nodeName, "/bin/bash", filepath.Join(nodepod.BootMountPath, nodepod.EntrypointKey))
	if _, err := c.ctr(ctx, nodeRun...); err != nil {
		t.Fatalf("starting the node: %v", err)
	}

	// Bootstrap: podcluster-bootstrap.service runs bootstrap.sh (kubeadm init)
	// and marks success; on failure the node's systemd exits.
	waitFor(ctx, t, 10*time.Minute, "the bootstrap to succeed", func() (bool, string) {
		if !c.taskRunning(ctx, nodeName) {
			msg, _ := os.ReadFile(terminationLog)
			t.Fatalf("the node stopped before its bootstrap succeeded; its termination message:\n%s", msg)
		}
		if _, err := c.exec(ctx, nodeName, "test", "-f", nodepod.BootstrapSuccessFile); err == nil {
			return true, ""
		}
		if msg, err := c.exec(ctx, nodeName, "cat", nodepod.BootstrapFailureFile); err == nil {
			t.Fatalf("the bootstrap failed:\n%s", msg)
		}
		st, _ := c.exec(ctx, nodeName, "systemctl", "is-system-running")
		return false, "systemd " + strings.TrimSpace(st)
	})
	t.Logf("bootstrap (systemd, image import, kubeadm init) succeeded %s after the node started",
		time.Since(start).Round(100*time.Millisecond))
	for _, unit := range []string{"containerd.service", "podcluster-preload-images.service", "podcluster-bootstrap.service"} {
		out, _ := c.exec(ctx, nodeName, "systemctl", "show", "--property=ExecMainStartTimestampMonotonic",
			"--property=ExecMainExitTimestampMonotonic", "--property=ActiveEnterTimestampMonotonic", unit)
		t.Logf("%s: %s", unit, strings.Join(strings.Fields(out), " "))
	}

	kubectl := func(args ...string) (string, error) {
		return c.exec(ctx, nodeName, append([]string{"kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf"}, args...)...)
	}
	waitFor(ctx, t, 3*time.Minute, "the node to be Ready", func() (bool, string) {
		out, err := kubectl("get", "node", nodeName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		return err == nil && out == "True", out
	})
	t.Logf("node Ready %s after the node started", time.Since(start).Round(100*time.Millisecond))

	// The static Pods of the control plane, kube-proxy and CoreDNS run and are ready.
	want := []string{
		"etcd-" + nodeName, "kube-apiserver-" + nodeName, "kube-controller-manager-" + nodeName,
		"kube-scheduler-" + nodeName, "kube-proxy-", "coredns-",
	}
	waitFor(ctx, t, 3*time.Minute, "the kube-system Pods to be ready", func() (bool, string) {
		out, err := kubectl("get", "pods", "--namespace", "kube-system", "-o", "json")
		if err != nil {
			return false, err.Error()
		}
		ready := readyPods(t, out)
		var missing []string
		for _, prefix := range want {
			if !hasPrefix(ready, prefix) {
				missing = append(missing, prefix)
			}
		}
		return len(missing) == 0, "not ready: " + strings.Join(missing, ", ")
	})
	out, _ = kubectl("get", "nodes,pods", "--all-namespaces", "-o", "wide")
	t.Logf("ready %s after the node started:\n%s", time.Since(start).Round(100*time.Millisecond), out)
}

// nodeImage returns the node image's name and OCI archive. A missing image
// is built only when $PODCLUSTER_BUILD_NODE_IMAGE is 1 (make test-realnode
// sets it): a cold build takes minutes, longer than `make test` should wait, so
// the test skips instead and says how to build it.
func nodeImage(t *testing.T) (image, archive string) {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(root, "hack", "node-image", "build.sh")
	out, err := exec.Command(script, "--print-dir").Output()
	if err != nil {
		t.Fatalf("hack/node-image/build.sh --print-dir: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	if _, err := os.Stat(filepath.Join(dir, "node-image.tar")); err != nil {
		if os.Getenv(buildEnv) != "1" {
			t.Skipf("the node image for this tree is not built (%s is missing); run `make node-image` "+
				"(minutes), or set %s=1 to let the test build it", dir, buildEnv)
		}
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		start := time.Now()
		cmd := exec.CommandContext(ctx, script)
		cmd.Stderr = &testWriter{t: t}
		if err := cmd.Run(); err != nil {
			t.Fatalf("hack/node-image/build.sh: %v", err)
		}
		t.Logf("built the node image in %s", time.Since(start).Round(time.Second))
	}
	name, err := os.ReadFile(filepath.Join(dir, "image-name"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(name)), filepath.Join(dir, "node-image.tar")
}

// testWriter logs a command's progress through the test's log.
type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// bootstrapScript renders what podcluster would give the first control-plane
// machine: the KubeadmConfig's cloud-config (bootstrapdata, with real cluster
// CAs) converted into the node's bootstrap.sh (bootscript). The spec is like
// the example clusters' (examples/kcp), plus what a node Pod gets from its
// management cluster and this test has to provide itself: a network interface
// with an address and a default route, resolv.conf and hosts files, a host
// name, and a CNI
// configuration so that the node can become Ready.
func bootstrapScript(t *testing.T) []byte {
	t.Helper()
	// examples/kcp also sets cgroups-per-qos=false and enforce-node-allocatable="";
	// with the systemd cgroup driver the kubelet then gives containerd no
	// cgroup parent and runc refuses every sandbox ("expected cgroupsPath to be
	// of format slice:prefix:name"), so a real node keeps the QoS cgroups.
	kubeletArgs := []bootstrapv1.Arg{
		{Name: "eviction-hard", Value: new("nodefs.available<0%,nodefs.inodesFree<0%,imagefs.available<0%")},
	}
	network := strings.Join([]string{
		"ip link show eth0 >/dev/null 2>&1 || {",
		"ip link add eth0 type veth peer name gw0 &&",
		"ip link set gw0 up &&",
		"ip address add " + nodeAddress + "/24 dev eth0 &&",
		"ip link set eth0 up &&",
		"ip route add default via " + gateway + "; }",
	}, " ")
	spec := bootstrapv1.KubeadmConfigSpec{
		InitConfiguration: bootstrapv1.InitConfiguration{
			NodeRegistration: bootstrapv1.NodeRegistrationOptions{KubeletExtraArgs: kubeletArgs},
		},
		Files: []bootstrapv1.File{
			{Path: "/etc/cni/net.d/10-bridge.conflist", Permissions: "0644", Content: bridgeCNI(t)},
			{Path: "/etc/resolv.conf", Permissions: "0644", Content: "nameserver " + gateway + "\n"},
			{Path: "/etc/hosts", Permissions: "0644", Content: "127.0.0.1 localhost\n" + nodeAddress + " " + nodeName + "\n"},
		},
		PreKubeadmCommands: []string{"hostname " + nodeName, network},
	}
	data, err := bootstrapdata.Render(bootstrapdata.Input{
		Role: bootstrapdata.RoleInit,
		Spec: spec,
		Cluster: kubeadmtypes.ClusterInputs{
			ClusterName: "realnode", ControlPlaneEndpoint: nodeAddress + ":6443", KubernetesVersion: "v1.37.2",
			PodSubnet: podSubnet, ServiceSubnet: "10.96.0.0/12", DNSDomain: "cluster.local",
		},
		Certificates: clusterCertificates(t),
	})
	if err != nil {
		t.Fatalf("rendering the bootstrap data: %v", err)
	}
	script, err := bootscript.Convert(data)
	if err != nil {
		t.Fatalf("converting the cloud-config: %v", err)
	}
	return script
}

// clusterCertificates makes the cluster's CAs and service-account key, as the
// KubeadmConfig controller does.
func clusterCertificates(t *testing.T) cloudinit.Certificates {
	t.Helper()
	ca := func(cn string) cloudinit.KeyPair {
		kp, err := pki.NewCA(cn, pki.RSA2048, pki.CAValidity)
		if err != nil {
			t.Fatal(err)
		}
		return cloudinit.KeyPair{Cert: kp.CertPEM, Key: kp.KeyPEM}
	}
	priv, pub, err := pki.NewServiceAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	return cloudinit.Certificates{
		CA: ca("kubernetes"), EtcdCA: ca("etcd-ca"), FrontProxyCA: ca("front-proxy-ca"),
		ServiceAccount: cloudinit.KeyPair{Cert: pub, Key: priv},
	}
}

// bridgeCNI is a one-node Pod network: a bridge with host-local addresses.
func bridgeCNI(t *testing.T) string {
	t.Helper()
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "realnode",
		"plugins": []any{map[string]any{
			"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
			"ipam": map[string]any{
				"type":   "host-local",
				"ranges": [][]map[string]string{{{"subnet": "10.244.0.0/24"}}},
				"routes": []map[string]string{{"dst": "0.0.0.0/0"}},
			},
		}},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// writeBootFiles writes the boot Secret's files as the node Pod mounts them.
func writeBootFiles(t *testing.T, dir string, script []byte) {
	t.Helper()
	files := nodepod.BootFiles()
	files[nodepod.BootstrapScriptKey] = string(script)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), os.FileMode(nodepod.BootFileMode)); err != nil {
			t.Fatal(err)
		}
	}
}

// readyPods returns the names of the Pods in a `kubectl get pods -o json`
// whose Ready condition is True.
func readyPods(t *testing.T, list string) []string {
	t.Helper()
	var pods struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Status struct {
				Conditions []struct {
					Type   string `json:"type"`
					Status string `json:"status"`
				} `json:"conditions"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(list), &pods); err != nil {
		t.Fatalf("parsing kubectl's Pod list: %v", err)
	}
	var ready []string
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == "Ready" && c.Status == "True" {
				ready = append(ready, p.Metadata.Name)
			}
		}
	}
	return ready
}

func hasPrefix(names []string, prefix string) bool {
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// waitFor polls check every two seconds until it reports done, and fails the
// test with check's last word at the timeout.
func waitFor(ctx context.Context, t *testing.T, timeout time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		done, last := check()
		if done {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("timed out after %s waiting for %s: %s", timeout, what, last)
		}
		time.Sleep(2 * time.Second)
	}
}
