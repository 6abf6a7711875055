package kubeadmcontrolplane

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/clustercerts"
	"github.com/podcluster/podcluster/internal/pki"
	"github.com/podcluster/podcluster/internal/util"
)

// reconcileCertificates makes sure the cluster's shared key pairs exist
// before the first Machine, as upstream's control plane does: the CAs and the
// service-account key, created here and controlled by the control plane, so
// that they go with it. A Secret that exists is used as it is (a user may
// bring their own CA); one the kubeadm bootstrap provider made for an init
// Machine (the generated type, owned by the Cluster and no controller) is
// adopted, so that it goes with the control plane like the ones made here. A
// user's own Secret, with no owner, stays theirs. The result is
// CertificatesAvailable.
func (r *Reconciler) reconcileCertificates(ctx context.Context, s *scope) (ctrl.Result, error) {
	owner := util.OwnerRef(s.kcp, controlplanev1.GroupVersion.WithKind("KubeadmControlPlane"), true)
	alg := pki.Algorithm(s.kcp.Spec.KubeadmConfigSpec.ClusterConfiguration.EncryptionAlgorithm)
	reader := r.APIReader
	if reader == nil {
		reader = r.Client
	}
	for _, p := range clustercerts.All {
		// The cache first: the Secrets are there on every later reconcile.
		_, secret, err := clustercerts.Read(ctx, r.Client, s.cluster, p)
		switch {
		case apierrors.IsNotFound(err):
			_, err = clustercerts.Create(ctx, r.Client, reader, s.cluster, p, alg, owner)
		case err == nil && madeByBootstrap(secret):
			before := secret.DeepCopy()
			util.EnsureOwnerRef(secret, owner)
			ctrl.LoggerFrom(ctx).Info("Adopting cluster certificate", "secret", secret.Name)
			err = r.Client.Patch(ctx, secret, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
		}
		if err != nil {
			name := clustercerts.SecretName(s.cluster.Name, p)
			msg := fmt.Sprintf("Secret %s: %v", name, err)
			s.certificates = &msg
			return ctrl.Result{}, fmt.Errorf("cluster certificate %s: %w", name, err)
		}
	}
	ok := ""
	s.certificates = &ok
	return ctrl.Result{}, nil
}

// madeByBootstrap says whether a certificate Secret is one the kubeadm
// bootstrap provider generated: of the generated type, owned by a Cluster and
// controlled by nobody.
func madeByBootstrap(secret *corev1.Secret) bool {
	if secret.Type != clusterv1.ClusterSecretType || util.ControllerOf(secret) != nil {
		return false
	}
	for _, ref := range secret.OwnerReferences {
		if ref.Kind == "Cluster" && groupOf(ref.APIVersion) == clusterv1.GroupVersion.Group {
			return true
		}
	}
	return false
}
