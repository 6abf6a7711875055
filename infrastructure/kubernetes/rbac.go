package kubernetes

// RBAC the provider needs besides its reconcilers' own markers: leader
// election and events.
//
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete
