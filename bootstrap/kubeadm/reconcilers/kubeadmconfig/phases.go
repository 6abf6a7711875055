package kubeadmconfig

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/cloudinit"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/kubeadmtypes"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/internal/util"
)

// Role is what a Machine's bootstrap data does.
type Role string

// Roles.
const (
	RoleInit             Role = "init"
	RoleControlPlaneJoin Role = "control-plane-join"
	RoleWorkerJoin       Role = "worker-join"
)

// Annotations on the data Secret.
const (
	// TokenIDAnnotation names the join token of a join's data, for its refresh.
	TokenIDAnnotation = "bootstrap.cluster.x-k8s.io/token-id"
	// ConfigGenerationAnnotation is the config generation the data was made from.
	ConfigGenerationAnnotation = "bootstrap.cluster.x-k8s.io/config-generation"
)

// scope carries what one reconcile observed.
type scope struct {
	config  *bootstrapv1.KubeadmConfig
	machine *clusterv1.Machine
	cluster *clusterv1.Cluster
	now     time.Time
	paused  bool

	// waiting says what the config waits for; empty when nothing.
	waiting string
	// invalid is a user error that stops data generation (bad input).
	invalid string
	// certsReady is set once the cluster certificates exist.
	certsReady bool
	certsError string
	// staleSpec is set when the spec changed after the data was generated.
	staleSpec bool
}

// reconcileData generates the bootstrap data for the first time.
func (r *Reconciler) reconcileData(ctx context.Context, s *scope) (ctrl.Result, error) {
	c, m, config := s.cluster, s.machine, s.config
	if c.Status.Initialization.InfrastructureProvisioned == nil || !*c.Status.Initialization.InfrastructureProvisioned {
		s.waiting = "waiting for the cluster infrastructure to be provisioned"
		return ctrl.Result{}, nil
	}
	if !c.Spec.ControlPlaneEndpoint.IsValid() {
		s.waiting = "waiting for the Cluster's controlPlaneEndpoint"
		return ctrl.Result{}, nil
	}
	if err := kubeadmtypes.ValidateVersion(m.Spec.Version); err != nil {
		s.invalid = fmt.Sprintf("Machine %s spec.version: %v", m.Name, err)
		return ctrl.Result{}, nil
	}

	_, controlPlane := m.Labels[clusterv1.MachineControlPlaneLabel]
	initialized := c.Status.Initialization.ControlPlaneInitialized != nil && *c.Status.Initialization.ControlPlaneInitialized
	var role Role
	switch {
	case !initialized && !controlPlane:
		s.waiting = "waiting for the control plane to be initialized"
		return ctrl.Result{}, nil
	case !initialized:
		won, holder, err := r.acquireInitLock(ctx, c, m)
		if err != nil {
			return ctrl.Result{}, err
		}
		if !won {
			s.waiting = fmt.Sprintf("waiting for Machine %s to initialize the control plane", holder)
			return ctrl.Result{RequeueAfter: waitForLock}, nil
		}
		role = RoleInit
	case controlPlane:
		role = RoleControlPlaneJoin
	default:
		role = RoleWorkerJoin
	}
	if initialized {
		if err := r.releaseInitLock(ctx, c); err != nil {
			return ctrl.Result{}, err
		}
	}

	files, users, err := r.resolveSecrets(ctx, config)
	if err != nil {
		s.invalid = err.Error()
		return ctrl.Result{RequeueAfter: waitForLock}, nil // a Secret created later is no event of ours: look again
	}
	for i, f := range files {
		if f.Permissions != "" {
			if _, err := cloudinit.ParsePermissions(f.Permissions); err != nil {
				s.invalid = fmt.Sprintf("spec.files[%d] %q: permissions %q: %v", i, f.Path, f.Permissions, err)
				return ctrl.Result{}, nil
			}
		}
	}

	certs, err := r.certificates(ctx, s, role)
	if err != nil {
		s.certsError = err.Error()
		if errors.Is(err, errWaitForCertificates) {
			return ctrl.Result{RequeueAfter: waitForLock}, nil
		}
		return ctrl.Result{}, err
	}
	s.certsReady = true

	endpoint := fmt.Sprintf("%s:%d", c.Spec.ControlPlaneEndpoint.Host, c.Spec.ControlPlaneEndpoint.Port)
	inputs := kubeadmtypes.ClusterInputs{
		ClusterName: c.Name, ControlPlaneEndpoint: endpoint, KubernetesVersion: m.Spec.Version,
		PodSubnet:     strings.Join(c.Spec.ClusterNetwork.Pods.CIDRBlocks, ","),
		ServiceSubnet: strings.Join(c.Spec.ClusterNetwork.Services.CIDRBlocks, ","),
		DNSDomain:     c.Spec.ClusterNetwork.ServiceDomain,
	}
	var kubeadmConfig []byte
	var tokenID string
	switch role {
	case RoleInit:
		cc, err := kubeadmtypes.ClusterConfigurationFromSpec(config.Spec.ClusterConfiguration, inputs)
		if err == nil {
			var ic kubeadmtypes.InitConfiguration
			if ic, err = kubeadmtypes.InitConfigurationFromSpec(config.Spec.InitConfiguration); err == nil {
				kubeadmConfig, err = kubeadmtypes.MarshalInitData(cc, ic, kubeadmtypes.NestedNodeComponentConfigs())
			}
		}
		if err != nil {
			s.invalid = err.Error()
			return ctrl.Result{}, nil
		}
	default:
		token, res, err := r.createToken(ctx, s)
		if err != nil || res.RequeueAfter > 0 {
			return res, err
		}
		tokenID = strings.SplitN(token, ".", 2)[0]
		hash, err := kubeadmtypes.CACertHash(certs.CA.Cert)
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("hashing the cluster CA: %w", err)
		}
		jc, err := kubeadmtypes.JoinConfigurationFromSpec(config.Spec.JoinConfiguration, kubeadmtypes.JoinInputs{
			Token: token, APIServerEndpoint: endpoint, CACertHashes: []string{hash}, ControlPlane: role == RoleControlPlaneJoin,
		})
		if err == nil {
			kubeadmConfig, err = kubeadmtypes.MarshalJoinData(jc)
		}
		if err != nil {
			s.invalid = err.Error()
			return ctrl.Result{}, nil
		}
	}

	in := cloudinit.Input{
		KubeadmConfig: kubeadmConfig, Files: files, Users: users,
		BootCommands: config.Spec.BootCommands, PreKubeadmCommands: config.Spec.PreKubeadmCommands,
		PostKubeadmCommands: config.Spec.PostKubeadmCommands, NTP: config.Spec.NTP,
		DiskSetup: config.Spec.DiskSetup, Mounts: config.Spec.Mounts, Verbosity: config.Spec.Verbosity,
		CertificatesDir: config.Spec.ClusterConfiguration.CertificatesDir,
	}
	var data []byte
	switch role {
	case RoleInit:
		in.Certificates = certs
		data, err = cloudinit.NewInitControlPlane(in)
	case RoleControlPlaneJoin:
		in.Certificates = certs
		data, err = cloudinit.NewJoinControlPlane(in)
	default:
		data, err = cloudinit.NewNode(in)
	}
	if err != nil {
		s.invalid = err.Error()
		return ctrl.Result{}, nil
	}
	if err := r.writeDataSecret(ctx, s, data, tokenID); err != nil {
		return ctrl.Result{}, err
	}
	ctrl.LoggerFrom(ctx).Info("Bootstrap data created", "role", role, "machine", m.Name)
	t := true
	config.Status.Initialization.DataSecretCreated = &t
	config.Status.DataSecretName = config.Name
	if role != RoleInit {
		return ctrl.Result{RequeueAfter: r.TokenTTL / 3}, nil
	}
	return ctrl.Result{}, nil
}

// reconcileExisting keeps a join's token alive until its Machine has a Node,
// and reports spec changes made after the data was generated.
func (r *Reconciler) reconcileExisting(ctx context.Context, s *scope) (ctrl.Result, error) {
	s.certsReady = true
	secret := &corev1.Secret{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: s.config.Namespace, Name: s.config.Name}, secret); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if gen := secret.Annotations[ConfigGenerationAnnotation]; gen != "" && gen != fmt.Sprint(s.config.Generation) {
		s.staleSpec = true
	}
	tokenID := secret.Annotations[TokenIDAnnotation]
	if tokenID == "" || s.machine.Status.NodeRef.Name != "" {
		return ctrl.Result{}, nil // no token, or the Node joined: let the token expire
	}
	return r.refreshToken(ctx, s, tokenID)
}

func (r *Reconciler) writeDataSecret(ctx context.Context, s *scope, data []byte, tokenID string) error {
	annotations := map[string]string{ConfigGenerationAnnotation: fmt.Sprint(s.config.Generation)}
	if tokenID != "" {
		annotations[TokenIDAnnotation] = tokenID
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:            s.config.Name,
			Namespace:       s.config.Namespace,
			Labels:          map[string]string{clusterv1.ClusterNameLabel: s.cluster.Name},
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{util.OwnerRef(s.config, bootstrapv1.GroupVersion.WithKind("KubeadmConfig"), true)},
		},
		Type: clusterv1.ClusterSecretType,
		Data: map[string][]byte{"value": data, bootstrapv1.DataSecretFormatKey: []byte(bootstrapv1.CloudConfig)},
	}
	if err := r.Client.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating data Secret %s: %w", secret.Name, err)
	}
	return nil
}

// resolveSecrets returns the files and users with contentFrom and passwdFrom
// replaced by the Secrets' contents.
func (r *Reconciler) resolveSecrets(ctx context.Context, config *bootstrapv1.KubeadmConfig) ([]bootstrapv1.File, []bootstrapv1.User, error) {
	read := func(field, name, key string) (string, error) {
		secret := &corev1.Secret{}
		if err := r.Client.Get(ctx, client.ObjectKey{Namespace: config.Namespace, Name: name}, secret); err != nil {
			if apierrors.IsNotFound(err) {
				return "", fmt.Errorf("%s: Secret %s not found", field, name)
			}
			return "", fmt.Errorf("%s: reading Secret %s: %w", field, name, err)
		}
		v, ok := secret.Data[key]
		if !ok {
			return "", fmt.Errorf("%s: Secret %s has no key %q", field, name, key)
		}
		return string(v), nil
	}
	files := make([]bootstrapv1.File, len(config.Spec.Files))
	for i, f := range config.Spec.Files {
		files[i] = f
		if f.ContentFrom.Secret.Name != "" {
			v, err := read(fmt.Sprintf("spec.files[%d].contentFrom", i), f.ContentFrom.Secret.Name, f.ContentFrom.Secret.Key)
			if err != nil {
				return nil, nil, err
			}
			files[i].Content = v
			files[i].ContentFrom = bootstrapv1.FileSource{}
		}
	}
	users := make([]bootstrapv1.User, len(config.Spec.Users))
	for i, u := range config.Spec.Users {
		users[i] = u
		if u.PasswdFrom.Secret.Name != "" {
			v, err := read(fmt.Sprintf("spec.users[%d].passwdFrom", i), u.PasswdFrom.Secret.Name, u.PasswdFrom.Secret.Key)
			if err != nil {
				return nil, nil, err
			}
			users[i].Passwd = v
			users[i].PasswdFrom = bootstrapv1.PasswdSource{}
		}
	}
	return files, users, nil
}

// workloadClient returns a client of the workload cluster, or a requeue when
// it is not reachable yet.
func (r *Reconciler) workloadClient(ctx context.Context, s *scope) (client.Client, ctrl.Result, error) {
	wc, err := r.ClusterCache.Client(ctx, remote.ClusterKey(s.cluster.Namespace, s.cluster.Name))
	if err != nil {
		if errors.Is(err, remote.ErrClusterNotConnected) {
			s.waiting = "waiting for the workload cluster's API server: " + err.Error()
			return nil, ctrl.Result{RequeueAfter: waitForWorkload}, nil
		}
		return nil, ctrl.Result{}, err
	}
	return wc, ctrl.Result{}, nil
}
