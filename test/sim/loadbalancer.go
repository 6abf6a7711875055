package sim

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/internal/util"
)

// loadBalancerReconciler plays a cloud's LoadBalancer controller: each
// LoadBalancer Service gets a loopback address of its own, so that several
// workload API servers can listen on the same port.
type loadBalancerReconciler struct {
	client client.Client
	rt     *Runtime
}

func (r *loadBalancerReconciler) setup(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("sim-loadbalancer").
		For(&corev1.Service{}).
		Complete(r)
}

func (r *loadBalancerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	owner := "service/" + req.String()
	svc := &corev1.Service{}
	if err := r.client.Get(ctx, req.NamespacedName, svc); err != nil {
		if apierrors.IsNotFound(err) {
			r.rt.lbAddrs.release(owner)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("reading Service %s: %w", req, err)
	}
	if !r.serves(svc) {
		r.rt.lbAddrs.release(owner)
		return ctrl.Result{}, nil
	}
	if ip, ok := util.LoadBalancerIP(svc); ok {
		// Already served, by us or by an earlier run: keep it.
		r.rt.lbAddrs.hold(owner, ip)
		return ctrl.Result{}, nil
	}

	used, err := util.UsedLoadBalancerIPs(ctx, r.client)
	if err != nil {
		return ctrl.Result{}, err
	}
	ip, err := r.rt.lbAddrs.allocate(owner, used)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("allocating an address for Service %s: %w", req, err)
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip.String(), IPMode: ptrTo(corev1.LoadBalancerIPModeVIP)}}
	if err := r.client.Status().Update(ctx, svc); err != nil {
		// On a conflict the next reconcile sees the newer Service; the owner
		// keeps its address meanwhile, so nothing else takes it.
		return ctrl.Result{}, fmt.Errorf("setting the address of Service %s: %w", req, err)
	}
	ctrl.LoggerFrom(ctx).Info("Assigned a LoadBalancer address", "address", ip)
	return ctrl.Result{}, nil
}

// serves says whether this controller is the Service's LoadBalancer controller.
func (r *loadBalancerReconciler) serves(svc *corev1.Service) bool {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.DeletionTimestamp != nil {
		return false
	}
	if svc.Spec.LoadBalancerClass == nil {
		return r.rt.LoadBalancerClass == ""
	}
	return *svc.Spec.LoadBalancerClass == r.rt.LoadBalancerClass
}

func ptrTo[T any](v T) *T { return &v }
