package cloudinit

import (
	"encoding/base64"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/internal/kubeadmtest"
	"github.com/podcluster/podcluster/bootstrap/kubeadm/kubeadmtypes"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fakePEM returns a fixed, fake PEM block: this package never parses certificates,
// and fixed strings keep the golden files stable.
func fakePEM(kind, name string) []byte {
	return []byte("-----BEGIN " + kind + "-----\n" + base64.StdEncoding.EncodeToString([]byte("fake "+name)) + "\n-----END " + kind + "-----\n")
}

func fakeCertificates() Certificates {
	pair := func(name string) KeyPair {
		return KeyPair{Cert: fakePEM("CERTIFICATE", name), Key: fakePEM("PRIVATE KEY", name)}
	}
	return Certificates{
		CA: pair("cluster CA"), EtcdCA: pair("etcd CA"), FrontProxyCA: pair("front-proxy CA"),
		ServiceAccount: KeyPair{Cert: fakePEM("PUBLIC KEY", "service account"), Key: fakePEM("PRIVATE KEY", "service account")},
	}
}

func seedKubeletArgs() []bootstrapv1.Arg {
	return []bootstrapv1.Arg{
		{Name: "eviction-hard", Value: new("nodefs.available<0%,nodefs.inodesFree<0%,imagefs.available<0%")},
		{Name: "cgroups-per-qos", Value: new("false")},
		{Name: "enforce-node-allocatable", Value: new("")},
	}
}

var seedInputs = kubeadmtypes.ClusterInputs{
	ClusterName:          "example",
	ControlPlaneEndpoint: "example-apiserver.default.svc:6443",
	KubernetesVersion:    "v1.37.2",
	PodSubnet:            "192.168.0.0/16",
	ServiceSubnet:        "172.16.0.0/12",
	DNSDomain:            "cluster.local",
}

// seedInitConfig renders the seed example's kubeadm init configuration.
func seedInitConfig(t *testing.T) []byte {
	t.Helper()
	g := NewWithT(t)
	cc, err := kubeadmtypes.ClusterConfigurationFromSpec(bootstrapv1.ClusterConfiguration{
		ControllerManager: bootstrapv1.ControllerManager{ControlPlaneComponent: bootstrapv1.ControlPlaneComponent{
			ExtraArgs: []bootstrapv1.Arg{{Name: "enable-hostpath-provisioner", Value: new("true")}},
		}},
	}, seedInputs)
	g.Expect(err).NotTo(HaveOccurred())
	ic, err := kubeadmtypes.InitConfigurationFromSpec(bootstrapv1.InitConfiguration{
		NodeRegistration: bootstrapv1.NodeRegistrationOptions{KubeletExtraArgs: seedKubeletArgs()},
	})
	g.Expect(err).NotTo(HaveOccurred())
	out, err := kubeadmtypes.MarshalInitData(cc, ic, kubeadmtypes.ComponentConfigs{})
	g.Expect(err).NotTo(HaveOccurred())
	return out
}

// seedJoinConfig renders the seed example's kubeadm join configuration.
func seedJoinConfig(t *testing.T, controlPlane bool) []byte {
	t.Helper()
	g := NewWithT(t)
	jc, err := kubeadmtypes.JoinConfigurationFromSpec(bootstrapv1.JoinConfiguration{
		NodeRegistration: bootstrapv1.NodeRegistrationOptions{KubeletExtraArgs: seedKubeletArgs()},
	}, kubeadmtypes.JoinInputs{
		Token: "abcdef.0123456789abcdef", APIServerEndpoint: seedInputs.ControlPlaneEndpoint, ControlPlane: controlPlane,
		CACertHashes: []string{"sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"},
	})
	g.Expect(err).NotTo(HaveOccurred())
	out, err := kubeadmtypes.MarshalJoinData(jc, "")
	g.Expect(err).NotTo(HaveOccurred())
	return out
}

// fullNodeInput sets every module: files with encodings, users, ntp, disks,
// mounts, boot, pre and post commands, and verbosity.
func fullNodeInput(t *testing.T) Input {
	return Input{
		KubeadmConfig: seedJoinConfig(t, false),
		Files: []bootstrapv1.File{
			{Path: "/etc/motd", Content: "podcluster worker\n"},
			{Path: "/etc/kubernetes/audit/policy.yaml", Owner: "root:root", Permissions: "600",
				Content: "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"},
			{Path: "/etc/containerd/certs.d/hosts.toml", Permissions: "0644", Encoding: bootstrapv1.Base64,
				Content: base64.StdEncoding.EncodeToString([]byte("server = \"https://registry.example.test\"\n"))},
			{Path: "/etc/sysctl.d/99-forward.conf", Permissions: "0644", Encoding: bootstrapv1.GzipBase64,
				// `printf 'net.ipv4.ip_forward = 1\n' | gzip -n -9 | base64`, fixed for stable goldens.
				Content: "H4sIAAAAAAACA8tLLdHLLCgzARLxaflF5YlFKQq2CoZcADLyLNgYAAAA"},
			{Path: "/etc/environment", Append: new(true), Content: "HTTP_PROXY=http://proxy.example.test:3128\n"},
			{Path: "/etc/kubernetes/token", Permissions: "0400", Content: "resolved-from-secret\n",
				ContentFrom: bootstrapv1.FileSource{Secret: bootstrapv1.SecretFileSource{Name: "token", Key: "value"}}},
		},
		BootCommands:        []string{"echo boot > /run/boot-marker"},
		PreKubeadmCommands:  []string{"swapoff -a", "systemctl restart containerd"},
		PostKubeadmCommands: []string{"echo joined >> /var/log/bootstrap.log"},
		Users: []bootstrapv1.User{
			{
				Name: "ops", Gecos: "Operations", Groups: "adm,sudo", HomeDir: "/home/ops", Shell: "/bin/bash",
				Passwd: "$6$rounds=4096$salt$hash", PrimaryGroup: "ops", LockPassword: new(false),
				Sudo: "ALL=(ALL) NOPASSWD:ALL", SSHAuthorizedKeys: []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests ops@example"},
			},
			{Name: "retired", Inactive: new(true), LockPassword: new(true)},
		},
		NTP: bootstrapv1.NTP{Servers: []string{"0.pool.ntp.org", "time.example.test"}, Enabled: new(true)},
		DiskSetup: bootstrapv1.DiskSetup{
			Partitions: []bootstrapv1.Partition{
				{Device: "/dev/sdb", Layout: new(true), Overwrite: new(false), TableType: "gpt"},
				{Device: "/dev/sdc", TableType: "mbr", DiskLayout: []bootstrapv1.PartitionSpec{
					{Percentage: 80}, {Percentage: 20, PartitionType: "LinuxSwap"},
				}},
			},
			Filesystems: []bootstrapv1.Filesystem{
				{Device: "/dev/sdb", Filesystem: "ext4", Label: "containerd", Partition: "auto", ExtraOpts: []string{"-E", "lazy_itable_init=1"}},
				{Device: "/dev/sdc", Filesystem: "xfs", Label: "etcd", Partition: "any", Overwrite: new(false), ReplaceFS: "ntfs"},
			},
		},
		Mounts: []bootstrapv1.MountPoints{
			{"LABEL=containerd", "/var/lib/containerd"},
			{"LABEL=etcd", "/var/lib/etcd", "xfs", "defaults,nofail", "0", "2"},
		},
		Verbosity: new(int32(5)),
	}
}

func TestGoldenCloudConfigs(t *testing.T) {
	tests := []struct {
		name   string
		render func(Input) ([]byte, error)
		input  func(t *testing.T) Input
	}{
		{name: "init-control-plane", render: NewInitControlPlane, input: func(t *testing.T) Input {
			return Input{KubeadmConfig: seedInitConfig(t), Certificates: fakeCertificates()}
		}},
		{name: "join-control-plane", render: NewJoinControlPlane, input: func(t *testing.T) Input {
			return Input{KubeadmConfig: seedJoinConfig(t, true), Certificates: fakeCertificates()}
		}},
		{name: "join-node", render: NewNode, input: func(t *testing.T) Input {
			return Input{KubeadmConfig: seedJoinConfig(t, false)}
		}},
		{name: "join-node-full", render: NewNode, input: fullNodeInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := tt.render(tt.input(t))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(got)).To(HavePrefix("#cloud-config\n"))

			golden := filepath.Join("testdata", tt.name+".yaml")
			if *update {
				g.Expect(os.WriteFile(golden, got, 0o644)).To(Succeed())
			}
			want, err := os.ReadFile(golden)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(got)).To(Equal(string(want)), "golden %s is stale; rerun with -update", golden)

			kubeadmtest.ValidateCloudConfig(t, golden)

			// The kubeadm configuration is written last, so no user file can
			// replace it, and it passes kubeadm too.
			var cfg cloudConfig
			g.Expect(yaml.Unmarshal(got, &cfg)).To(Succeed())
			last := cfg.WriteFiles[len(cfg.WriteFiles)-1]
			g.Expect(last.Path).To(HavePrefix("/run/kubeadm/"))
			kubeadmtest.ValidateKubeadmConfig(t, []byte(last.Content))
		})
	}
}

func TestRunCommands(t *testing.T) {
	g := NewWithT(t)
	in := Input{
		KubeadmConfig: []byte("kind: JoinConfiguration\n"), PreKubeadmCommands: []string{"pre"},
		PostKubeadmCommands: []string{"post1", "post2"}, Verbosity: new(int32(3)),
	}
	sentinel := "mkdir -p /run/cluster-api && echo success > /run/cluster-api/bootstrap-success.complete"
	g.Expect(runCommands(role{command: "join", configPath: JoinConfigPath}, in)).To(Equal([]string{
		"pre", "set -e", "kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml -v 3", "post1", "post2", sentinel,
	}))
	in = Input{KubeadmConfig: []byte("kind: InitConfiguration\n")}
	g.Expect(runCommands(role{command: "init", configPath: InitConfigPath}, in)).To(Equal([]string{
		"set -e", "kubeadm init --config /run/kubeadm/kubeadm.yaml", sentinel,
	}))
}

func TestParsePermissions(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
		ok   bool
	}{
		{in: "0644", want: 0o644, ok: true},
		{in: "644", want: 0o644, ok: true},
		{in: "0600", want: 0o600, ok: true},
		{in: "0", want: 0, ok: true},
		{in: "0777", want: 0o777, ok: true},
		{in: "1777"},
		{in: "0800"},
		{in: "rw-r--r--"},
		{in: "0o644"},
		{in: "-644"},
		{in: ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			g := NewWithT(t)
			got, err := ParsePermissions(tt.in)
			if !tt.ok {
				g.Expect(err).To(MatchError(ContainSubstring("must be octal between 0 and 0777")))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

func TestFileRendering(t *testing.T) {
	g := NewWithT(t)
	files, err := userFiles([]bootstrapv1.File{
		{Path: "/a", Content: "x", Permissions: "600", Encoding: bootstrapv1.Gzip},
		{Path: "/b", Content: "eA==", Encoding: bootstrapv1.Base64, Append: new(true)},
		{Path: "/c", Content: "x", Encoding: bootstrapv1.GzipBase64, Owner: "nobody:nogroup"},
	})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(files).To(Equal([]writeFile{
		{Path: "/a", Permissions: "0600", Encoding: "gz", Content: "x"},
		{Path: "/b", Encoding: "b64", Append: true, Content: "eA=="},
		{Path: "/c", Owner: "nobody:nogroup", Encoding: "gz+b64", Content: "x"},
	}))
}

func TestInputErrors(t *testing.T) {
	valid := func() Input { return Input{KubeadmConfig: []byte("kind: JoinConfiguration\n")} }
	tests := []struct {
		name    string
		render  func(Input) ([]byte, error)
		mutate  func(*Input)
		wantErr string
	}{
		{name: "bad permissions name the file", render: NewNode, mutate: func(in *Input) {
			in.Files = []bootstrapv1.File{{Path: "/etc/ok", Content: "x"}, {Path: "/etc/bad", Content: "x", Permissions: "0999"}}
		}, wantErr: `files[1] "/etc/bad": permissions "0999"`},
		{name: "unresolved contentFrom", render: NewNode, mutate: func(in *Input) {
			in.Files = []bootstrapv1.File{{Path: "/etc/secret", ContentFrom: bootstrapv1.FileSource{Secret: bootstrapv1.SecretFileSource{Name: "s", Key: "k"}}}}
		}, wantErr: `files[0] "/etc/secret": content from Secret s key k was not resolved`},
		{name: "empty content", render: NewNode, mutate: func(in *Input) {
			in.Files = []bootstrapv1.File{{Path: "/etc/empty"}}
		}, wantErr: `files[0] "/etc/empty": content is empty`},
		{name: "relative path", render: NewNode, mutate: func(in *Input) {
			in.Files = []bootstrapv1.File{{Path: "etc/x", Content: "x"}}
		}, wantErr: `files[0] "etc/x": path must be absolute`},
		{name: "unknown encoding", render: NewNode, mutate: func(in *Input) {
			in.Files = []bootstrapv1.File{{Path: "/x", Content: "x", Encoding: "zstd"}}
		}, wantErr: `unknown encoding "zstd"`},
		{name: "unresolved passwdFrom", render: NewNode, mutate: func(in *Input) {
			in.Users = []bootstrapv1.User{{Name: "ops", PasswdFrom: bootstrapv1.PasswdSource{Secret: bootstrapv1.SecretPasswdSource{Name: "pw", Key: "hash"}}}}
		}, wantErr: `users[0] "ops": passwd from Secret pw key hash was not resolved`},
		{name: "no kubeadm config", render: NewNode, mutate: func(in *Input) { in.KubeadmConfig = nil }, wantErr: "kubeadm configuration is empty"},
		{name: "certificates on a worker", render: NewNode, mutate: func(in *Input) { in.Certificates = fakeCertificates() },
			wantErr: "certificates must not be written on a worker"},
		{name: "control plane without certificates", render: NewInitControlPlane, mutate: func(*Input) {}, wantErr: "certificates: ca.crt is empty"},
		{name: "missing service-account key", render: NewJoinControlPlane, mutate: func(in *Input) {
			in.Certificates = fakeCertificates()
			in.Certificates.ServiceAccount.Key = nil
		}, wantErr: "certificates: sa.key is empty"},
		{name: "mount with too many fields", render: NewNode, mutate: func(in *Input) {
			in.Mounts = []bootstrapv1.MountPoints{{"a", "b", "c", "d", "e", "f", "g"}}
		}, wantErr: "mounts[0]: an fstab entry has 1 to 6 fields"},
		{name: "bad filesystem partition", render: NewNode, mutate: func(in *Input) {
			in.DiskSetup.Filesystems = []bootstrapv1.Filesystem{{Device: "/dev/sdb", Filesystem: "ext4", Partition: "first"}}
		}, wantErr: `diskSetup.filesystems[0] "/dev/sdb": partition "first"`},
		{name: "GUID on mbr", render: NewNode, mutate: func(in *Input) {
			in.DiskSetup.Partitions = []bootstrapv1.Partition{{Device: "/dev/sdb", DiskLayout: []bootstrapv1.PartitionSpec{
				{Percentage: 100, PartitionType: "0FC63DAF-8483-4772-8E79-3D69D8477DE4"}}}}
		}, wantErr: "a GUID needs tableType gpt"},
		{name: "extended on gpt", render: NewNode, mutate: func(in *Input) {
			in.DiskSetup.Partitions = []bootstrapv1.Partition{{Device: "/dev/sdb", TableType: "gpt", DiskLayout: []bootstrapv1.PartitionSpec{
				{Percentage: 100, PartitionType: "LinuxExtended"}}}}
		}, wantErr: `"LinuxExtended" does not exist in a gpt partition table`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			in := valid()
			tt.mutate(&in)
			_, err := tt.render(in)
			g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
		})
	}
}

func TestPartitionCodes(t *testing.T) {
	guid := "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
	tests := []struct {
		partitionType, tableType string
		want                     any
	}{
		{partitionType: "", tableType: "", want: nil},
		{partitionType: "Linux", tableType: "gpt", want: nil},
		{partitionType: "LinuxSwap", tableType: "", want: 82},
		{partitionType: "LinuxSwap", tableType: "gpt", want: 8200},
		{partitionType: "LVM", tableType: "mbr", want: "8e"},
		{partitionType: "LinuxRAID", tableType: "gpt", want: "fd00"},
		{partitionType: "NTFS", tableType: "mbr", want: 7},
		{partitionType: "Fat32", tableType: "gpt", want: "0700"},
		{partitionType: guid, tableType: "gpt", want: guid},
	}
	for _, tt := range tests {
		t.Run(tt.partitionType+"/"+tt.tableType, func(t *testing.T) {
			g := NewWithT(t)
			got, err := partitionCode(tt.partitionType, tt.tableType)
			g.Expect(err).NotTo(HaveOccurred())
			if tt.want == nil {
				g.Expect(got).To(BeNil())
				return
			}
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

func TestCertificatesDir(t *testing.T) {
	g := NewWithT(t)
	out, err := NewJoinControlPlane(Input{
		KubeadmConfig: []byte("kind: JoinConfiguration\n"), Certificates: fakeCertificates(), CertificatesDir: "/srv/pki",
	})
	g.Expect(err).NotTo(HaveOccurred())
	var cfg cloudConfig
	g.Expect(yaml.Unmarshal(out, &cfg)).To(Succeed())
	var paths []string
	for _, f := range cfg.WriteFiles {
		paths = append(paths, f.Path+" "+f.Permissions)
	}
	g.Expect(paths).To(Equal([]string{
		"/srv/pki/ca.crt 0640", "/srv/pki/ca.key 0600",
		"/srv/pki/etcd/ca.crt 0640", "/srv/pki/etcd/ca.key 0600",
		"/srv/pki/front-proxy-ca.crt 0640", "/srv/pki/front-proxy-ca.key 0600",
		"/srv/pki/sa.pub 0640", "/srv/pki/sa.key 0600",
		"/run/kubeadm/kubeadm-join-config.yaml 0640",
	}))
}

// TestSentinelOnlyAfterSuccess runs the rendered runcmd the way cloud-init does
// (string entries, one per line, in a single /bin/sh script) with a fake kubeadm:
// a failing pre command is tolerated, a failing kubeadm or post command leaves
// no sentinel.
func TestSentinelOnlyAfterSuccess(t *testing.T) {
	tests := []struct {
		name         string
		kubeadmFails bool
		post         string
		wantSentinel bool
	}{
		{name: "all succeed", post: "true", wantSentinel: true},
		{name: "kubeadm fails", kubeadmFails: true, post: "true"},
		{name: "post command fails", post: "false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			dir := t.TempDir()
			rc := "0"
			if tt.kubeadmFails {
				rc = "1"
			}
			g.Expect(os.WriteFile(filepath.Join(dir, "kubeadm"), []byte("#!/bin/sh\nexit "+rc+"\n"), 0o755)).To(Succeed())
			in := Input{PreKubeadmCommands: []string{"false"}, PostKubeadmCommands: []string{tt.post}}
			script := "#!/bin/sh\n"
			for _, c := range runCommands(role{command: "join", configPath: JoinConfigPath}, in) {
				script += strings.ReplaceAll(c, "/run/cluster-api", filepath.Join(dir, "cluster-api")) + "\n"
			}
			cmd := exec.Command("/bin/sh", "-c", script)
			cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
			err := cmd.Run()
			_, statErr := os.Stat(filepath.Join(dir, "cluster-api", "bootstrap-success.complete"))
			if tt.wantSentinel {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(statErr).NotTo(HaveOccurred())
			} else {
				g.Expect(err).To(HaveOccurred(), "the script must report the failure")
				g.Expect(os.IsNotExist(statErr)).To(BeTrue(), "no sentinel after a failure")
			}
		})
	}
}

func TestFilesystemPartition(t *testing.T) {
	g := NewWithT(t)
	_, fs, err := disks(bootstrapv1.DiskSetup{Filesystems: []bootstrapv1.Filesystem{
		{Device: "/dev/sdb", Filesystem: "ext4", Partition: "1"},
		{Device: "/dev/sdc", Filesystem: "ext4", Partition: "none"},
		{Device: "/dev/sdd", Filesystem: "ext4"},
	}})
	g.Expect(err).NotTo(HaveOccurred())
	// cloud-init appends a numeric partition to the device; it must be a YAML number.
	g.Expect(fs[0].Partition).To(Equal(1))
	g.Expect(fs[1].Partition).To(Equal("none"))
	g.Expect(fs[2].Partition).To(BeNil())
}
