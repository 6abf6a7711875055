package initcmd

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/internal/webhook"
)

// The conversion webhook in a management cluster: the core manager serves it
// on webhook.InClusterPort behind a Service, with a serving certificate from a
// Secret that init makes once and then reuses, so that running init again
// changes nothing.
const (
	coreDeployment       = "podcluster-core"
	webhookService       = "podcluster-webhook"
	webhookSecret        = "podcluster-webhook-cert"
	webhookServicePort   = 443
	webhookCertVolume    = "webhook-cert"
	webhookContainerName = "manager"
)

// withConversionWebhook adds to the release objects what the API server needs
// to convert v1beta1 through the core manager: the Secret with the serving
// certificate, the Service in front of the manager, the manager's flags and
// mount, and spec.conversion with the CA bundle on every CRD with two versions.
func withConversionWebhook(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	var deploy *unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Deployment" && o.GetName() == coreDeployment {
			deploy = o
		}
	}
	if deploy == nil {
		return objs, nil
	}
	ns := deploy.GetNamespace()
	cert, err := webhookCertificate(ctx, c, ns)
	if err != nil {
		return nil, err
	}
	secret := &corev1.Secret{
		TypeMeta:   typeMeta("v1", "Secret"),
		ObjectMeta: objectMeta(ns, webhookSecret),
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: cert.CertPEM, corev1.TLSPrivateKeyKey: cert.KeyPEM, "ca.crt": cert.CAPEM},
	}
	selector, _, err := unstructured.NestedStringMap(deploy.Object, "spec", "selector", "matchLabels")
	if err != nil {
		return nil, fmt.Errorf("reading the selector of Deployment %s: %w", coreDeployment, err)
	}
	service := &corev1.Service{
		TypeMeta:   typeMeta("v1", "Service"),
		ObjectMeta: objectMeta(ns, webhookService),
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: "webhook", Port: webhookServicePort, TargetPort: intstr.FromInt32(webhook.InClusterPort)}},
		},
	}
	if err := serveWebhook(deploy); err != nil {
		return nil, err
	}
	cc := webhook.ServiceClientConfig(ns, webhookService, webhookServicePort, cert.CAPEM)
	out := make([]*unstructured.Unstructured, 0, len(objs)+2)
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			if o, err = crdWithConversion(o, cc); err != nil {
				return nil, err
			}
		}
		out = append(out, o)
	}
	for _, o := range []runtime.Object{secret, service} {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{Object: m}
		unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u.Object, "status")
		out = append(out, u)
	}
	return out, nil
}

// webhookCertificate reuses the certificate of an existing Secret, or makes one
// for the Service's DNS names.
func webhookCertificate(ctx context.Context, c client.Client, ns string) (*webhook.Certificate, error) {
	s := &corev1.Secret{}
	err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: webhookSecret}, s)
	switch {
	case err == nil && len(s.Data[corev1.TLSCertKey]) > 0 && len(s.Data[corev1.TLSPrivateKeyKey]) > 0 && len(s.Data["ca.crt"]) > 0:
		return &webhook.Certificate{CertPEM: s.Data[corev1.TLSCertKey], KeyPEM: s.Data[corev1.TLSPrivateKeyKey], CAPEM: s.Data["ca.crt"]}, nil
	case err != nil && !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("reading Secret %s/%s: %w", ns, webhookSecret, err)
	}
	host := webhookService + "." + ns + ".svc"
	return webhook.NewCertificate(host, host+".cluster.local")
}

// serveWebhook turns on the core manager's webhook server and mounts the Secret.
func serveWebhook(deploy *unstructured.Unstructured) error {
	containers, _, err := unstructured.NestedSlice(deploy.Object, "spec", "template", "spec", "containers")
	if err != nil {
		return err
	}
	for i, raw := range containers {
		ctr, ok := raw.(map[string]any)
		if !ok || ctr["name"] != webhookContainerName {
			continue
		}
		args, _, _ := unstructured.NestedSlice(ctr, "args")
		ctr["args"] = append(args, "--webhook-port="+strconv.Itoa(webhook.InClusterPort), "--webhook-cert-dir="+webhook.InClusterCertDir)
		ports, _, _ := unstructured.NestedSlice(ctr, "ports")
		ctr["ports"] = append(ports, map[string]any{"name": "webhook", "containerPort": int64(webhook.InClusterPort)})
		mounts, _, _ := unstructured.NestedSlice(ctr, "volumeMounts")
		ctr["volumeMounts"] = append(mounts, map[string]any{"name": webhookCertVolume, "mountPath": webhook.InClusterCertDir, "readOnly": true})
		containers[i] = ctr
	}
	if err := unstructured.SetNestedSlice(deploy.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		return err
	}
	volumes, _, _ := unstructured.NestedSlice(deploy.Object, "spec", "template", "spec", "volumes")
	volumes = append(volumes, map[string]any{"name": webhookCertVolume, "secret": map[string]any{"secretName": webhookSecret}})
	return unstructured.SetNestedSlice(deploy.Object, volumes, "spec", "template", "spec", "volumes")
}

func crdWithConversion(o *unstructured.Unstructured, cc apiextensionsv1.WebhookClientConfig) (*unstructured.Unstructured, error) {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, crd); err != nil {
		return nil, fmt.Errorf("decoding CRD %s: %w", o.GetName(), err)
	}
	webhook.WithConversion([]*apiextensionsv1.CustomResourceDefinition{crd}, cc)
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(crd)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	return u, nil
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func objectMeta(ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app.kubernetes.io/part-of": "podcluster"}}
}
