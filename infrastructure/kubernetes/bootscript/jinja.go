package bootscript

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// InstanceData is what cloud-init's data source tells a machine about itself:
// the values of the variables of a Jinja-templated cloud-config. For a node
// Pod the infrastructure provider is the data source; [InstanceDataOf] gives
// a node Pod's. An empty field has no value, and a template that uses it is
// refused.
type InstanceData struct {
	// InstanceID is v1.instance_id, instance_id and ds.meta_data.instance_id.
	InstanceID string
	// LocalHostname is v1.local_hostname, local_hostname,
	// ds.meta_data.local_hostname and ds.meta_data.hostname: the hostname the
	// node has, and so the Node name kubeadm registers by default.
	LocalHostname string
	// AvailabilityZone is v1.availability_zone and availability_zone.
	AvailabilityZone string
	// Region is v1.region and region.
	Region string
	// CloudName is v1.cloud_name and cloud_name.
	CloudName string
	// Platform is v1.platform and platform.
	Platform string
}

// The cloud and platform a node Pod reports as its instance data.
const (
	CloudName = "podcluster"
	Platform  = "kubernetes"
)

// InstanceDataOf is the instance data of a node Pod, from its spec alone, so
// that the script can be written before the Pod exists: the hostname is the
// one the Pod's containers get (spec.hostname, else the Pod's name cut to 63
// characters, as the kubelet does), the instance id is the Pod's name, and the
// zone and region are the ones its nodeSelector pins it to
// (topology.kubernetes.io/zone, which the provider sets from the Machine's
// failure domain, and topology.kubernetes.io/region); a Pod that is not
// pinned has none.
func InstanceDataOf(pod *corev1.Pod) InstanceData {
	hostname := pod.Spec.Hostname
	if hostname == "" {
		hostname = pod.Name
		if len(hostname) > 63 {
			hostname = strings.TrimRight(hostname[:63], "-.")
		}
	}
	return InstanceData{
		InstanceID:       pod.Name,
		LocalHostname:    hostname,
		AvailabilityZone: pod.Spec.NodeSelector[corev1.LabelTopologyZone],
		Region:           pod.Spec.NodeSelector[corev1.LabelTopologyRegion],
		CloudName:        CloudName,
		Platform:         Platform,
	}
}

// instanceVariable is one variable the renderer knows: its canonical path
// (hyphens written as underscores, as cloud-init's aliases do) and its value.
type instanceVariable struct {
	path  string
	value func(InstanceData) string
	// what names the value in the error when it has none.
	what string
}

var instanceVariables = func() []instanceVariable {
	var vars []instanceVariable
	add := func(what string, value func(InstanceData) string, paths ...string) {
		for _, p := range paths {
			vars = append(vars, instanceVariable{path: p, value: value, what: what})
		}
	}
	add("instance id", func(d InstanceData) string { return d.InstanceID }, "v1.instance_id", "instance_id", "ds.meta_data.instance_id")
	add("local hostname", func(d InstanceData) string { return d.LocalHostname },
		"v1.local_hostname", "local_hostname", "ds.meta_data.local_hostname", "ds.meta_data.hostname")
	add("availability zone (the node Pod is not pinned to a zone: the Machine has no failure domain)", func(d InstanceData) string { return d.AvailabilityZone },
		"v1.availability_zone", "availability_zone")
	add("region (the node Pod's nodeSelector sets no topology.kubernetes.io/region)", func(d InstanceData) string { return d.Region },
		"v1.region", "region")
	add("cloud name", func(d InstanceData) string { return d.CloudName }, "v1.cloud_name", "cloud_name")
	add("platform", func(d InstanceData) string { return d.Platform }, "v1.platform", "platform")
	return vars
}()

// jinjaHeader is the first line that makes cloud-init render user data as a
// Jinja template: "## template: jinja", which cloud-init matches without
// regard to case.
var jinjaHeader = regexp.MustCompile(`(?i)^## template: jinja[ \t\r]*$`)

// IsTemplate reports whether a cloud-config is a Jinja template.
func IsTemplate(cloudConfig []byte) bool {
	first, _, _ := bytes.Cut(cloudConfig, []byte("\n"))
	return jinjaHeader.Match(first)
}

// safeValue is what a value may hold to be put into the YAML text and mean
// itself there, wherever the template puts it.
var safeValue = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`)

// RenderTemplate renders a Jinja-templated cloud-config (one whose first line
// is "## template: jinja") the way cloud-init would on a node with the given
// instance data, and returns the cloud-config without the header line. Other
// cloud-configs are returned unchanged.
//
// Only the substitution of the variables of InstanceData is supported: an
// expression {{ path }} where path is one of them, written with dots or
// brackets (ds.meta_data["local-hostname"]). Any other variable, a filter, a
// test, a literal, a statement ({% ... %}), a comment ({# ... #}) or
// whitespace control ({{- ... -}}) is an error that names it and its line,
// and so is a variable without a value. As Jinja does, line breaks become
// "\n".
func RenderTemplate(cloudConfig []byte, data InstanceData) ([]byte, error) {
	if !IsTemplate(cloudConfig) {
		return cloudConfig, nil
	}
	_, body, _ := bytes.Cut(cloudConfig, []byte("\n"))
	// Jinja reads \r\n and \r as line breaks and writes them as \n.
	body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
	body = bytes.ReplaceAll(body, []byte("\r"), []byte("\n"))

	var out bytes.Buffer
	rest := string(body)
	line := 2 // the header was line 1
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 || i == len(rest)-1 {
			out.WriteString(rest)
			return out.Bytes(), nil
		}
		out.WriteString(rest[:i])
		line += strings.Count(rest[:i], "\n")
		rest = rest[i:]
		switch rest[1] {
		case '%':
			return nil, fmt.Errorf("line %d of the Jinja template: %w Jinja statement %s: podcluster renders only {{ variable }} substitutions",
				line, ErrUnsupported, excerpt(rest, "%}"))
		case '#':
			return nil, fmt.Errorf("line %d of the Jinja template: %w Jinja comment %s (in a templated cloud-config, cloud-init reads \"{#\" as the start of one)",
				line, ErrUnsupported, excerpt(rest, "#}"))
		case '{':
		default:
			out.WriteByte('{')
			rest = rest[1:]
			continue
		}
		end := strings.Index(rest, "}}")
		if end < 0 {
			return nil, fmt.Errorf("line %d of the Jinja template: %q is not closed with \"}}\"", line, excerpt(rest, ""))
		}
		expr := rest[:end+2]
		value, err := substitute(expr, data)
		if err != nil {
			return nil, fmt.Errorf("line %d of the Jinja template: %w", line, err)
		}
		out.WriteString(value)
		line += strings.Count(expr, "\n")
		rest = rest[end+2:]
	}
}

// substitute returns the value of one {{ ... }} expression.
func substitute(expr string, data InstanceData) (string, error) {
	inner := strings.TrimSuffix(strings.TrimPrefix(expr, "{{"), "}}")
	if strings.HasPrefix(inner, "-") || strings.HasPrefix(inner, "+") || strings.HasSuffix(inner, "-") || strings.HasSuffix(inner, "+") {
		return "", fmt.Errorf("%s: %w Jinja whitespace control: write {{ variable }}", expr, ErrUnsupported)
	}
	path, err := variablePath(strings.TrimSpace(inner))
	if err != nil {
		return "", fmt.Errorf("%s: %w Jinja expression: %w; podcluster renders only the variables %s",
			oneLine(expr), ErrUnsupported, err, strings.Join(supportedVariables(), ", "))
	}
	i := slices.IndexFunc(instanceVariables, func(v instanceVariable) bool { return v.path == path })
	if i < 0 {
		return "", fmt.Errorf("%s: %w Jinja variable %q: podcluster renders only %s",
			oneLine(expr), ErrUnsupported, path, strings.Join(supportedVariables(), ", "))
	}
	v := instanceVariables[i]
	value := v.value(data)
	if value == "" {
		return "", fmt.Errorf("%s: variable %q has no value: the node's instance data has no %s", oneLine(expr), path, v.what)
	}
	if !safeValue.MatchString(value) {
		return "", fmt.Errorf("%s: the value %q of variable %q is not a plain name (letters, digits, '.', '_', '-') and cannot be put into the cloud-config safely",
			oneLine(expr), value, path)
	}
	return value, nil
}

var (
	identifier    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*`)
	bracketString = regexp.MustCompile(`^\[\s*("[^"\\]*"|'[^'\\]*')\s*\]`)
)

// variablePath reads a Jinja variable reference (a.b, a["b"], a['b-c']) and
// returns its canonical dotted path, hyphens in keys written as underscores
// (cloud-init gives every key with a hyphen an underscore alias). Anything
// else is an error that says what was found.
func variablePath(s string) (string, error) {
	if s == "" {
		return "", errors.New("it is empty")
	}
	name := identifier.FindString(s)
	if name == "" {
		return "", fmt.Errorf("%q is not a variable", s)
	}
	parts := []string{name}
	rest := s[len(name):]
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "."):
			key := identifier.FindString(rest[1:])
			if key == "" {
				return "", fmt.Errorf("%q is not a variable", s)
			}
			parts = append(parts, key)
			rest = rest[1+len(key):]
		case strings.HasPrefix(rest, "["):
			m := bracketString.FindStringSubmatch(rest)
			if m == nil {
				return "", fmt.Errorf("%q is not a variable (only quoted keys may go in brackets)", s)
			}
			parts = append(parts, strings.ReplaceAll(m[1][1:len(m[1])-1], "-", "_"))
			rest = rest[len(m[0]):]
		default:
			what := "more than a variable"
			switch strings.TrimSpace(rest)[0] {
			case '|':
				what = "a filter"
			case '(':
				what = "a call"
			}
			return "", fmt.Errorf("%q is %s", s, what)
		}
	}
	return strings.Join(parts, "."), nil
}

// supportedVariables lists the variables in the order of InstanceData.
func supportedVariables() []string {
	names := make([]string, 0, len(instanceVariables))
	for _, v := range instanceVariables {
		names = append(names, v.path)
	}
	return names
}

// excerpt is the start of s up to and including end (or a short prefix), on
// one line, for an error message.
func excerpt(s, end string) string {
	if i := strings.Index(s, end); end != "" && i >= 0 && i < 200 {
		return oneLine(s[:i+len(end)])
	}
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "..."
	}
	return oneLine(s)
}
