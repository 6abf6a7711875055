package v1beta1

import (
	"sigs.k8s.io/controller-runtime/pkg/conversion"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	conv "github.com/podcluster/podcluster/internal/conversion"
)

// The rules below name only the fields whose path or shape differs between
// v1beta1 and v1beta2; the others keep their path.

// args converts command-line arguments: a map in v1beta1, a list of
// {name, value} in v1beta2.
func args(path string) conv.Rule {
	return conv.Rule{Spoke: path, Hub: path, ToHub: conv.MapToNamedList("name", "value"), ToSpoke: conv.NamedListToMap("name", "value")}
}

func duration(spoke, hub string) conv.Rule {
	return conv.Rule{Spoke: spoke, Hub: hub, ToHub: conv.DurationToSeconds, ToSpoke: conv.SecondsToDuration}
}

func move(spoke, hub string) conv.Rule { return conv.Rule{Spoke: spoke, Hub: hub} }

var tokenRules = conv.Rules{duration("ttl", "ttlSeconds")}

func specRules() conv.Rules {
	return conv.Rules{
		args("clusterConfiguration.apiServer.extraArgs"),
		args("clusterConfiguration.controllerManager.extraArgs"),
		args("clusterConfiguration.scheduler.extraArgs"),
		args("clusterConfiguration.etcd.local.extraArgs"),
		args("initConfiguration.nodeRegistration.kubeletExtraArgs"),
		args("joinConfiguration.nodeRegistration.kubeletExtraArgs"),
		duration("clusterConfiguration.apiServer.timeoutForControlPlane", "initConfiguration.timeouts.controlPlaneComponentHealthCheckSeconds"),
		duration("joinConfiguration.discovery.timeout", "joinConfiguration.timeouts.tlsBootstrapSeconds"),
		{Spoke: "initConfiguration.bootstrapTokens", Hub: "initConfiguration.bootstrapTokens", ToHub: conv.Items(tokenRules.ToHub), ToSpoke: conv.Items(tokenRules.ToSpoke)},
	}
}

var kubeadmConfig = conv.Kind{
	Spoke: GroupVersion.WithKind("KubeadmConfig"),
	Hub:   bootstrapv1.GroupVersion.WithKind("KubeadmConfig"),
	Rules: append(conv.Prefixed("spec", specRules()),
		conv.Rule{Spoke: "status.ready", Hub: "status.initialization.dataSecretCreated", ToHub: conv.TrueOnly},
		move("status.failureReason", "status.deprecated.v1beta1.failureReason"),
		move("status.failureMessage", "status.deprecated.v1beta1.failureMessage"),
		move("status.conditions", "status.deprecated.v1beta1.conditions"),
		move("status.v1beta2.conditions", "status.conditions"),
	),
}

var kubeadmConfigTemplate = conv.Kind{
	Spoke: GroupVersion.WithKind("KubeadmConfigTemplate"),
	Hub:   bootstrapv1.GroupVersion.WithKind("KubeadmConfigTemplate"),
	Rules: conv.Prefixed("spec.template.spec", specRules()),
}

// ConvertTo converts this KubeadmConfig to the hub version.
func (src *KubeadmConfig) ConvertTo(dst conversion.Hub) error {
	return kubeadmConfig.ToHub(src, dst.(*bootstrapv1.KubeadmConfig))
}

// ConvertFrom converts the hub version to this KubeadmConfig.
func (dst *KubeadmConfig) ConvertFrom(src conversion.Hub) error {
	return kubeadmConfig.FromHub(src.(*bootstrapv1.KubeadmConfig), dst)
}

// ConvertTo converts this KubeadmConfigTemplate to the hub version.
func (src *KubeadmConfigTemplate) ConvertTo(dst conversion.Hub) error {
	return kubeadmConfigTemplate.ToHub(src, dst.(*bootstrapv1.KubeadmConfigTemplate))
}

// ConvertFrom converts the hub version to this KubeadmConfigTemplate.
func (dst *KubeadmConfigTemplate) ConvertFrom(src conversion.Hub) error {
	return kubeadmConfigTemplate.FromHub(src.(*bootstrapv1.KubeadmConfigTemplate), dst)
}
