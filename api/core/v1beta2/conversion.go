package v1beta2

// Hub marks v1beta2 as the version every other cluster.x-k8s.io version
// converts through (the stored version).
func (*Cluster) Hub() {}

// Hub marks v1beta2 as the conversion hub.
func (*Machine) Hub() {}

// Hub marks v1beta2 as the conversion hub.
func (*MachineSet) Hub() {}

// Hub marks v1beta2 as the conversion hub.
func (*MachineDeployment) Hub() {}

// Hub marks v1beta2 as the conversion hub.
func (*MachineHealthCheck) Hub() {}

// Hub marks v1beta2 as the conversion hub.
func (*MachinePool) Hub() {}

// Hub marks v1beta2 as the conversion hub.
func (*MachineDrainRule) Hub() {}
