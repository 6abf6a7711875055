package integration

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/initlock"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/internal/kubeadmtest"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/kubeadmtypes"
)

func ptr[T any](v T) *T { return &v }

// seedSpec carries the seed's kubelet and controller-manager settings.
func seedSpec() bootstrapv1.KubeadmConfigSpec {
	args := []bootstrapv1.Arg{
		{Name: "eviction-hard", Value: ptr("nodefs.available<0%,nodefs.inodesFree<0%,imagefs.available<0%")},
		{Name: "cgroups-per-qos", Value: ptr("false")},
		{Name: "enforce-node-allocatable", Value: ptr("")},
	}
	return bootstrapv1.KubeadmConfigSpec{
		InitConfiguration: bootstrapv1.InitConfiguration{NodeRegistration: bootstrapv1.NodeRegistrationOptions{KubeletExtraArgs: args}},
		JoinConfiguration: bootstrapv1.JoinConfiguration{NodeRegistration: bootstrapv1.NodeRegistrationOptions{KubeletExtraArgs: args}},
		ClusterConfiguration: bootstrapv1.ClusterConfiguration{ControllerManager: bootstrapv1.ControllerManager{
			ControlPlaneComponent: bootstrapv1.ControlPlaneComponent{
				ExtraArgs: []bootstrapv1.Arg{{Name: "enable-hostpath-provisioner", Value: ptr("true")}}}}},
	}
}

// TestInitAndJoins: the first control-plane Machine gets kubeadm init data
// with the cluster certificates; once the control plane is initialized, a
// worker and a second control-plane Machine get join data with a token that
// exists in the workload cluster's kube-system.
func TestInitAndJoins(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "flows")

	initConfig := newMachine(g, c, "cp0", true, "v1.37.2", seedSpec())
	data := dataOf(g, initConfig)
	g.Expect(data).To(HavePrefix("#cloud-config\n"))
	g.Expect(data).To(ContainSubstring("kubeadm init --config /run/kubeadm/kubeadm.yaml"))
	g.Expect(data).To(ContainSubstring("/run/cluster-api/bootstrap-success.complete"))
	for _, f := range []string{"ca.crt", "ca.key", "etcd/ca.crt", "etcd/ca.key", "front-proxy-ca.crt", "front-proxy-ca.key", "sa.pub", "sa.key"} {
		g.Expect(writtenFile(g, data, "/etc/kubernetes/pki/"+f)).NotTo(BeEmpty(), f)
	}
	initYAML := writtenFile(g, data, "/run/kubeadm/kubeadm.yaml")
	for _, want := range []string{"kind: InitConfiguration", "kind: ClusterConfiguration", "kubernetesVersion: v1.37.2",
		"controlPlaneEndpoint: 10.0.0.10:6443", "podSubnet: 192.168.0.0/16", "serviceSubnet: 172.16.0.0/12", "dnsDomain: cluster.local",
		"clusterName: flows", "enable-hostpath-provisioner", "eviction-hard"} {
		g.Expect(initYAML).To(ContainSubstring(want))
	}
	kubeadmtest.ValidateKubeadmConfig(t, []byte(initYAML))
	for _, suffix := range []string{"ca", "etcd", "proxy", "sa"} {
		s := &corev1.Secret{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "flows-" + suffix}, s)).To(Succeed())
		g.Expect(s.Data).To(HaveKey("tls.crt"))
		g.Expect(s.Data).To(HaveKey("tls.key"))
		g.Expect(s.Labels).To(HaveKeyWithValue(clusterv1.ClusterNameLabel, "flows"))
	}
	g.Eventually(func() *metav1.Condition { return condition(g, initConfig, bootstrapv1.KubeadmConfigReadyCondition) }, 10*time.Second).Should(
		And(HaveField("Status", metav1.ConditionTrue), HaveField("Reason", bootstrapv1.KubeadmConfigReadyReason)))
	g.Expect(condition(g, initConfig, bootstrapv1.KubeadmConfigDataSecretAvailableCondition)).To(
		HaveField("Reason", bootstrapv1.KubeadmConfigDataSecretAvailableReason))
	g.Expect(condition(g, initConfig, bootstrapv1.KubeadmConfigCertificatesAvailableCondition)).To(
		HaveField("Reason", bootstrapv1.KubeadmConfigCertificatesAvailableReason))

	// A worker waits until the control plane is initialized.
	worker := newMachine(g, c, "w0", false, "v1.37.2", seedSpec())
	g.Eventually(func() *metav1.Condition {
		return condition(g, worker, bootstrapv1.KubeadmConfigDataSecretAvailableCondition)
	}, 10*time.Second).Should(And(
		HaveField("Reason", bootstrapv1.KubeadmConfigDataSecretNotAvailableReason),
		HaveField("Message", ContainSubstring("waiting for the control plane to be initialized"))))
	g.Expect(condition(g, worker, bootstrapv1.KubeadmConfigReadyCondition)).To(
		HaveField("Reason", bootstrapv1.KubeadmConfigNotReadyReason))
	setInitialized(g, c)

	workerData := dataOf(g, worker)
	g.Expect(workerData).To(ContainSubstring("kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml"))
	g.Expect(writtenFile(g, workerData, "/etc/kubernetes/pki/ca.key")).To(BeEmpty(), "workers never get CA keys")
	joinYAML := writtenFile(g, workerData, "/run/kubeadm/kubeadm-join-config.yaml")
	kubeadmtest.ValidateKubeadmConfig(t, []byte(joinYAML))
	ca := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "flows-ca"}, ca)).To(Succeed())
	hash, err := kubeadmtypes.CACertHash(ca.Data["tls.crt"])
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(joinYAML).To(ContainSubstring(hash))
	g.Expect(joinYAML).To(ContainSubstring("apiServerEndpoint: 10.0.0.10:6443"))

	// The token exists in the workload cluster with kubeadm's usages and group.
	token := tokenIn(joinYAML)
	g.Expect(kubeadmtypes.ValidateToken(token)).To(Succeed())
	id, secretPart, _ := strings.Cut(token, ".")
	tokenSecret := &corev1.Secret{}
	g.Expect(workload.Client.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: "bootstrap-token-" + id}, tokenSecret)).To(Succeed())
	g.Expect(tokenSecret.Type).To(Equal(corev1.SecretType("bootstrap.kubernetes.io/token")))
	g.Expect(string(tokenSecret.Data["token-secret"])).To(Equal(secretPart))
	g.Expect(string(tokenSecret.Data["usage-bootstrap-authentication"])).To(Equal("true"))
	g.Expect(string(tokenSecret.Data["usage-bootstrap-signing"])).To(Equal("true"))
	g.Expect(string(tokenSecret.Data["auth-extra-groups"])).To(Equal("system:bootstrappers:kubeadm:default-node-token"))

	// The token is refreshed while the Machine has no Node...
	first := string(tokenSecret.Data["expiration"])
	g.Eventually(func() string {
		s := &corev1.Secret{}
		g.Expect(workload.Client.Get(ctx, client.ObjectKeyFromObject(tokenSecret), s)).To(Succeed())
		return string(s.Data["expiration"])
	}, 20*time.Second, 500*time.Millisecond).ShouldNot(Equal(first))
	// ...and left to expire once it has one.
	m := &clusterv1.Machine{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "w0"}, m)).To(Succeed())
	m.Status.NodeRef = clusterv1.MachineNodeReference{Name: "w0"}
	g.Expect(env.Client.Status().Update(ctx, m)).To(Succeed())
	// While the controller refreshes, the token never gets within a third of
	// its TTL of expiring; so the token expiring proves the refreshes stopped.
	// No token cleaner runs in envtest, so the expired Secret stays to be read.
	expiration := func() time.Time {
		s := &corev1.Secret{}
		g.Expect(workload.Client.Get(ctx, client.ObjectKeyFromObject(tokenSecret), s)).To(Succeed())
		t, err := time.Parse(time.RFC3339, string(s.Data["expiration"]))
		g.Expect(err).NotTo(HaveOccurred())
		return t
	}
	g.Eventually(func() bool { return time.Now().After(expiration()) }, 3*tokenTTL, 250*time.Millisecond).Should(BeTrue(),
		"the token expires once the Machine has a Node")
	// And it stays expired: a refresh would move an expired token's expiration at once.
	expired := expiration()
	g.Consistently(expiration, tokenTTL/2, 250*time.Millisecond).Should(Equal(expired))

	// A second control-plane Machine joins as a control plane, with the certificates.
	cpJoin := newMachine(g, c, "cp1", true, "v1.37.2", seedSpec())
	cpData := dataOf(g, cpJoin)
	g.Expect(cpData).To(ContainSubstring("kubeadm join"))
	g.Expect(writtenFile(g, cpData, "/etc/kubernetes/pki/ca.key")).To(Equal(string(ca.Data["tls.key"])))
	cpJoinYAML := writtenFile(g, cpData, "/run/kubeadm/kubeadm-join-config.yaml")
	g.Expect(cpJoinYAML).To(ContainSubstring("controlPlane:"))
	kubeadmtest.ValidateKubeadmConfig(t, []byte(cpJoinYAML))
}

func tokenIn(joinYAML string) string {
	for _, line := range strings.Split(joinYAML, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "token: "); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// TestExactlyOneInit: two control-plane Machines that appear at the same
// moment produce exactly one kubeadm init.
func TestExactlyOneInit(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "race")
	var wg sync.WaitGroup
	configs := make([]*bootstrapv1.KubeadmConfig, 2)
	for i, name := range []string{"cp-a", "cp-b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			configs[i] = newMachine(NewWithT(t), c, name, true, "v1.37.2", seedSpec())
		}()
	}
	wg.Wait()
	g.Eventually(func() int { return countSecrets(g, ns, configs) }, 30*time.Second, 100*time.Millisecond).Should(Equal(1))
	g.Consistently(func() int { return countSecrets(g, ns, configs) }, 3*time.Second, 200*time.Millisecond).Should(Equal(1))
	lock := &corev1.ConfigMap{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: initlock.Name("race")}, lock)).To(Succeed())
	loser := configs[0]
	if lock.Data[initlock.HolderKey] == "cp-a" {
		loser = configs[1]
	}
	// A first status that says the config waits is written once it has
	// lasted the settle period (5 s).
	g.Eventually(func(g Gomega) {
		cond := condition(g, loser, bootstrapv1.KubeadmConfigDataSecretAvailableCondition)
		g.Expect(cond).NotTo(BeNil())
		g.Expect(cond.Message).To(ContainSubstring("to initialize the control plane"))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
}

func countSecrets(g Gomega, ns string, configs []*bootstrapv1.KubeadmConfig) int {
	n := 0
	for _, c := range configs {
		if env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: c.Name}, &corev1.Secret{}) == nil {
			n++
		}
	}
	return n
}

// TestLockReleasedWhenInitialized: the init lock goes as soon as the Cluster
// reports its control plane initialized, before any Machine joins: the init
// Machine's config, whose data exists, is woken for it.
func TestLockReleasedWhenInitialized(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "release")
	g.Expect(dataOf(g, newMachine(g, c, "cp", true, "v1.37.2", seedSpec()))).To(ContainSubstring("kubeadm init"))
	key := client.ObjectKey{Namespace: ns, Name: initlock.Name("release")}
	g.Expect(env.Client.Get(ctx, key, &corev1.ConfigMap{})).To(Succeed())
	setInitialized(g, c)
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, key, &corev1.ConfigMap{}))
	}, 30*time.Second, 100*time.Millisecond).Should(BeTrue(), "the init lock outlived initialization")
}

// TestLockHolderDisappears: the init lock of a Machine that is gone is taken over.
func TestLockHolderDisappears(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "takeover")
	g.Expect(env.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: initlock.Name("takeover")},
		Data: map[string]string{initlock.HolderKey: "vanished"}})).To(Succeed())
	config := newMachine(g, c, "cp", true, "v1.37.2", seedSpec())
	g.Expect(dataOf(g, config)).To(ContainSubstring("kubeadm init"))
}

// TestCertificatesSurviveRestartAndComeFromTheUser: certificates are made
// once and reused after a controller restart; a CA the user put there first
// is the one used.
func TestCertificatesSurviveRestartAndComeFromTheUser(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "certs")
	g.Expect(env.Client.Create(ctx, userCA(ns, "certs-ca"))).To(Succeed())
	initData := dataOf(g, newMachine(g, c, "cp", true, "v1.37.2", seedSpec()))
	g.Expect(writtenFile(g, initData, "/etc/kubernetes/pki/ca.crt")).To(Equal(userCACert))

	before := map[string]string{}
	for _, suffix := range []string{"ca", "etcd", "proxy", "sa"} {
		s := &corev1.Secret{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "certs-" + suffix}, s)).To(Succeed())
		before[suffix] = string(s.UID) + string(s.Data["tls.crt"])
	}
	stopManager()
	g.Expect(startManager()).To(Succeed())
	setInitialized(g, c)
	cpData := dataOf(g, newMachine(g, c, "cp2", true, "v1.37.2", seedSpec()))
	g.Expect(writtenFile(g, cpData, "/etc/kubernetes/pki/etcd/ca.crt")).To(Equal(writtenFile(g, initData, "/etc/kubernetes/pki/etcd/ca.crt")))
	for suffix, was := range before {
		s := &corev1.Secret{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "certs-" + suffix}, s)).To(Succeed())
		g.Expect(string(s.UID)+string(s.Data["tls.crt"])).To(Equal(was), suffix)
	}
}

// TestBadInputIsReportedAndWritesNothing: a missing contentFrom Secret, an
// invalid permission and a version that is not semver each give a clear
// condition, and no data Secret.
func TestBadInputIsReportedAndWritesNothing(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "bad")
	g.Expect(env.Client.Create(context.Background(), userCA(ns, "bad-ca"))).To(Succeed())
	setInitialized(g, c)
	cases := []struct {
		name, version string
		files         []bootstrapv1.File
		nodeLabels    string
		want          string
	}{
		{"missing-secret", "v1.37.2", []bootstrapv1.File{{Path: "/etc/x", ContentFrom: bootstrapv1.FileSource{Secret: bootstrapv1.SecretFileSource{Name: "nope", Key: "k"}}}},
			"", "spec.files[0].contentFrom: Secret nope not found"},
		// Bad permissions are refused at admission now; a node label only
		// the kubelet would refuse is not.
		{"bad-node-label", "v1.37.2", nil, "node-role.kubernetes.io/worker=",
			`spec.joinConfiguration.nodeRegistration.kubeletExtraArgs node-labels "node-role.kubernetes.io/worker="`},
		{"bad-version", "1.37", nil, "", "spec.version"},
	}
	for _, tc := range cases {
		spec := seedSpec()
		spec.Files = tc.files
		if tc.nodeLabels != "" {
			spec.JoinConfiguration.NodeRegistration.KubeletExtraArgs = append(spec.JoinConfiguration.NodeRegistration.KubeletExtraArgs,
				bootstrapv1.Arg{Name: "node-labels", Value: ptr(tc.nodeLabels)})
		}
		config := newMachine(g, c, tc.name, false, tc.version, spec)
		g.Eventually(func(g Gomega) {
			cond := condition(g, config, bootstrapv1.KubeadmConfigDataSecretAvailableCondition)
			g.Expect(cond).NotTo(BeNil())
			g.Expect(cond.Reason).To(Equal(bootstrapv1.KubeadmConfigDataSecretAvailableInvalidConfigurationReason))
			g.Expect(cond.Message).To(ContainSubstring(tc.want))
		}, 20*time.Second, 200*time.Millisecond).Should(Succeed(), tc.name)
		g.Expect(countSecrets(g, ns, []*bootstrapv1.KubeadmConfig{config})).To(Equal(0), tc.name)
	}
}

// TestSpecChangeAfterUseIsReported: a KubeadmConfig is immutable once used.
func TestSpecChangeAfterUseIsReported(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(g, ns, "immutable")
	config := newMachine(g, c, "cp", true, "v1.37.2", seedSpec())
	data := dataOf(g, config)
	g.Eventually(func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(config), config); err != nil {
			return err
		}
		config.Spec.PreKubeadmCommands = []string{"echo changed"}
		return env.Client.Update(ctx, config)
	}, 20*time.Second, 50*time.Millisecond).Should(Succeed())
	g.Eventually(func() string {
		cond := condition(g, config, bootstrapv1.KubeadmConfigDataSecretAvailableCondition)
		if cond == nil {
			return ""
		}
		return cond.Reason
	}, 20*time.Second, 200*time.Millisecond).Should(Equal(bootstrapv1.KubeadmConfigDataSecretAvailableSpecChangedReason))
	g.Expect(dataOf(g, config)).To(Equal(data), "the data is not regenerated")
}
