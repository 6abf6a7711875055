package convert

// The seed's Kubernetes infrastructure provider (group
// infrastructure.lukeaddison.co.uk) ran nodes as Pods, as podcluster does, so
// its kinds map onto podcluster's infrastructure.cluster.x-k8s.io/v1alpha1 kinds
// of the same names.

func convertKubernetesCluster(_ *converter, s src) map[string]any {
	out := newObject(infraV1alpha1, "KubernetesCluster", metadata(s.child("metadata")))
	spec := map[string]any{}
	in := s.child("spec")
	in.copy(spec, "controlPlaneServiceType")
	endpoint := map[string]any{}
	in.child("controlPlaneEndpoint").copy(endpoint, "host", "port")
	set(spec, "controlPlaneEndpoint", endpoint)
	set(out, "spec", spec)
	dropStatus(s)
	return out
}

func convertKubernetesMachine(_ *converter, s src) map[string]any {
	out := newObject(infraV1alpha1, "KubernetesMachine", metadata(s.child("metadata")))
	set(out, "spec", kubernetesMachineSpec(s.child("spec")))
	dropStatus(s)
	return out
}

func convertKubernetesMachineTemplate(_ *converter, s src) map[string]any {
	out := newObject(infraV1alpha1, "KubernetesMachineTemplate", metadata(s.child("metadata")))
	in := s.child("spec").child("template")
	template := map[string]any{}
	m := in.child("metadata")
	meta := map[string]any{}
	set(meta, "labels", labels(m.child("labels")))
	set(meta, "annotations", stringMap(m.child("annotations")))
	set(template, "metadata", meta)
	// spec is required in a template, even when empty.
	template["spec"] = kubernetesMachineSpec(in.child("spec"))
	out["spec"] = map[string]any{"template": template}
	dropStatus(s)
	return out
}

// kubernetesMachineSpec carries over the scheduling fields both providers
// share. The providerID is the controller's: the old provider's IDs
// (kubernetes://<uid>) do not have podcluster's form (kubernetes://<namespace>/<pod>).
func kubernetesMachineSpec(in src) map[string]any {
	spec := map[string]any{}
	if _, ok := in.take("providerID"); ok {
		in.c.dropped(in.at("providerID"), "the KubernetesMachine controller sets it (kubernetes://<namespace>/<pod>)")
	}
	in.copy(spec, "image", "resources", "nodeSelector", "tolerations", "affinity", "priorityClassName", "runtimeClassName")
	var claims []any
	for _, c := range in.list("volumeClaimTemplates") {
		claim := map[string]any{}
		meta := map[string]any{}
		m := c.child("metadata")
		m.copy(meta, "name", "labels", "annotations")
		set(claim, "metadata", meta)
		c.copy(claim, "spec")
		if _, ok := c.take("status"); ok {
			in.c.dropped(c.at("status"), "observed state of a claim")
		}
		c.done()
		claims = append(claims, claim)
	}
	set(spec, "volumeClaimTemplates", claims)
	return spec
}
