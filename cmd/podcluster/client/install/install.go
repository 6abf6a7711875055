// Package install adapts the release manifest that `podcluster init` applies:
// the image of the manager Deployments, and RBAC and watches limited to the
// namespaces the managers serve. It only rewrites objects; nothing is read
// from or written to a cluster.
package install

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// DefaultImage is the manager image the release manifest names. podcluster
// publishes no image: build one from the repository's Dockerfile and name it
// with --image.
const DefaultImage = "podcluster/podcluster:dev"

// partOfLabel marks every object podcluster installs.
const partOfLabel = "app.kubernetes.io/part-of"

// Options say how to adapt the manifest. The zero value changes nothing.
type Options struct {
	// Image replaces the image of every container of every manager
	// Deployment; empty keeps the manifest's.
	Image string
	// WatchNamespaces, when set, limits every manager to these namespaces:
	// each gets --namespace, and its ClusterRoleBinding becomes RoleBindings
	// in these namespaces (see LimitToNamespaces).
	WatchNamespaces []string
}

// Render applies opts to the objects of a release manifest, in place, and
// returns the objects to apply (namespace limits replace and add objects).
func Render(objs []*unstructured.Unstructured, opts Options) ([]*unstructured.Unstructured, error) {
	if opts.Image != "" {
		if err := SetImage(objs, opts.Image); err != nil {
			return nil, err
		}
	}
	if len(opts.WatchNamespaces) > 0 {
		return LimitToNamespaces(objs, opts.WatchNamespaces)
	}
	return objs, nil
}

// Encode writes objects as one multi-document YAML stream.
func Encode(objs []*unstructured.Unstructured) ([]byte, error) {
	var b strings.Builder
	for i, o := range objs {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, fmt.Errorf("encoding %s %s: %w", o.GetKind(), o.GetName(), err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(data)
	}
	return []byte(b.String()), nil
}

// SetImage sets the image of every container of the manager Deployments.
func SetImage(objs []*unstructured.Unstructured, image string) error {
	return eachDeployment(objs, func(d *appsv1.Deployment) {
		for i := range d.Spec.Template.Spec.Containers {
			d.Spec.Template.Spec.Containers[i].Image = image
		}
	})
}

// ValidateNamespaces checks that every name is a namespace name and that
// there is at least one.
func ValidateNamespaces(namespaces []string) error {
	if len(namespaces) == 0 {
		return fmt.Errorf("no namespace given")
	}
	for _, ns := range namespaces {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return fmt.Errorf("namespace %q: %s", ns, strings.Join(errs, "; "))
		}
	}
	return nil
}

// clusterScoped are the cluster-scoped resources a manager's ClusterRole
// names, by API group: a RoleBinding cannot grant them, so they stay in a
// ClusterRole of their own. Only reads are expected here.
var clusterScoped = map[string]map[string]bool{
	"":                     {"nodes": true, "namespaces": true},
	"apiextensions.k8s.io": {"customresourcedefinitions": true},
}

// LimitToNamespaces turns a cluster-wide install into one that serves only
// namespaces, as namespace-scoped upstream providers are installed. For each
// manager (a ClusterRoleBinding of podcluster to a service account):
//
//   - its Deployment runs with --namespace=<namespaces>, so its cache watches
//     only them;
//   - the ClusterRoleBinding is replaced by a RoleBinding to the same
//     ClusterRole in each namespace: the namespaced rules (Pods, Secrets,
//     podcluster's kinds) hold only there;
//   - the rules on cluster-scoped resources (Nodes, CRDs) move to a
//     ClusterRole "<role>-cluster-scoped" with a ClusterRoleBinding;
//   - the leader-election Leases move to a Role "<role>-leader-election" in
//     the service account's namespace, where the Deployment keeps its Lease.
func LimitToNamespaces(objs []*unstructured.Unstructured, namespaces []string) ([]*unstructured.Unstructured, error) {
	if err := ValidateNamespaces(namespaces); err != nil {
		return nil, err
	}
	namespaces = sortedUnique(namespaces)
	roles := map[string]*rbacv1.ClusterRole{}
	for _, o := range objs {
		if o.GetKind() == "ClusterRole" {
			r := &rbacv1.ClusterRole{}
			if err := fromUnstructured(o, r); err != nil {
				return nil, err
			}
			roles[r.Name] = r
		}
	}
	var out []*unstructured.Unstructured
	var added []runtime.Object
	for _, o := range objs {
		if o.GetKind() != "ClusterRoleBinding" {
			out = append(out, o)
			continue
		}
		b := &rbacv1.ClusterRoleBinding{}
		if err := fromUnstructured(o, b); err != nil {
			return nil, err
		}
		role := roles[b.RoleRef.Name]
		if b.RoleRef.Kind != "ClusterRole" || role == nil || len(b.Subjects) != 1 || b.Subjects[0].Kind != rbacv1.ServiceAccountKind {
			return nil, fmt.Errorf("ClusterRoleBinding %s: want one service account bound to a ClusterRole of the manifest", b.Name)
		}
		added = append(added, split(role, b, namespaces)...)
	}
	// The ClusterRoles were split in place; write them back.
	for _, o := range out {
		if r, ok := roles[o.GetName()]; ok && o.GetKind() == "ClusterRole" {
			if err := toUnstructured(r, o); err != nil {
				return nil, err
			}
		}
	}
	for _, a := range added {
		u := &unstructured.Unstructured{}
		if err := toUnstructured(a, u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	if err := eachDeployment(out, func(d *appsv1.Deployment) {
		for i := range d.Spec.Template.Spec.Containers {
			c := &d.Spec.Template.Spec.Containers[i]
			c.Args = withNamespaceArg(c.Args, namespaces)
		}
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// split moves role's cluster-scoped and leader-election rules out of it and
// returns the bindings and roles that replace binding b.
func split(role *rbacv1.ClusterRole, b *rbacv1.ClusterRoleBinding, namespaces []string) []runtime.Object {
	sa := b.Subjects[0]
	labels := b.Labels
	var namespaced, cluster, election []rbacv1.PolicyRule
	for _, rule := range role.Rules {
		ns, cl := splitRule(rule)
		switch {
		case ns == nil:
		case slices.Contains(ns.APIGroups, "coordination.k8s.io"):
			election = append(election, *ns)
		case slices.Contains(ns.APIGroups, "") && slices.Contains(ns.Resources, "events"):
			// Events go to the reconciled object's namespace, and the
			// leader election records its own next to the Lease.
			namespaced = append(namespaced, *ns)
			election = append(election, *ns)
		default:
			namespaced = append(namespaced, *ns)
		}
		if cl != nil {
			cluster = append(cluster, *cl)
		}
	}
	role.Rules = namespaced
	meta := func(name, ns string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}
	}
	var objs []runtime.Object
	for _, ns := range namespaces {
		objs = append(objs, &rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
			ObjectMeta: meta(role.Name, ns),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
			Subjects:   []rbacv1.Subject{sa},
		})
	}
	if len(cluster) > 0 {
		name := role.Name + "-cluster-scoped"
		objs = append(objs,
			&rbacv1.ClusterRole{
				TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRole"},
				ObjectMeta: meta(name, ""), Rules: cluster,
			},
			&rbacv1.ClusterRoleBinding{
				TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRoleBinding"},
				ObjectMeta: meta(name, ""),
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
				Subjects:   []rbacv1.Subject{sa},
			})
	}
	if len(election) > 0 {
		name := role.Name + "-leader-election"
		objs = append(objs,
			&rbacv1.Role{
				TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "Role"},
				ObjectMeta: meta(name, sa.Namespace), Rules: election,
			},
			&rbacv1.RoleBinding{
				TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
				ObjectMeta: meta(name, sa.Namespace),
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
				Subjects:   []rbacv1.Subject{sa},
			})
	}
	return objs
}

// splitRule divides a rule into its namespaced and its cluster-scoped
// resources; either may be nil. A resource counts as cluster-scoped when it
// is in any of the rule's groups (controller-gen writes one group a rule).
func splitRule(rule rbacv1.PolicyRule) (namespaced, cluster *rbacv1.PolicyRule) {
	var ns, cl []string
	for _, res := range rule.Resources {
		isCluster := false
		for _, g := range rule.APIGroups {
			base, _, _ := strings.Cut(res, "/")
			isCluster = isCluster || clusterScoped[g][base]
		}
		if isCluster {
			cl = append(cl, res)
		} else {
			ns = append(ns, res)
		}
	}
	if len(ns) > 0 {
		r := *rule.DeepCopy()
		r.Resources = ns
		namespaced = &r
	}
	if len(cl) > 0 {
		r := *rule.DeepCopy()
		r.Resources = cl
		cluster = &r
	}
	return namespaced, cluster
}

// withNamespaceArg sets --namespace in a manager's arguments.
func withNamespaceArg(args, namespaces []string) []string {
	flag := "--namespace=" + strings.Join(namespaces, ",")
	out := make([]string, 0, len(args)+1)
	for _, a := range args {
		if !strings.HasPrefix(a, "--namespace=") {
			out = append(out, a)
		}
	}
	return append(out, flag)
}

// eachDeployment runs fn on every manager Deployment, in place.
func eachDeployment(objs []*unstructured.Unstructured, fn func(*appsv1.Deployment)) error {
	for _, o := range objs {
		if o.GetKind() != "Deployment" || o.GetLabels()[partOfLabel] != "podcluster" {
			continue
		}
		d := &appsv1.Deployment{}
		if err := fromUnstructured(o, d); err != nil {
			return err
		}
		fn(d)
		if err := toUnstructured(d, o); err != nil {
			return err
		}
	}
	return nil
}

func fromUnstructured(u *unstructured.Unstructured, into any) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		return fmt.Errorf("reading %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return nil
}

// toUnstructured replaces u's content with obj's, without the empty status
// and creationTimestamp the typed structs carry.
func toUnstructured(obj any, u *unstructured.Unstructured) error {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	delete(m, "status")
	unstructured.RemoveNestedField(m, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(m, "spec", "template", "metadata", "creationTimestamp")
	u.Object = m
	return nil
}

func sortedUnique(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
