package kubeadmconfig

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/bootstrapdata"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/cloudinit"
	"github.com/podcluster/podcluster/internal/clustercerts"
	"github.com/podcluster/podcluster/internal/pki"
	"github.com/podcluster/podcluster/internal/util"
)

// errWaitForCertificates means a join needs certificates that only the init
// Machine creates.
var errWaitForCertificates = errors.New("waiting for the cluster certificates")

// certificates returns the cluster's CAs and service-account key, creating
// the missing ones for the init Machine (a KubeadmControlPlane creates them
// before its first Machine; a Machine made by hand finds none). A Secret that
// exists is used as it is: a user may bring their own CA. Created Secrets are
// owned by the Cluster, so they live as long as it does. A worker needs only
// the CA certificate, for the discovery hash.
func (r *Reconciler) certificates(ctx context.Context, s *scope, role bootstrapdata.Role) (cloudinit.Certificates, error) {
	var out cloudinit.Certificates
	// Only the init Machine creates: a join that found a CA missing and made
	// its own would split the cluster in two trust domains.
	create := role == bootstrapdata.RoleInit
	// The user's choice of algorithm applies to the CAs we create.
	alg := pki.Algorithm(s.config.Spec.ClusterConfiguration.EncryptionAlgorithm)
	owner := util.OwnerRef(s.cluster, clusterv1.GroupVersion.WithKind("Cluster"), false)
	for _, p := range clustercerts.All {
		if role == bootstrapdata.RoleWorkerJoin && p != clustercerts.CA {
			continue
		}
		// Read around the cache: two Machines must never disagree about
		// which CA exists.
		pair, _, err := clustercerts.Read(ctx, r.APIReader, s.cluster, p)
		if apierrors.IsNotFound(err) && create {
			pair, err = clustercerts.Create(ctx, r.Client, r.APIReader, s.cluster, p, alg, owner)
		}
		if apierrors.IsNotFound(err) {
			return out, fmt.Errorf("%w: Secret %s does not exist yet", errWaitForCertificates, clustercerts.SecretName(s.cluster.Name, p))
		}
		if err != nil {
			return out, err
		}
		kp := cloudinit.KeyPair{Cert: pair.Cert, Key: pair.Key}
		switch p {
		case clustercerts.CA:
			out.CA = kp
			if role == bootstrapdata.RoleWorkerJoin {
				out.CA.Key = nil // never handed to a worker
			}
		case clustercerts.EtcdCA:
			out.EtcdCA = kp
		case clustercerts.FrontProxyCA:
			out.FrontProxyCA = kp
		case clustercerts.ServiceAccount:
			out.ServiceAccount = kp
		}
	}
	return out, nil
}
