package localplane

import (
	"context"
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/podcluster/podcluster/cmd/podcluster/client/tools"
)

// TestPlaneBehavesLikeACluster starts a real plane, checks that garbage
// collection and namespace deletion work (the controller-manager's job), stops
// it, and starts it again on the same state: the objects are still there.
func TestPlaneBehavesLikeACluster(t *testing.T) {
	g := NewWithT(t)
	bin, err := tools.EnsureBinDir(os.Stderr, "etcd", "kube-apiserver", "kube-controller-manager")
	g.Expect(err).NotTo(HaveOccurred())
	state := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	plane, err := Start(ctx, Options{StateDir: state, BinDir: bin})
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = plane.Stop() }()
	cs := kubernetes.NewForConfigOrDie(plane.Config)

	// Garbage collection: a child owned by a deleted owner goes too.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gc"}}
	_, err = cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	owner, err := cs.CoreV1().ConfigMaps("gc").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = cs.CoreV1().ConfigMaps("gc").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "child",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}}}}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cs.CoreV1().ConfigMaps("gc").Delete(ctx, "owner", metav1.DeleteOptions{})).To(Succeed())
	g.Eventually(func() bool {
		_, err := cs.CoreV1().ConfigMaps("gc").Get(ctx, "child", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, time.Minute, 200*time.Millisecond).Should(BeTrue(), "the garbage collector should delete the orphaned child")

	// Namespace deletion empties and removes the namespace.
	g.Expect(cs.CoreV1().Namespaces().Delete(ctx, "gc", metav1.DeleteOptions{})).To(Succeed())
	g.Eventually(func() bool {
		_, err := cs.CoreV1().Namespaces().Get(ctx, "gc", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, time.Minute, 200*time.Millisecond).Should(BeTrue(), "the namespace controller should remove the namespace")

	// Resume: stop, start on the same state, and find what was left.
	_, err = cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "survivor"}}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(plane.Stop()).To(Succeed())
	plane, err = Start(ctx, Options{StateDir: state, BinDir: bin})
	g.Expect(err).NotTo(HaveOccurred())
	cs = kubernetes.NewForConfigOrDie(plane.Config)
	_, err = cs.CoreV1().ConfigMaps("default").Get(ctx, "survivor", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
}

func TestClaimRefusesASecondOwner(t *testing.T) {
	g := NewWithT(t)
	state := t.TempDir()
	release, err := Claim(state)
	g.Expect(err).NotTo(HaveOccurred())
	o, err := ReadOwner(state)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o).To(Equal(Owner{PID: os.Getpid(), Locked: true, Running: true}))
	_, err = Claim(state)
	g.Expect(err).To(MatchError(ContainSubstring("already running")))
	release()
	o, err = ReadOwner(state)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o).To(BeZero())
	o, err = StopRunning(state, time.Second)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.Running).To(BeFalse())
	// Free again.
	release, err = Claim(state)
	g.Expect(err).NotTo(HaveOccurred())
	release()
}
