package kubeadmconfig

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/bootstrapdata"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/cloudinit"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/initlock"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/kubeadmtypes"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/internal/util"
)

// Annotations on the data Secret.
const (
	// TokenIDAnnotation names the join token of a join's data, for its refresh.
	TokenIDAnnotation = "bootstrap.cluster.x-k8s.io/token-id"
	// ConfigGenerationAnnotation is the config generation the data was made from.
	ConfigGenerationAnnotation = "bootstrap.cluster.x-k8s.io/config-generation"
)

// scope carries what one reconcile observed. setStatus reads only this.
type scope struct {
	config *bootstrapv1.KubeadmConfig
	// Set by getOwners; nil while the owner reference, the Machine or the Cluster is missing.
	machine *clusterv1.Machine
	cluster *clusterv1.Cluster
	// now is the reconcile's clock, for token expirations.
	now    time.Time
	paused bool

	// waiting says what the config waits for; empty when nothing. Set by
	// getOwners, reconcileData and the token steps.
	waiting string
	// invalid is a user error that stops data generation until the input
	// changes. Set by reconcileData.
	invalid string

	// Set by reconcileData's certificate step, or by reconcileSecret
	// (whose data could only be made with the certificates).
	certsReady   bool
	certsWaiting string // a join waits for the certificates of the init Machine
	certsError   string // reading or creating the certificates failed

	// staleSpec is set by reconcileSecret when the spec changed after the
	// data was generated.
	staleSpec bool
}

// reconcileData generates the bootstrap data for the first time. Each step
// needs the one before it, so the first one that waits or fails ends the
// reconcile; nothing is written until every input is there.
func (r *Reconciler) reconcileData(ctx context.Context, s *scope) (ctrl.Result, error) {
	if !readyForData(s) {
		return ctrl.Result{}, nil
	}
	role, res, err := r.reconcileRole(ctx, s)
	if err != nil || role == "" {
		return res, err
	}
	// The data Secret's own event wakes the config before the cache shows
	// the status that recorded it, so a config without data in the cache
	// may have some. Only the API server can tell: generating again would
	// leave a second join token in the workload cluster.
	existing := &corev1.Secret{}
	switch err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: s.config.Namespace, Name: s.config.Name}, existing); {
	case err == nil && !controlledBy(existing, s.config):
		// Someone made a Secret under the data Secret's name: the node would
		// run its script. It is never used; the user deletes it.
		s.waiting = squattedMessage(existing.Name)
		return ctrl.Result{RequeueAfter: waitForSquatter}, nil
	case err == nil:
		markDataCreated(s)
		return r.reconcileSecret(ctx, s, existing)
	case !apierrors.IsNotFound(err):
		return ctrl.Result{}, fmt.Errorf("reading data Secret %s: %w", s.config.Name, err)
	}
	spec, res := r.resolveSpec(ctx, s)
	if spec == nil {
		return res, nil
	}
	certs, err := r.certificates(ctx, s, role)
	if err != nil {
		if errors.Is(err, errWaitForCertificates) {
			s.certsWaiting = err.Error()
			return ctrl.Result{RequeueAfter: waitForCertificates}, nil
		}
		s.certsError = err.Error()
		return ctrl.Result{}, err
	}
	s.certsReady = true

	in := bootstrapdata.Input{Role: role, Spec: *spec, Cluster: clusterInputs(s), Certificates: certs}
	// The one place where the roles differ in what the controller must do:
	// a join authenticates with a token that has to exist in the workload
	// cluster, and pins the cluster CA by its hash. That token expires, so a
	// join's config is looked at again in time to refresh it.
	var tokenID string
	var requeue ctrl.Result
	if role != bootstrapdata.RoleInit {
		token, res, err := r.createToken(ctx, s)
		if err != nil || res.RequeueAfter > 0 {
			return res, err
		}
		tokenID, _, _ = strings.Cut(token, ".")
		hash, err := kubeadmtypes.CACertHash(certs.CA.Cert)
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("hashing the cluster CA: %w", err)
		}
		in.Token, in.CACertHash = token, hash
		requeue = ctrl.Result{RequeueAfter: r.TokenTTL / 3}
	}

	data, err := bootstrapdata.Render(in)
	if err == nil && len(data)+len(bootstrapv1.CloudConfig) > maxDataSize {
		err = errors.New(oversizedMessage(len(data), payloadParts(spec)))
	}
	if err != nil {
		s.invalid = err.Error()
		if tokenID != "" {
			// No data carries it: it would only linger in the workload cluster.
			if err := r.deleteToken(ctx, s, tokenID); err != nil {
				return ctrl.Result{}, err
			}
		}
		return ctrl.Result{}, nil // only a spec change, which is an event, can fix it
	}
	created, err := r.writeDataSecret(ctx, s, data, tokenID)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !created {
		// Made between our read and our create: ours only if we control it.
		if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: s.config.Namespace, Name: s.config.Name}, existing); err != nil {
			return ctrl.Result{}, fmt.Errorf("reading data Secret %s: %w", s.config.Name, err)
		}
		if !controlledBy(existing, s.config) {
			if tokenID != "" {
				if err := r.deleteToken(ctx, s, tokenID); err != nil {
					return ctrl.Result{}, err
				}
			}
			s.waiting = squattedMessage(existing.Name)
			return ctrl.Result{RequeueAfter: waitForSquatter}, nil
		}
	}
	if created {
		ctrl.LoggerFrom(ctx).Info("Bootstrap data created", "role", role, "machine", s.machine.Name)
	} else if tokenID != "" {
		// Another writer made the data between our read and our create: its
		// token is the one the Machine uses, ours would only linger.
		if err := r.deleteToken(ctx, s, tokenID); err != nil {
			return ctrl.Result{}, err
		}
	}
	markDataCreated(s)
	return requeue, nil
}

// waitForSquatter is how often a config looks again at a data Secret name
// taken by someone else: its deletion is not an event for the config.
const waitForSquatter = time.Minute

// controlledBy reports whether the KubeadmConfig controls the Secret (by UID:
// a reference naming it with another UID is forged or stale).
func controlledBy(secret *corev1.Secret, config *bootstrapv1.KubeadmConfig) bool {
	owner := util.ControllerOf(secret)
	return owner != nil && owner.Kind == "KubeadmConfig" && owner.UID == config.UID
}

func squattedMessage(name string) string {
	return fmt.Sprintf("Secret %s exists and is not controlled by this KubeadmConfig: it is not used as bootstrap data; delete it to let the bootstrap go on", name)
}

// markDataCreated records in the status that the data Secret exists.
func markDataCreated(s *scope) {
	t := true
	s.config.Status.Initialization.DataSecretCreated = &t
	s.config.Status.DataSecretName = s.config.Name
}

// readyForData reports whether the Cluster and the Machine can make bootstrap
// data at all, and records what is missing when they cannot. The Cluster is
// watched, so waiting for it needs no requeue.
func readyForData(s *scope) bool {
	c, m := s.cluster, s.machine
	if c.Status.Initialization.InfrastructureProvisioned == nil || !*c.Status.Initialization.InfrastructureProvisioned {
		s.waiting = "waiting for the cluster infrastructure to be provisioned"
		return false
	}
	if !c.Spec.ControlPlaneEndpoint.IsValid() {
		s.waiting = "waiting for the Cluster's controlPlaneEndpoint"
		return false
	}
	// A bad version fails every kubeadm configuration: say so before a lock,
	// a certificate or a token is taken for nothing.
	if err := kubeadmtypes.ValidateVersion(m.Spec.Version); err != nil {
		s.invalid = fmt.Sprintf("Machine %s spec.version: %v", m.Name, err)
		return false
	}
	return true
}

// reconcileRole decides what the Machine's data does. Until the control
// plane is initialized only kubeadm init can run, and only on the one
// control-plane Machine that holds the init lock; after that every Machine
// joins. An empty role means the config waits (s.waiting says why).
func (r *Reconciler) reconcileRole(ctx context.Context, s *scope) (bootstrapdata.Role, ctrl.Result, error) {
	c, m := s.cluster, s.machine
	_, controlPlane := m.Labels[clusterv1.MachineControlPlaneLabel]
	initialized := util.ControlPlaneInitialized(c)
	switch {
	case !initialized && !controlPlane:
		s.waiting = "waiting for the control plane to be initialized"
		return "", ctrl.Result{}, nil
	case !initialized && controlPlaneJoinOnly(&s.config.Spec):
		// Never an init, even when the Cluster read here lags behind a
		// control plane initialized meanwhile and the lock is gone already.
		s.waiting = "waiting for the control plane to be initialized to join it"
		return "", ctrl.Result{}, nil
	case !initialized:
		held, holder, err := initlock.Acquire(ctx, r.lockClient(), c, m)
		if err != nil {
			return "", ctrl.Result{}, err
		}
		if !held {
			s.waiting = fmt.Sprintf("waiting for Machine %s to initialize the control plane", holder)
			// The holder's progress wakes us through the Cluster; the requeue
			// notices a holder that is deleted before it initializes anything.
			return "", ctrl.Result{RequeueAfter: waitForLock}, nil
		}
		return bootstrapdata.RoleInit, ctrl.Result{}, nil
	}
	// Initialized: Reconcile has released the lock already.
	if controlPlane {
		return bootstrapdata.RoleControlPlaneJoin, ctrl.Result{}, nil
	}
	return bootstrapdata.RoleWorkerJoin, ctrl.Result{}, nil
}

// controlPlaneJoinOnly says whether a control-plane Machine's config can only
// join: a joinConfiguration with controlPlane set, and neither
// initConfiguration nor clusterConfiguration, as a KubeadmControlPlane writes
// it for every Machine after the first. As upstream's bootstrap provider does,
// such a config waits for the control plane to be initialized rather than
// take the init lock: it has nothing kubeadm init could run with, and the
// lock alone does not stop a second init once the first join after
// initialization released it while this config still saw the Cluster
// uninitialized. Pure.
func controlPlaneJoinOnly(spec *bootstrapv1.KubeadmConfigSpec) bool {
	return spec.JoinConfiguration.ControlPlane != nil &&
		reflect.DeepEqual(spec.InitConfiguration, bootstrapv1.InitConfiguration{}) &&
		reflect.DeepEqual(spec.ClusterConfiguration, bootstrapv1.ClusterConfiguration{})
}

// lockClient writes through the manager's client but reads around its cache:
// a stale read could show two Machines the init lock as theirs.
func (r *Reconciler) lockClient() initlock.Client {
	return struct {
		client.Reader
		client.Writer
	}{r.APIReader, r.Client}
}

// resolveSpec returns the spec with the Secrets of files and users read in,
// or nil when the spec cannot make data (s.invalid says why). These checks run
// before the certificates, so that a broken spec creates nothing.
func (r *Reconciler) resolveSpec(ctx context.Context, s *scope) (*bootstrapv1.KubeadmConfigSpec, ctrl.Result) {
	files, users, err := r.resolveSecrets(ctx, s.config)
	if err != nil {
		s.invalid = err.Error()
		// A Secret created later is no event of ours: look again.
		return nil, ctrl.Result{RequeueAfter: waitForSecret}
	}
	if msg := nodeLabelsProblem(&s.config.Spec); msg != "" {
		s.invalid = msg
		return nil, ctrl.Result{}
	}
	for i, f := range files {
		if f.Permissions == "" {
			continue
		}
		if _, err := cloudinit.ParsePermissions(f.Permissions); err != nil {
			s.invalid = fmt.Sprintf("spec.files[%d] %q: permissions %q: %v", i, f.Path, f.Permissions, err)
			return nil, ctrl.Result{}
		}
	}
	spec := s.config.Spec.DeepCopy()
	spec.Files, spec.Users = files, users
	// The API server would refuse the data Secret, again at each retry: say
	// so before a certificate or a token is made for nothing.
	if parts := payloadParts(spec); payloadSize(parts) > maxDataSize {
		s.invalid = oversizedMessage(payloadSize(parts), parts)
		return nil, ctrl.Result{}
	}
	return spec, ctrl.Result{}
}

// clusterInputs are what the kubeadm configuration takes from the Cluster and
// the Machine rather than from the spec.
func clusterInputs(s *scope) kubeadmtypes.ClusterInputs {
	c := s.cluster
	return kubeadmtypes.ClusterInputs{
		ClusterName:          c.Name,
		ControlPlaneEndpoint: fmt.Sprintf("%s:%d", c.Spec.ControlPlaneEndpoint.Host, c.Spec.ControlPlaneEndpoint.Port),
		KubernetesVersion:    s.machine.Spec.Version,
		PodSubnet:            strings.Join(c.Spec.ClusterNetwork.Pods.CIDRBlocks, ","),
		ServiceSubnet:        strings.Join(c.Spec.ClusterNetwork.Services.CIDRBlocks, ","),
		DNSDomain:            c.Spec.ClusterNetwork.ServiceDomain,
	}
}

// reconcileExisting keeps a join's token alive until its Machine has a Node,
// and reports spec changes made after the data was generated.
//
// A data Secret that was deleted is made again: the Machine may not have
// booted yet, and the status must not say the data is there when it is not.
func (r *Reconciler) reconcileExisting(ctx context.Context, s *scope) (ctrl.Result, error) {
	secret := &corev1.Secret{}
	key := client.ObjectKey{Namespace: s.config.Namespace, Name: s.config.Name}
	err := r.Client.Get(ctx, key, secret)
	if apierrors.IsNotFound(err) {
		// The cache may not show a Secret just created: only the API server
		// can say it is gone.
		err = r.APIReader.Get(ctx, key, secret)
		if apierrors.IsNotFound(err) {
			if !s.machine.DeletionTimestamp.IsZero() {
				return ctrl.Result{}, nil // going away with its Machine
			}
			ctrl.LoggerFrom(ctx).Info("The data Secret was deleted; generating the bootstrap data again", "secret", key.Name)
			f := false
			s.config.Status.Initialization.DataSecretCreated = &f
			return r.reconcileData(ctx, s)
		}
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("reading data Secret %s: %w", key.Name, err)
	}
	return r.reconcileSecret(ctx, s, secret)
}

// reconcileSecret is reconcileExisting's work on the data Secret it read.
func (r *Reconciler) reconcileSecret(ctx context.Context, s *scope, secret *corev1.Secret) (ctrl.Result, error) {
	s.certsReady = true // the data could not have been made without them
	// The Secret records the generation it was made from: any later one is
	// a spec change that was not applied. Secrets without it predate the
	// annotation and are given the benefit of the doubt.
	if gen := secret.Annotations[ConfigGenerationAnnotation]; gen != "" && gen != fmt.Sprint(s.config.Generation) {
		s.staleSpec = true
	}
	tokenID := secret.Annotations[TokenIDAnnotation]
	if tokenID == "" || s.machine.Status.NodeRef.Name != "" {
		return ctrl.Result{}, nil // no token, or the Node joined: let the token expire
	}
	return r.refreshToken(ctx, s, tokenID)
}

// writeDataSecret creates the data Secret, named after the config and
// controlled by it, so that it is deleted with it, and reports whether it did.
// One that exists already was written by another writer since reconcileData
// looked; the Machine may be using it, so it is kept rather than replaced.
func (r *Reconciler) writeDataSecret(ctx context.Context, s *scope, data []byte, tokenID string) (bool, error) {
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
	if err := r.Client.Create(ctx, secret); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return false, nil
		}
		return false, fmt.Errorf("creating data Secret %s: %w", secret.Name, err)
	}
	return true, nil
}

// resolveSecrets returns the files and users with contentFrom and passwdFrom
// replaced by the Secrets' contents, so that rendering needs no API calls.
// Each error names the spec field, for the user to fix.
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
			// Only the content reaches the machine, never a reference it cannot follow.
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
		// Not connected is a wait, not a failure: the cluster cache
		// reconnects on its own, and error backoff would only slow the retry.
		if errors.Is(err, remote.ErrClusterNotConnected) {
			s.waiting = "waiting for the workload cluster's API server: " + err.Error()
			return nil, ctrl.Result{RequeueAfter: waitForWorkload}, nil
		}
		return nil, ctrl.Result{}, err
	}
	return wc, ctrl.Result{}, nil
}
