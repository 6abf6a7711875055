package integration

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
	"github.com/podcluster/podcluster/test/standin"
)

// The remediation kinds of a made-up external remediation provider.
const remediationGroup = "remediation.test.podcluster.io"

var (
	remediationTemplateKind = schema.GroupVersionKind{Group: remediationGroup, Version: "v1", Kind: "TestRemediationTemplate"}
	remediationKind         = schema.GroupVersionKind{Group: remediationGroup, Version: "v1", Kind: "TestRemediation"}
)

// installRemediationCRDs installs the CRDs of the made-up provider's
// template and request kinds, once per test binary.
func installRemediationCRDs(g Gomega) {
	for _, kind := range []string{"TestRemediationTemplate", "TestRemediation"} {
		plural := map[string]string{"TestRemediationTemplate": "testremediationtemplates", "TestRemediation": "testremediations"}[kind]
		crd := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiextensions.k8s.io/v1",
			"kind":       "CustomResourceDefinition",
			"metadata":   map[string]any{"name": plural + "." + remediationGroup},
			"spec": map[string]any{
				"group": remediationGroup,
				"scope": "Namespaced",
				"names": map[string]any{"kind": kind, "listKind": kind + "List", "plural": plural, "singular": plural[:len(plural)-1]},
				"versions": []any{map[string]any{
					"name": "v1", "served": true, "storage": true,
					"schema": map[string]any{"openAPIV3Schema": map[string]any{
						"type": "object",
						"properties": map[string]any{
							"spec": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true},
						},
					}},
				}},
			},
		}}
		if err := env.Client.Create(context.Background(), crd); err != nil && !apierrors.IsAlreadyExists(err) {
			g.Expect(err).NotTo(HaveOccurred())
		}
	}
	// Established: a list of each kind answers.
	g.Eventually(func() error {
		for _, gvk := range []schema.GroupVersionKind{remediationTemplateKind, remediationKind} {
			l := &unstructured.UnstructuredList{}
			l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
			if err := env.Client.List(context.Background(), l); err != nil {
				return err
			}
		}
		return nil
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}

// remediationRequest reads the request object of a Machine; nil when there is none.
func remediationRequest(g Gomega, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(remediationKind)
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u)
	if apierrors.IsNotFound(err) {
		return nil
	}
	g.Expect(err).NotTo(HaveOccurred())
	return u
}

// TestMachineHealthCheckExternalRemediation: with a remediation template, an
// unhealthy Machine gets a request object made from the template and is not
// deleted by its MachineSet; when the Machine is healthy again, the request
// goes.
func TestMachineHealthCheckExternalRemediation(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	installRemediationCRDs(g)
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "mhcext")
	newMachineDeployment(g, c, "workers", 2, 1, 0)
	waitForRunning(g, ns, 2, time.Minute)

	tmpl := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"template": map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"from": "template"}},
		"spec":     map[string]any{"strategy": "Reboot"},
	}}}}
	tmpl.SetGroupVersionKind(remediationTemplateKind)
	tmpl.SetNamespace(ns)
	tmpl.SetName("reboot")
	g.Expect(env.Client.Create(ctx, tmpl)).To(Succeed())
	mhc := newMachineHealthCheck(g, c, "workers", 1, clusterv1.MachineHealthCheckRemediationTriggerIf{})
	update(g, mhc, func() {
		mhc.Spec.Remediation.TemplateRef = clusterv1.MachineHealthCheckRemediationTemplateReference{
			APIVersion: remediationTemplateKind.GroupVersion().String(), Kind: remediationTemplateKind.Kind, Name: "reboot"}
	})
	waitForMHCStatus(g, mhc, 2, 2, 2, metav1.ConditionTrue)

	victim := machines(g, ns)[0]
	setNodeReady(g, victim.Status.NodeRef.Name, corev1.ConditionFalse, metav1.Now())

	g.Eventually(func(g Gomega) {
		req := remediationRequest(g, ns, victim.Name)
		g.Expect(req).NotTo(BeNil(), "the request object")
		g.Expect(req.Object["spec"]).To(Equal(map[string]any{"strategy": "Reboot"}))
		g.Expect(req.GetLabels()).To(HaveKeyWithValue("from", "template"))
		g.Expect(req.GetLabels()).To(HaveKeyWithValue(clusterv1.ClusterNameLabel, c.name))
		g.Expect(req.GetAnnotations()).To(HaveKeyWithValue(clusterv1.TemplateClonedFromNameAnnotation, "reboot"))
		g.Expect(req.GetOwnerReferences()).To(ConsistOf(HaveField("UID", victim.UID)))

		got := &clusterv1.Machine{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(&victim), got)).To(Succeed())
		hc := condition(got.Status.Conditions, clusterv1.MachineHealthCheckSucceededCondition)
		g.Expect(hc).NotTo(BeNil())
		g.Expect(hc.Status).To(Equal(metav1.ConditionFalse))
		er := condition(got.Status.Conditions, clusterv1.MachineExternallyRemediatedCondition)
		g.Expect(er).NotTo(BeNil())
		g.Expect(er.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(er.Reason).To(Equal(clusterv1.MachineExternallyRemediatedWaitingForRemediationReason))
		g.Expect(er.Message).To(ContainSubstring("TestRemediation " + victim.Name))
		g.Expect(condition(got.Status.Conditions, clusterv1.MachineOwnerRemediatedCondition)).To(BeNil(), "not the owner's to remediate")
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	// The MachineSet leaves the Machine to the external controller.
	g.Consistently(func(g Gomega) {
		list := machines(g, ns)
		g.Expect(list).To(HaveLen(2))
		for _, m := range list {
			g.Expect(m.DeletionTimestamp.IsZero()).To(BeTrue(), m.Name)
		}
	}, 3*time.Second, 200*time.Millisecond).Should(Succeed())

	// Healthy again: the request and the mark go.
	setNodeReady(g, victim.Status.NodeRef.Name, corev1.ConditionTrue, metav1.Now())
	g.Eventually(func(g Gomega) {
		g.Expect(remediationRequest(g, ns, victim.Name)).To(BeNil())
		got := &clusterv1.Machine{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(&victim), got)).To(Succeed())
		g.Expect(isTrue(got.Status.Conditions, clusterv1.MachineHealthCheckSucceededCondition)).To(BeTrue())
		g.Expect(condition(got.Status.Conditions, clusterv1.MachineExternallyRemediatedCondition)).To(BeNil())
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	waitForMHCStatus(g, mhc, 2, 2, 2, metav1.ConditionTrue)
}

// TestMachineHealthCheckNodeStartupTimeout: a Machine whose Node never
// appears is unhealthy once nodeStartupTimeoutSeconds has passed since its
// infrastructure was ready, not before, and is replaced.
func TestMachineHealthCheckNodeStartupTimeout(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	c := newCluster(t, g, ns, "mhcnst")
	// Every Machine's infrastructure is provisioned but never brings up a
	// Node, and a pre-drain hook holds each deletion so that the verdict can
	// be read before the Machine is gone.
	newTemplates(g, ns, "workers")
	kmt := &infrav1.KubernetesMachineTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "workers"}}
	update(g, kmt, func() {
		kmt.Spec.Template.Metadata.Annotations = map[string]string{standin.NoNodeAnnotation: ""}
	})
	hook := clusterv1.PreDrainDeleteHookAnnotationPrefix + "/test"
	tmpl := machineTemplate(c, "workers", map[string]string{"pool": "workers"})
	tmpl.ObjectMeta.Annotations = map[string]string{hook: ""}
	one := int32(1)
	g.Expect(env.Client.Create(ctx, &clusterv1.MachineDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "workers"},
		Spec: clusterv1.MachineDeploymentSpec{
			ClusterName: c.name, Replicas: &one, Template: tmpl,
			Selector: clusterv1.LabelSelector{MatchLabels: map[string]clusterv1.LabelValue{"pool": "workers"}},
		},
	})).To(Succeed())
	const timeout = 3
	mhc := newMachineHealthCheck(g, c, "workers", 300, clusterv1.MachineHealthCheckRemediationTriggerIf{})
	update(g, mhc, func() { mhc.Spec.Checks.NodeStartupTimeoutSeconds = ptr.To(int32(timeout)) })
	// Stop the cycle of replacements and release the held deletions, so that
	// the namespace goes and nothing churns under the next tests.
	t.Cleanup(func() {
		g := NewWithT(t)
		g.Expect(client.IgnoreNotFound(env.Client.Delete(ctx, mhc))).To(Succeed())
		g.Expect(client.IgnoreNotFound(env.Client.Delete(ctx, &clusterv1.MachineDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "workers"}}))).To(Succeed())
		g.Eventually(func(g Gomega) {
			list := machines(g, ns)
			for i := range list {
				if _, held := list[i].Annotations[hook]; held {
					update(g, &list[i], func() { delete(list[i].Annotations, hook) })
				}
			}
			g.Expect(machines(g, ns)).To(BeEmpty())
		}, time.Minute, 200*time.Millisecond).Should(Succeed())
	})

	// Each replacement has no Node either and is replaced in turn, so only
	// the first Machine is followed.
	var firstName string
	g.Eventually(func(g Gomega) {
		list := machines(g, ns)
		g.Expect(list).NotTo(BeEmpty())
		firstName = list[0].Name
	}, 30*time.Second, 50*time.Millisecond).Should(Succeed())
	first := clusterv1.Machine{}
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: firstName}, &first)).To(Succeed())
		g.Expect(first.DeletionTimestamp).NotTo(BeNil(), "the MachineSet deletes the Machine")
		g.Expect(first.Status.NodeRef.Name).To(BeEmpty())
		hc := condition(first.Status.Conditions, clusterv1.MachineHealthCheckSucceededCondition)
		g.Expect(hc).NotTo(BeNil())
		g.Expect(hc.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(hc.Reason).To(Equal(clusterv1.MachineHealthCheckSucceededNodeStartupTimeoutReason))
		g.Expect(hc.Message).To(ContainSubstring("Node failed to report startup in 3s"))
	}, time.Minute, 100*time.Millisecond).Should(Succeed())
	infraReady := condition(first.Status.Conditions, clusterv1.MachineInfrastructureReadyCondition)
	g.Expect(infraReady).NotTo(BeNil())
	g.Expect(infraReady.Status).To(Equal(metav1.ConditionTrue))
	// Timestamps are in whole seconds, so allow one for truncation.
	g.Expect(first.DeletionTimestamp.Sub(infraReady.LastTransitionTime.Time)).To(BeNumerically(">=", (timeout-1)*time.Second),
		"not remediated before the startup timeout")

	update(g, &first, func() { delete(first.Annotations, hook) })
	g.Eventually(func(g Gomega) {
		list := machines(g, ns)
		g.Expect(list).NotTo(BeEmpty())
		for _, m := range list {
			g.Expect(m.Name).NotTo(Equal(first.Name))
		}
	}, time.Minute, 100*time.Millisecond).Should(Succeed())
}
