package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	clusterv1 "github.com/podcluster/podcluster/api/core/v1beta2"
	infrav1 "github.com/podcluster/podcluster/api/infrastructure/v1alpha1"
)

// providersLog is the log of the providers `podcluster up` runs for the suite.
func providersLog() string {
	return filepath.Join(filepath.Dir(kubeconfig), "logs", "providers.log")
}

// logLine is what the providers' JSON log lines hold that this test reads.
type logLine struct {
	Level      string `json:"level"`
	Msg        string `json:"msg"`
	Error      string `json:"error"`
	Controller string `json:"controller"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
}

// errorLines reads the error-level lines of the providers' log from offset on
// that are about namespace ns: the suite's other tests leave objects behind,
// some of them invalid on purpose, whose errors are real and not this test's.
func errorLines(g Gomega, offset int64, ns string) []string {
	f, err := os.Open(providersLog())
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = f.Close() }()
	_, err = f.Seek(offset, io.SeekStart)
	g.Expect(err).NotTo(HaveOccurred())
	var out []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		var l logLine
		if json.Unmarshal(s.Bytes(), &l) != nil {
			// Not a log line of the manager's logger ("manager stopped").
			continue
		}
		if l.Level == "error" && (l.Namespace == ns || strings.Contains(l.Error, ns)) {
			out = append(out, fmt.Sprintf("%s [%s %s/%s] %s", l.Msg, l.Controller, l.Namespace, l.Name, l.Error))
		}
	}
	g.Expect(s.Err()).NotTo(HaveOccurred())
	return out
}

// TestErrorLogIsQuiet: the seed walkthrough (up, scale to 5 and to 1,
// delete the Cluster) logs no error-level line: the races every deletion and
// every concurrent write causes are retried without an error line, so that a
// real error stands out. Deleting the Cluster also takes the machine
// templates with it (the Cluster owns them).
func TestErrorLogIsQuiet(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	info, err := os.Stat(providersLog())
	g.Expect(err).NotTo(HaveOccurred())
	offset := info.Size()

	ns := newNamespace(t)
	applySeed(g, ns)
	waitForWorkers(g, ns, 3)
	kubectl(g, "scale", "machinedeployment/worker", "-n", ns, "--replicas=5")
	waitForWorkers(g, ns, 5)
	kubectl(g, "scale", "machinedeployment/worker", "-n", ns, "--replicas=1")
	waitForWorkers(g, ns, 1)

	g.Expect(c.Delete(ctx, &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "example"}})).To(Succeed())
	g.Eventually(func(g Gomega) {
		for _, list := range []client.ObjectList{&clusterv1.ClusterList{}, &clusterv1.MachineList{}, &clusterv1.MachineSetList{},
			&clusterv1.MachineDeploymentList{}, &bootstrapv1.KubeadmConfigList{}, &infrav1.KubernetesMachineList{},
			&infrav1.KubernetesClusterList{}, &corev1.PodList{},
			&bootstrapv1.KubeadmConfigTemplateList{}, &infrav1.KubernetesMachineTemplateList{}} {
			g.Expect(c.List(ctx, list, client.InNamespace(ns))).To(Succeed())
			g.Expect(meta(list)).To(BeZero(), "%T", list)
		}
	}, 3*time.Minute, time.Second).Should(Succeed())

	lines := errorLines(g, offset, ns)
	g.Expect(lines).To(BeEmpty(), "error-level lines in %s:\n%s", providersLog(), strings.Join(lines, "\n"))
}
