package initcmd

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podcluster/podcluster/internal/webhook"
)

// TestInitInstallsConversionWebhook: init points every CRD with two versions
// at the core manager through a Service, with a CA bundle that verifies the
// serving certificate in the Secret the manager mounts; the manager serves the
// webhook. A second init keeps the certificate.
func TestInitInstallsConversionWebhook(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	_, err := runInit(t, "--kubeconfig", env.KubeconfigPath, "--wait=false")
	g.Expect(err).NotTo(HaveOccurred())

	secret := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: "podcluster-system", Name: webhookSecret}, secret)).To(Succeed())
	g.Expect(secret.Type).To(Equal(corev1.SecretTypeTLS))

	svc := &corev1.Service{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: "podcluster-system", Name: webhookService}, svc)).To(Succeed())
	g.Expect(svc.Spec.Selector).To(HaveKeyWithValue("app.kubernetes.io/component", "core"))
	g.Expect(svc.Spec.Ports[0].TargetPort.IntValue()).To(Equal(webhook.InClusterPort))

	crd := &apiextensionsv1.CustomResourceDefinition{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Name: "machinedeployments.cluster.x-k8s.io"}, crd)).To(Succeed())
	g.Expect(crd.Spec.Conversion.Strategy).To(Equal(apiextensionsv1.WebhookConverter))
	cc := crd.Spec.Conversion.Webhook.ClientConfig
	g.Expect(cc.Service.Name).To(Equal(webhookService))
	g.Expect(*cc.Service.Path).To(Equal(webhook.ConvertPath))

	// The CA bundle verifies the serving certificate for the Service's name.
	roots := x509.NewCertPool()
	g.Expect(roots.AppendCertsFromPEM(cc.CABundle)).To(BeTrue())
	block, _ := pem.Decode(secret.Data[corev1.TLSCertKey])
	cert, err := x509.ParseCertificate(block.Bytes)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: webhookService + ".podcluster-system.svc"})
	g.Expect(err).NotTo(HaveOccurred())

	// A CRD with one version keeps no conversion.
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Name: "kubeadmcontrolplanes.controlplane.cluster.x-k8s.io"}, crd)).To(Succeed())
	g.Expect(crd.Spec.Conversion.Strategy).To(Equal(apiextensionsv1.NoneConverter))

	deploy := &appsv1.Deployment{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: "podcluster-system", Name: coreDeployment}, deploy)).To(Succeed())
	g.Expect(deploy.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--webhook-port=9443"))
	g.Expect(deploy.Spec.Template.Spec.Volumes).To(ContainElement(HaveField("Secret.SecretName", webhookSecret)))

	_, err = runInit(t, "--kubeconfig", env.KubeconfigPath, "--wait=false")
	g.Expect(err).NotTo(HaveOccurred())
	again := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(secret), again)).To(Succeed())
	g.Expect(again.ResourceVersion).To(Equal(secret.ResourceVersion))
}
