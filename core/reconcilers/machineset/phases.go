package machineset

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/core/mdutil"
	"github.com/podcluster/podcluster/internal/conditions"
	"github.com/podcluster/podcluster/internal/external"
	"github.com/podcluster/podcluster/internal/naming"
	"github.com/podcluster/podcluster/internal/util"
)

// waitForCache is how soon a MachineSet looks again while its cache has not
// shown its own creates and deletes yet.
const waitForCache = time.Second

// scope carries what one reconcile observed.
type scope struct {
	ms      *clusterv1.MachineSet
	cluster *clusterv1.Cluster
	key     string
	now     time.Time
	paused  bool

	// machines are the Machines the set owns, set by getMachines.
	machines []*clusterv1.Machine
	// scaling says which way the last scale step went, set by scale.
	scalingUp, scalingDown bool
	scaleMessage           string
	// remediating names Machines deleted for remediation, set by remediate.
	remediating []string
	// templateErr is a problem with the templates, set by scale and
	// ensureProviderObjects from a templateError.
	templateErr string
	// requeueAfter asks for another look, set by ensureProviderObjects.
	requeueAfter time.Duration

	// taken are the names of the set's Machines and of those this reconcile
	// creates, set by scale before it creates any.
	taken *takenNames

	// providers holds the provider objects of the set's namespace by kind
	// and name, as peekProvider read them; the cache's own objects.
	providers map[schema.GroupKind]map[string]*unstructured.Unstructured
}

// peekProvider returns the provider object ref names, from the cache and
// without copying it: the first call for a kind lists that kind in the
// set's namespace once for the reconcile. A reconcile looks at two provider
// objects per Machine; a Get each, and the deep copy of each, made the
// set's reconciles cost O(Machines) deep copies, and scale-ups quadratic.
// The object is the cache's: it must not be changed. NotFound when the
// object was not there when its kind was listed.
func (r *Reconciler) peekProvider(ctx context.Context, s *scope, ref clusterv1.ContractVersionedObjectReference) (*unstructured.Unstructured, error) {
	gk := schema.GroupKind{Group: ref.APIGroup, Kind: ref.Kind}
	objs, ok := s.providers[gk]
	if !ok {
		gvk, err := r.Resolver.GVK(ctx, ref)
		if err != nil {
			return nil, err
		}
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := r.Client.List(ctx, list, client.InNamespace(s.ms.Namespace), client.UnsafeDisableDeepCopy); err != nil {
			return nil, fmt.Errorf("listing %s in %s: %w", ref.Kind, s.ms.Namespace, err)
		}
		objs = make(map[string]*unstructured.Unstructured, len(list.Items))
		for i := range list.Items {
			objs[list.Items[i].GetName()] = &list.Items[i]
		}
		if s.providers == nil {
			s.providers = map[schema.GroupKind]map[string]*unstructured.Unstructured{}
		}
		s.providers[gk] = objs
	}
	obj, ok := objs[ref.Name]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: gk.Group, Resource: ref.Kind}, ref.Name)
	}
	return obj, nil
}

// takenNames are names new Machines may not have. Creations run
// concurrently (see slowStart), so it locks.
type takenNames struct {
	mu    sync.Mutex
	names map[string]bool
}

func newTakenNames(machines []*clusterv1.Machine) *takenNames {
	t := &takenNames{names: make(map[string]bool, len(machines))}
	for _, m := range machines {
		t.names[m.Name] = true
	}
	return t
}

// reserve takes name for a Machine about to be created, unless it is taken.
func (t *takenNames) reserve(name string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.names[name] {
		return false
	}
	t.names[name] = true
	return true
}

// templateError is a problem with the set's templates. The user must fix it,
// so besides being returned it is kept for the ScalingUp condition; the
// creates that meet it run concurrently, so they return it rather than set it.
type templateError struct{ error }

func (e templateError) Unwrap() error { return e.error }

// noteTemplateErr keeps a templateError found in err for the status.
func noteTemplateErr(s *scope, err error) {
	var te templateError
	if errors.As(err, &te) {
		s.templateErr = te.Error()
	}
}

// selectorOf converts spec.selector. An invalid selector fails adoption, but
// the status keeps its last status.selector: the counters are still true.
func selectorOf(ms *clusterv1.MachineSet) (labels.Selector, error) {
	return metav1.LabelSelectorAsSelector(ms.Spec.Selector.ToMetav1())
}

// labelSet lets the map functions match labels without importing labels.
func labelSet(l map[string]string) labels.Set { return labels.Set(l) }

// getMachines lists the Machines the set owns (from the cache). Ownership is
// by controller UID, not by name or selector: Machines of an earlier set of
// the same name are not ours, and garbage collection removes them.
func (r *Reconciler) getMachines(ctx context.Context, s *scope) error {
	list := &clusterv1.MachineList{}
	if err := r.Client.List(ctx, list, client.InNamespace(s.ms.Namespace),
		client.MatchingLabels{clusterv1.ClusterNameLabel: s.ms.Spec.ClusterName}); err != nil {
		return fmt.Errorf("listing Machines: %w", err)
	}
	s.machines = nil
	for i := range list.Items {
		m := &list.Items[i]
		if owner := util.ControllerOf(m); owner != nil && owner.Kind == "MachineSet" && owner.UID == s.ms.UID {
			s.machines = append(s.machines, m)
		}
	}
	return nil
}

// liveMachineCount counts the Machines the set owns, those being deleted
// too, as the API server has them.
func (r *Reconciler) liveMachineCount(ctx context.Context, s *scope) (int, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(clusterv1.GroupVersion.WithKind("MachineList"))
	if err := r.apiReader.List(ctx, list, client.InNamespace(s.ms.Namespace),
		client.MatchingLabels{clusterv1.ClusterNameLabel: s.ms.Spec.ClusterName}); err != nil {
		return 0, fmt.Errorf("counting Machines: %w", err)
	}
	n := 0
	for i := range list.Items {
		if owner := util.ControllerOf(&list.Items[i]); owner != nil && owner.Kind == "MachineSet" && owner.UID == s.ms.UID {
			n++
		}
	}
	return n, nil
}

// adoptOrphans takes Machines without a controller that match the selector.
func (r *Reconciler) adoptOrphans(ctx context.Context, s *scope) (ctrl.Result, error) {
	sel, err := selectorOf(s.ms)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("spec.selector: %w", err)
	}
	// The whole namespace, not the cluster's label: an orphan created by
	// hand may lack the label, which the Machine controller adds later.
	list := &clusterv1.MachineList{}
	if err := r.Client.List(ctx, list, client.InNamespace(s.ms.Namespace)); err != nil {
		return ctrl.Result{}, err
	}
	for i := range list.Items {
		m := &list.Items[i]
		// A Machine being deleted is left alone: adopting it gains nothing and
		// gives the set one more Machine to wait for.
		if util.ControllerOf(m) != nil || !m.DeletionTimestamp.IsZero() || m.Spec.ClusterName != s.ms.Spec.ClusterName || !sel.Matches(labels.Set(m.Labels)) {
			continue
		}
		ctrl.LoggerFrom(ctx).Info("Adopting orphaned Machine", "machine", m.Name)
		// A merge patch of the owner references and the label only, so that
		// concurrent changes to other fields are not overwritten.
		before := m.DeepCopy()
		refs := m.OwnerReferences[:0:0]
		for _, ref := range m.OwnerReferences {
			if ref.Kind != "Cluster" { // a stand-alone Machine's plain Cluster owner goes
				refs = append(refs, ref)
			}
		}
		refs = append(refs, util.OwnerRef(s.ms, clusterv1.GroupVersion.WithKind("MachineSet"), true))
		m.OwnerReferences = refs
		util.SetLabel(m, clusterv1.MachineSetNameLabel, util.LabelValue(s.ms.Name))
		if err := r.Client.Patch(ctx, m, client.MergeFrom(before)); err != nil {
			return ctrl.Result{}, fmt.Errorf("adopting Machine %s: %w", m.Name, err)
		}
		s.machines = append(s.machines, m)
	}
	return ctrl.Result{}, nil
}

// ensureProviderObjects creates the clones of a Machine that are missing:
// the API server refused one when the Machine was created (createMachine
// goes on from the Machine), the controller stopped in between, or someone
// deleted it. Machines that already provisioned are left alone.
func (r *Reconciler) ensureProviderObjects(ctx context.Context, s *scope) (ctrl.Result, error) {
	var res ctrl.Result
	for _, m := range s.machines {
		// A clone that goes missing after provisioning is a failure the
		// Machine reports; cloning it again would hide it.
		if !m.DeletionTimestamp.IsZero() || util.InfrastructureProvisioned(m) {
			continue
		}
		if wait := m.CreationTimestamp.Add(clonesWindow).Sub(s.now); wait > 0 {
			// Just created: its clones may not be in the cache yet. Look again
			// once the window has passed, unless an event comes first.
			if res.RequeueAfter == 0 || wait < res.RequeueAfter {
				res.RequeueAfter = wait
			}
			continue
		}
		if err := r.createMissingClones(ctx, s, m); err != nil {
			noteTemplateErr(s, err)
			if !refused(err) {
				return ctrl.Result{}, err
			}
			// Refused by an admission policy, a webhook or the schema: the
			// refusal lasts until someone changes what this controller
			// does not watch, so the clone is tried again at a steady pace.
			// An error would back off further at each failure, and with a
			// Machine event (its status) to fail on each time, the set
			// would look again only many minutes after the refusal ends.
			ctrl.LoggerFrom(ctx).Error(err, "The API server refuses a missing clone; trying again later", "machine", m.Name, "after", refusedCloneRetry)
			if res.RequeueAfter == 0 || refusedCloneRetry < res.RequeueAfter {
				res.RequeueAfter = refusedCloneRetry
			}
		}
	}
	// The window's requeue must not stop the remaining phases.
	s.requeueAfter = res.RequeueAfter
	return ctrl.Result{}, nil
}

// refused says whether the API server refused a request for what it holds
// rather than failed it: only a change of the request or of the refusal's
// cause (a policy, a webhook, RBAC) makes it pass.
func refused(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsInvalid(err) || apierrors.IsBadRequest(err)
}

// clonesWindow is how long a freshly created Machine's clones are assumed to
// exist without looking.
const clonesWindow = 10 * time.Second

// refusedCloneRetry is how often a clone the API server refuses is tried
// again.
const refusedCloneRetry = 10 * time.Second

// deleteOrphanedClones deletes the clones that a creation left without their
// Machine: the creation failed and so did taking its clones back, or the
// controller stopped in between. Such a clone is owned by the set alone (the
// Machine controller makes a Machine the controller of its clones) and no
// Machine of its name exists. It runs once per set after the controller
// starts, which covers a stop, and again after a failed take-back. Reads go
// to the API server: the cache may not show a Machine created just before.
// A failure here is logged and retried on the next reconcile; it does not
// stop the set from scaling.
func (r *Reconciler) deleteOrphanedClones(ctx context.Context, s *scope) (ctrl.Result, error) {
	if _, done := r.swept.Load(s.key); done {
		return ctrl.Result{}, nil
	}
	log := ctrl.LoggerFrom(ctx)
	refs := []clusterv1.ContractVersionedObjectReference{s.ms.Spec.Template.Spec.InfrastructureRef}
	if ref := s.ms.Spec.Template.Spec.Bootstrap.ConfigRef; ref.IsDefined() {
		refs = append(refs, ref)
	}
	for _, ref := range refs {
		if err := r.deleteOrphansOfKind(ctx, s, cloneRef(ref, "")); err != nil {
			log.Error(err, "Looking for orphaned clones failed; retrying on the next reconcile", "kind", ref.Kind)
			return ctrl.Result{}, nil
		}
	}
	r.swept.Store(s.key, struct{}{})
	return ctrl.Result{}, nil
}

// deleteOrphansOfKind deletes the set's orphaned clones of one kind.
func (r *Reconciler) deleteOrphansOfKind(ctx context.Context, s *scope, ref clusterv1.ContractVersionedObjectReference) error {
	gvk, err := r.Resolver.GVK(ctx, ref)
	if err != nil {
		return err
	}
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	// Clones carry the Machine's labels, the set's name among them.
	if err := r.apiReader.List(ctx, list, client.InNamespace(s.ms.Namespace),
		client.MatchingLabels{clusterv1.MachineSetNameLabel: util.LabelValue(s.ms.Name)}); err != nil {
		return fmt.Errorf("listing %s: %w", ref.Kind, err)
	}
	for i := range list.Items {
		obj := &list.Items[i]
		if !orphanedClone(obj, s.ms) {
			continue
		}
		// A Machine that exists but has not adopted its clone yet keeps it.
		err := r.apiReader.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: obj.Name}, &clusterv1.Machine{})
		if !apierrors.IsNotFound(err) {
			if err != nil {
				return fmt.Errorf("reading Machine %s: %w", obj.Name, err)
			}
			continue
		}
		ctrl.LoggerFrom(ctx).Info("Deleting orphaned clone", "kind", ref.Kind, "name", obj.Name)
		if err := r.Client.Delete(ctx, obj, client.Preconditions{UID: ptr.To(obj.UID)}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting orphaned %s %s: %w", ref.Kind, obj.Name, err)
		}
	}
	return nil
}

// orphanedClone says whether obj is a clone of ms that no Machine controls:
// ms owns it, and nothing is its controller.
func orphanedClone(obj metav1.Object, ms *clusterv1.MachineSet) bool {
	if util.ControllerOf(obj) != nil || !obj.GetDeletionTimestamp().IsZero() {
		return false
	}
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID == ms.UID {
			return true
		}
	}
	return false
}

// remediate deletes Machines a MachineHealthCheck marked for remediation
// (OwnerRemediated=False); scaling replaces them.
func (r *Reconciler) remediate(ctx context.Context, s *scope) (ctrl.Result, error) {
	for _, m := range s.machines {
		if !markedForRemediation(m) {
			continue
		}
		ctrl.LoggerFrom(ctx).Info("Deleting Machine marked for remediation", "machine", m.Name)
		if err := r.Client.Delete(ctx, m); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("deleting Machine %s for remediation: %w", m.Name, err)
		}
		s.remediating = append(s.remediating, m.Name)
	}
	return ctrl.Result{}, nil
}

// scale creates or deletes Machines until the set has spec.replicas.
func (r *Reconciler) scale(ctx context.Context, s *scope) (ctrl.Result, error) {
	ms := s.ms
	// Do not count from a cache that has not seen our own writes yet.
	present := map[string]bool{}
	for _, m := range s.machines {
		present[m.Name] = m.DeletionTimestamp.IsZero()
	}
	if !r.expectations.Satisfied(s.key, func(name string) bool {
		alive, ok := present[name]
		// A create is observed when the Machine shows up; a delete when it is
		// gone or being deleted. One key per name: creates wait for presence.
		if strings.HasPrefix(name, "-") {
			return !present[strings.TrimPrefix(name, "-")] || !alive
		}
		return ok
	}) {
		return ctrl.Result{RequeueAfter: waitForCache}, nil
	}

	want := int(mdutil.Replicas(ms.Spec.Replicas))
	var active []*clusterv1.Machine
	for _, m := range s.machines {
		if m.DeletionTimestamp.IsZero() {
			active = append(active, m)
		}
	}
	create, remove := replicaChange(len(s.machines), len(s.machines)-len(active), want)
	if create > 0 {
		// Creating is the step that a wrong count makes unbounded, so it
		// counts from the API server: a cache that stopped following (and
		// expectations that expired meanwhile) must not add Machines again.
		all, err := r.liveMachineCount(ctx, s)
		if err != nil {
			return ctrl.Result{}, err
		}
		create = max(0, want-all)
	}
	if create > 0 && r.oldOnDeleteRevision(ctx, s) {
		// With OnDelete, a deleted Machine of an old revision comes back from
		// the new template: the MachineDeployment grows the new MachineSet.
		s.scaleMessage = "old revision of an OnDelete MachineDeployment: deleted Machines are replaced by the new revision"
		return ctrl.Result{}, nil
	}
	if create == 0 && len(active) < want {
		// A Machine on its way out is replaced once it is gone, never
		// before: one that never finishes going must not cost another.
		s.scaleMessage = fmt.Sprintf("waiting for %d Machines being deleted before replacing them", len(s.machines)-len(active))
	}
	switch {
	case create > 0:
		s.scalingUp = true
		s.scaleMessage = fmt.Sprintf("scaling up from %d to %d replicas", len(active), want)
		ctrl.LoggerFrom(ctx).Info("Scaling up", "from", len(active), "to", want)
		s.taken = newTakenNames(s.machines)
		names, err := slowStart(create, createConcurrency, func() (string, error) { return r.createMachine(ctx, s) })
		// Expect what was created, also before a failure, so that the retry
		// does not count from a cache that misses them.
		r.expectations.Expect(s.key, names...)
		if err != nil {
			noteTemplateErr(s, err)
			return ctrl.Result{}, err
		}
	case remove > 0:
		s.scalingDown = true
		s.scaleMessage = fmt.Sprintf("scaling down from %d to %d replicas", len(active), want)
		ctrl.LoggerFrom(ctx).Info("Scaling down", "from", len(active), "to", want)
		victims := deletionOrder(active, ms.Spec.Deletion.Order)[:remove]
		// Deletes are expected under a "-" prefix so that a Machine deleted
		// and one of the same name created are told apart.
		var names []string
		for _, m := range victims {
			ctrl.LoggerFrom(ctx).Info("Deleting Machine", "machine", m.Name)
			if err := r.Client.Delete(ctx, m); client.IgnoreNotFound(err) != nil {
				r.expectations.Expect(s.key, names...)
				return ctrl.Result{}, fmt.Errorf("deleting Machine %s: %w", m.Name, err)
			}
			names = append(names, "-"+m.Name)
		}
		r.expectations.Expect(s.key, names...)
	}
	return ctrl.Result{}, nil
}

// replicaChange says how many Machines a set creates or deletes to reach
// want, given all the Machines it owns and how many of them are being
// deleted. Machines being
// deleted count as Machines the set has: they still exist, and one whose
// deletion never finishes must never be replaced by another, or a fault that
// makes Machines fail and stick would grow the set without bound. They are
// not deleted again either, so scaling down takes only from the others.
func replicaChange(all, deleting, want int) (create, remove int) {
	if all < want {
		return want - all, 0
	}
	return 0, max(0, all-deleting-want)
}

// createConcurrency bounds how many Machines a scale-up creates at once. One
// at a time, each waiting for its three creates, a hundred Machines take
// long; all at once, a large scale-up floods the API server.
const createConcurrency = 10

// slowStart calls create n times, in batches that run concurrently and double
// from 1 up to limit, and returns the names of the creates that succeeded. A
// batch with a failure ends it, so a broken template costs one failed create
// rather than a batch of them. It never calls create more than n times.
func slowStart(n, limit int, create func() (string, error)) ([]string, error) {
	var (
		mu    sync.Mutex
		names []string
		errs  []error
	)
	for batch := 1; n > 0 && len(errs) == 0; batch = min(2*batch, limit) {
		size := min(batch, n)
		var wg sync.WaitGroup
		for range size {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name, err := create()
				mu.Lock()
				defer mu.Unlock()
				// A name comes back whenever the Machine was created, also
				// when one of its clones then failed: it is expected.
				if name != "" {
					names = append(names, name)
				}
				if err != nil {
					errs = append(errs, err)
				}
			}()
		}
		wg.Wait()
		n -= size
	}
	return names, errors.Join(errs...)
}

// oldOnDeleteRevision reports whether the set is an old revision of a
// MachineDeployment with the OnDelete strategy.
func (r *Reconciler) oldOnDeleteRevision(ctx context.Context, s *scope) bool {
	owner := util.ControllerOf(s.ms)
	if owner == nil || owner.Kind != "MachineDeployment" {
		return false
	}
	// On a failed read the set scales up as usual: a surplus Machine is
	// easier to recover from than a missing one.
	md := &clusterv1.MachineDeployment{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: s.ms.Namespace, Name: owner.Name}, md); err != nil {
		return false
	}
	return md.Spec.Rollout.Strategy.Type == clusterv1.OnDeleteMachineDeploymentStrategyType &&
		s.ms.Labels[clusterv1.MachineDeploymentUniqueLabel] != mdutil.TemplateHash(md, s.now)
}

// deletionOrder sorts Machines most-deletable first: marked with
// delete-machine, then not healthy, then by the policy (Random by default).
func deletionOrder(machines []*clusterv1.Machine, order clusterv1.MachineSetDeletionOrder) []*clusterv1.Machine {
	out := append([]*clusterv1.Machine(nil), machines...)
	priority := func(m *clusterv1.Machine) int {
		if _, ok := m.Annotations[clusterv1.DeleteMachineAnnotation]; ok {
			return 0
		}
		if c := conditions.Get(m.Status.Conditions, clusterv1.MachineHealthCheckSucceededCondition); c != nil && c.Status == metav1.ConditionFalse {
			return 1
		}
		if !conditions.IsTrue(m.Status.Conditions, clusterv1.ReadyCondition) {
			return 2
		}
		return 3
	}
	// One random key per Machine, drawn up front: a comparator that drew
	// anew on every call would not be a consistent order for the sort.
	random := map[string]int{}
	for _, m := range out {
		random[m.Name] = rand.Int() //nolint:gosec // choosing victims, not secrets
	}
	sort.SliceStable(out, func(i, j int) bool {
		pi, pj := priority(out[i]), priority(out[j])
		if pi != pj {
			return pi < pj
		}
		ti, tj := out[i].CreationTimestamp.Time, out[j].CreationTimestamp.Time
		switch order {
		case clusterv1.NewestMachineSetDeletionOrder:
			if !ti.Equal(tj) {
				return ti.After(tj)
			}
		case clusterv1.OldestMachineSetDeletionOrder:
			if !ti.Equal(tj) {
				return ti.Before(tj)
			}
		default:
			return random[out[i].Name] < random[out[j].Name]
		}
		// Equal creation times: the name makes the order deterministic.
		return out[i].Name < out[j].Name
	})
	return out
}

// machineName renders spec.machineNaming.template (default
// "{{ .machineSet.name }}-{{ .random }}").
func machineName(ms *clusterv1.MachineSet) (string, error) {
	return naming.MachineName(ms.Spec.MachineNaming.Template, "{{ .machineSet.name }}-{{ .random }}",
		map[string]string{"cluster": ms.Spec.ClusterName, "machineSet": ms.Name})
}

// nameAttempts bounds the names tried for one new Machine.
const nameAttempts = 10

// newMachineName picks the name of a new Machine: one that no Machine in the
// cache and no other creation of this reconcile has. The random part has five
// characters of 27, so at a thousand Machines two names meet in about one
// scale-up of thirty; a create would then be answered AlreadyExists.
func (r *Reconciler) newMachineName(ctx context.Context, s *scope) (string, error) {
	for range nameAttempts {
		name, err := machineName(s.ms)
		if err != nil {
			// Kept for ScalingUp: the user must fix the template, and the
			// error alone would only show in the logs.
			return "", templateError{err}
		}
		if !s.taken.reserve(name) {
			continue
		}
		err = r.Client.Get(ctx, client.ObjectKey{Namespace: s.ms.Namespace, Name: name}, &clusterv1.Machine{})
		switch {
		case apierrors.IsNotFound(err):
			return name, nil
		case err != nil:
			return "", fmt.Errorf("reading Machine %s: %w", name, err)
		}
	}
	return "", fmt.Errorf("%d names rendered from the naming template were all taken by Machines", nameAttempts)
}

// createMachine creates one Machine and its clones. It returns the Machine's name.
//
// The Machine goes first and its clones after it, each created complete in
// one request: owned and controlled by the Machine, with its labels, so that
// nobody has to adopt them with a second write. The clones take the
// Machine's name, so its references are right before they exist. A clone
// the API server refuses leaves the Machine waiting for it (its conditions
// say which object is missing, the set's ScalingUp says why): the Machine
// counts as a replica, so no more are created, and ensureProviderObjects
// creates the missing clone once the refusal is lifted.
func (r *Reconciler) createMachine(ctx context.Context, s *scope) (string, error) {
	ms := s.ms
	name, err := r.newMachineName(ctx, s)
	if err != nil {
		return "", err
	}
	m := newMachine(ms, name)
	// The templates are read before anything is created: a template that
	// cannot be cloned makes no Machine at all.
	clones, err := r.clones(ctx, s, m)
	if err != nil {
		return "", err
	}
	ctrl.LoggerFrom(ctx).Info("Creating Machine", "machine", name)
	if err := r.Client.Create(ctx, m); err != nil {
		return "", fmt.Errorf("creating Machine %s: %w", name, err)
	}
	owner := util.OwnerRef(m, clusterv1.GroupVersion.WithKind("Machine"), true)
	for _, clone := range clones {
		// Built before the Machine had its UID.
		clone.SetOwnerReferences([]metav1.OwnerReference{owner})
		if err := r.Client.Create(ctx, clone); err != nil {
			// The Machine stays and counts; its clone is created again
			// once the API server takes it (ensureProviderObjects).
			return name, fmt.Errorf("creating %s %s: %w", clone.GetKind(), clone.GetName(), err)
		}
	}
	return name, nil
}

// newMachine builds the Machine called name from the set's template.
func newMachine(ms *clusterv1.MachineSet, name string) *clusterv1.Machine {
	tmpl := ms.Spec.Template
	m := &clusterv1.Machine{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       ms.Namespace,
			Labels:          machineLabels(ms),
			Annotations:     copyMap(tmpl.ObjectMeta.Annotations),
			Finalizers:      []string{clusterv1.MachineFinalizer},
			OwnerReferences: []metav1.OwnerReference{util.OwnerRef(ms, clusterv1.GroupVersion.WithKind("MachineSet"), true)},
		},
		Spec: *tmpl.Spec.DeepCopy(),
	}
	// The providerID belongs to one machine, never to a template.
	m.Spec.ClusterName = ms.Spec.ClusterName
	m.Spec.ProviderID = ""
	// The clones take the Machine's name, so the references are known before
	// the clones exist and a crash in between is repaired by name.
	m.Spec.InfrastructureRef = cloneRef(tmpl.Spec.InfrastructureRef, name)
	if ref := tmpl.Spec.Bootstrap.ConfigRef; ref.IsDefined() {
		m.Spec.Bootstrap.ConfigRef = cloneRef(ref, name)
		// The config will name its own Secret; a template's name would be
		// some other Machine's data.
		m.Spec.Bootstrap.DataSecretName = nil
	}
	return m
}

// cloneRef refers to the clone named name of the template ref refers to.
func cloneRef(ref clusterv1.ContractVersionedObjectReference, name string) clusterv1.ContractVersionedObjectReference {
	return clusterv1.ContractVersionedObjectReference{APIGroup: ref.APIGroup, Kind: strings.TrimSuffix(ref.Kind, "Template"), Name: name}
}

// machineLabels are the template's labels plus the ones the core provider
// finds Machines by. Ours are written last so a template cannot override them.
func machineLabels(ms *clusterv1.MachineSet) map[string]string {
	l := copyMap(ms.Spec.Template.ObjectMeta.Labels)
	l[clusterv1.ClusterNameLabel] = ms.Spec.ClusterName
	l[clusterv1.MachineSetNameLabel] = util.LabelValue(ms.Name)
	if md, ok := ms.Labels[clusterv1.MachineDeploymentNameLabel]; ok {
		l[clusterv1.MachineDeploymentNameLabel] = md
	}
	return l
}

// copyMap copies so that a Machine's labels never alias the template's. The
// room for three more is for the labels machineLabels adds.
func copyMap(in map[string]string) map[string]string {
	out := make(map[string]string, len(in)+3)
	for k, v := range in {
		out[k] = v
	}
	return out
}

// clones builds the clones of m's templates, the bootstrap config first, as
// upstream orders them, each owned and controlled by m (once m has a UID).
func (r *Reconciler) clones(ctx context.Context, s *scope, m *clusterv1.Machine) ([]*unstructured.Unstructured, error) {
	tmpl := s.ms.Spec.Template.Spec
	var refs []clusterv1.ContractVersionedObjectReference
	if tmpl.Bootstrap.ConfigRef.IsDefined() {
		refs = append(refs, tmpl.Bootstrap.ConfigRef)
	}
	refs = append(refs, tmpl.InfrastructureRef)
	out := make([]*unstructured.Unstructured, 0, len(refs))
	for _, ref := range refs {
		clone, err := r.clone(ctx, s, m, ref, util.OwnerRef(m, clusterv1.GroupVersion.WithKind("Machine"), true))
		if err != nil {
			return nil, templateError{err}
		}
		out = append(out, clone)
	}
	return out, nil
}

// createMissingClones creates those of m's clones that do not exist. Any
// answer but NotFound leaves a clone alone: creating over a read error could
// only fail or duplicate.
func (r *Reconciler) createMissingClones(ctx context.Context, s *scope, m *clusterv1.Machine) error {
	// The Machine names its clones: while they all exist there is nothing
	// to build.
	refs := []clusterv1.ContractVersionedObjectReference{m.Spec.InfrastructureRef}
	if m.Spec.Bootstrap.ConfigRef.IsDefined() {
		refs = append(refs, m.Spec.Bootstrap.ConfigRef)
	}
	missing := false
	for _, ref := range refs {
		if _, err := r.peekProvider(ctx, s, ref); apierrors.IsNotFound(err) {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	clones, err := r.clones(ctx, s, m)
	if err != nil {
		return err
	}
	for _, clone := range clones {
		ref := clusterv1.ContractVersionedObjectReference{APIGroup: clone.GroupVersionKind().Group, Kind: clone.GetKind(), Name: clone.GetName()}
		if _, err := r.Resolver.Get(ctx, r.Client, ref, m.Namespace); err == nil || !apierrors.IsNotFound(err) {
			continue
		}
		ctrl.LoggerFrom(ctx).Info("Creating missing clone", "kind", clone.GetKind(), "name", clone.GetName())
		// The clone's name is the Machine's: AlreadyExists means it appeared
		// since the read.
		if err := r.Client.Create(ctx, clone); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating %s %s: %w", clone.GetKind(), clone.GetName(), err)
		}
	}
	return nil
}

// clone builds the object a template describes, with the Machine's labels
// and the set's template annotations, as upstream does.
func (r *Reconciler) clone(ctx context.Context, s *scope, m *clusterv1.Machine, ref clusterv1.ContractVersionedObjectReference, owner metav1.OwnerReference) (*unstructured.Unstructured, error) {
	tmpl, err := r.Resolver.Get(ctx, r.Client, ref, m.Namespace)
	if err != nil {
		return nil, fmt.Errorf("reading template %s %s: %w", ref.Kind, ref.Name, err)
	}
	obj, err := external.FromTemplate(tmpl, external.Instance{
		Name: m.Name, Namespace: m.Namespace, Labels: m.Labels, Owner: owner,
	})
	if err != nil {
		return nil, fmt.Errorf("cloning %s %s: %w", ref.Kind, ref.Name, err)
	}
	annotations := obj.GetAnnotations()
	for k, v := range s.ms.Spec.Template.ObjectMeta.Annotations {
		annotations[k] = v
	}
	obj.SetAnnotations(annotations)
	return obj, nil
}

// markedForRemediation says whether a MachineHealthCheck asks this owner to
// remediate the Machine: OwnerRemediated=False while HealthCheckSucceeded is
// still False, as upstream requires both. A Machine that recovered before
// its owner acted keeps its place, and one already being deleted needs
// nothing more.
func markedForRemediation(m *clusterv1.Machine) bool {
	c := conditions.Get(m.Status.Conditions, clusterv1.MachineOwnerRemediatedCondition)
	h := conditions.Get(m.Status.Conditions, clusterv1.MachineHealthCheckSucceededCondition)
	return c != nil && c.Status == metav1.ConditionFalse && h != nil && h.Status == metav1.ConditionFalse && m.DeletionTimestamp.IsZero()
}
