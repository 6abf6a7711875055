package v1beta1

import (
	"sigs.k8s.io/controller-runtime/pkg/conversion"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	conv "github.com/podcluster/podcluster/internal/conversion"
)

// The rules below name only the fields whose path or shape differs between
// v1beta1 and v1beta2; the others keep their path.

// ref converts an object reference: {apiVersion, kind, name} in v1beta1,
// {apiGroup, kind, name} in v1beta2.
func ref(spoke, hub string) conv.Rule {
	return conv.Rule{Spoke: spoke, Hub: hub, ToHub: conv.ObjectRefToContractRef, ToSpoke: conv.ContractRefToObjectRef(conv.DefaultAPIVersion)}
}

// duration converts a duration string in v1beta1 into seconds in v1beta2.
func duration(spoke, hub string) conv.Rule {
	return conv.Rule{Spoke: spoke, Hub: hub, ToHub: conv.DurationToSeconds, ToSpoke: conv.SecondsToDuration}
}

// flag converts a plain bool in v1beta1 into an optional one in v1beta2.
func flag(spoke, hub string) conv.Rule {
	return conv.Rule{Spoke: spoke, Hub: hub, ToHub: conv.TrueOnly}
}

func kind(name string, rules conv.Rules) conv.Kind {
	return conv.Kind{Spoke: GroupVersion.WithKind(name), Hub: clusterv1.GroupVersion.WithKind(name), Rules: rules}
}

func move(spoke, hub string) conv.Rule { return conv.Rule{Spoke: spoke, Hub: hub} }

// conditions swaps the two condition lists: status.conditions holds the
// v1beta1 shape in v1beta1 and the metav1 shape in v1beta2.
func conditions() conv.Rules {
	return conv.Rules{
		move("status.conditions", "status.deprecated.v1beta1.conditions"),
		move("status.v1beta2.conditions", "status.conditions"),
	}
}

func failure() conv.Rules {
	return conv.Rules{
		move("status.failureReason", "status.deprecated.v1beta1.failureReason"),
		move("status.failureMessage", "status.deprecated.v1beta1.failureMessage"),
	}
}

func machineSpecRules() conv.Rules {
	return conv.Rules{
		ref("bootstrap.configRef", "bootstrap.configRef"),
		ref("infrastructureRef", "infrastructureRef"),
		duration("nodeDrainTimeout", "deletion.nodeDrainTimeoutSeconds"),
		duration("nodeVolumeDetachTimeout", "deletion.nodeVolumeDetachTimeoutSeconds"),
		duration("nodeDeletionTimeout", "deletion.nodeDeletionTimeoutSeconds"),
	}
}

func join(sets ...conv.Rules) conv.Rules {
	var out conv.Rules
	for _, s := range sets {
		out = append(out, s...)
	}
	return out
}

var clusterRules = join(conv.Rules{
	flag("spec.paused", "spec.paused"),
	ref("spec.controlPlaneRef", "spec.controlPlaneRef"),
	ref("spec.infrastructureRef", "spec.infrastructureRef"),
	move("spec.topology.class", "spec.topology.classRef.name"),
	move("spec.topology.classNamespace", "spec.topology.classRef.namespace"),
	{Spoke: "status.failureDomains", Hub: "status.failureDomains", ToHub: conv.MapToNamedList("name", ""), ToSpoke: conv.NamedListToMap("name", "")},
	flag("status.infrastructureReady", "status.initialization.infrastructureProvisioned"),
	flag("status.controlPlaneReady", "status.initialization.controlPlaneInitialized"),
	move("status.v1beta2.controlPlane", "status.controlPlane"),
	move("status.v1beta2.workers", "status.workers"),
}, conditions(), failure())

var machineRules = join(conv.Prefixed("spec", machineSpecRules()), conv.Rules{
	{Spoke: "status.nodeRef", Hub: "status.nodeRef", ToHub: conv.NameOnly, ToSpoke: nodeRef},
	flag("status.bootstrapReady", "status.initialization.bootstrapDataSecretCreated"),
	flag("status.infrastructureReady", "status.initialization.infrastructureProvisioned"),
}, conditions(), failure())

func nodeRef(v any) any {
	m, ok := conv.NameOnly(v).(map[string]any)
	if !ok {
		return nil
	}
	m["apiVersion"], m["kind"] = "v1", "Node"
	return m
}

var machineSetRules = join(conv.Prefixed("spec.template.spec", machineSpecRules()), conv.Rules{
	{Spoke: "spec.minReadySeconds", Hub: "spec.template.spec.minReadySeconds", ToHub: conv.ZeroOmitted},
	move("spec.deletePolicy", "spec.deletion.order"),
	move("spec.machineNamingStrategy.template", "spec.machineNaming.template"),
	move("status.fullyLabeledReplicas", "status.deprecated.v1beta1.fullyLabeledReplicas"),
	move("status.readyReplicas", "status.deprecated.v1beta1.readyReplicas"),
	move("status.availableReplicas", "status.deprecated.v1beta1.availableReplicas"),
	move("status.v1beta2.readyReplicas", "status.readyReplicas"),
	move("status.v1beta2.availableReplicas", "status.availableReplicas"),
	move("status.v1beta2.upToDateReplicas", "status.upToDateReplicas"),
}, conditions(), failure())

var machineDeploymentRules = join(conv.Prefixed("spec.template.spec", machineSpecRules()), conv.Rules{
	move("spec.rolloutAfter", "spec.rollout.after"),
	move("spec.strategy.type", "spec.rollout.strategy.type"),
	move("spec.strategy.rollingUpdate.maxUnavailable", "spec.rollout.strategy.rollingUpdate.maxUnavailable"),
	move("spec.strategy.rollingUpdate.maxSurge", "spec.rollout.strategy.rollingUpdate.maxSurge"),
	move("spec.strategy.rollingUpdate.deletePolicy", "spec.deletion.order"),
	move("spec.strategy.remediation.maxInFlight", "spec.remediation.maxInFlight"),
	move("spec.machineNamingStrategy.template", "spec.machineNaming.template"),
	move("spec.minReadySeconds", "spec.template.spec.minReadySeconds"),
	flag("spec.paused", "spec.paused"),
	move("status.updatedReplicas", "status.deprecated.v1beta1.updatedReplicas"),
	move("status.readyReplicas", "status.deprecated.v1beta1.readyReplicas"),
	move("status.availableReplicas", "status.deprecated.v1beta1.availableReplicas"),
	move("status.unavailableReplicas", "status.deprecated.v1beta1.unavailableReplicas"),
	move("status.v1beta2.readyReplicas", "status.readyReplicas"),
	move("status.v1beta2.availableReplicas", "status.availableReplicas"),
	move("status.v1beta2.upToDateReplicas", "status.upToDateReplicas"),
}, conditions())

var machinePoolRules = join(conv.Prefixed("spec.template.spec", machineSpecRules()), conv.Rules{
	move("spec.minReadySeconds", "spec.template.spec.minReadySeconds"),
	flag("status.bootstrapReady", "status.initialization.bootstrapDataSecretCreated"),
	flag("status.infrastructureReady", "status.initialization.infrastructureProvisioned"),
	{Spoke: "status.replicas", Hub: "status.replicas", ToHub: conv.ZeroOmitted},
	move("status.readyReplicas", "status.deprecated.v1beta1.readyReplicas"),
	move("status.availableReplicas", "status.deprecated.v1beta1.availableReplicas"),
	move("status.unavailableReplicas", "status.deprecated.v1beta1.unavailableReplicas"),
	move("status.v1beta2.readyReplicas", "status.readyReplicas"),
	move("status.v1beta2.availableReplicas", "status.availableReplicas"),
	move("status.v1beta2.upToDateReplicas", "status.upToDateReplicas"),
}, conditions(), failure())

// timeoutRules convert one unhealthy condition.
var timeoutRules = conv.Rules{duration("timeout", "timeoutSeconds")}

var machineHealthCheckRules = join(conv.Rules{
	{Spoke: "spec.unhealthyConditions", Hub: "spec.checks.unhealthyNodeConditions", ToHub: conv.Items(timeoutRules.ToHub), ToSpoke: conv.Items(timeoutRules.ToSpoke)},
	{Spoke: "spec.unhealthyMachineConditions", Hub: "spec.checks.unhealthyMachineConditions", ToHub: conv.Items(timeoutRules.ToHub), ToSpoke: conv.Items(timeoutRules.ToSpoke)},
	move("spec.maxUnhealthy", "spec.remediation.triggerIf.unhealthyLessThanOrEqualTo"),
	move("spec.unhealthyRange", "spec.remediation.triggerIf.unhealthyInRange"),
	duration("spec.nodeStartupTimeout", "spec.checks.nodeStartupTimeoutSeconds"),
	{Spoke: "spec.remediationTemplate", Hub: "spec.remediation.templateRef", ToHub: templateRef, ToSpoke: templateRef},
}, conditions())

// templateRef keeps what both shapes have: apiVersion, kind and name.
func templateRef(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := map[string]any{}
	for _, k := range []string{"apiVersion", "kind", "name"} {
		if x, ok := m[k]; ok {
			out[k] = x
		}
	}
	return out
}

// ConvertTo converts this Cluster to the hub version.
func (src *Cluster) ConvertTo(dst conversion.Hub) error {
	return kind("Cluster", clusterRules).ToHub(src, dst.(*clusterv1.Cluster))
}

// ConvertFrom converts the hub version to this Cluster.
func (dst *Cluster) ConvertFrom(src conversion.Hub) error {
	return kind("Cluster", clusterRules).FromHub(src.(*clusterv1.Cluster), dst)
}

// ConvertTo converts this Machine to the hub version.
func (src *Machine) ConvertTo(dst conversion.Hub) error {
	return kind("Machine", machineRules).ToHub(src, dst.(*clusterv1.Machine))
}

// ConvertFrom converts the hub version to this Machine.
func (dst *Machine) ConvertFrom(src conversion.Hub) error {
	return kind("Machine", machineRules).FromHub(src.(*clusterv1.Machine), dst)
}

// ConvertTo converts this MachineSet to the hub version.
func (src *MachineSet) ConvertTo(dst conversion.Hub) error {
	return kind("MachineSet", machineSetRules).ToHub(src, dst.(*clusterv1.MachineSet))
}

// ConvertFrom converts the hub version to this MachineSet.
func (dst *MachineSet) ConvertFrom(src conversion.Hub) error {
	return kind("MachineSet", machineSetRules).FromHub(src.(*clusterv1.MachineSet), dst)
}

// ConvertTo converts this MachineDeployment to the hub version.
func (src *MachineDeployment) ConvertTo(dst conversion.Hub) error {
	return kind("MachineDeployment", machineDeploymentRules).ToHub(src, dst.(*clusterv1.MachineDeployment))
}

// ConvertFrom converts the hub version to this MachineDeployment.
func (dst *MachineDeployment) ConvertFrom(src conversion.Hub) error {
	return kind("MachineDeployment", machineDeploymentRules).FromHub(src.(*clusterv1.MachineDeployment), dst)
}

// ConvertTo converts this MachineHealthCheck to the hub version.
func (src *MachineHealthCheck) ConvertTo(dst conversion.Hub) error {
	return kind("MachineHealthCheck", machineHealthCheckRules).ToHub(src, dst.(*clusterv1.MachineHealthCheck))
}

// ConvertFrom converts the hub version to this MachineHealthCheck.
func (dst *MachineHealthCheck) ConvertFrom(src conversion.Hub) error {
	return kind("MachineHealthCheck", machineHealthCheckRules).FromHub(src.(*clusterv1.MachineHealthCheck), dst)
}

// ConvertTo converts this MachinePool to the hub version.
func (src *MachinePool) ConvertTo(dst conversion.Hub) error {
	return kind("MachinePool", machinePoolRules).ToHub(src, dst.(*clusterv1.MachinePool))
}

// ConvertFrom converts the hub version to this MachinePool.
func (dst *MachinePool) ConvertFrom(src conversion.Hub) error {
	return kind("MachinePool", machinePoolRules).FromHub(src.(*clusterv1.MachinePool), dst)
}

// ConvertTo converts this MachineDrainRule to the hub version: the shapes are the same.
func (src *MachineDrainRule) ConvertTo(dst conversion.Hub) error {
	return kind("MachineDrainRule", nil).ToHub(src, dst.(*clusterv1.MachineDrainRule))
}

// ConvertFrom converts the hub version to this MachineDrainRule.
func (dst *MachineDrainRule) ConvertFrom(src conversion.Hub) error {
	return kind("MachineDrainRule", nil).FromHub(src.(*clusterv1.MachineDrainRule), dst)
}
