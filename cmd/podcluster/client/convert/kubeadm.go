package convert

import (
	"fmt"
	"math"
	"time"
)

func convertKubeadmConfig(_ *converter, s src) map[string]any {
	out := newObject(bootstrapV1beta2, "KubeadmConfig", metadata(s.child("metadata")))
	set(out, "spec", kubeadmConfigSpec(s.child("spec")))
	dropStatus(s)
	return out
}

func convertKubeadmConfigTemplate(_ *converter, s src) map[string]any {
	out := newObject(bootstrapV1beta2, "KubeadmConfigTemplate", metadata(s.child("metadata")))
	in := s.child("spec").child("template")
	template := map[string]any{}
	m := in.child("metadata")
	meta := map[string]any{}
	set(meta, "labels", labels(m.child("labels")))
	set(meta, "annotations", stringMap(m.child("annotations")))
	set(template, "metadata", meta)
	set(template, "spec", kubeadmConfigSpec(in.child("spec")))
	if len(template) == 0 {
		// v1beta2 rejects an empty template; cloud-config is the default format anyway.
		template["spec"] = map[string]any{"format": "cloud-config"}
		in.c.warn("spec.template.spec.format", "set to cloud-config, the default: a v1beta2 KubeadmConfigTemplate must not be empty")
	}
	out["spec"] = map[string]any{"template": template}
	return out
}

// kubeadmConfigSpec converts a KubeadmConfig spec. Its kubeadm parts follow
// kubeadm's v1beta1 API in v1alpha2: argument maps become lists, and the
// timeouts move into the init and join configurations.
func kubeadmConfigSpec(in src) map[string]any {
	spec := map[string]any{}
	cc, controlPlaneTimeout := clusterConfiguration(in.child("clusterConfiguration"))
	set(spec, "clusterConfiguration", cc)

	init := initConfiguration(in.child("initConfiguration"))
	if controlPlaneTimeout != nil {
		init["timeouts"] = map[string]any{"controlPlaneComponentHealthCheckSeconds": controlPlaneTimeout}
	}
	set(spec, "initConfiguration", init)
	if join, ok := joinConfiguration(in.child("joinConfiguration")); ok {
		spec["joinConfiguration"] = join
	}

	var files []any
	for _, f := range in.list("files") {
		file := map[string]any{}
		f.copy(file, "path", "owner", "permissions", "encoding", "append", "content", "contentFrom")
		f.done()
		files = append(files, file)
	}
	set(spec, "files", files)
	var users []any
	for _, u := range in.list("users") {
		user := map[string]any{}
		u.copy(user, "name", "gecos", "groups", "homeDir", "inactive", "shell", "passwd", "passwdFrom",
			"primaryGroup", "lockPassword", "sudo", "sshAuthorizedKeys")
		u.done()
		users = append(users, user)
	}
	set(spec, "users", users)
	ntp := map[string]any{}
	in.child("ntp").copy(ntp, "servers", "enabled")
	set(spec, "ntp", ntp)
	in.copy(spec, "preKubeadmCommands", "postKubeadmCommands", "format", "verbosity")
	return spec
}

// dropTypeMeta drops the kubeadm apiVersion and kind embedded in a kubeadm configuration.
func dropTypeMeta(s src) {
	for _, k := range []string{"apiVersion", "kind"} {
		if _, ok := s.take(k); ok {
			s.c.dropped(s.at(k), "the bootstrap provider chooses the kubeadm API version")
		}
	}
}

// clusterConfiguration converts a kubeadm ClusterConfiguration. It returns the
// apiServer's timeoutForControlPlane in seconds, which v1beta2 keeps in the
// initConfiguration.
func clusterConfiguration(in src) (map[string]any, any) {
	cc := map[string]any{}
	dropTypeMeta(in)
	in.copy(cc, "controlPlaneEndpoint", "certificatesDir", "imageRepository", "featureGates")

	etcd := map[string]any{}
	e := in.child("etcd")
	local := map[string]any{}
	l := e.child("local")
	l.copy(local, "imageRepository", "imageTag", "dataDir", "serverCertSANs", "peerCertSANs")
	set(local, "extraArgs", args(l.child("extraArgs")))
	set(etcd, "local", local)
	external := map[string]any{}
	e.child("external").copy(external, "endpoints", "caFile", "certFile", "keyFile")
	set(etcd, "external", external)
	set(cc, "etcd", etcd)

	apiServer := component(in.child("apiServer"))
	a := in.child("apiServer")
	a.copy(apiServer, "certSANs")
	timeout := seconds(a, "timeoutForControlPlane")
	set(cc, "apiServer", apiServer)
	set(cc, "controllerManager", component(in.child("controllerManager")))
	set(cc, "scheduler", component(in.child("scheduler")))

	dns := map[string]any{}
	d := in.child("dns")
	if _, ok := d.take("type"); ok {
		in.c.dropped(d.at("type"), "v1beta2 always deploys CoreDNS")
	}
	d.copy(dns, "imageRepository", "imageTag")
	set(cc, "dns", dns)

	n := in.child("networking")
	for _, k := range []string{"serviceSubnet", "podSubnet", "dnsDomain"} {
		if _, ok := n.take(k); ok {
			in.c.dropped(n.at(k), "v1beta2 takes it from the Cluster's spec.clusterNetwork")
		}
	}
	for _, f := range []struct{ key, why string }{
		{"kubernetesVersion", "v1beta2 takes it from the Machine's spec.version"},
		{"clusterName", "v1beta2 takes it from the Cluster's name"},
		{"useHyperKubeImage", "kubeadm no longer uses hyperkube images"},
	} {
		if _, ok := in.take(f.key); ok {
			in.c.dropped(in.at(f.key), f.why)
		}
	}
	return cc, timeout
}

// component converts the settings of a control-plane component.
func component(in src) map[string]any {
	out := map[string]any{}
	set(out, "extraArgs", args(in.child("extraArgs")))
	var volumes []any
	for _, v := range in.list("extraVolumes") {
		vol := map[string]any{}
		v.copy(vol, "name", "hostPath", "mountPath", "readOnly", "pathType")
		v.done()
		volumes = append(volumes, vol)
	}
	set(out, "extraVolumes", volumes)
	return out
}

func nodeRegistration(in src) map[string]any {
	out := map[string]any{}
	in.copy(out, "name", "criSocket", "ignorePreflightErrors")
	// taints: [] (no taints) and absent (kubeadm's default taints) differ.
	if t, ok := in.take("taints"); ok && t != nil {
		out["taints"] = t
	}
	set(out, "kubeletExtraArgs", args(in.child("kubeletExtraArgs")))
	return out
}

func initConfiguration(in src) map[string]any {
	out := map[string]any{}
	dropTypeMeta(in)
	var tokens []any
	for _, t := range in.list("bootstrapTokens") {
		token := map[string]any{}
		t.copy(token, "token", "description", "expires", "usages", "groups")
		set(token, "ttlSeconds", seconds(t, "ttl"))
		t.done()
		tokens = append(tokens, token)
	}
	set(out, "bootstrapTokens", tokens)
	set(out, "nodeRegistration", nodeRegistration(in.child("nodeRegistration")))
	endpoint := map[string]any{}
	in.child("localAPIEndpoint").copy(endpoint, "advertiseAddress", "bindPort")
	set(out, "localAPIEndpoint", endpoint)
	return out
}

// joinConfiguration converts a kubeadm JoinConfiguration. An empty
// controlPlane is meaningful (join as a control-plane node) and is kept.
func joinConfiguration(in src) (map[string]any, bool) {
	if in.m == nil {
		return nil, false
	}
	out := map[string]any{}
	dropTypeMeta(in)
	set(out, "nodeRegistration", nodeRegistration(in.child("nodeRegistration")))
	in.copy(out, "caCertPath")

	discovery := map[string]any{}
	d := in.child("discovery")
	token := map[string]any{}
	d.child("bootstrapToken").copy(token, "token", "apiServerEndpoint", "caCertHashes", "unsafeSkipCAVerification")
	set(discovery, "bootstrapToken", token)
	file := map[string]any{}
	d.child("file").copy(file, "kubeConfigPath")
	set(discovery, "file", file)
	d.copy(discovery, "tlsBootstrapToken")
	set(out, "discovery", discovery)
	if t := seconds(d, "timeout"); t != nil {
		out["timeouts"] = map[string]any{"tlsBootstrapSeconds": t}
	}

	if v, ok := in.m["controlPlane"]; ok && v != nil {
		cp := in.child("controlPlane")
		controlPlane := map[string]any{}
		endpoint := map[string]any{}
		cp.child("localAPIEndpoint").copy(endpoint, "advertiseAddress", "bindPort")
		set(controlPlane, "localAPIEndpoint", endpoint)
		out["controlPlane"] = controlPlane
	}
	return out, len(out) > 0
}

// seconds takes a duration field ("4m0s") and returns it in whole seconds.
func seconds(in src, key string) any {
	s, ok := in.str(key)
	if !ok {
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d.Seconds() > math.MaxInt32 {
		in.c.dropped(in.at(key), fmt.Sprintf("%q is not a duration v1beta2 can hold in seconds", s))
		return nil
	}
	return int64(d / time.Second)
}
