package v1beta1

// Duration is a duration as Go writes it, such as "10m" or "300s". It is kept
// as written, so that an object reads back in v1beta1 exactly as it was
// applied; v1beta2 holds the same value as whole seconds.
//
// +kubebuilder:validation:Type=string
// +kubebuilder:validation:MaxLength=64
// +kubebuilder:validation:Pattern=`^-?(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$`
type Duration string
