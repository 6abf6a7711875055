package convert

import (
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

func newObject(apiVersion, kind string, meta map[string]any) map[string]any {
	return map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": meta}
}

func convertCluster(c *converter, s src) map[string]any {
	meta := metadata(s.child("metadata"))
	out := newObject(coreV1beta2, "Cluster", meta)
	in := s.child("spec")
	spec := map[string]any{}

	network := in.child("clusterNetwork")
	net := map[string]any{}
	network.copy(net, "apiServerPort", "serviceDomain")
	for _, k := range []string{"services", "pods"} {
		ranges := map[string]any{}
		network.child(k).copy(ranges, "cidrBlocks")
		set(net, k, ranges)
	}
	set(spec, "clusterNetwork", net)
	ns, _ := meta["namespace"].(string)
	set(spec, "infrastructureRef", ref(in.child("infrastructureRef"), ns))
	// Not in v1alpha2, but written by hand-upgraded manifests.
	set(spec, "controlPlaneRef", ref(in.child("controlPlaneRef"), ns))
	endpoint := map[string]any{}
	in.child("controlPlaneEndpoint").copy(endpoint, "host", "port")
	set(spec, "controlPlaneEndpoint", endpoint)
	in.copy(spec, "paused")
	if len(spec) == 0 {
		c.warn("spec", "empty: a v1beta2 Cluster needs at least spec.infrastructureRef or spec.clusterNetwork")
	}
	out["spec"] = spec
	dropStatus(s)
	return out
}

func convertMachine(c *converter, s src) map[string]any {
	meta := metadata(s.child("metadata"))
	out := newObject(coreV1beta2, "Machine", meta)
	ns, _ := meta["namespace"].(string)
	clusterName := labelValue(meta, clusterv1.ClusterNameLabel)
	if clusterName == "" {
		c.warn("spec.clusterName", "missing: the v1alpha2 Machine has no %s label; set spec.clusterName by hand", clusterv1.ClusterNameLabel)
	}
	out["spec"] = machineSpec(s.child("spec"), clusterName, ns)
	dropStatus(s)
	return out
}

// machineSpec converts a Machine spec, of a Machine or of a template.
func machineSpec(in src, clusterName, namespace string) map[string]any {
	spec := map[string]any{}
	set(spec, "clusterName", clusterName)

	bootstrap := map[string]any{}
	b := in.child("bootstrap")
	set(bootstrap, "configRef", ref(b.child("configRef"), namespace))
	if _, ok := b.take("data"); ok {
		in.c.dropped(b.at("data"), "v1beta2 reads bootstrap data only from a Secret; store it in one and set spec.bootstrap.dataSecretName")
	}
	b.copy(bootstrap, "dataSecretName")
	set(spec, "bootstrap", bootstrap)

	set(spec, "infrastructureRef", ref(in.child("infrastructureRef"), namespace))
	in.copy(spec, "version", "failureDomain")
	if _, ok := in.take("providerID"); ok {
		in.c.dropped(in.at("providerID"), "the Machine controller copies it from the infrastructure machine")
	}
	if m := in.child("metadata"); len(m.m) > 0 {
		delete(in.m, "metadata")
		in.c.dropped(m.path, "v1alpha2's Node metadata has no v1beta2 equivalent; Machine labels node-role.kubernetes.io/* and node.cluster.x-k8s.io/* are synced to the Node")
	}
	return spec
}

// labelValue reads a label of converted metadata.
func labelValue(meta map[string]any, key string) string {
	l, _ := meta["labels"].(map[string]any)
	v, _ := l[key].(string)
	return v
}

// machineTemplate converts the template of a MachineSet or MachineDeployment.
// minReadySeconds moved from the owner's spec into the Machine spec in v1beta2.
func machineTemplate(in src, clusterName, namespace string, minReadySeconds any) map[string]any {
	out := map[string]any{}
	meta := map[string]any{}
	m := in.child("metadata")
	set(meta, "labels", labels(m.child("labels")))
	set(meta, "annotations", stringMap(m.child("annotations")))
	set(out, "metadata", meta)
	spec := machineSpec(in.child("spec"), clusterName, namespace)
	if _, ok := spec["minReadySeconds"]; !ok {
		set(spec, "minReadySeconds", minReadySeconds)
	}
	out["spec"] = spec
	return out
}

// ownerClusterName finds the cluster of a MachineSet or MachineDeployment: v1alpha2
// tied them to a cluster by label, on the object or on its template.
func ownerClusterName(meta map[string]any, template src) string {
	if n := labelValue(meta, clusterv1.ClusterNameLabel); n != "" {
		return n
	}
	l, _ := template.child("metadata").child("labels").m[clusterv1.ClusterNameLabel].(string)
	return l
}

func convertMachineSet(c *converter, s src) map[string]any {
	meta := metadata(s.child("metadata"))
	out := newObject(coreV1beta2, "MachineSet", meta)
	ns, _ := meta["namespace"].(string)
	in := s.child("spec")
	template := in.child("template")
	clusterName := ownerClusterName(meta, template)
	if clusterName == "" {
		c.warn("spec.clusterName", "missing: the v1alpha2 MachineSet has no %s label; set spec.clusterName by hand", clusterv1.ClusterNameLabel)
	}
	spec := map[string]any{}
	set(spec, "clusterName", clusterName)
	in.copy(spec, "replicas", "selector")
	if p, ok := in.str("deletePolicy"); ok {
		set(spec, "deletion", map[string]any{"order": p})
	}
	minReady, _ := in.take("minReadySeconds")
	spec["template"] = machineTemplate(template, clusterName, ns, minReady)
	out["spec"] = spec
	dropStatus(s)
	return out
}

func convertMachineDeployment(c *converter, s src) map[string]any {
	meta := metadata(s.child("metadata"))
	out := newObject(coreV1beta2, "MachineDeployment", meta)
	ns, _ := meta["namespace"].(string)
	in := s.child("spec")
	template := in.child("template")
	clusterName := ownerClusterName(meta, template)
	if clusterName == "" {
		c.warn("spec.clusterName", "missing: the v1alpha2 MachineDeployment has no %s label; set spec.clusterName by hand", clusterv1.ClusterNameLabel)
	}
	spec := map[string]any{}
	set(spec, "clusterName", clusterName)
	in.copy(spec, "replicas", "selector", "paused")

	// strategy became rollout.strategy; its deletePolicy became deletion.order.
	strategy := in.child("strategy")
	rollout := map[string]any{}
	st := map[string]any{}
	strategy.copy(st, "type")
	ru := strategy.child("rollingUpdate")
	rolling := map[string]any{}
	ru.copy(rolling, "maxUnavailable", "maxSurge")
	if p, ok := ru.str("deletePolicy"); ok {
		set(spec, "deletion", map[string]any{"order": p})
	}
	set(st, "rollingUpdate", rolling)
	if _, ok := st["rollingUpdate"]; ok && st["type"] == nil {
		st["type"] = "RollingUpdate"
	}
	set(rollout, "strategy", st)
	set(spec, "rollout", rollout)

	if _, ok := in.take("revisionHistoryLimit"); ok {
		c.dropped(in.at("revisionHistoryLimit"), "v1beta2 keeps no revision history limit")
	}
	if _, ok := in.take("progressDeadlineSeconds"); ok {
		c.dropped(in.at("progressDeadlineSeconds"), "v1beta2 has no progress deadline")
	}
	minReady, _ := in.take("minReadySeconds")
	spec["template"] = machineTemplate(template, clusterName, ns, minReady)
	out["spec"] = spec
	dropStatus(s)
	return out
}
