package kubeadmconfig

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/bootstrap/kubeadm/kubeadmtypes"
	"github.com/podcluster/podcluster/internal/remote"
)

// Facts of the bootstrap token Secret format (k8s.io/cluster-bootstrap).
const (
	tokenSecretType  corev1.SecretType = "bootstrap.kubernetes.io/token" //nolint:gosec // a type name
	tokenSecretGroup string            = "system:bootstrappers:kubeadm:default-node-token"
	// tokenExpirationKey holds the token's expiry, an RFC 3339 time.
	tokenExpirationKey = "expiration"
)

// tokenSecretName is where the API server's bootstrap authenticator looks a token up.
func tokenSecretName(id string) string { return "bootstrap-token-" + id }

// createToken creates a bootstrap token in the workload cluster's kube-system
// with the usages and group kubeadm join expects.
func (r *Reconciler) createToken(ctx context.Context, s *scope) (string, ctrl.Result, error) {
	wc, res, err := r.workloadClient(ctx, s)
	if err != nil || res.RequeueAfter > 0 {
		return "", res, err
	}
	// A fresh token per Machine: it can be revoked, or left to expire, on
	// its own, and no two Machines share a credential.
	token := kubeadmtypes.NewToken()
	id, secretPart, _ := strings.Cut(token, ".")
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: tokenSecretName(id), Namespace: metav1.NamespaceSystem},
		Type:       tokenSecretType,
		StringData: map[string]string{
			"token-id":                       id,
			"token-secret":                   secretPart,
			tokenExpirationKey:               s.now.Add(r.TokenTTL).UTC().Format(time.RFC3339),
			"usage-bootstrap-authentication": "true",
			"usage-bootstrap-signing":        "true",
			"auth-extra-groups":              tokenSecretGroup,
			"description":                    fmt.Sprintf("podcluster join token for Machine %s/%s", s.machine.Namespace, s.machine.Name),
		},
	}
	ctrl.LoggerFrom(ctx).Info("Creating join token in the workload cluster", "tokenID", id)
	if err := wc.Create(ctx, secret); err != nil {
		return "", ctrl.Result{}, fmt.Errorf("creating bootstrap token Secret in the workload cluster: %w", err)
	}
	return token, ctrl.Result{}, nil
}

// deleteToken deletes a join token that no data uses.
func (r *Reconciler) deleteToken(ctx context.Context, s *scope, id string) error {
	wc, err := r.ClusterCache.Client(ctx, remote.ClusterKey(s.cluster.Namespace, s.cluster.Name))
	if err != nil {
		// It expires on its own, and the data is made: no reason to retry.
		ctrl.LoggerFrom(ctx).Info("Leaving an unused join token to expire", "tokenID", id, "reason", err.Error())
		return nil
	}
	ctrl.LoggerFrom(ctx).Info("Deleting an unused join token from the workload cluster", "tokenID", id)
	token := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: tokenSecretName(id), Namespace: metav1.NamespaceSystem}}
	if err := wc.Delete(ctx, token); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting unused join token %s: %w", id, err)
	}
	return nil
}

// refreshToken pushes the token's expiration out while the Machine has no
// Node, so that a slow boot still joins; once the Node exists the token is
// left to expire.
func (r *Reconciler) refreshToken(ctx context.Context, s *scope, id string) (ctrl.Result, error) {
	wc, res, err := r.workloadClient(ctx, s)
	if err != nil || res.RequeueAfter > 0 {
		return res, err
	}
	return r.refreshTokenIn(ctx, wc, s, id)
}

// refreshTokenIn is refreshToken's work in the workload cluster wc.
func (r *Reconciler) refreshTokenIn(ctx context.Context, wc client.Client, s *scope, id string) (ctrl.Result, error) {
	secret := &corev1.Secret{}
	if err := wc.Get(ctx, client.ObjectKey{Namespace: metav1.NamespaceSystem, Name: tokenSecretName(id)}, secret); err != nil {
		if apierrors.IsNotFound(err) {
			// Expired and cleaned up before the Node came: the Machine cannot
			// join with this data any more; say so.
			s.waiting = fmt.Sprintf("join token %s no longer exists in the workload cluster", id)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("reading join token %s: %w", id, err)
	}
	before := secret.DeepCopy()
	if renewTokenSecret(secret, s.now, r.TokenTTL) {
		ctrl.LoggerFrom(ctx).V(1).Info("Refreshing join token", "tokenID", id)
		if err := wc.Patch(ctx, secret, client.MergeFrom(before)); err != nil {
			return ctrl.Result{}, fmt.Errorf("refreshing join token %s: %w", id, err)
		}
	}
	return ctrl.Result{RequeueAfter: r.TokenTTL / 3}, nil
}

// renewTokenSecret sets a new expiration on a token Secret once a third of its
// TTL is used up, and reports whether it changed the Secret. Looking again
// every third of the TTL, the token never gets closer than a third of its TTL
// to expiring. A missing or unreadable expiration is rewritten rather than
// trusted, and a Secret that came back without data (a Secret created empty,
// or an API server that keeps only stringData, as upstream's in-memory test
// server does) gets a data map of its own.
func renewTokenSecret(secret *corev1.Secret, now time.Time, ttl time.Duration) bool {
	expiration, err := time.Parse(time.RFC3339, string(secret.Data[tokenExpirationKey]))
	if err == nil && expiration.Sub(now) >= ttl*2/3 {
		return false
	}
	if secret.Data == nil {
		secret.Data = map[string][]byte{}
	}
	secret.Data[tokenExpirationKey] = []byte(now.Add(ttl).UTC().Format(time.RFC3339))
	return true
}
