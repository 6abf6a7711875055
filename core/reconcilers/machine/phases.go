package machine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/core/mdutil"
	"github.com/podcluster/podcluster/internal/contract"
	"github.com/podcluster/podcluster/internal/remote"
	"github.com/podcluster/podcluster/internal/util"
)

// scope carries what one reconcile observed. Status setters read only this.
type scope struct {
	machine *clusterv1.Machine
	// cluster is nil when the Cluster is gone (only possible while deleting).
	cluster *clusterv1.Cluster
	now     time.Time
	paused  bool
	// observed is set once the bootstrap, infrastructure and Node phases ran.
	observed bool

	// Set by reconcileBootstrap.
	bootstrap        *unstructured.Unstructured
	bootstrapMissing bool

	// Set by reconcileInfrastructure.
	infra        *unstructured.Unstructured
	infraMissing bool
	infraDeleted bool // gone after it had been provisioned: terminal
	// infraFailure is the terminal failure the infrastructure machine
	// reports (reason and message), empty when none.
	infraFailure, infraFailureMessage string
	infraProvided                     bool // provisioned and providerID copied

	// Set by reconcileNode.
	node          *corev1.Node
	nodeMissing   bool   // providerID known, no Node with it
	nodeReadError string // the workload cluster could not be read

	// Set by the owner lookup in reconcileNode.
	upToDate        bool
	upToDateReason  string
	upToDateMessage string

	// Set by reconcileDelete.
	deletingReason, deletingMessage string

	// requeueAfter asks for another look, for example when Available is due.
	requeueAfter time.Duration
}

// reconcileBootstrap owns the bootstrap config and copies its data Secret name.
func (r *Reconciler) reconcileBootstrap(ctx context.Context, s *scope) (ctrl.Result, error) {
	m := s.machine
	ref := m.Spec.Bootstrap.ConfigRef
	if !ref.IsDefined() {
		return ctrl.Result{}, nil // data given directly in dataSecretName
	}
	obj, err := r.getExternal(ctx, ref, m.Namespace)
	if apierrors.IsNotFound(err) {
		// Reported in BootstrapConfigReady, not returned: a config created
		// after its Machine is normal and must not back off.
		s.bootstrapMissing = true
		return ctrl.Result{}, nil // its creation is an event
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	s.bootstrap = obj
	// Adopted before it is read further, so that its later changes reach
	// this Machine through the owner-based watch.
	if err := r.adopt(ctx, s, obj); err != nil {
		return ctrl.Result{}, err
	}
	created, err := contract.DataSecretCreated(obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	if created {
		name, err := contract.DataSecretName(obj)
		if err != nil {
			return ctrl.Result{}, err
		}
		// A provider that breaks the contract this way is a bug to surface,
		// not a state to wait out.
		if name == "" {
			return ctrl.Result{}, fmt.Errorf("%s %s reports its data Secret created but names none", ref.Kind, ref.Name)
		}
		// Copied into the spec because the infrastructure provider reads the
		// Secret's name from the Machine, never from the bootstrap config.
		m.Spec.Bootstrap.DataSecretName = &name
		t := true
		m.Status.Initialization.BootstrapDataSecretCreated = &t
	}
	return ctrl.Result{}, nil
}

// reconcileInfrastructure owns the infrastructure machine and copies its
// providerID, addresses and failure domain.
func (r *Reconciler) reconcileInfrastructure(ctx context.Context, s *scope) (ctrl.Result, error) {
	m := s.machine
	obj, err := r.getExternal(ctx, m.Spec.InfrastructureRef, m.Namespace)
	if apierrors.IsNotFound(err) {
		if util.InfrastructureProvisioned(m) {
			// Provisioned once and now gone: the Machine cannot recover.
			s.infraDeleted = true
			return ctrl.Result{}, nil
		}
		s.infraMissing = true
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	s.infra = obj
	if err := r.adopt(ctx, s, obj); err != nil {
		return ctrl.Result{}, err
	}
	provisioned, err := contract.InfraMachineProvisioned(obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	if s.infraFailure, s.infraFailureMessage, err = infraFailure(obj); err != nil {
		return ctrl.Result{}, err
	}
	// Addresses and the failure domain are copied before provisioning
	// finishes: they help a user find a machine that never comes up.
	addresses, err := contract.Addresses(obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	m.Status.Addresses = addresses
	if fd, err := contract.InfraMachineFailureDomain(obj); err != nil {
		return ctrl.Result{}, err
	} else if fd != "" {
		// An empty value does not erase a domain reported earlier: a Machine
		// never moves between failure domains.
		m.Status.FailureDomain = fd
	}
	if !provisioned {
		return ctrl.Result{}, nil
	}
	providerID, err := contract.ProviderID(obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	// Without a providerID no Node can ever be matched: a contract breach
	// worth an error and backoff, not a silent wait.
	if providerID == "" {
		return ctrl.Result{}, fmt.Errorf("%s %s is provisioned but has no spec.providerID", obj.GetKind(), obj.GetName())
	}
	m.Spec.ProviderID = providerID
	t := true
	m.Status.Initialization.InfrastructureProvisioned = &t
	s.infraProvided = true
	return ctrl.Result{}, nil
}

// infraFailure reads a terminal failure of an infrastructure machine: the
// v1beta2 contract's status.deprecated.v1beta1.failureReason and
// failureMessage, or the v1beta1 contract's status.failureReason and
// failureMessage.
func infraFailure(obj *unstructured.Unstructured) (reason, message string, err error) {
	for _, prefix := range [][]string{{"status", "deprecated", "v1beta1"}, {"status"}} {
		if reason, err = contract.String(obj, append(prefix, "failureReason")...); err != nil || reason != "" {
			if err == nil {
				message, err = contract.String(obj, append(prefix, "failureMessage")...)
			}
			return reason, message, err
		}
	}
	return "", "", nil
}

// adopt makes the Machine the controller owner of a provider object, so its
// events requeue the Machine and garbage collection follows the Machine.
func (r *Reconciler) adopt(ctx context.Context, s *scope, obj *unstructured.Unstructured) error {
	return util.Adopt(ctx, r.Client, obj, s.machine, clusterv1.GroupVersion.WithKind("Machine"), s.machine.Spec.ClusterName)
}

// reconcileNode finds the Node by providerID, syncs labels, annotations and
// taints to it, and works out whether the Machine is up to date.
func (r *Reconciler) reconcileNode(ctx context.Context, s *scope) (ctrl.Result, error) {
	// UpToDate needs no workload cluster, so it is decided before the
	// early returns below.
	r.reconcileUpToDate(ctx, s)
	m := s.machine
	// Nothing to match a Node by yet; the providerID's arrival is an event
	// (the infrastructure machine's change).
	if m.Spec.ProviderID == "" || s.cluster == nil {
		return ctrl.Result{}, nil
	}
	wc, err := r.ClusterCache.Client(ctx, remote.ClusterKey(m.Namespace, m.Spec.ClusterName))
	if err != nil {
		// Not connected yet is expected early in a cluster's life: report it
		// and look again, rather than back off exponentially.
		if isNotConnected(err) {
			s.nodeReadError = err.Error()
			return ctrl.Result{RequeueAfter: waitForWorkloadCluster}, nil
		}
		return ctrl.Result{}, err
	}
	node, err := nodeByProviderID(ctx, wc, m.Spec.ProviderID, m.Status.NodeRef.Name)
	if err != nil {
		// The same for a failed list: the workload API server may be
		// restarting, which says nothing about this Machine.
		s.nodeReadError = err.Error()
		return ctrl.Result{RequeueAfter: waitForWorkloadCluster}, nil
	}
	if node == nil {
		s.nodeMissing = true
		if m.Status.NodeRef.Name != "" {
			// The Node existed and was deleted: the Machine's node is gone.
			ctrl.LoggerFrom(ctx).Info("Node of the Machine was deleted", "node", m.Status.NodeRef.Name)
		}
		return ctrl.Result{}, nil // the Node's creation is an event
	}
	s.node = node
	// nodeRef is kept once set: it is how a deleted Node is told apart from
	// one that never came.
	m.Status.NodeRef = clusterv1.MachineNodeReference{Name: node.Name}
	info := node.Status.NodeInfo
	m.Status.NodeInfo = &info
	if err := r.syncNode(ctx, wc, s); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, nil
}

// reconcileUpToDate compares a MachineDeployment's Machine with the
// deployment's current template revision. Other Machines are up to date.
func (r *Reconciler) reconcileUpToDate(ctx context.Context, s *scope) {
	// Up to date unless proven otherwise: a failed lookup must not report
	// Machines as outdated.
	s.upToDate = true
	owner, ok := s.machine.Labels[clusterv1.MachineDeploymentNameLabel]
	if !ok {
		return
	}
	// The label holds the name, or its hashed form for long names: match on it.
	mds := &clusterv1.MachineDeploymentList{}
	if err := r.Client.List(ctx, mds, client.InNamespace(s.machine.Namespace),
		client.MatchingLabels{clusterv1.ClusterNameLabel: s.machine.Spec.ClusterName}); err != nil {
		return
	}
	var md *clusterv1.MachineDeployment
	for i := range mds.Items {
		if util.LabelValue(mds.Items[i].Name) == owner {
			md = &mds.Items[i]
			break
		}
	}
	if md == nil {
		return
	}
	// The same hash function the MachineDeployment names its MachineSets
	// with, so both controllers agree on what "current" is.
	want := mdutil.TemplateHash(md, s.now)
	if got := s.machine.Labels[clusterv1.MachineDeploymentUniqueLabel]; got != want {
		s.upToDate = false
		s.upToDateReason = clusterv1.MachineUpToDateNotUpToDateReason
		s.upToDateMessage = fmt.Sprintf("MachineDeployment %s has a newer template (revision %s, this Machine has %s)", md.Name, want, got)
	}
}

// nodeByProviderID finds the Node by spec.providerID. The Node's name is the
// kubelet's choice and need not match the Machine's, so a Machine that has
// not met its Node yet lists them; once nodeRef names it, it is read by name
// (a list per reconcile grows with the cluster), and listed again only if
// that Node is gone or has another providerID.
func nodeByProviderID(ctx context.Context, c client.Client, providerID, nodeName string) (*corev1.Node, error) {
	if nodeName != "" {
		node := &corev1.Node{}
		err := c.Get(ctx, client.ObjectKey{Name: nodeName}, node)
		switch {
		case err == nil && node.Spec.ProviderID == providerID:
			return node, nil
		case err != nil && !apierrors.IsNotFound(err):
			return nil, fmt.Errorf("reading Node %s: %w", nodeName, err)
		}
	}
	nodes := &corev1.NodeList{}
	// Read-only scan of the informer's objects; only the match is copied.
	if err := c.List(ctx, nodes, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing Nodes: %w", err)
	}
	for i := range nodes.Items {
		if nodes.Items[i].Spec.ProviderID == providerID {
			return nodes.Items[i].DeepCopy(), nil
		}
	}
	return nil, nil
}

// syncedLabel reports whether a Machine label is one the contract syncs to Nodes.
func syncedLabel(key string) bool {
	prefix, _, found := strings.Cut(key, "/")
	if !found {
		return false
	}
	for _, domain := range []string{"node-role.kubernetes.io", "node-restriction.kubernetes.io", "node.cluster.x-k8s.io"} {
		// node-role.kubernetes.io is matched exactly, as upstream does; the
		// other two domains include their subdomains.
		if prefix == domain || (domain != "node-role.kubernetes.io" && strings.HasSuffix(prefix, "."+domain)) {
			return true
		}
	}
	return false
}

// syncedAnnotation reports whether a Machine annotation is synced to Nodes.
func syncedAnnotation(key string) bool {
	prefix, _, found := strings.Cut(key, "/")
	return found && (prefix == "node.cluster.x-k8s.io" || strings.HasSuffix(prefix, ".node.cluster.x-k8s.io"))
}

// syncNode writes the Machine's labels, annotations and taints to the Node
// with one merge patch, and only when something differs.
func (r *Reconciler) syncNode(ctx context.Context, wc client.Client, s *scope) error {
	m, node := s.machine, s.node
	// Patched against a copy: a merge patch of just the difference does not
	// fight the kubelet, which owns the rest of the Node.
	before := node.DeepCopy()
	if node.Labels == nil {
		node.Labels = map[string]string{}
	}
	if node.Annotations == nil {
		node.Annotations = map[string]string{}
	}

	// Labels: add the synced ones, drop those we synced before and no longer want.
	var labelKeys []string
	want := map[string]string{}
	for k, v := range m.Labels {
		if syncedLabel(k) {
			want[k] = v
		}
	}
	// Lets workloads avoid machines the infrastructure may take away.
	if interruptible(s) {
		want[clusterv1.InterruptibleLabel] = ""
	}
	// The annotation remembers which labels we wrote, so that labels
	// others put on the Node are never removed.
	for _, k := range strings.Split(node.Annotations[clusterv1.LabelsFromMachineAnnotation], ",") {
		if _, ok := want[k]; !ok && k != "" {
			delete(node.Labels, k)
		}
	}
	for k, v := range want {
		node.Labels[k] = v
		labelKeys = append(labelKeys, k)
	}
	sort.Strings(labelKeys)
	setOrDelete(node.Annotations, clusterv1.LabelsFromMachineAnnotation, strings.Join(labelKeys, ","))

	var annotationKeys []string
	for k, v := range m.Annotations {
		if syncedAnnotation(k) {
			node.Annotations[k] = v
			annotationKeys = append(annotationKeys, k)
		}
	}
	sort.Strings(annotationKeys)
	setOrDelete(node.Annotations, clusterv1.AnnotationsFromMachineAnnotation, strings.Join(annotationKeys, ","))

	// Links back to the Machine, for tools (the autoscaler among them) that
	// start from a Node.
	node.Annotations[clusterv1.ClusterNameAnnotation] = m.Spec.ClusterName
	node.Annotations[clusterv1.ClusterNamespaceAnnotation] = m.Namespace
	node.Annotations[clusterv1.MachineAnnotation] = m.Name
	if owner := util.ControllerOf(m); owner != nil {
		node.Annotations[clusterv1.OwnerKindAnnotation] = owner.Kind
		node.Annotations[clusterv1.OwnerNameAnnotation] = owner.Name
	}

	// Taints. The uninitialized taint goes once labels are on.
	owned, initialized := before.Annotations[clusterv1.TaintsFromMachineAnnotation]
	node.Spec.Taints, node.Annotations[clusterv1.TaintsFromMachineAnnotation] = syncTaints(node.Spec.Taints, m.Spec.Taints, owned, initialized)
	node.Spec.Taints = removeTaint(node.Spec.Taints, clusterv1.NodeUninitializedTaintKey)

	// Most reconciles change nothing; skipping the empty patch keeps the
	// workload API server's load flat.
	if equalNode(before, node) {
		return nil
	}
	// spec.taints is an atomic list: the patch replaces it whole. Only then
	// does the patch carry the resourceVersion, so that a taint someone else
	// added meanwhile is not lost (a conflict is retried with a fresh read).
	patch := client.MergeFrom(before)
	if !taintsEqual(before.Spec.Taints, node.Spec.Taints) {
		patch = client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})
	}
	if err := wc.Patch(ctx, node, patch); err != nil {
		return fmt.Errorf("syncing labels and taints to Node %s: %w", node.Name, err)
	}
	return nil
}

// syncTaints returns the Node's taints after the Machine's are applied, and
// the value of the taints-from-machine annotation, which lists (as
// key:effect, sorted) the Always taints the Machine controller keeps on the
// Node. owned is the annotation's value before; initialized is whether the
// Node had the annotation, which marks a Node that was synced before.
//
//   - An Always taint is put on the Node and kept there (its value too).
//   - An OnInitialization taint is put on the Node only on the first sync;
//     afterwards the Node's owners may remove it.
//   - An Always taint the annotation lists that the Machine no longer has is
//     removed from the Node. One that became OnInitialization stays, no
//     longer owned. Taints that others put on the Node are never touched.
func syncTaints(nodeTaints []corev1.Taint, machineTaints []clusterv1.MachineTaint, owned string, initialized bool) ([]corev1.Taint, string) {
	taints := slices.Clone(nodeTaints)
	onMachine := map[string]bool{}
	var always []string
	for _, t := range machineTaints {
		id := t.Key + ":" + string(t.Effect)
		onMachine[id] = true
		if t.Propagation == clusterv1.MachineTaintPropagationAlways {
			always = append(always, id)
		} else if initialized {
			continue
		}
		taints = ensureTaint(taints, corev1.Taint{Key: t.Key, Value: t.Value, Effect: t.Effect})
	}
	for _, id := range strings.Split(owned, ",") {
		if id == "" || onMachine[id] {
			continue
		}
		key, effect, _ := strings.Cut(id, ":")
		taints = slices.DeleteFunc(taints, func(t corev1.Taint) bool { return t.Key == key && string(t.Effect) == effect })
	}
	sort.Strings(always)
	return taints, strings.Join(always, ",")
}

// interruptible reads status.interruptible of the infrastructure machine; a
// malformed value counts as false, which only skips a label.
func interruptible(s *scope) bool {
	if s.infra == nil {
		return false
	}
	v, _ := contract.Interruptible(s.infra)
	return v
}

// setOrDelete drops an annotation rather than leave it empty, so that a
// Node the Machine no longer syncs anything to carries no trace.
func setOrDelete(m map[string]string, key, value string) {
	if value == "" {
		delete(m, key)
		return
	}
	m[key] = value
}

// ensureTaint adds a taint or updates its value; key and effect identify a
// taint, as the API server does.
func ensureTaint(taints []corev1.Taint, t corev1.Taint) []corev1.Taint {
	for i := range taints {
		if taints[i].Key == t.Key && taints[i].Effect == t.Effect {
			taints[i].Value = t.Value
			return taints
		}
	}
	return append(taints, t)
}

// removeTaint removes every taint with the key, whatever its effect, so
// that no variant of a taint we own is left behind.
func removeTaint(taints []corev1.Taint, key string) []corev1.Taint {
	out := taints[:0:0]
	for _, t := range taints {
		if t.Key != key {
			out = append(out, t)
		}
	}
	return out
}

// equalNode compares only what syncNode writes.
func equalNode(a, b *corev1.Node) bool {
	return mapsEqual(a.Labels, b.Labels) && mapsEqual(a.Annotations, b.Annotations) && taintsEqual(a.Spec.Taints, b.Spec.Taints)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func taintsEqual(a, b []corev1.Taint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Value != b[i].Value || a[i].Effect != b[i].Effect {
			return false
		}
	}
	return true
}
