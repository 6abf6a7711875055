package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

const nodesJSON = `{"items": [
 {"metadata": {"name": "cp"}, "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
  "status": {"addresses": [{"type": "Hostname", "address": "cp"}, {"type": "InternalIP", "address": "10.9.0.2"}]}},
 {"metadata": {"name": "w2"}, "spec": {"podCIDR": "10.244.2.0/24"},
  "status": {"addresses": [{"type": "InternalIP", "address": "fd00::3"}, {"type": "InternalIP", "address": "10.9.0.4"}]}},
 {"metadata": {"name": "w1"}, "spec": {"podCIDRs": ["fd10::/64", "10.244.1.0/24"]},
  "status": {"addresses": [{"type": "InternalIP", "address": "10.9.0.3"}]}},
 {"metadata": {"name": "new"}, "spec": {}, "status": {}}
]}`

func TestPlanFor(t *testing.T) {
	nodes, err := parseNodes([]byte(nodesJSON))
	if err != nil {
		t.Fatal(err)
	}
	pfx, addr := netip.MustParsePrefix, netip.MustParseAddr
	cidrs := []netip.Prefix{pfx("10.244.0.0/24"), pfx("10.244.1.0/24"), pfx("10.244.2.0/24")}
	cases := []struct {
		self    string
		want    *plan
		wantErr error
	}{
		{self: "cp", want: &plan{podCIDR: pfx("10.244.0.0/24"), podCIDRs: cidrs,
			routes: []route{{pfx("10.244.1.0/24"), addr("10.9.0.3")}, {pfx("10.244.2.0/24"), addr("10.9.0.4")}}}},
		{self: "w1", want: &plan{podCIDR: pfx("10.244.1.0/24"), podCIDRs: cidrs,
			routes: []route{{pfx("10.244.0.0/24"), addr("10.9.0.2")}, {pfx("10.244.2.0/24"), addr("10.9.0.4")}}}},
		// Registered, no Pod range yet: nothing is written.
		{self: "new", wantErr: errNoPodCIDR},
		{self: "gone", wantErr: errors.New("node gone: not registered yet")},
	}
	for _, tc := range cases {
		t.Run(tc.self, func(t *testing.T) {
			got, err := planFor(nodes, tc.self)
			if tc.wantErr != nil {
				if err == nil || (!errors.Is(err, tc.wantErr) && err.Error() != tc.wantErr.Error()) {
					t.Fatalf("got %v, %v; want error %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.equal(tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestMasqRules(t *testing.T) {
	p := &plan{podCIDR: netip.MustParsePrefix("10.244.1.0/24"),
		podCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/24"), netip.MustParsePrefix("10.244.1.0/24")}}
	want := [][]string{
		{"-d", "10.244.0.0/24", "-j", "RETURN"},
		{"-d", "10.244.1.0/24", "-j", "RETURN"},
		{"-j", "MASQUERADE"},
	}
	if got := masqRules(p); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestCNIConfig(t *testing.T) {
	var conf struct {
		CNIVersion string `json:"cniVersion"`
		Plugins    []struct {
			Type   string `json:"type"`
			IPMasq *bool  `json:"ipMasq"`
			IPAM   struct {
				Type   string                `json:"type"`
				Ranges [][]map[string]string `json:"ranges"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal(cniConfig(netip.MustParsePrefix("10.244.3.0/24")), &conf); err != nil {
		t.Fatal(err)
	}
	if len(conf.Plugins) != 2 || conf.Plugins[0].Type != "bridge" || conf.Plugins[1].Type != "portmap" {
		t.Fatalf("plugins: %+v", conf.Plugins)
	}
	b := conf.Plugins[0]
	if b.IPMasq == nil || *b.IPMasq || b.IPAM.Type != "host-local" || b.IPAM.Ranges[0][0]["subnet"] != "10.244.3.0/24" {
		t.Fatalf("bridge: %+v", b)
	}
}

func TestParseRoutes(t *testing.T) {
	got, err := parseRoutes([]byte(`[{"dst":"10.244.1.0/24","gateway":"10.9.0.3","dev":"eth0","protocol":"83","flags":[]},{"dst":"default","gateway":"10.9.0.1"}]`))
	if err != nil {
		t.Fatal(err)
	}
	want := []route{{netip.MustParsePrefix("10.244.1.0/24"), netip.MustParseAddr("10.9.0.3")}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got, err := parseRoutes([]byte("\n")); err != nil || got != nil {
		t.Fatalf("empty: %v, %v", got, err)
	}
}

func TestWriteIfChanged(t *testing.T) {
	file := filepath.Join(t.TempDir(), "net.d", "10-podcluster.conflist")
	if err := writeIfChanged(file, []byte("a")); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(file, old, old); err != nil {
		t.Fatal(err)
	}
	if err := writeIfChanged(file, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(file); !st.ModTime().Equal(old) {
		t.Fatal("an unchanged configuration was written again")
	}
	if err := writeIfChanged(file, []byte("b")); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(file); string(data) != "b" {
		t.Fatalf("got %q", data)
	}
}

// TestRunInRoot: a command of another root filesystem runs there (chroot),
// found by that root's PATH, not this one's.
func TestRunInRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chroot needs root")
	}
	root, src := t.TempDir(), t.TempDir()
	// A static program that prints /marker: what it prints is the root it ran in.
	prog := "package main\n\nimport \"os\"\n\nfunc main() {\n\tb, err := os.ReadFile(\"/marker\")\n\tif err != nil {\n\t\tos.Exit(2)\n\t}\n\tos.Stdout.Write(b)\n}\n"
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(prog), 0o600); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(root, "usr", "sbin", "probe"), "main.go")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GO111MODULE=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the probe: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(root, "marker"), []byte("in the node's root"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := run(context.Background(), root, "probe")
	if err != nil || out != "in the node's root" {
		t.Fatalf("got %q, %v", out, err)
	}
	if _, err := run(context.Background(), root, "missing"); err == nil {
		t.Fatal("a command missing from the root ran")
	}
}
