package v1beta2

// Hub marks v1beta2 as the version every other bootstrap.cluster.x-k8s.io
// version converts through (the stored version).
func (*KubeadmConfig) Hub() {}

// Hub marks v1beta2 as the conversion hub.
func (*KubeadmConfigTemplate) Hub() {}
