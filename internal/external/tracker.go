// Package external adds watches on provider kinds the first time a controller
// meets them. The core controllers learn a provider's kind only from a
// reference (for example a Machine's infrastructureRef), so the watch cannot be
// declared when the controller is built.
package external

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/contract"
)

// Tracker remembers which kinds a controller already watches.
type Tracker struct {
	Controller controller.Controller
	Cache      cache.Cache
	Handler    handler.EventHandler
	Predicates []predicate.Predicate

	watching sync.Map // schema.GroupVersionKind → struct{}
}

// Watch makes sure events of the kind reach the controller through Handler.
func (t *Tracker) Watch(gvk schema.GroupVersionKind) error {
	if t == nil || t.Controller == nil {
		return nil
	}
	if _, loaded := t.watching.LoadOrStore(gvk, struct{}{}); loaded {
		return nil
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	if err := t.Controller.Watch(source.Kind[client.Object](t.Cache, u, t.Handler, t.Predicates...)); err != nil {
		t.watching.Delete(gvk)
		return fmt.Errorf("watching %s: %w", gvk, err)
	}
	return nil
}

// Get resolves a reference, makes sure its kind is watched, and reads the object.
func (t *Tracker) Get(ctx context.Context, resolver *contract.Resolver, c client.Reader, ref clusterv1.ContractVersionedObjectReference, ns string) (*unstructured.Unstructured, error) {
	gvk, err := resolver.GVK(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := t.Watch(gvk); err != nil {
		return nil, err
	}
	return resolver.Get(ctx, c, ref, ns)
}
