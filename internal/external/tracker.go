// Package external adds watches on provider kinds the first time a controller
// meets them. The core controllers learn a provider's kind only from a
// reference (for example a Machine's infrastructureRef), so the watch cannot be
// declared when the controller is built.
package external

import (
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
