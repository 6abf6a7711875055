package kubeadmcontrolplane

import (
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/clustercerts"
	"github.com/podcluster/podcluster/internal/conditions"
	"github.com/podcluster/podcluster/internal/external"
	"github.com/podcluster/podcluster/internal/kubeconfig"
	"github.com/podcluster/podcluster/internal/naming"
	"github.com/podcluster/podcluster/internal/pki"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/internal/util"
)

// clonesWindow is how long a freshly created Machine's clones are assumed to
// exist without looking (see ensureProviderObjects).
const clonesWindow = 10 * time.Second

// scope carries what one reconcile observed. setStatus reads only this.
type scope struct {
	kcp     *controlplanev1.KubeadmControlPlane
	cluster *clusterv1.Cluster
	key     string
	now     time.Time
	paused  bool

	// machines are the Machines the control plane owns, set by getMachines.
	machines []*clusterv1.Machine
	// certificates is what reconcileCertificates found: nil when it did not
	// run, empty when the cluster's key pairs are all there, else the
	// problem.
	certificates *string
	// infraWaiting says why nothing can start yet, set by waitForInfrastructure.
	infraWaiting string
	// kubeconfigWaiting says why the kubeconfig Secret is not written yet,
	// set by reconcileKubeconfig.
	kubeconfigWaiting string
	// scaleUpWaiting says why a missing Machine is not created now, and
	// scaleDownWaiting why a surplus one is not deleted now; set by scale.
	scaleUpWaiting, scaleDownWaiting string
	// templateErr is a problem with spec.machineTemplate or the naming
	// template, set by createMachine.
	templateErr string
	// workersLeft is how many worker Machines a deletion waits for, set by
	// reconcileDelete.
	workersLeft int
	// requeueAfter asks for another look, set by ensureProviderObjects.
	requeueAfter time.Duration
	// outdated maps each Machine that no longer matches the spec to why,
	// set by observeUpToDate.
	outdated map[string]string
	// remediation is what was decided about marked Machines, set by
	// reconcileRemediation.
	remediation remediationDecision
	// etcd is what was seen of a stacked etcd cluster, set by
	// reconcileEtcd; nil when the control plane does not manage etcd or
	// is not initialized.
	etcd *etcdObservation
	// components is what was seen of the control plane's static Pods, set
	// by reconcileComponents; nil when they were not looked at (not
	// initialized, or no access to workload clusters).
	components *componentsObservation
	// changed holds, by name, the Machines whose conditions this reconcile
	// changed, as they were read: every phase that sets a Machine
	// condition records it here (setMachineCondition), and
	// writeMachineConditions sends one status patch per Machine.
	changed map[string]*clusterv1.Machine
}

func groupOf(apiVersion string) string {
	group, _, found := strings.Cut(apiVersion, "/")
	if !found {
		return ""
	}
	return group
}

// selectorFor is the label selector of a control plane's Machines: the
// cluster's control-plane Machines, as upstream writes it in status.selector.
func selectorFor(clusterName string) string {
	return clusterv1.ClusterNameLabel + "=" + clusterName + "," + clusterv1.MachineControlPlaneLabel
}

// getMachines lists the Machines the control plane owns (from the cache).
// Ownership is by controller UID: Machines of an earlier control plane of the
// same name are not ours.
func (r *Reconciler) getMachines(ctx context.Context, s *scope) error {
	opts := []client.ListOption{client.InNamespace(s.kcp.Namespace), client.HasLabels{clusterv1.MachineControlPlaneLabel}}
	if s.cluster != nil {
		opts = append(opts, client.MatchingLabels{clusterv1.ClusterNameLabel: s.cluster.Name})
	}
	list := &clusterv1.MachineList{}
	if err := r.Client.List(ctx, list, opts...); err != nil {
		return fmt.Errorf("listing control-plane Machines: %w", err)
	}
	s.machines = nil
	for i := range list.Items {
		m := &list.Items[i]
		if owner := util.ControllerOf(m); owner != nil && owner.Kind == "KubeadmControlPlane" && owner.UID == s.kcp.UID {
			s.machines = append(s.machines, m)
		}
	}
	// Oldest first, so that every step and the status see one order.
	sortOldestFirst(s.machines)
	return nil
}

func sortOldestFirst(ms []*clusterv1.Machine) {
	sort.SliceStable(ms, func(i, j int) bool {
		ti, tj := ms[i].CreationTimestamp.Time, ms[j].CreationTimestamp.Time
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return ms[i].Name < ms[j].Name
	})
}

// waitForInfrastructure holds everything until the Cluster's infrastructure
// is provisioned and its endpoint known: the Machines' bootstrap data and the
// kubeconfig both need the endpoint. The Cluster is watched, so no requeue.
func (r *Reconciler) waitForInfrastructure(_ context.Context, s *scope) (ctrl.Result, error) {
	c := s.cluster
	switch {
	case c.Status.Initialization.InfrastructureProvisioned == nil || !*c.Status.Initialization.InfrastructureProvisioned:
		s.infraWaiting = fmt.Sprintf("waiting for the infrastructure of Cluster %s to be provisioned", c.Name)
	case !c.Spec.ControlPlaneEndpoint.IsValid():
		s.infraWaiting = fmt.Sprintf("waiting for Cluster %s to have a controlPlaneEndpoint", c.Name)
	}
	return ctrl.Result{}, nil
}

// reconcileInitialized records that the control plane is initialized once a
// Machine has a Node: its kubelet registered with an API server of the
// cluster, so kubeadm init has run. It never goes back, as the contract
// requires: workers may have joined already.
func (r *Reconciler) reconcileInitialized(_ context.Context, s *scope) (ctrl.Result, error) {
	if initialized(s.kcp) {
		return ctrl.Result{}, nil
	}
	for _, m := range s.machines {
		if m.Status.NodeRef.Name != "" {
			t := true
			s.kcp.Status.Initialization.ControlPlaneInitialized = &t
			return ctrl.Result{}, nil
		}
	}
	return ctrl.Result{}, nil
}

func initialized(kcp *controlplanev1.KubeadmControlPlane) bool {
	p := kcp.Status.Initialization.ControlPlaneInitialized
	return p != nil && *p
}

// kubeconfigRenewalWindow: a kubeconfig's client certificate is renewed once
// less than half a year of it is left (half the one-year validity it is
// issued with), as upstream does.
const kubeconfigRenewalWindow = pki.CertValidity / 2

// kubeconfigRenewal says when the kubeconfig Secret's client certificate is
// due for renewal and whether it is due now. Only a Secret this control plane
// controls is renewed; one a user wrote is theirs. A Secret of ours whose
// certificate cannot be read is due at once. Pure.
func kubeconfigRenewal(kcp *controlplanev1.KubeadmControlPlane, secret *corev1.Secret, now time.Time) (time.Time, bool) {
	owner := util.ControllerOf(secret)
	if owner == nil || owner.Kind != "KubeadmControlPlane" || owner.UID != kcp.UID {
		return now.Add(24 * time.Hour), false
	}
	notAfter, err := kubeconfig.ClientCertNotAfter(secret.Data["value"])
	if err != nil {
		return now, true
	}
	renewAt := notAfter.Add(-kubeconfigRenewalWindow)
	return renewAt, !now.Before(renewAt)
}

// reconcileKubeconfig writes "<cluster>-kubeconfig", an admin kubeconfig for
// the endpoint signed by the cluster CA, once the CA exists. The kubeadm
// bootstrap provider creates the CA (and the etcd, front-proxy and
// service-account keys) for the init Machine; the Cluster controller leaves
// the kubeconfig to a control-plane provider.
func (r *Reconciler) reconcileKubeconfig(ctx context.Context, s *scope) (ctrl.Result, error) {
	c := s.cluster
	name := remote.KubeconfigSecretName(c.Name)
	existing := &corev1.Secret{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: name}, existing)
	switch {
	case apierrors.IsNotFound(err):
		existing = nil
	case err != nil:
		return ctrl.Result{}, fmt.Errorf("reading Secret %s: %w", name, err)
	default:
		renewAt, due := kubeconfigRenewal(s.kcp, existing, s.now)
		if !due {
			// Come back when it is due, at least once a day.
			return ctrl.Result{RequeueAfter: min(renewAt.Sub(s.now), 24*time.Hour)}, nil
		}
	}
	caName := clustercerts.SecretName(c.Name, clustercerts.CA)
	caPair, _, err := clustercerts.Read(ctx, r.Client, c, clustercerts.CA)
	if err != nil {
		if apierrors.IsNotFound(err) {
			s.kubeconfigWaiting = "waiting for the cluster CA Secret " + caName
			return ctrl.Result{RequeueAfter: waitForCA}, nil
		}
		return ctrl.Result{}, fmt.Errorf("reading Secret %s: %w", caName, err)
	}
	ca, err := pki.ParseKeyPair(caPair.Cert, caPair.Key)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("reading the cluster CA from Secret %s: %w", caName, err)
	}
	ep := c.Spec.ControlPlaneEndpoint
	server := "https://" + net.JoinHostPort(ep.Host, strconv.Itoa(int(ep.Port)))
	data, err := kubeconfig.NewAdmin(c.Name, server, ca)
	if err != nil {
		return ctrl.Result{}, err
	}
	// Controlled by the control plane, as upstream's is: it goes with it,
	// and the control plane renews it.
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       c.Namespace,
			Labels:          map[string]string{clusterv1.ClusterNameLabel: c.Name},
			OwnerReferences: []metav1.OwnerReference{util.OwnerRef(s.kcp, controlplanev1.GroupVersion.WithKind("KubeadmControlPlane"), true)},
		},
		Type: clusterv1.ClusterSecretType,
		Data: map[string][]byte{"value": data},
	}
	if existing != nil {
		// Its client certificate is near its end: a new one replaces it, and
		// the Secret no longer serves the old one.
		ctrl.LoggerFrom(ctx).Info("Rotating the client certificate of the cluster's kubeconfig Secret", "secret", name)
		before := existing.DeepCopy()
		existing.Data = map[string][]byte{"value": data}
		if err := r.Client.Patch(ctx, existing, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
			return ctrl.Result{}, fmt.Errorf("rotating Secret %s: %w", name, err)
		}
		return ctrl.Result{}, nil
	}
	ctrl.LoggerFrom(ctx).Info("Writing the cluster's kubeconfig Secret", "secret", name)
	// AlreadyExists: a stale cache; the Secret there is as good as ours.
	if err := r.Client.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		return ctrl.Result{}, fmt.Errorf("creating Secret %s: %w", name, err)
	}
	return ctrl.Result{}, nil
}

// reconcileMachines repairs missing clones, marks outdated Machines, then
// scales, which includes rolling out.
func (r *Reconciler) reconcileMachines(ctx context.Context, s *scope) (ctrl.Result, error) {
	if err := r.ensureProviderObjects(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	r.observeUpToDate(ctx, s)
	markUpToDate(s)
	// Remediation comes first; a Machine deleted for it is replaced by the
	// next scale up.
	if deleted, err := r.reconcileRemediation(ctx, s); deleted || err != nil {
		return ctrl.Result{}, err
	}
	return r.scale(ctx, s)
}

// ensureProviderObjects creates the clones of a Machine that are missing,
// which happens only if the controller stopped between creating a Machine
// and its clones. Machines that provisioned are left alone.
func (r *Reconciler) ensureProviderObjects(ctx context.Context, s *scope) error {
	for _, m := range s.machines {
		if !m.DeletionTimestamp.IsZero() || util.InfrastructureProvisioned(m) {
			continue
		}
		if wait := m.CreationTimestamp.Add(clonesWindow).Sub(s.now); wait > 0 {
			// Just created: its clones may not be in the cache yet.
			if s.requeueAfter == 0 || wait < s.requeueAfter {
				s.requeueAfter = wait
			}
			continue
		}
		if err := r.createClones(ctx, s, m, true); err != nil {
			return err
		}
	}
	return nil
}

// scale creates or deletes one Machine, when the control plane is in a
// state where that is safe.
func (r *Reconciler) scale(ctx context.Context, s *scope) (ctrl.Result, error) {
	// Do not count from a cache that has not seen our own writes yet.
	present := map[string]bool{}
	for _, m := range s.machines {
		present[m.Name] = m.DeletionTimestamp.IsZero()
	}
	if !r.expectations.Satisfied(s.key, func(name string) bool {
		if gone, ok := strings.CutPrefix(name, "-"); ok {
			return !present[gone]
		}
		_, ok := present[name]
		return ok
	}) {
		return ctrl.Result{RequeueAfter: waitForCache}, nil
	}

	active, deleting := splitDeleting(s.machines)
	want := int(desiredReplicas(s.kcp))
	var outdated []*clusterv1.Machine
	for _, m := range active {
		if _, ok := s.outdated[m.Name]; ok {
			outdated = append(outdated, m)
		}
	}
	// A rollout is a scale up by the surge and a scale down of an outdated
	// Machine, one Machine at a time: with maxSurge 1 the new Machine comes
	// first, with 0 (at least 3 replicas) an outdated one goes first.
	surge := maxSurge(s.kcp)
	if want < 3 {
		surge = 1
	}
	switch {
	case len(active) < want, len(active) == want && len(outdated) > 0 && surge > 0:
		return ctrl.Result{}, r.scaleUp(ctx, s, active, want)
	case len(active) > want, len(active) == want && len(outdated) > 0:
		return ctrl.Result{}, r.scaleDown(ctx, s, active, deleting, outdated, want)
	}
	return ctrl.Result{}, nil
}

// scaleUp creates one Machine, when every Machine is Ready and none is being
// deleted.
func (r *Reconciler) scaleUp(ctx context.Context, s *scope, active []*clusterv1.Machine, want int) error {
	if s.scaleUpWaiting = scaleUpBlocker(s.kcp, s.machines); s.scaleUpWaiting != "" {
		return nil
	}
	ctrl.LoggerFrom(ctx).Info("Scaling up the control plane", "from", len(active), "to", want, "outdated", len(s.outdated))
	name, err := r.createMachine(ctx, s, active)
	if err != nil {
		return err
	}
	r.expectations.Expect(s.key, name)
	// The replacement carries the remediation it is for (machineAnnotations).
	delete(s.kcp.Annotations, controlplanev1.RemediationInProgressAnnotation)
	return nil
}

// scaleDown deletes one Machine, an outdated one first, once the last
// deleted one is gone and every other Machine is Ready, so that the etcd
// cluster never loses a member it needs for quorum.
func (r *Reconciler) scaleDown(ctx context.Context, s *scope, active, deleting, outdated []*clusterv1.Machine, want int) error {
	if len(deleting) > 0 {
		s.scaleDownWaiting = fmt.Sprintf("waiting for Machine %s to be deleted", deleting[0].Name)
		return nil
	}
	candidates := active
	if len(outdated) > 0 {
		candidates = outdated
	}
	victim := selectMachineForScaleDown(candidates, s.cluster.Status.FailureDomains)
	if s.scaleDownWaiting = scaleDownBlocker(active, victim); s.scaleDownWaiting != "" {
		return nil
	}
	// The member goes before its Machine, so that the etcd cluster never
	// counts a member that is gone towards its quorum.
	if err := r.forgetEtcdMember(ctx, s, victim); err != nil {
		s.scaleDownWaiting = err.Error()
		return err
	}
	ctrl.LoggerFrom(ctx).Info("Scaling down the control plane", "from", len(active), "to", want, "machine", victim.Name, "outdated", s.outdated[victim.Name])
	if err := r.Client.Delete(ctx, victim); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting Machine %s: %w", victim.Name, err)
	}
	// Deletes are expected under a "-" prefix, so that a Machine deleted and
	// one of the same name created are told apart.
	r.expectations.Expect(s.key, "-"+victim.Name)
	return nil
}

// scaleDownBlocker says why the victim may not be deleted now, or "": every
// other Machine must be Ready. Pure.
func scaleDownBlocker(active []*clusterv1.Machine, victim *clusterv1.Machine) string {
	var notReady []string
	for _, m := range active {
		if m != victim && !conditions.IsTrue(m.Status.Conditions, clusterv1.ReadyCondition) {
			notReady = append(notReady, m.Name)
		}
	}
	if len(notReady) > 0 {
		return "waiting for Machines to be Ready before deleting " + victim.Name + ": " + strings.Join(notReady, ", ")
	}
	return ""
}

// desiredReplicas is spec.replicas, 1 when unset (upstream's default).
func desiredReplicas(kcp *controlplanev1.KubeadmControlPlane) int32 {
	if kcp.Spec.Replicas == nil {
		return 1
	}
	return *kcp.Spec.Replicas
}

func splitDeleting(machines []*clusterv1.Machine) (active, deleting []*clusterv1.Machine) {
	for _, m := range machines {
		if m.DeletionTimestamp.IsZero() {
			active = append(active, m)
		} else {
			deleting = append(deleting, m)
		}
	}
	return active, deleting
}

// scaleUpBlocker says why no Machine may be added now, or "" when one may.
// The first Machine runs kubeadm init alone; every other Machine joins, and
// only once the control plane is initialized and every Machine is Ready and
// none is being deleted, so that at most one Machine is ever on its way in
// or out. Pure.
func scaleUpBlocker(kcp *controlplanev1.KubeadmControlPlane, machines []*clusterv1.Machine) string {
	if len(machines) == 0 {
		return ""
	}
	if !initialized(kcp) {
		return fmt.Sprintf("waiting for the control plane to be initialized by Machine %s", machines[0].Name)
	}
	var notReady []string
	for _, m := range machines {
		if !m.DeletionTimestamp.IsZero() {
			return fmt.Sprintf("waiting for Machine %s to be deleted", m.Name)
		}
		if !conditions.IsTrue(m.Status.Conditions, clusterv1.ReadyCondition) {
			notReady = append(notReady, m.Name)
		}
	}
	if len(notReady) > 0 {
		return "waiting for Machines to be Ready: " + strings.Join(notReady, ", ")
	}
	return ""
}

// selectMachineForScaleDown picks the Machine to delete, as upstream does:
// Machines marked with the delete-machine annotation first; then, when the
// Cluster has failure domains, a Machine of the failure domain with the most
// Machines; the oldest among those. machines must not be empty. Pure.
func selectMachineForScaleDown(machines []*clusterv1.Machine, fds []clusterv1.FailureDomain) *clusterv1.Machine {
	candidates := machines
	var marked []*clusterv1.Machine
	for _, m := range machines {
		if _, ok := m.Annotations[clusterv1.DeleteMachineAnnotation]; ok {
			marked = append(marked, m)
		}
	}
	if len(marked) > 0 {
		candidates = marked
	}
	if len(fds) > 0 {
		count := map[string]int{}
		for _, m := range candidates {
			count[m.Spec.FailureDomain]++
		}
		// The most crowded domain; ties go to the name, for a stable choice.
		names := slices.Sorted(maps.Keys(count))
		best := names[0]
		for _, fd := range names[1:] {
			if count[fd] > count[best] {
				best = fd
			}
		}
		var inBest []*clusterv1.Machine
		for _, m := range candidates {
			if m.Spec.FailureDomain == best {
				inBest = append(inBest, m)
			}
		}
		candidates = inBest
	}
	out := append([]*clusterv1.Machine(nil), candidates...)
	sortOldestFirst(out)
	return out[0]
}

// chooseFailureDomain places a new Machine in the control-plane failure
// domain with the fewest active Machines (ties go to the name), or in none
// when the Cluster has no control-plane failure domains. Pure.
func chooseFailureDomain(fds []clusterv1.FailureDomain, active []*clusterv1.Machine) string {
	count := map[string]int{}
	for _, m := range active {
		count[m.Spec.FailureDomain]++
	}
	best, found := "", false
	for _, fd := range fds {
		if fd.ControlPlane == nil || !*fd.ControlPlane {
			continue
		}
		if !found || count[fd.Name] < count[best] || (count[fd.Name] == count[best] && fd.Name < best) {
			best, found = fd.Name, true
		}
	}
	return best
}

// machineName renders spec.machineNaming.template (default
// "{{ .kubeadmControlPlane.name }}-{{ .random }}").
func machineName(kcp *controlplanev1.KubeadmControlPlane, clusterName string) (string, error) {
	return naming.MachineName(kcp.Spec.MachineNaming.Template, "{{ .kubeadmControlPlane.name }}-{{ .random }}",
		map[string]string{"cluster": clusterName, "kubeadmControlPlane": kcp.Name})
}

// machineLabels are the template's labels plus the ones Machines of a
// control plane are found by. Ours are written last, so that a template
// cannot override them.
func machineLabels(kcp *controlplanev1.KubeadmControlPlane, clusterName string) map[string]string {
	l := make(map[string]string, len(kcp.Spec.MachineTemplate.ObjectMeta.Labels)+3)
	maps.Copy(l, kcp.Spec.MachineTemplate.ObjectMeta.Labels)
	l[clusterv1.ClusterNameLabel] = clusterName
	l[clusterv1.MachineControlPlaneLabel] = ""
	l[clusterv1.MachineControlPlaneNameLabel] = util.LabelValue(kcp.Name)
	return l
}

// machineAnnotations are the template's annotations plus the hash of the
// kubeadmConfigSpec the Machine is made from.
func machineAnnotations(kcp *controlplanev1.KubeadmControlPlane) map[string]string {
	a := make(map[string]string, len(kcp.Spec.MachineTemplate.ObjectMeta.Annotations)+1)
	maps.Copy(a, kcp.Spec.MachineTemplate.ObjectMeta.Annotations)
	a[KubeadmConfigHashAnnotation] = kubeadmConfigHash(kcp)
	// The control plane's pre-terminate hook: a Machine deleted by anyone
	// (kubectl, a MachineHealthCheck's owner, the Cluster) waits, drained,
	// until its etcd member is gone (see reconcilePreTerminateHooks).
	a[controlplanev1.PreTerminateHookCleanupAnnotation] = ""
	if data, ok := kcp.Annotations[controlplanev1.RemediationInProgressAnnotation]; ok {
		a[controlplanev1.RemediationForAnnotation] = data
	}
	return a
}

// newMachine builds a control-plane Machine. Its clones take its name, so the
// references are known before the clones exist and a crash in between is
// repaired by name. Pure.
func newMachine(kcp *controlplanev1.KubeadmControlPlane, clusterName, name, failureDomain string) *clusterv1.Machine {
	tmpl := kcp.Spec.MachineTemplate
	infra := tmpl.Spec.InfrastructureRef
	m := &clusterv1.Machine{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       kcp.Namespace,
			Labels:          machineLabels(kcp, clusterName),
			Annotations:     machineAnnotations(kcp),
			Finalizers:      []string{clusterv1.MachineFinalizer},
			OwnerReferences: []metav1.OwnerReference{util.OwnerRef(kcp, controlplanev1.GroupVersion.WithKind("KubeadmControlPlane"), true)},
		},
		Spec: clusterv1.MachineSpec{
			ClusterName: clusterName,
			Version:     kcp.Spec.Version,
			Bootstrap: clusterv1.Bootstrap{ConfigRef: clusterv1.ContractVersionedObjectReference{
				APIGroup: bootstrapv1.GroupVersion.Group, Kind: "KubeadmConfig", Name: name,
			}},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{
				APIGroup: infra.APIGroup, Kind: strings.TrimSuffix(infra.Kind, "Template"), Name: name,
			},
			FailureDomain:  failureDomain,
			ReadinessGates: tmpl.Spec.ReadinessGates,
			Taints:         tmpl.Spec.Taints,
			Deletion: clusterv1.MachineDeletionSpec{
				NodeDrainTimeoutSeconds:        tmpl.Spec.Deletion.NodeDrainTimeoutSeconds,
				NodeVolumeDetachTimeoutSeconds: tmpl.Spec.Deletion.NodeVolumeDetachTimeoutSeconds,
				NodeDeletionTimeoutSeconds:     tmpl.Spec.Deletion.NodeDeletionTimeoutSeconds,
			},
		},
	}
	return m
}

// bootstrapSpec is the KubeadmConfig spec of a control-plane Machine, as
// upstream builds it: the Machine that initializes the control plane gets the
// init and cluster configuration and no join configuration; every other
// Machine gets only the join configuration, marked as a control-plane join.
// The bootstrap provider decides the role again from the Cluster's state, so
// this only keeps each config to what its kubeadm command reads. Pure.
func bootstrapSpec(kcp *controlplanev1.KubeadmControlPlane, init bool) bootstrapv1.KubeadmConfigSpec {
	spec := *kcp.Spec.KubeadmConfigSpec.DeepCopy()
	if init {
		spec.JoinConfiguration = bootstrapv1.JoinConfiguration{}
		return spec
	}
	spec.InitConfiguration = bootstrapv1.InitConfiguration{}
	spec.ClusterConfiguration = bootstrapv1.ClusterConfiguration{}
	if spec.JoinConfiguration.ControlPlane == nil {
		spec.JoinConfiguration.ControlPlane = &bootstrapv1.JoinControlPlane{}
	}
	return spec
}

// createMachine creates one control-plane Machine and its clones, and
// returns its name.
func (r *Reconciler) createMachine(ctx context.Context, s *scope, active []*clusterv1.Machine) (string, error) {
	name, err := machineName(s.kcp, s.cluster.Name)
	if err != nil {
		// Kept for ScalingUp: the user must fix the template.
		s.templateErr = err.Error()
		return "", err
	}
	m := newMachine(s.kcp, s.cluster.Name, name, chooseFailureDomain(s.cluster.Status.FailureDomains, active))
	ctrl.LoggerFrom(ctx).Info("Creating control-plane Machine", "machine", name, "init", !initialized(s.kcp))
	if err := r.Client.Create(ctx, m); err != nil {
		return "", fmt.Errorf("creating Machine %s: %w", name, err)
	}
	if err := r.createClones(ctx, s, m, false); err != nil {
		// Without its clones the Machine is useless: take it back.
		_ = r.Client.Delete(ctx, m)
		return "", err
	}
	return name, nil
}

// createClones creates the Machine's infrastructure machine and
// KubeadmConfig, both controlled by the Machine; existing ones are kept when
// onlyMissing is set. Before initialization the control plane has only the
// one Machine that runs kubeadm init, so the config's role follows from
// whether the control plane is initialized, also for a repair.
func (r *Reconciler) createClones(ctx context.Context, s *scope, m *clusterv1.Machine, onlyMissing bool) error {
	owner := util.OwnerRef(m, clusterv1.GroupVersion.WithKind("Machine"), true)
	if !onlyMissing || r.missing(ctx, m.Spec.InfrastructureRef, m.Namespace) {
		ref := s.kcp.Spec.MachineTemplate.Spec.InfrastructureRef
		tmpl, err := r.Resolver.Get(ctx, r.Client, ref, m.Namespace)
		if err != nil {
			s.templateErr = fmt.Sprintf("reading spec.machineTemplate.spec.infrastructureRef %s %s: %v", ref.Kind, ref.Name, err)
			return fmt.Errorf("reading template %s %s: %w", ref.Kind, ref.Name, err)
		}
		obj, err := external.FromTemplate(tmpl, external.Instance{Name: m.Name, Namespace: m.Namespace, Labels: m.Labels, Owner: owner})
		if err != nil {
			s.templateErr = err.Error()
			return fmt.Errorf("cloning %s %s: %w", ref.Kind, ref.Name, err)
		}
		// AlreadyExists is success: the clone has the Machine's name, so an
		// existing one is ours from an earlier attempt.
		if err := r.Client.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
	}
	if !onlyMissing || r.missing(ctx, m.Spec.Bootstrap.ConfigRef, m.Namespace) {
		cfg := &bootstrapv1.KubeadmConfig{
			ObjectMeta: metav1.ObjectMeta{
				Name:            m.Name,
				Namespace:       m.Namespace,
				Labels:          maps.Clone(m.Labels),
				Annotations:     maps.Clone(s.kcp.Spec.MachineTemplate.ObjectMeta.Annotations),
				OwnerReferences: []metav1.OwnerReference{owner},
			},
			Spec: bootstrapSpec(s.kcp, !initialized(s.kcp)),
		}
		if err := r.Client.Create(ctx, cfg); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating KubeadmConfig %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// missing reports whether the referenced object is certainly absent. Any
// answer but NotFound leaves it alone: creating over a read error could only
// fail or duplicate.
func (r *Reconciler) missing(ctx context.Context, ref clusterv1.ContractVersionedObjectReference, namespace string) bool {
	_, err := r.Resolver.Get(ctx, r.Client, ref, namespace)
	if apierrors.IsNotFound(err) {
		ctrl.LoggerFrom(ctx).Info("Creating missing clone", "kind", ref.Kind, "name", ref.Name)
		return true
	}
	return false
}
