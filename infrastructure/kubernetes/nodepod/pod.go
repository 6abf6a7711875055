package nodepod

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
)

// The node container and its boot path.
const (
	// ContainerName is the name of the node container.
	ContainerName = "node"
	// SeedContainerName is the name of the init container that fills the volumes
	// from the image.
	SeedContainerName = "seed-volumes"

	// APIServerPortName names the control-plane node container's API-server port.
	APIServerPortName = "apiserver"
	// DefaultAPIServerPort is the API-server port when the Cluster sets none.
	DefaultAPIServerPort int32 = 6443

	// BootMountPath is where the boot Secret is mounted, read-only.
	BootMountPath = "/podcluster"
	// BootFileMode is the mode of the boot Secret's files: only root reads them,
	// and bootstrap.sh holds the cluster's keys.
	BootFileMode int32 = 0o500

	// BootstrapSuccessFile is created by bootstrap.sh once bootstrap succeeded
	// (the Cluster API bootstrap contract). The startupProbe looks for it.
	BootstrapSuccessFile = "/run/cluster-api/bootstrap-success.complete"
	// BootstrapFailureFile holds the failed step and the tail of its output when
	// bootstrap failed.
	BootstrapFailureFile = "/run/cluster-api/bootstrap-failure"
	// TerminationMessagePath is where the node writes its termination message: the
	// same text as BootstrapFailureFile.
	TerminationMessagePath = "/dev/termination-log"
	// BootstrapFailedExitCode is the node container's exit code when bootstrap
	// failed (systemd's FailureActionExitStatus).
	BootstrapFailedExitCode = 42

	// StartupProbePeriodSeconds and StartupProbeFailureThreshold give bootstrap
	// 30 minutes. The node container's containerStatuses[].started turns true when
	// BootstrapSuccessFile appears.
	StartupProbePeriodSeconds    = 2
	StartupProbeFailureThreshold = 900

	// TerminationGracePeriodSeconds leaves systemd time to stop the node's units,
	// each of which gets at most 10 seconds (DefaultTimeoutStopSec).
	TerminationGracePeriodSeconds = 30
)

// Volumes of the node Pod that a KubernetesMachine's volumeClaimTemplates may
// back with a PersistentVolumeClaim. The template's metadata.name is the volume's
// name.
const (
	VarLibContainerdVolume = "var-lib-containerd"
	VarLibEtcdVolume       = "var-lib-etcd"
)

const (
	bootVolume       = "podcluster"
	runVolume        = "run"
	tmpVolume        = "tmp"
	varVolume        = "var"
	libModulesVolume = "lib-modules"

	// seedRoot is where the seed-volumes init container mounts the volumes that
	// the node container mounts under /var, each under its volume name.
	seedRoot = "/seed"
)

// Input is what a node Pod is built from.
type Input struct {
	// Machine is the KubernetesMachine. The Pod takes its name and namespace, and
	// its spec's resources, scheduling fields and volumeClaimTemplates. Its
	// spec.image is not read: the controller resolves the image into Image.
	Machine *infrav1.KubernetesMachine
	// ClusterName is the Cluster the machine belongs to.
	ClusterName string
	// ControlPlane is true for a control-plane machine.
	ControlPlane bool
	// FailureDomain is the Machine's spec.failureDomain, a zone of the management
	// cluster. When set, the Pod only runs on Nodes labelled
	// topology.kubernetes.io/zone with it.
	FailureDomain string
	// APIServerPort is the Cluster's spec.clusterNetwork.apiServerPort; 0 means
	// DefaultAPIServerPort. Used by control planes only.
	APIServerPort int32
	// Image is the node image: the KubernetesMachine's spec.image, or else
	// ImageFor the Machine's version.
	Image string
}

// BootstrapSecretName is the name of the Secret that holds a machine's boot files.
func BootstrapSecretName(machineName string) string {
	return machineName + "-bootstrap"
}

// PVCName is the name of the PersistentVolumeClaim made from a machine's
// volumeClaimTemplate.
func PVCName(machineName, templateName string) string {
	return machineName + "-" + templateName
}

// Build returns the node Pod of a KubernetesMachine. The caller sets the owner
// reference.
func Build(in Input) (*corev1.Pod, error) {
	if err := validate(in); err != nil {
		return nil, err
	}
	m := in.Machine
	nodeSelector, err := nodeSelector(in)
	if err != nil {
		return nil, err
	}

	labels := map[string]string{clusterv1.ClusterNameLabel: in.ClusterName}
	if in.ControlPlane {
		labels[clusterv1.MachineControlPlaneLabel] = ""
	}

	data := dataVolumes(in)
	volumes := []corev1.Volume{
		{Name: bootVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName:  BootstrapSecretName(m.Name),
			DefaultMode: ptrTo(BootFileMode),
		}}},
		{Name: runVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
		{Name: tmpVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
		{Name: varVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	bootMount := corev1.VolumeMount{Name: bootVolume, MountPath: BootMountPath, ReadOnly: true}
	nodeMounts := []corev1.VolumeMount{
		bootMount,
		{Name: runVolume, MountPath: "/run"},
		{Name: tmpVolume, MountPath: "/tmp"},
		{Name: varVolume, MountPath: "/var"},
	}
	// The seed container sees each volume under /var apart from the others, and
	// its arguments pair the image's directory with the volume's.
	seedMounts := []corev1.VolumeMount{bootMount, {Name: varVolume, MountPath: path.Join(seedRoot, varVolume)}}
	seedArgs := []string{"/var:" + path.Join(seedRoot, varVolume)}
	for _, d := range data {
		volumes = append(volumes, d.volume)
		nodeMounts = append(nodeMounts, corev1.VolumeMount{Name: d.volume.Name, MountPath: d.mountPath})
		seedDir := path.Join(seedRoot, d.volume.Name)
		seedMounts = append(seedMounts, corev1.VolumeMount{Name: d.volume.Name, MountPath: seedDir})
		seedArgs = append(seedArgs, d.mountPath+":"+seedDir)
	}
	volumes = append(volumes, corev1.Volume{Name: libModulesVolume, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
		Path: "/lib/modules",
		Type: ptrTo(corev1.HostPathDirectoryOrCreate),
	}}})
	nodeMounts = append(nodeMounts, corev1.VolumeMount{Name: libModulesVolume, MountPath: "/lib/modules", ReadOnly: true})

	resources := *m.Spec.Resources.DeepCopy()
	node := corev1.Container{
		Name:            ContainerName,
		Image:           in.Image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         []string{"/bin/bash", path.Join(BootMountPath, EntrypointKey)},
		Env:             []corev1.EnvVar{{Name: "container", Value: "docker"}},
		Resources:       resources,
		VolumeMounts:    nodeMounts,
		StartupProbe: &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{
				Command: []string{"test", "-f", BootstrapSuccessFile},
			}},
			PeriodSeconds:    StartupProbePeriodSeconds,
			TimeoutSeconds:   5,
			FailureThreshold: StartupProbeFailureThreshold,
		},
		ReadinessProbe: readinessProbe(in.ControlPlane),
		Lifecycle: &corev1.Lifecycle{
			// systemd re-executes itself on SIGTERM; SIGRTMIN+3 halts it. A
			// kube-apiserver without the ContainerStopSignals feature (v1.37.2 by
			// default) drops this field; the image's STOPSIGNAL (SIGRTMIN+3 in kind
			// images) then applies.
			StopSignal: ptrTo(corev1.SIGRTMINPLUS3),
		},
		TerminationMessagePath:   TerminationMessagePath,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		SecurityContext:          &corev1.SecurityContext{Privileged: ptrTo(true)},
		TTY:                      true,
	}
	if in.ControlPlane {
		node.Ports = []corev1.ContainerPort{{
			Name:          APIServerPortName,
			ContainerPort: apiServerPort(in),
			Protocol:      corev1.ProtocolTCP,
		}}
	}
	seed := corev1.Container{
		Name:            SeedContainerName,
		Image:           in.Image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         []string{"/bin/bash", path.Join(BootMountPath, SeedVolumesKey)},
		Args:            seedArgs,
		// The same resources as the node container: a Pod's request is the larger
		// of its init containers' and the sum of its containers', so this costs
		// nothing and keeps the node Pod's QoS class.
		Resources:                *resources.DeepCopy(),
		VolumeMounts:             seedMounts,
		TerminationMessagePath:   TerminationMessagePath,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      m.Name,
			Namespace: m.Namespace,
			Labels:    labels,
		},
		Spec: corev1.PodSpec{
			// kubeadm names the Node after the hostname.
			Hostname:                      m.Name,
			RestartPolicy:                 corev1.RestartPolicyNever,
			AutomountServiceAccountToken:  ptrTo(false),
			EnableServiceLinks:            ptrTo(false),
			TerminationGracePeriodSeconds: ptrTo[int64](TerminationGracePeriodSeconds),
			// Required by lifecycle.stopSignal.
			OS:                &corev1.PodOS{Name: corev1.Linux},
			InitContainers:    []corev1.Container{seed},
			Containers:        []corev1.Container{node},
			Volumes:           volumes,
			NodeSelector:      nodeSelector,
			Affinity:          m.Spec.Affinity.DeepCopy(),
			PriorityClassName: m.Spec.PriorityClassName,
			RuntimeClassName:  copyPtr(m.Spec.RuntimeClassName),
		},
	}
	for i := range m.Spec.Tolerations {
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, *m.Spec.Tolerations[i].DeepCopy())
	}
	return pod, nil
}

// NodeStatus is the status of a node Pod's node container (ContainerName), or
// nil before the kubelet reports it.
func NodeStatus(pod *corev1.Pod) *corev1.ContainerStatus {
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == ContainerName {
			return &pod.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// PVCs returns the PersistentVolumeClaims of a machine's volumeClaimTemplates, in
// the templates' order. The caller sets their owner references.
func PVCs(in Input) []corev1.PersistentVolumeClaim {
	if in.Machine == nil {
		return nil
	}
	m := in.Machine
	var claims []corev1.PersistentVolumeClaim
	for _, t := range m.Spec.VolumeClaimTemplates {
		labels := maps.Clone(t.Metadata.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		labels[clusterv1.ClusterNameLabel] = in.ClusterName
		claims = append(claims, corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{
				Name:        PVCName(m.Name, t.Metadata.Name),
				Namespace:   m.Namespace,
				Labels:      labels,
				Annotations: maps.Clone(t.Metadata.Annotations),
			},
			Spec: *t.Spec.DeepCopy(),
		})
	}
	return claims
}

func validate(in Input) error {
	if in.Machine == nil {
		return errors.New("node Pod: no KubernetesMachine")
	}
	m := in.Machine
	var errs []error
	// The Pod's hostname is the machine's name, and a hostname is a DNS label.
	if msgs := validation.IsDNS1123Label(m.Name); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("the name is the node's hostname, which must be a DNS label of at most %d characters: %s",
			validation.DNS1123LabelMaxLength, strings.Join(msgs, "; ")))
	}
	if m.Namespace == "" {
		errs = append(errs, errors.New("no namespace"))
	}
	if in.ClusterName == "" {
		errs = append(errs, errors.New("no cluster name"))
	} else if msgs := validation.IsValidLabelValue(in.ClusterName); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("cluster name %q is not a valid label value: %s", in.ClusterName, strings.Join(msgs, "; ")))
	}
	if in.Image == "" {
		errs = append(errs, errors.New("no node image"))
	}
	if in.APIServerPort < 0 || in.APIServerPort > 65535 {
		errs = append(errs, fmt.Errorf("API server port %d is not in 1-65535", in.APIServerPort))
	}
	seen := map[string]bool{}
	for _, t := range m.Spec.VolumeClaimTemplates {
		switch {
		case t.Metadata.Name != VarLibContainerdVolume && t.Metadata.Name != VarLibEtcdVolume:
			errs = append(errs, fmt.Errorf("volumeClaimTemplate %q: the name must be %s or %s",
				t.Metadata.Name, VarLibContainerdVolume, VarLibEtcdVolume))
		case seen[t.Metadata.Name]:
			errs = append(errs, fmt.Errorf("volumeClaimTemplate %q appears twice", t.Metadata.Name))
		}
		seen[t.Metadata.Name] = true
		if msgs := validation.IsDNS1123Subdomain(PVCName(m.Name, t.Metadata.Name)); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("volumeClaimTemplate %q: claim name %q: %s",
				t.Metadata.Name, PVCName(m.Name, t.Metadata.Name), strings.Join(msgs, "; ")))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("node Pod for KubernetesMachine %s/%s: %w", m.Namespace, m.Name, err)
	}
	return nil
}

// nodeSelector merges the machine's nodeSelector with the failure domain's zone.
func nodeSelector(in Input) (map[string]string, error) {
	sel := maps.Clone(in.Machine.Spec.NodeSelector)
	if in.FailureDomain == "" {
		return sel, nil
	}
	if zone, ok := sel[corev1.LabelTopologyZone]; ok && zone != in.FailureDomain {
		return nil, fmt.Errorf("node Pod for KubernetesMachine %s/%s: nodeSelector %s=%s contradicts the Machine's failure domain %q",
			in.Machine.Namespace, in.Machine.Name, corev1.LabelTopologyZone, zone, in.FailureDomain)
	}
	if sel == nil {
		sel = map[string]string{}
	}
	sel[corev1.LabelTopologyZone] = in.FailureDomain
	return sel, nil
}

type dataVolume struct {
	volume    corev1.Volume
	mountPath string
}

// dataVolumes are the volumes mounted under /var, in a fixed order: a
// PersistentVolumeClaim where the machine has a template, else an emptyDir.
// Control planes always get /var/lib/etcd; other machines only with a template.
func dataVolumes(in Input) []dataVolume {
	templates := map[string]bool{}
	for _, t := range in.Machine.Spec.VolumeClaimTemplates {
		templates[t.Metadata.Name] = true
	}
	var out []dataVolume
	for _, v := range []struct {
		name, mountPath string
		always          bool
	}{
		{VarLibContainerdVolume, "/var/lib/containerd", true},
		{VarLibEtcdVolume, "/var/lib/etcd", in.ControlPlane},
	} {
		var src corev1.VolumeSource
		switch {
		case templates[v.name]:
			src.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSource{ClaimName: PVCName(in.Machine.Name, v.name)}
		case v.always:
			src.EmptyDir = &corev1.EmptyDirVolumeSource{}
		default:
			continue
		}
		out = append(out, dataVolume{volume: corev1.Volume{Name: v.name, VolumeSource: src}, mountPath: v.mountPath})
	}
	return out
}

func apiServerPort(in Input) int32 {
	if in.APIServerPort == 0 {
		return DefaultAPIServerPort
	}
	return in.APIServerPort
}

// readinessProbe of the node container. It runs only after the startupProbe
// succeeded, that is after bootstrap. A control plane is ready while its API
// server is (anonymous /readyz is allowed by default, and kubeadm's own probes
// rely on it); a worker is ready once bootstrapped.
//
// Because readiness waits for bootstrap, a Service in front of the control-plane
// Pods that must reach the first API server during kubeadm init (kubeadm and the
// kubelet use the control-plane endpoint) needs publishNotReadyAddresses.
func readinessProbe(controlPlane bool) *corev1.Probe {
	if controlPlane {
		return &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path:   "/readyz",
				Port:   intstr.FromString(APIServerPortName),
				Scheme: corev1.URISchemeHTTPS,
			}},
			PeriodSeconds:    5,
			TimeoutSeconds:   3,
			FailureThreshold: 3,
		}
	}
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{
			Command: []string{"test", "-f", BootstrapSuccessFile},
		}},
		PeriodSeconds:    10,
		TimeoutSeconds:   5,
		FailureThreshold: 3,
	}
}

func ptrTo[T any](v T) *T { return &v }

func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	return ptrTo(*p)
}
