package kubeadmconfig

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// TestRenewTokenSecret feeds token Secrets as a workload API server may return
// them, including ones without data, and checks that renewing never panics and
// always leaves a valid expiration behind.
func TestRenewTokenSecret(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ttl := 15 * time.Minute
	renewed := now.Add(ttl).Format(time.RFC3339)
	cases := []struct {
		name        string
		data        map[string][]byte
		wantChanged bool
	}{
		{"no data at all (nil map)", nil, true},
		{"empty data", map[string][]byte{}, true},
		{"data without expiration", map[string][]byte{"token-id": []byte("abcdef")}, true},
		{"unreadable expiration", map[string][]byte{"expiration": []byte("tomorrow")}, true},
		{"empty expiration", map[string][]byte{"expiration": nil}, true},
		{"expired", map[string][]byte{"expiration": []byte(now.Add(-time.Minute).Format(time.RFC3339))}, true},
		{"a third of the TTL used up", map[string][]byte{"expiration": []byte(now.Add(ttl*2/3 - time.Second).Format(time.RFC3339))}, true},
		{"fresh", map[string][]byte{"expiration": []byte(now.Add(ttl).Format(time.RFC3339)), "token-id": []byte("abcdef")}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			secret := &corev1.Secret{Data: tc.data}
			before := secret.DeepCopy()
			var changed bool
			g.Expect(func() { changed = renewTokenSecret(secret, now, ttl) }).NotTo(Panic())
			g.Expect(changed).To(Equal(tc.wantChanged))
			if !tc.wantChanged {
				g.Expect(secret).To(Equal(before))
				return
			}
			g.Expect(string(secret.Data["expiration"])).To(Equal(renewed))
			for k, v := range before.Data { // nothing else is touched
				if k != "expiration" {
					g.Expect(secret.Data).To(HaveKeyWithValue(k, v))
				}
			}
		})
	}
}

// TestRefreshTokenIn runs the refresh against a workload cluster (a fake
// client) whose token Secret is in an unexpected shape.
func TestRefreshTokenIn(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	r := &Reconciler{TokenTTL: 15 * time.Minute}
	scheme := runtime.NewScheme()
	NewWithT(t).Expect(corev1.AddToScheme(scheme)).To(Succeed())
	key := client.ObjectKey{Namespace: metav1.NamespaceSystem, Name: tokenSecretName("abcdef")}

	t.Run("a Secret without data is given an expiration", func(t *testing.T) {
		g := NewWithT(t)
		wc := fake.NewClientBuilder().WithScheme(scheme).WithObjects(&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name},
			Type:       tokenSecretType,
		}).Build()
		s := &scope{now: now}
		var res ctrl.Result
		var err error
		g.Expect(func() { res, err = r.refreshTokenIn(context.Background(), wc, s, "abcdef") }).NotTo(Panic())
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res.RequeueAfter).To(Equal(r.TokenTTL / 3))
		got := &corev1.Secret{}
		g.Expect(wc.Get(context.Background(), key, got)).To(Succeed())
		g.Expect(string(got.Data["expiration"])).To(Equal(now.Add(r.TokenTTL).Format(time.RFC3339)))
		g.Expect(s.waiting).To(BeEmpty())
	})

	t.Run("a missing Secret is reported, not an error", func(t *testing.T) {
		g := NewWithT(t)
		wc := fake.NewClientBuilder().WithScheme(scheme).Build()
		s := &scope{now: now}
		_, err := r.refreshTokenIn(context.Background(), wc, s, "abcdef")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(s.waiting).To(Equal("join token abcdef no longer exists in the workload cluster"))
	})
}
