package describe

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
)

// Builders of test objects.

func cond(t, status, reason, message string) metav1.Condition {
	return metav1.Condition{Type: t, Status: metav1.ConditionStatus(status), Reason: reason, Message: message}
}

func healthy(types ...string) []metav1.Condition {
	var out []metav1.Condition
	for _, t := range types {
		out = append(out, cond(t, "True", t, ""))
	}
	return out
}

func controller(kind, name string) []metav1.OwnerReference {
	yes := true
	return []metav1.OwnerReference{{Kind: kind, Name: name, Controller: &yes}}
}

func machine(name string, mutate ...func(*clusterv1.Machine)) clusterv1.Machine {
	m := clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	for _, f := range mutate {
		f(&m)
	}
	return m
}

func controlPlane(m *clusterv1.Machine) { m.Labels[clusterv1.MachineControlPlaneLabel] = "" }

func ownedBy(kind, name string) func(*clusterv1.Machine) {
	return func(m *clusterv1.Machine) { m.OwnerReferences = controller(kind, name) }
}

func conditions(c ...metav1.Condition) func(*clusterv1.Machine) {
	return func(m *clusterv1.Machine) { m.Status.Conditions = c }
}

func ptr[T any](v T) *T { return &v }

func cluster(name string, c ...metav1.Condition) *clusterv1.Cluster {
	return &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: clusterv1.ClusterStatus{Conditions: c}}
}

// TestBuildAndRender builds trees of clusters of several shapes and states
// and renders them without colour.
func TestBuildAndRender(t *testing.T) {
	cases := []struct {
		name string
		in   Input
		want string
	}{
		{
			name: "no control-plane provider: control-plane Machines form the ControlPlane group",
			in: Input{
				Cluster:        cluster("demo"),
				Infrastructure: &Object{Kind: "KubernetesCluster", Name: "demo", Conditions: healthy("Ready")},
				Machines: []clusterv1.Machine{
					machine("cp-1", controlPlane, conditions(healthy("Ready", "Available", "UpToDate")...)),
					machine("cp-0", controlPlane),
				},
			},
			want: `
NAME                                              REPLICAS  READY  AVAILABLE  UP-TO-DATE
Cluster/demo
├─ClusterInfrastructure - KubernetesCluster/demo            True
└─ControlPlane
  ├─Machine/cp-0
  └─Machine/cp-1                                            True   True       True
`,
		},
		{
			name: "workers: sets under deployments by owner or label, stand-alone sets and machines",
			in: Input{
				Cluster: cluster("demo", healthy("Available")...),
				MachineDeployments: []clusterv1.MachineDeployment{{
					ObjectMeta: metav1.ObjectMeta{Name: "md"},
					Spec:       clusterv1.MachineDeploymentSpec{Replicas: ptr[int32](2)},
					Status:     clusterv1.MachineDeploymentStatus{Replicas: ptr[int32](1), Conditions: healthy("Available", "MachinesReady")},
				}},
				MachineSets: []clusterv1.MachineSet{
					{ObjectMeta: metav1.ObjectMeta{Name: "md-b", Labels: map[string]string{clusterv1.MachineDeploymentNameLabel: "md"}}},
					{ObjectMeta: metav1.ObjectMeta{Name: "md-a", OwnerReferences: controller("MachineDeployment", "md")}, Spec: clusterv1.MachineSetSpec{Replicas: ptr[int32](1)}},
					{ObjectMeta: metav1.ObjectMeta{Name: "lone-set"}, Spec: clusterv1.MachineSetSpec{Replicas: ptr[int32](0)}},
				},
				Machines: []clusterv1.Machine{
					machine("md-a-1", ownedBy("MachineSet", "md-a")),
					machine("md-b-1", func(m *clusterv1.Machine) { m.Labels[clusterv1.MachineSetNameLabel] = "md-b" }),
					machine("alone"),
				},
			},
			want: `
NAME                      REPLICAS  READY  AVAILABLE  UP-TO-DATE
Cluster/demo                               True
└─Workers
  ├─MachineDeployment/md  1/2       True   True
  │ ├─MachineSet/md-a     0/1
  │ │ └─Machine/md-a-1
  │ └─MachineSet/md-b     0/-
  │   └─Machine/md-b-1
  ├─MachineSet/lone-set   0/0
  └─Machine/alone
`,
		},
		{
			name: "problems: False and Unknown conditions with reason and message; work in progress is no problem",
			in: Input{
				Cluster: cluster("demo", healthy("Available")...),
				ControlPlane: &Object{Kind: "KubeadmControlPlane", Name: "cp", Desired: ptr[int32](3), Current: ptr[int32](3), Conditions: []metav1.Condition{
					cond("Available", "True", "Available", ""),
					cond("ScalingUp", "True", "ScalingUp", "Scaling up from 2 to 3 replicas"),
					cond("Paused", "False", "NotPaused", ""),
					cond("MachinesReady", "Unknown", "ReadyUnknown", "* Machine cp-2: NodeReady: waiting for the Node\n* Machine cp-3: NodeReady: waiting for the Node"),
				}},
				Machines: []clusterv1.Machine{
					machine("cp-2", controlPlane, ownedBy("KubeadmControlPlane", "cp"), conditions(
						cond("InfrastructureReady", "False", "PodFailed", "node Pod cp-2 failed: ImagePullBackOff"),
						cond("Deleting", "False", "NotDeleting", ""),
						cond("Ready", "False", "NotReady", ""),
					)),
				},
			},
			want: `
NAME                                     REPLICAS  READY    AVAILABLE  UP-TO-DATE
Cluster/demo                                                True
└─ControlPlane - KubeadmControlPlane/cp  3/3       Unknown  True
  │   MachinesReady: Unknown (ReadyUnknown) * Machine cp-2: NodeReady: waiting for the Node
  │     * Machine cp-3: NodeReady: waiting for the Node
  └─Machine/cp-2                                   False
        InfrastructureReady: False (PodFailed) node Pod cp-2 failed: ImagePullBackOff
        Ready: False (NotReady)
`,
		},
		{
			name: "health checks: unhealthy and remediating Machines are marked, the MachineHealthCheck shows its counts",
			in: Input{
				Cluster: cluster("demo", healthy("Available")...),
				MachineHealthChecks: []clusterv1.MachineHealthCheck{{
					ObjectMeta: metav1.ObjectMeta{Name: "workers"},
					Status: clusterv1.MachineHealthCheckStatus{ExpectedMachines: ptr[int32](3), CurrentHealthy: ptr[int32](1), Conditions: []metav1.Condition{
						cond("RemediationAllowed", "False", "TooManyUnhealthy", "Remediation is not allowed: 2 of 3 Machines are unhealthy"),
					}},
				}},
				Machines: []clusterv1.Machine{
					machine("w-1", conditions(cond("HealthCheckSucceeded", "True", "HealthCheckSucceeded", ""))),
					machine("w-2", conditions(
						cond("HealthCheckSucceeded", "False", "NodeStartupTimeout", "Health check failed: Node failed to report startup in 10m0s"),
						cond("OwnerRemediated", "False", "WaitingForRemediation", "Waiting for remediation"),
					)),
					machine("w-3", conditions(cond("HealthCheckSucceeded", "False", "UnhealthyNode", "Health check failed: Node condition Ready is Unknown"))),
				},
			},
			want: `
NAME                                      REPLICAS  READY  AVAILABLE  UP-TO-DATE
Cluster/demo                                               True
├─Workers
│ ├─Machine/w-1
│ ├─Machine/w-2 [Unhealthy, Remediating]
│ │     HealthCheckSucceeded: False (NodeStartupTimeout) Health check failed: Node failed to report startup in 10m0s
│ │     OwnerRemediated: False (WaitingForRemediation) Waiting for remediation
│ └─Machine/w-3 [Unhealthy]
│       HealthCheckSucceeded: False (UnhealthyNode) Health check failed: Node condition Ready is Unknown
└─MachineHealthCheck/workers              1/3
      RemediationAllowed: False (TooManyUnhealthy) Remediation is not allowed: 2 of 3 Machines are unhealthy
`,
		},
		{
			name: "a referenced object that cannot be read",
			in: Input{
				Cluster:        cluster("demo"),
				Infrastructure: &Object{Kind: "KubernetesCluster", Name: "gone", NotFound: `kubernetesclusters "gone" not found`},
			},
			want: `
NAME                                              REPLICAS  READY  AVAILABLE  UP-TO-DATE
Cluster/demo
└─ClusterInfrastructure - KubernetesCluster/gone
      Found: False (NotFound) kubernetesclusters "gone" not found
`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			var b strings.Builder
			g.Expect(Render(&b, Build(tc.in), false)).To(Succeed())
			g.Expect(b.String()).To(Equal(strings.TrimPrefix(tc.want, "\n")))
		})
	}
}

// TestRenderColor paints statuses and keeps the columns aligned: without its
// colour sequences, the output is the plain one.
func TestRenderColor(t *testing.T) {
	g := NewWithT(t)
	root := Build(Input{
		Cluster: cluster("demo", cond("Available", "False", "NotAvailable", "")),
		Machines: []clusterv1.Machine{machine("m", conditions(
			cond("Ready", "True", "Ready", ""), cond("Available", "Unknown", "Unknown", ""),
		))},
	})
	var plain, colored strings.Builder
	g.Expect(Render(&plain, root, false)).To(Succeed())
	g.Expect(Render(&colored, root, true)).To(Succeed())
	g.Expect(colored.String()).To(ContainSubstring(red + "False" + reset))
	g.Expect(colored.String()).To(ContainSubstring(green + "True" + reset))
	g.Expect(colored.String()).To(ContainSubstring("Available: " + yellow + "Unknown" + reset + " (Unknown)"))
	stripped := strings.NewReplacer(red, "", green, "", yellow, "", reset, "").Replace(colored.String())
	g.Expect(stripped).To(Equal(plain.String()))
}
