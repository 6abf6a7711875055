// Package clustercerts reads and creates a workload cluster's shared key
// pairs: the CAs and the service-account key that every control-plane
// machine of the cluster must have alike, each in a Secret named
// "<cluster>-<purpose>" as upstream names them (ca, etcd, proxy, sa). kubeadm
// makes everything else on the machine, signed by these CAs.
//
// Two controllers create them: a KubeadmControlPlane for its cluster before
// its first Machine, and the kubeadm bootstrap provider for an init Machine
// that no control plane provider prepared. Both go through Create, whose
// deterministic name makes the first creation win and every later one read
// the winner's pair.
package clustercerts

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/pki"
)

// Purpose is the suffix of a certificate Secret's name.
type Purpose string

// The cluster's shared key pairs, by the suffix of their Secrets.
const (
	CA             Purpose = "ca"
	EtcdCA         Purpose = "etcd"
	FrontProxyCA   Purpose = "proxy"
	ServiceAccount Purpose = "sa"
)

// All are every shared key pair, in the order they are made.
var All = []Purpose{CA, EtcdCA, FrontProxyCA, ServiceAccount}

// commonNames are the CAs' subjects, kubeadm's own.
var commonNames = map[Purpose]string{CA: "kubernetes", EtcdCA: "etcd-ca", FrontProxyCA: "front-proxy-ca"}

// Pair is one key pair as PEM: a CA's certificate and key, or the
// service-account key's public and private halves.
type Pair struct {
	Cert, Key []byte
}

// SecretName is the Secret that holds cluster's key pair for p.
func SecretName(cluster string, p Purpose) string {
	return cluster + "-" + string(p)
}

// Read reads cluster's key pair for p from r. An absent Secret is a NotFound
// error.
func Read(ctx context.Context, r client.Reader, cluster *clusterv1.Cluster, p Purpose) (Pair, *corev1.Secret, error) {
	secret := &corev1.Secret{}
	name := SecretName(cluster.Name, p)
	if err := r.Get(ctx, client.ObjectKey{Namespace: cluster.Namespace, Name: name}, secret); err != nil {
		return Pair{}, nil, err
	}
	cert, key := secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey]
	if len(cert) == 0 {
		return Pair{}, secret, fmt.Errorf("secret %s has no key %s", name, corev1.TLSCertKey)
	}
	return Pair{Cert: cert, Key: key}, secret, nil
}

// Create generates cluster's key pair for p (a CA with algorithm alg, or a
// service-account key) and stores it in its Secret, owned by owner. When the
// Secret exists already, someone was first: the pair in it is read through
// r, which must not lag behind the API server, and returned instead.
func Create(ctx context.Context, c client.Writer, r client.Reader, cluster *clusterv1.Cluster, p Purpose, alg pki.Algorithm, owner metav1.OwnerReference) (Pair, error) {
	var pair Pair
	if p == ServiceAccount {
		priv, pub, err := pki.NewServiceAccountKey()
		if err != nil {
			return pair, err
		}
		pair = Pair{Cert: pub, Key: priv}
	} else {
		ca, err := pki.NewCA(commonNames[p], alg, pki.CAValidity)
		if err != nil {
			return pair, err
		}
		pair = Pair{Cert: ca.CertPEM, Key: ca.KeyPEM}
	}
	name := SecretName(cluster.Name, p)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: cluster.Namespace,
			Labels:          map[string]string{clusterv1.ClusterNameLabel: cluster.Name},
			OwnerReferences: []metav1.OwnerReference{owner},
		},
		Type: clusterv1.ClusterSecretType,
		Data: map[string][]byte{corev1.TLSCertKey: pair.Cert, corev1.TLSPrivateKeyKey: pair.Key},
	}
	ctrl.LoggerFrom(ctx).Info("Creating cluster certificate", "secret", name)
	if err := c.Create(ctx, secret); err != nil {
		if apierrors.IsAlreadyExists(err) {
			pair, _, err = Read(ctx, r, cluster, p)
			return pair, err
		}
		return pair, fmt.Errorf("creating Secret %s: %w", name, err)
	}
	return pair, nil
}
