package kubeadmconfig

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/bootstrapdata"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/cloudinit"
	"github.com/podcluster/podcluster/internal/pki"
	"github.com/podcluster/podcluster/internal/util"
)

// errWaitForCertificates means a join needs certificates that only the init
// Machine creates.
var errWaitForCertificates = errors.New("waiting for the cluster certificates")

// certSpec describes one of the cluster's certificate Secrets.
type certSpec struct {
	suffix     string // "<cluster>-<suffix>"
	commonName string
	sa         bool // a service-account key pair, not a CA
}

// clusterCerts are the key pairs every control-plane machine must share:
// kubeadm creates everything else on the machine, signed by these CAs.
var clusterCerts = []certSpec{
	{suffix: "ca", commonName: "kubernetes"},
	{suffix: "etcd", commonName: "etcd-ca"},
	{suffix: "proxy", commonName: "front-proxy-ca"},
	{suffix: "sa", sa: true},
}

// certificates returns the cluster's CAs and service-account key, creating
// the missing ones for the init Machine. A Secret that exists is used as it
// is: a user may bring their own CA. Created Secrets are owned by the Cluster,
// so they live as long as it does. A worker needs only the CA certificate, for
// the discovery hash.
func (r *Reconciler) certificates(ctx context.Context, s *scope, role bootstrapdata.Role) (cloudinit.Certificates, error) {
	var out cloudinit.Certificates
	// Only the init Machine creates: a join that found a CA missing and made
	// its own would split the cluster in two trust domains.
	create := role == bootstrapdata.RoleInit
	for _, spec := range clusterCerts {
		if role == bootstrapdata.RoleWorkerJoin && spec.suffix != "ca" {
			continue
		}
		name := s.cluster.Name + "-" + spec.suffix
		pair, err := r.readCert(ctx, s.cluster.Namespace, name)
		if apierrors.IsNotFound(err) && create {
			pair, err = r.createCert(ctx, s, name, spec)
		}
		if apierrors.IsNotFound(err) {
			return out, fmt.Errorf("%w: Secret %s does not exist yet", errWaitForCertificates, name)
		}
		if err != nil {
			return out, err
		}
		switch spec.suffix {
		case "ca":
			out.CA = pair
			if role == bootstrapdata.RoleWorkerJoin {
				out.CA.Key = nil // never handed to a worker
			}
		case "etcd":
			out.EtcdCA = pair
		case "proxy":
			out.FrontProxyCA = pair
		case "sa":
			out.ServiceAccount = pair
		}
	}
	return out, nil
}

// readCert reads a certificate Secret without the cache: two Machines must
// never disagree about which CA exists.
func (r *Reconciler) readCert(ctx context.Context, ns, name string) (cloudinit.KeyPair, error) {
	secret := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, secret); err != nil {
		return cloudinit.KeyPair{}, err
	}
	cert, key := secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey]
	if len(cert) == 0 {
		return cloudinit.KeyPair{}, fmt.Errorf("secret %s has no key %s", name, corev1.TLSCertKey)
	}
	return cloudinit.KeyPair{Cert: cert, Key: key}, nil
}

// createCert generates one key pair and stores it in the Secret name. The
// name is deterministic, so a creation that lost a race reads the winner's
// pair instead of overwriting it.
func (r *Reconciler) createCert(ctx context.Context, s *scope, name string, spec certSpec) (cloudinit.KeyPair, error) {
	var pair cloudinit.KeyPair
	if spec.sa {
		priv, pub, err := pki.NewServiceAccountKey()
		if err != nil {
			return pair, err
		}
		pair = cloudinit.KeyPair{Cert: pub, Key: priv}
	} else {
		// The user's choice of algorithm applies to the CAs we create.
		alg := pki.Algorithm(s.config.Spec.ClusterConfiguration.EncryptionAlgorithm)
		ca, err := pki.NewCA(spec.commonName, alg, pki.CAValidity)
		if err != nil {
			return pair, err
		}
		pair = cloudinit.KeyPair{Cert: ca.CertPEM, Key: ca.KeyPEM}
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: s.cluster.Namespace,
			Labels:          map[string]string{clusterv1.ClusterNameLabel: s.cluster.Name},
			OwnerReferences: []metav1.OwnerReference{util.OwnerRef(s.cluster, clusterv1.GroupVersion.WithKind("Cluster"), false)},
		},
		Type: clusterv1.ClusterSecretType,
		Data: map[string][]byte{corev1.TLSCertKey: pair.Cert, corev1.TLSPrivateKeyKey: pair.Key},
	}
	ctrl.LoggerFrom(ctx).Info("Creating cluster certificate", "secret", name)
	if err := r.Client.Create(ctx, secret); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return r.readCert(ctx, s.cluster.Namespace, name) // someone was first: use theirs
		}
		return pair, fmt.Errorf("creating Secret %s: %w", name, err)
	}
	return pair, nil
}
