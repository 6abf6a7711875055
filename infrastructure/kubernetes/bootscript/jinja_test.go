package bootscript

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// jinjaPod is the node Pod the Jinja tests render for: named like a
// MachineDeployment's worker, pinned to a zone by the Machine's failure domain.
var jinjaPod = &corev1.Pod{
	ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "worker-7d4f9-x2k8q"},
	Spec: corev1.PodSpec{
		Hostname:     "worker-7d4f9-x2k8q",
		NodeSelector: map[string]string{corev1.LabelTopologyZone: "zone-a"},
	},
}

// TestJinjaGolden converts every testdata/jinja/*.yaml, written in the format
// of upstream's kubeadm bootstrap provider, for jinjaPod and compares the
// script with the .sh next to it (go test -update rewrites it).
func TestJinjaGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/jinja/*.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no Jinja inputs: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			g := NewWithT(t)
			cfg, err := os.ReadFile(in)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(IsTemplate(cfg)).To(BeTrue())
			got, err := ConvertFor(cfg, InstanceDataOf(jinjaPod))
			g.Expect(err).NotTo(HaveOccurred())
			golden := strings.TrimSuffix(in, ".yaml") + ".sh"
			if *update {
				g.Expect(os.WriteFile(golden, got, 0o644)).To(Succeed())
			}
			want, err := os.ReadFile(golden)
			g.Expect(err).NotTo(HaveOccurred(), "run go test -update to create it")
			g.Expect(string(got)).To(Equal(string(want)), "run go test -update and review the diff")
			g.Expect(exec.Command("bash", "-n", golden).Run()).To(Succeed())
			g.Expect(string(got)).NotTo(ContainSubstring("{{"))
		})
	}
}

// TestJinjaWorkerJoinDryRun runs the converted upstream-style join in dry-run
// mode: the files and commands carry the node's own values.
func TestJinjaWorkerJoinDryRun(t *testing.T) {
	g := NewWithT(t)
	cfg, err := os.ReadFile("testdata/jinja/worker-join.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	script, err := ConvertFor(cfg, InstanceDataOf(jinjaPod))
	g.Expect(err).NotTo(HaveOccurred())
	root := t.TempDir()
	res := run(t, script, root, true)
	g.Expect(res.code).To(Equal(0), res.stdout+res.stderr)

	kubeadm, err := os.ReadFile(filepath.Join(root, "run/kubeadm/kubeadm-join-config.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(kubeadm)).To(ContainSubstring("\n  name: 'worker-7d4f9-x2k8q'\n"))
	g.Expect(string(kubeadm)).To(ContainSubstring("value: topology.example.com/zone=zone-a\n"))
	instance, err := os.ReadFile(filepath.Join(root, "etc/podcluster/instance"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(instance)).To(Equal("instance: worker-7d4f9-x2k8q (worker-7d4f9-x2k8q)\n" +
		"host: worker-7d4f9-x2k8q in zone-a\ncloud: podcluster on kubernetes\n"))
	g.Expect(res.commands).To(Equal([][]string{
		{"/bin/sh", "-c", `echo "127.0.0.1 worker-7d4f9-x2k8q" >>/etc/hosts`},
		{"hostnamectl", "set-hostname", "worker-7d4f9-x2k8q"},
		{"/bin/sh", "-c", "kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml --ignore-preflight-errors=" +
			strings.Join(preflightIgnores, ",") + "  && echo success > /run/cluster-api/bootstrap-success.complete"},
	}))
}

// cloudInitRender renders the template in argv[1] with cloud-init's own Jinja
// handler and the instance data in argv[2] (JSON), and prints the result.
const cloudInitRender = `
import json, sys
from cloudinit.handlers.jinja_template import render_jinja_payload
payload = open(sys.argv[1], newline="").read()
out = render_jinja_payload(payload, "part-001", json.loads(sys.argv[2]))
if out is None:
    sys.exit("cloud-init did not render the template")
sys.stdout.write(out)
`

// instanceDataJSON is instance-data.json as cloud-init's data source would
// write it for d: the v1 keys (with their hyphenated legacy names) and the
// data source's meta-data.
func instanceDataJSON(t *testing.T, d InstanceData) string {
	t.Helper()
	data, err := json.Marshal(map[string]any{
		"v1": map[string]any{
			"instance_id": d.InstanceID, "instance-id": d.InstanceID,
			"local_hostname": d.LocalHostname, "local-hostname": d.LocalHostname,
			"availability_zone": d.AvailabilityZone, "availability-zone": d.AvailabilityZone,
			"region": d.Region, "cloud_name": d.CloudName, "cloud-name": d.CloudName, "platform": d.Platform,
		},
		"ds": map[string]any{"meta_data": map[string]any{
			"instance-id": d.InstanceID, "local-hostname": d.LocalHostname, "hostname": d.LocalHostname,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestRenderTemplateMatchesCloudInit renders templates with RenderTemplate and
// with cloud-init's Jinja handler, when cloud-init's Python package is
// installed, and expects the same bytes; cloud-init's schema validator must
// accept the result.
func TestRenderTemplateMatchesCloudInit(t *testing.T) {
	python := ""
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(p, "-c", "import cloudinit.handlers.jinja_template, jinja2").Run() == nil {
			python = p
			break
		}
	}
	if python == "" {
		t.Skip("cloud-init's Python package (with jinja2) is not installed")
	}
	fixture, err := os.ReadFile("testdata/jinja/worker-join.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"upstream-style join": string(fixture),
		"every spelling": "## template: jinja\n#cloud-config\nruncmd:\n" +
			"- echo {{v1.local_hostname}} {{ local_hostname }} {{ ds.meta_data.local_hostname }} {{ ds.meta_data.hostname }}\n" +
			"- echo {{ ds.meta_data['local-hostname'] }} {{ ds.meta_data[\"local_hostname\"] }} {{ v1[\"local-hostname\"] }}\n" +
			"- echo {{ v1.instance_id }} {{ instance_id }} {{ ds.meta_data.instance_id }} {{ ds.meta_data['instance-id'] }}\n" +
			"- echo {{ v1.availability_zone }} {{ availability_zone }} {{ v1['availability-zone'] }} {{ v1.region }} {{ region }}\n" +
			"- echo {{ v1.cloud_name }} {{ cloud_name }} {{ v1.platform }} {{ platform }} {{\n    v1.instance_id\n  }}\n",
		"header in capitals, CRLF line breaks, no final newline": "## Template: JINJA\r\n#cloud-config\r\nruncmd:\r\n- echo {{ v1.instance_id }}\r\n- echo '}} { } {x'",
		"no variables, blank lines at the end":                   "## template: jinja\n#cloud-config\nruncmd:\n- echo ${HOME} {x}\n\n\n",
	}
	data := InstanceDataOf(jinjaPod)
	data.Region = "region-1"
	for name, tmpl := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			ours, err := RenderTemplate([]byte(tmpl), data)
			g.Expect(err).NotTo(HaveOccurred())
			file := filepath.Join(t.TempDir(), "user-data")
			g.Expect(os.WriteFile(file, []byte(tmpl), 0o600)).To(Succeed())
			out, err := exec.Command(python, "-c", cloudInitRender, file, instanceDataJSON(t, data)).Output()
			g.Expect(err).NotTo(HaveOccurred(), "%s", errorOutput(err))
			g.Expect(string(ours)).To(Equal(string(out)))

			if _, err := exec.LookPath("cloud-init"); err == nil {
				rendered := filepath.Join(t.TempDir(), "cloud-config.yaml")
				g.Expect(os.WriteFile(rendered, ours, 0o600)).To(Succeed())
				out, err := exec.Command("cloud-init", "schema", "-c", rendered).CombinedOutput()
				g.Expect(err).NotTo(HaveOccurred(), "cloud-init schema: %s", out)
			}
		})
	}
}

func errorOutput(err error) string {
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return string(exitErr.Stderr)
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// TestRenderTemplateRefusals: anything beyond substituting a known variable
// that has a value is refused, with a message that names it and its line.
func TestRenderTemplateRefusals(t *testing.T) {
	full := InstanceDataOf(jinjaPod)
	cases := []struct {
		name, body  string
		data        *InstanceData // nil: full
		err         []string
		unsupported bool
	}{
		{name: "unknown variable", body: "runcmd:\n- echo {{ v1.distro }}\n",
			err: []string{"line 4 of the Jinja template", `{{ v1.distro }}: unsupported Jinja variable "v1.distro"`, "v1.local_hostname"}, unsupported: true},
		{name: "unknown meta-data key", body: "runcmd:\n- echo {{ ds.meta_data.public_ipv4 }}\n",
			err: []string{`unsupported Jinja variable "ds.meta_data.public_ipv4"`}, unsupported: true},
		{name: "a whole namespace", body: "runcmd:\n- echo '{{ v1 }}'\n",
			err: []string{`unsupported Jinja variable "v1"`}, unsupported: true},
		{name: "control statement", body: "runcmd:\n{% if v1.cloud_name == 'aws' %}\n- echo aws\n{% endif %}\n",
			err: []string{"line 4 of the Jinja template", "unsupported Jinja statement {% if v1.cloud_name == 'aws' %}"}, unsupported: true},
		{name: "comment", body: "# {# a comment #}\nruncmd: []\n",
			err: []string{"line 3 of the Jinja template", "unsupported Jinja comment {# a comment #}"}, unsupported: true},
		{name: "shell that cloud-init would read as a comment", body: "runcmd:\n- 'a=(1 2); echo ${#a[@]}'\n",
			err: []string{"line 4", "unsupported Jinja comment", `cloud-init reads "{#" as the start of one`}, unsupported: true},
		{name: "filter", body: "runcmd:\n- echo {{ v1.local_hostname | upper }}\n",
			err: []string{`"v1.local_hostname | upper" is a filter`}, unsupported: true},
		{name: "method call", body: "runcmd:\n- echo {{ v1.local_hostname.upper() }}\n",
			err: []string{`"v1.local_hostname.upper()" is a call`}, unsupported: true},
		{name: "string literal", body: "runcmd:\n- echo '{{ \"{{\" }}'\n",
			err: []string{"is not a variable"}, unsupported: true},
		{name: "arithmetic", body: "runcmd:\n- echo {{ v1.instance_id ~ '-x' }}\n",
			err: []string{"is more than a variable"}, unsupported: true},
		{name: "index that is not a quoted key", body: "runcmd:\n- echo {{ ds.meta_data[0] }}\n",
			err: []string{"only quoted keys may go in brackets"}, unsupported: true},
		{name: "whitespace control", body: "runcmd:\n- echo {{- v1.region -}}\n",
			err: []string{"unsupported Jinja whitespace control"}, unsupported: true},
		{name: "empty expression", body: "runcmd:\n- echo {{ }}\n",
			err: []string{"it is empty"}, unsupported: true},
		{name: "not closed", body: "runcmd:\n- echo {{ v1.region\n",
			err: []string{"line 4 of the Jinja template", `is not closed with "}}"`}},
		{name: "a variable without a value", body: "runcmd:\n- echo {{ v1.region }}\n",
			err: []string{`{{ v1.region }}: variable "v1.region" has no value`, "no region"}},
		{name: "zone of a Pod that is not pinned", body: "runcmd:\n- echo {{ availability_zone }}\n",
			data: &InstanceData{InstanceID: "a", LocalHostname: "a"},
			err:  []string{`variable "availability_zone" has no value`, "the Machine has no failure domain"}},
		{name: "nothing known about the node", body: "write_files:\n- path: /etc/x\n  content: |\n    {{ ds.meta_data.local_hostname }}\n",
			data: &InstanceData{}, err: []string{"line 6 of the Jinja template", "no local hostname"}},
		{name: "a value that would change the YAML", body: "runcmd:\n- echo {{ v1.local_hostname }}\n",
			data: &InstanceData{LocalHostname: "a: b"}, err: []string{`the value "a: b" of variable "v1.local_hostname" is not a plain name`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			data := full
			if tc.data != nil {
				data = *tc.data
			}
			_, err := ConvertFor([]byte("## template: jinja\n#cloud-config\n"+tc.body), data)
			g.Expect(err).To(HaveOccurred())
			for _, e := range tc.err {
				g.Expect(err.Error()).To(ContainSubstring(e))
			}
			g.Expect(errors.Is(err, ErrUnsupported)).To(Equal(tc.unsupported))
		})
	}
}

func TestRenderTemplateLeavesOtherConfigsAlone(t *testing.T) {
	g := NewWithT(t)
	// Without the header, braces are text: cloud-init renders nothing either.
	plain := []byte("#cloud-config\nruncmd:\n- \"echo '{{ v1.local_hostname }} {% x %} {# y #}'\"\n")
	out, err := RenderTemplate(plain, InstanceData{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(Equal(plain))
	c, err := Parse(plain)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.RunCmd).To(Equal([]Command{{Shell: "echo '{{ v1.local_hostname }} {% x %} {# y #}'"}}))

	// A template must be rendered before it is parsed.
	_, err = Parse([]byte("## template: jinja\n#cloud-config\n"))
	g.Expect(err).To(MatchError(ContainSubstring("is a Jinja template")))
	// Convert knows nothing about the node: a template without variables converts.
	_, err = Convert([]byte("## template: jinja\n#cloud-config\nruncmd: [\"true\"]\n"))
	g.Expect(err).NotTo(HaveOccurred())
}

func TestInstanceDataOf(t *testing.T) {
	long := strings.Repeat("a", 62) + "-b" + strings.Repeat("c", 10)
	cases := []struct {
		name string
		pod  *corev1.Pod
		want InstanceData
	}{
		{"node Pod of the provider", jinjaPod, InstanceData{InstanceID: "worker-7d4f9-x2k8q", LocalHostname: "worker-7d4f9-x2k8q",
			AvailabilityZone: "zone-a", CloudName: "podcluster", Platform: "kubernetes"}},
		{"no spec.hostname: the Pod's name", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "cp-0"},
			Spec: corev1.PodSpec{NodeSelector: map[string]string{corev1.LabelTopologyRegion: "r1"}}},
			InstanceData{InstanceID: "cp-0", LocalHostname: "cp-0", Region: "r1", CloudName: "podcluster", Platform: "kubernetes"}},
		{"a long name is cut as the kubelet cuts it", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: long}},
			InstanceData{InstanceID: long, LocalHostname: strings.Repeat("a", 62), CloudName: "podcluster", Platform: "kubernetes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(InstanceDataOf(tc.pod)).To(Equal(tc.want))
		})
	}
}

// FuzzRenderTemplate: whatever the template holds, rendering never panics,
// and a rendered cloud-config holds no Jinja syntax any more: every
// expression was substituted or the template was refused.
func FuzzRenderTemplate(f *testing.F) {
	for _, seed := range []string{
		"{{ v1.local_hostname }}", "{{v1.instance_id}}{{ region }}", "{{ ds.meta_data['local-hostname'] }}", "{% if x %}",
		"{# c #}", "{{", "}}", "{{ }}", "{ {", "${#a[@]}", "{{ v1['x'] }}", "{{ ds.meta_data[\"a\\\"b\"] }}", "{{- x -}}",
		"a\r\nb\rc", "{{ v1.local_hostname\n}}",
	} {
		f.Add(seed)
	}
	data := InstanceDataOf(jinjaPod)
	data.Region = "region-1"
	f.Fuzz(func(t *testing.T, body string) {
		out, err := RenderTemplate([]byte("## template: jinja\n#cloud-config\nx: |\n  "+body+"\n"), data)
		if err != nil {
			return
		}
		for _, syntax := range []string{"{{", "{%", "{#", "\r"} {
			if strings.Contains(string(out), syntax) {
				t.Fatalf("rendered %q to %q, which still holds %q", body, out, syntax)
			}
		}
	})
}
