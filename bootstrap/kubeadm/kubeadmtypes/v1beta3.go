package kubeadmtypes

import (
	"encoding/json"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/version"
)

// kubeadm reads kubeadm.k8s.io/v1beta4 from v1.31 on; v1.22 to v1.30 read
// only v1beta3 (v1beta3 itself came in v1.22). A Machine of an older version
// gets v1beta3, as upstream's bootstrap provider writes it.
const APIVersionV1Beta3 = "kubeadm.k8s.io/v1beta3"

var (
	firstV1Beta4 = version.MajorMinor(1, 31)
	firstV1Beta3 = version.MajorMinor(1, 22)
)

// APIVersionFor returns the kubeadm configuration API that the kubeadm of
// kubernetesVersion reads, or an error for a version older than any kubeadm
// this provider can configure (before v1.22).
func APIVersionFor(kubernetesVersion string) (string, error) {
	if err := ValidateVersion(kubernetesVersion); err != nil {
		return "", err
	}
	v := version.MustParseSemantic(kubernetesVersion)
	switch {
	case v.AtLeast(firstV1Beta4):
		return APIVersion, nil
	case v.AtLeast(firstV1Beta3):
		return APIVersionV1Beta3, nil
	}
	return "", fmt.Errorf("kubernetes version %q: kubeadm before v1.22 reads neither kubeadm.k8s.io/v1beta3 nor v1beta4; the oldest version supported is v1.22.0", kubernetesVersion)
}

// Values kubeadm uses when a v1beta4-only field is unset. A spec that sets
// one of these explicitly asks for nothing v1beta3 cannot say, so it is
// accepted for older versions; any other value is refused.
const (
	kubeadmDefaultEncryptionAlgorithm = "RSA-2048"
	kubeadmDefaultCertificateValidity = 365 * 24 * time.Hour
	kubeadmDefaultCAValidity          = 10 * 365 * 24 * time.Hour
)

// errNotInV1Beta3 says that a field of the KubeadmConfig spec has no place in
// the configuration an older kubeadm reads. field is the spec's path.
func errNotInV1Beta3(field, kubernetesVersion string) error {
	return fmt.Errorf("%s: kubeadm %s reads kubeadm.k8s.io/v1beta3, which has no such setting (it came with v1beta4 in v1.31); unset it or use v1.31 or later", field, kubernetesVersion)
}

// v1beta3 documents are written from the v1beta4 types: the two formats share
// almost every field, so each document is turned into a generic object and
// the few differences are rewritten there, rather than keeping a second copy
// of every type. The differences:
//   - extraArgs and kubeletExtraArgs are maps (name to value), not lists, so a
//     flag given twice cannot be said;
//   - extraEnvs, encryptionAlgorithm, the certificate validity periods,
//     imagePullSerial and the timeouts block do not exist; the init's
//     control-plane health-check timeout is the ClusterConfiguration's
//     apiServer.timeoutForControlPlane, and a join's discovery timeout is
//     discovery.timeout;
//   - the kubelet has no failCgroupV1 before v1.31 (and accepts cgroup v1
//     without it), so that component-config field is left out.
type v1beta3Doc map[string]any

func toV1Beta3Doc(v any) (v1beta3Doc, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var doc v1beta3Doc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// object returns the object at key, or nil.
func (d v1beta3Doc) object(key string) v1beta3Doc {
	m, _ := d[key].(map[string]any)
	return m
}

// argsToMap rewrites the list of {name, value} at key into a map. field is
// the spec's path of that list, for the error when a name repeats.
func (d v1beta3Doc) argsToMap(key, field, kubernetesVersion string) error {
	list, ok := d[key].([]any)
	if !ok {
		return nil
	}
	out := map[string]any{}
	for i, item := range list {
		arg, _ := item.(map[string]any)
		name, _ := arg["name"].(string)
		if _, dup := out[name]; dup {
			return fmt.Errorf("%s[%d]: %q is given more than once, which kubeadm %s (kubeadm.k8s.io/v1beta3, where arguments are a map) cannot say", field, i, name, kubernetesVersion)
		}
		out[name] = arg["value"]
	}
	d[key] = out
	return nil
}

// refuse fails when the document has key; field is the spec's path.
func (d v1beta3Doc) refuse(key, field, kubernetesVersion string) error {
	if d == nil {
		return nil
	}
	if _, ok := d[key]; ok {
		return errNotInV1Beta3(field, kubernetesVersion)
	}
	return nil
}

// component rewrites a control-plane component (or local etcd) block.
func (d v1beta3Doc) component(field, kubernetesVersion string) error {
	if d == nil {
		return nil
	}
	if err := d.refuse("extraEnvs", field+".extraEnvs", kubernetesVersion); err != nil {
		return err
	}
	return d.argsToMap("extraArgs", field+".extraArgs", kubernetesVersion)
}

// nodeRegistration rewrites a nodeRegistration block; prefix is
// initConfiguration or joinConfiguration.
func (d v1beta3Doc) nodeRegistration(prefix, kubernetesVersion string) error {
	n := d.object("nodeRegistration")
	if n == nil {
		return nil
	}
	if serial, ok := n["imagePullSerial"]; ok {
		if serial != true {
			return errNotInV1Beta3(prefix+".nodeRegistration.imagePullSerial", kubernetesVersion)
		}
		// Serial pulls are what an older kubeadm does anyway.
		delete(n, "imagePullSerial")
	}
	return n.argsToMap("kubeletExtraArgs", prefix+".nodeRegistration.kubeletExtraArgs", kubernetesVersion)
}

// takeTimeouts removes the timeouts block and returns the values it held, by
// name (Go duration strings).
func (d v1beta3Doc) takeTimeouts() map[string]any {
	t := d.object("timeouts")
	delete(d, "timeouts")
	return t
}

// clusterConfigurationV1Beta3 rewrites a ClusterConfiguration; healthCheck
// is the init's control-plane health-check timeout ("" when unset).
func clusterConfigurationV1Beta3(cc ClusterConfiguration, healthCheck any, kubernetesVersion string) (v1beta3Doc, error) {
	const prefix = "clusterConfiguration"
	if a := cc.EncryptionAlgorithm; a != "" && a != kubeadmDefaultEncryptionAlgorithm {
		return nil, errNotInV1Beta3(prefix+".encryptionAlgorithm", kubernetesVersion)
	}
	if p := cc.CertificateValidityPeriod; p != nil && p.Duration != kubeadmDefaultCertificateValidity {
		return nil, errNotInV1Beta3(prefix+".certificateValidityPeriodDays", kubernetesVersion)
	}
	if p := cc.CACertificateValidityPeriod; p != nil && p.Duration != kubeadmDefaultCAValidity {
		return nil, errNotInV1Beta3(prefix+".caCertificateValidityPeriodDays", kubernetesVersion)
	}
	cc.EncryptionAlgorithm, cc.CertificateValidityPeriod, cc.CACertificateValidityPeriod = "", nil, nil
	cc.APIVersion = APIVersionV1Beta3
	doc, err := toV1Beta3Doc(cc)
	if err != nil {
		return nil, err
	}
	for key, field := range map[string]string{
		"apiServer": ".apiServer", "controllerManager": ".controllerManager", "scheduler": ".scheduler",
	} {
		if err := doc.object(key).component(prefix+field, kubernetesVersion); err != nil {
			return nil, err
		}
	}
	if err := doc.object("etcd").object("local").component(prefix+".etcd.local", kubernetesVersion); err != nil {
		return nil, err
	}
	if healthCheck != nil {
		api := doc.object("apiServer")
		if api == nil {
			api = v1beta3Doc{}
			doc["apiServer"] = map[string]any(api)
		}
		api["timeoutForControlPlane"] = healthCheck
	}
	return doc, nil
}

// initConfigurationV1Beta3 rewrites an InitConfiguration and returns the
// control-plane health-check timeout it carried, which v1beta3 keeps in the
// ClusterConfiguration.
func initConfigurationV1Beta3(ic InitConfiguration, kubernetesVersion string) (v1beta3Doc, any, error) {
	const prefix = "initConfiguration"
	ic.APIVersion = APIVersionV1Beta3
	doc, err := toV1Beta3Doc(ic)
	if err != nil {
		return nil, nil, err
	}
	if err := doc.nodeRegistration(prefix, kubernetesVersion); err != nil {
		return nil, nil, err
	}
	timeouts := doc.takeTimeouts()
	healthCheck := timeouts["controlPlaneComponentHealthCheck"]
	delete(timeouts, "controlPlaneComponentHealthCheck")
	if err := refuseTimeouts(timeouts, prefix, kubernetesVersion); err != nil {
		return nil, nil, err
	}
	return doc, healthCheck, nil
}

// joinConfigurationV1Beta3 rewrites a JoinConfiguration. v1beta3 has one
// join timeout, discovery.timeout, which bounds discovery and the TLS
// bootstrap together; either v1beta4 timeout sets it, and both must agree.
func joinConfigurationV1Beta3(jc JoinConfiguration, kubernetesVersion string) (v1beta3Doc, error) {
	const prefix = "joinConfiguration"
	jc.APIVersion = APIVersionV1Beta3
	doc, err := toV1Beta3Doc(jc)
	if err != nil {
		return nil, err
	}
	if err := doc.nodeRegistration(prefix, kubernetesVersion); err != nil {
		return nil, err
	}
	timeouts := doc.takeTimeouts()
	discovery, tls := timeouts["discovery"], timeouts["tlsBootstrap"]
	delete(timeouts, "discovery")
	delete(timeouts, "tlsBootstrap")
	if discovery != nil && tls != nil && discovery != tls {
		return nil, fmt.Errorf("%s.timeouts: discoverySeconds and tlsBootstrapSeconds differ, but kubeadm %s (kubeadm.k8s.io/v1beta3) has one timeout for both, discovery.timeout", prefix, kubernetesVersion)
	}
	if t := firstNonNil(discovery, tls); t != nil {
		d := doc.object("discovery")
		if d == nil {
			d = v1beta3Doc{}
			doc["discovery"] = map[string]any(d)
		}
		d["timeout"] = t
	}
	if err := refuseTimeouts(timeouts, prefix, kubernetesVersion); err != nil {
		return nil, err
	}
	return doc, nil
}

// refuseTimeouts fails on the first timeout left that v1beta3 has no place
// for. The names are v1beta4's; the spec's fields add "Seconds".
func refuseTimeouts(left map[string]any, prefix, kubernetesVersion string) error {
	for _, name := range []string{"controlPlaneComponentHealthCheck", "kubeletHealthCheck", "kubernetesAPICall", "etcdAPICall", "tlsBootstrap", "discovery"} {
		if _, ok := left[name]; ok {
			return errNotInV1Beta3(prefix+".timeouts."+name+"Seconds", kubernetesVersion)
		}
	}
	return nil
}

func firstNonNil(vs ...any) any {
	for _, v := range vs {
		if v != nil {
			return v
		}
	}
	return nil
}
