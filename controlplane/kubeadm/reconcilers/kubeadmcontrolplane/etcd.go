package kubeadmcontrolplane

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	controlplanev1 "github.com/podcluster/podcluster/api/controlplane/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	"github.com/podcluster/podcluster/internal/conditions"
	"github.com/podcluster/podcluster/internal/etcd"
	"github.com/podcluster/podcluster/internal/pki"
)

// etcdRecheck is how often a stacked etcd cluster is looked at again: its
// members fail without an event the control plane watches.
const etcdRecheck = 10 * time.Second

// EtcdClientFunc connects to a workload cluster's etcd; etcd.New by default.
type EtcdClientFunc func(endpoints []string, tlsConfig *tls.Config) (etcd.Client, error)

// etcdObservation is what reconcileEtcd saw of a stacked etcd cluster.
type etcdObservation struct {
	// err says why etcd could not be inspected at all.
	err string
	// members are the cluster's members.
	members []etcd.Member
	// health maps a member's ID to "" when it is healthy, else why not.
	health map[uint64]string
	// leader is the leader's ID, 0 when unknown.
	leader uint64
}

// stackedEtcd says whether the control plane runs local (stacked) etcd
// that it manages: its ClusterConfiguration says etcd.local. Without it the
// control plane leaves etcd alone, as the seed's single-Machine clusters
// share the simulated runtime's etcd.
func stackedEtcd(kcp *controlplanev1.KubeadmControlPlane) bool {
	l := kcp.Spec.KubeadmConfigSpec.ClusterConfiguration.Etcd.Local
	return l.DataDir != "" || l.ImageRepository != "" || l.ImageTag != "" || len(l.ExtraArgs) > 0 ||
		(l.ExtraEnvs != nil && len(*l.ExtraEnvs) > 0) || len(l.ServerCertSANs) > 0 || len(l.PeerCertSANs) > 0
}

// machineEtcdEndpoint is where a control-plane Machine's member serves
// clients: its InternalIP (a node Pod's IP), kubeadm's client port.
func machineEtcdEndpoint(m *clusterv1.Machine) string {
	for _, a := range m.Status.Addresses {
		if a.Type == clusterv1.MachineInternalIP && a.Address != "" {
			return "https://" + net.JoinHostPort(a.Address, strconv.Itoa(etcd.DefaultClientPort))
		}
	}
	return ""
}

// etcdClient connects to the control plane's etcd through the members of its
// Machines, with a client certificate signed by the cluster's etcd CA.
func (r *Reconciler) etcdClient(ctx context.Context, s *scope, victim *clusterv1.Machine) (etcd.Client, error) {
	secret := &corev1.Secret{}
	name := s.cluster.Name + "-etcd"
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: s.kcp.Namespace, Name: name}, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("the etcd CA Secret %s does not exist yet", name)
		}
		return nil, fmt.Errorf("reading the etcd CA Secret %s: %w", name, err)
	}
	ca, err := pki.ParseKeyPair(secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return nil, fmt.Errorf("parsing the etcd CA Secret %s: %w", name, err)
	}
	tlsConfig, err := etcd.TLSConfig(ca, etcd.ClientCommonName)
	if err != nil {
		return nil, err
	}
	endpoints := etcdEndpoints(s.machines, victim)
	if len(endpoints) == 0 {
		return nil, fmt.Errorf("no control-plane Machine has an address to reach etcd at")
	}
	newClient := r.EtcdClient
	if newClient == nil {
		newClient = etcd.New
	}
	return newClient(endpoints, tlsConfig)
}

// etcdEndpoints are the client URLs etcd is asked at: those of the Machines
// that stay, and of victim, a Machine whose member is about to be removed
// (nil for none). A Machine being deleted is left out, as its member may be
// gone already, except the victim: one deleted by hand still runs its member
// at the pre-terminate hook, and when it leads, only its own endpoint can
// move the leadership away. Pure.
func etcdEndpoints(machines []*clusterv1.Machine, victim *clusterv1.Machine) []string {
	var endpoints []string
	for _, m := range machines {
		if ep := machineEtcdEndpoint(m); ep != "" && (m.DeletionTimestamp.IsZero() || (victim != nil && m.Name == victim.Name)) {
			endpoints = append(endpoints, ep)
		}
	}
	return endpoints
}

// reconcileEtcd observes a stacked etcd cluster once the control plane is
// initialized: its members and each member's health, asked of the member
// itself. A failure is an observation (EtcdClusterHealthy says it), not an
// error: scaling must not stop because one member is down.
func (r *Reconciler) reconcileEtcd(ctx context.Context, s *scope) (ctrl.Result, error) {
	if !stackedEtcd(s.kcp) || !initialized(s.kcp) {
		return ctrl.Result{}, nil
	}
	s.etcd = &etcdObservation{}
	c, err := r.etcdClient(ctx, s, nil)
	if err != nil {
		s.etcd.err = err.Error()
		setEtcdMachineConditions(s)
		return ctrl.Result{RequeueAfter: etcdRecheck}, nil
	}
	defer func() { _ = c.Close() }()
	s.etcd.members, err = c.Members(ctx)
	if err != nil {
		s.etcd.err = err.Error()
		setEtcdMachineConditions(s)
		return ctrl.Result{RequeueAfter: etcdRecheck}, nil
	}
	s.etcd.health = map[uint64]string{}
	for _, m := range s.etcd.members {
		s.etcd.health[m.ID] = memberHealth(ctx, c, m, &s.etcd.leader)
	}
	setEtcdMachineConditions(s)
	return ctrl.Result{RequeueAfter: etcdRecheck}, nil
}

// memberHealth asks a member for its status: "" when it answers, follows a
// leader and reports no alarm, else why not. It records the leader it names.
func memberHealth(ctx context.Context, c etcd.Client, m etcd.Member, leader *uint64) string {
	if m.Name == "" || len(m.ClientURLs) == 0 {
		return "the member has not started"
	}
	st, err := c.Status(ctx, m.ClientURLs[0])
	switch {
	case err != nil:
		return err.Error()
	case st.Leader == 0:
		return "the member has no leader"
	case len(st.Errors) > 0:
		return "the member reports " + strings.Join(st.Errors, ", ")
	}
	*leader = st.Leader
	return ""
}

// forgetEtcdMember removes the member of a control-plane Machine about to be
// deleted from the etcd cluster, handing the leadership to a healthy member
// first when it leads, as kubeadm would on kubeadm reset. A Machine without
// a Node never had a member.
func (r *Reconciler) forgetEtcdMember(ctx context.Context, s *scope, victim *clusterv1.Machine) error {
	if !stackedEtcd(s.kcp) || !initialized(s.kcp) || victim.Status.NodeRef.Name == "" {
		return nil
	}
	c, err := r.etcdClient(ctx, s, victim)
	if err != nil {
		return fmt.Errorf("removing the etcd member of Machine %s: %w", victim.Name, err)
	}
	defer func() { _ = c.Close() }()
	members, err := c.Members(ctx)
	if err != nil {
		return fmt.Errorf("removing the etcd member of Machine %s: %w", victim.Name, err)
	}
	// A Machine whose member is gone already (the control plane removed it
	// before deleting the Machine, and the pre-terminate hook asks again)
	// needs no health probe of every member: there is nothing to remove.
	if !slices.ContainsFunc(members, func(m etcd.Member) bool { return m.Name == victim.Status.NodeRef.Name }) {
		return nil
	}
	var leader uint64
	health := map[uint64]string{}
	for _, m := range members {
		health[m.ID] = memberHealth(ctx, c, m, &leader)
	}
	plan := planMemberRemoval(members, health, leader, victim.Status.NodeRef.Name)
	log := ctrl.LoggerFrom(ctx)
	if plan.moveLeaderTo != 0 {
		log.Info("Moving the etcd leadership off a Machine about to be deleted", "machine", victim.Name, "to", fmt.Sprintf("%x", plan.moveLeaderTo))
		if err := c.MoveLeader(ctx, plan.moveLeaderTo); err != nil {
			return fmt.Errorf("removing the etcd member of Machine %s: %w", victim.Name, err)
		}
	}
	if plan.err != "" {
		return fmt.Errorf("removing the etcd member of Machine %s: %s", victim.Name, plan.err)
	}
	if plan.remove != 0 {
		log.Info("Removing the etcd member of a Machine about to be deleted", "machine", victim.Name, "member", victim.Status.NodeRef.Name)
		if err := c.RemoveMember(ctx, plan.remove); err != nil {
			return fmt.Errorf("removing the etcd member of Machine %s: %w", victim.Name, err)
		}
	}
	return nil
}

// memberRemoval is what removing a node's member takes.
type memberRemoval struct {
	// moveLeaderTo is the member the leadership goes to first; 0 for none.
	moveLeaderTo uint64
	// remove is the member to remove; 0 when the node has none.
	remove uint64
	// err says why the member cannot be removed now.
	err string
}

// planMemberRemoval decides how the member named node leaves: the
// leadership moves first to a healthy member when it leads; it is refused
// when no healthy member could take over. Pure.
func planMemberRemoval(members []etcd.Member, health map[uint64]string, leader uint64, node string) memberRemoval {
	var p memberRemoval
	for _, m := range members {
		if m.Name == node {
			p.remove = m.ID
		}
	}
	if p.remove == 0 || p.remove != leader || len(members) == 1 {
		return p
	}
	for _, m := range members {
		if m.ID != p.remove && health[m.ID] == "" {
			p.moveLeaderTo = m.ID
			return p
		}
	}
	p.remove = 0
	p.err = "it leads, and no other member is healthy to take over"
	return p
}

// etcdConditions are EtcdClusterHealthy and each Machine's EtcdMemberHealthy
// (by Machine name) for what reconcileEtcd saw: a Machine's member is the
// one named after its Node. Every member must be healthy and match a
// Machine, and every Machine with a Node must have a member. Pure.
func etcdConditions(machines []*clusterv1.Machine, obs *etcdObservation) (metav1.Condition, map[string]metav1.Condition) {
	perMachine := map[string]metav1.Condition{}
	if obs.err != "" {
		for _, m := range machines {
			perMachine[m.Name] = conditions.Unknown(controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyCondition,
				controlplanev1.KubeadmControlPlaneMachineEtcdMemberInspectionFailedReason, "Failed to connect to etcd: "+obs.err)
		}
		return conditions.Unknown(controlplanev1.KubeadmControlPlaneEtcdClusterHealthyCondition,
			controlplanev1.KubeadmControlPlaneEtcdClusterInspectionFailedReason, "Failed to connect to etcd: "+obs.err), perMachine
	}
	byName := map[string]etcd.Member{}
	for _, m := range obs.members {
		byName[m.Name] = m
	}
	var problems []string
	matched := map[uint64]bool{}
	for _, m := range machines {
		if m.Status.NodeRef.Name == "" {
			continue
		}
		node := m.Status.NodeRef.Name
		member, ok := byName[node]
		switch {
		case !ok:
			msg := fmt.Sprintf("Etcd doesn't have an etcd member for Node %s", node)
			perMachine[m.Name] = conditions.False(controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyCondition,
				controlplanev1.KubeadmControlPlaneMachineEtcdMemberNotHealthyReason, msg)
			if m.DeletionTimestamp.IsZero() {
				problems = append(problems, fmt.Sprintf("* Machine %s: %s", m.Name, msg))
			}
		case obs.health[member.ID] != "":
			matched[member.ID] = true
			msg := fmt.Sprintf("Etcd member %s is not healthy: %s", node, obs.health[member.ID])
			perMachine[m.Name] = conditions.False(controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyCondition,
				controlplanev1.KubeadmControlPlaneMachineEtcdMemberNotHealthyReason, msg)
			problems = append(problems, fmt.Sprintf("* Machine %s: %s", m.Name, msg))
		default:
			matched[member.ID] = true
			perMachine[m.Name] = conditions.True(controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyCondition,
				controlplanev1.KubeadmControlPlaneMachineEtcdMemberHealthyReason, "")
		}
	}
	for _, member := range obs.members {
		if !matched[member.ID] {
			name := member.Name
			if name == "" {
				name = fmt.Sprintf("%x (not started)", member.ID)
			}
			problems = append(problems, fmt.Sprintf("* Etcd member %s does not belong to a control-plane Machine", name))
		}
	}
	if len(problems) > 0 {
		return conditions.False(controlplanev1.KubeadmControlPlaneEtcdClusterHealthyCondition,
			controlplanev1.KubeadmControlPlaneEtcdClusterNotHealthyReason, strings.Join(problems, "\n")), perMachine
	}
	return conditions.True(controlplanev1.KubeadmControlPlaneEtcdClusterHealthyCondition,
		controlplanev1.KubeadmControlPlaneEtcdClusterHealthyReason, ""), perMachine
}

// setEtcdMachineConditions sets each Machine's EtcdMemberHealthy.
func setEtcdMachineConditions(s *scope) {
	if s.etcd == nil {
		return
	}
	_, perMachine := etcdConditions(s.machines, s.etcd)
	for _, m := range s.machines {
		if c, ok := perMachine[m.Name]; ok && m.DeletionTimestamp.IsZero() {
			s.setMachineCondition(m, c)
		}
	}
}
