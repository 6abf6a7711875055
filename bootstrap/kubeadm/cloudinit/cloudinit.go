// Package cloudinit renders the cloud-config that bootstraps a machine with
// kubeadm, for three roles: the first control-plane machine (kubeadm init), a
// further control-plane machine and a worker (kubeadm join). It is pure: the
// controller resolves Secrets (contentFrom, passwdFrom), renders the kubeadm
// configuration (package kubeadmtypes) and reads the certificates, then calls
// this package.
//
// What is rendered, and why:
//   - write_files, in a fixed order: the cluster certificates (control-plane
//     roles only), then the user's files in their order, then the kubeadm
//     configuration, so the generated configuration cannot be replaced by a user
//     file of the same path. Certificates and public keys are root:root 0640
//     and private keys root:root 0600: only root (kubeadm and the static Pods)
//     reads them, and no group may read a key. The kubeadm configuration holds
//     a bootstrap token, so it is root:root 0640 too. Workers get no
//     certificates: the CA keys must never reach them, so passing any is an
//     error.
//   - runcmd: preKubeadmCommands, then `set -e`, kubeadm, postKubeadmCommands
//     and the success sentinel /run/cluster-api/bootstrap-success.complete.
//     cloud-init runs all runcmd entries as one /bin/sh script, so `set -e`
//     makes kubeadm, every post command and the sentinel a fail-fast chain: the
//     sentinel exists only when kubeadm and all postKubeadmCommands succeeded.
//     preKubeadmCommands stay before it and keep upstream's tolerant semantics
//     (a failing one does not stop the script). The sentinel line creates
//     /run/cluster-api itself.
//   - bootcmd, users, ntp, disk_setup/fs_setup and mounts map one to one to the
//     spec; the exceptions (users' inactive, partition types) are documented
//     where they are rendered. As upstream, listing users replaces cloud-init's
//     default user of the image.
//
// Keys are sorted and lists keep their input order, so the output is
// deterministic. Everything rendered passes cloud-init 22.4's
// `cloud-init schema`, except two forms its schema wrongly rejects although
// cloud-init runs them: numeric fs_setup partitions and partition types
// whose code is not a decimal number (see disks).
package cloudinit

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	bootstrapv1 "github.com/podcluster/podcluster/api/bootstrap/v1beta2"
)

// Paths on the machine.
const (
	InitConfigPath         = "/run/kubeadm/kubeadm.yaml"
	JoinConfigPath         = "/run/kubeadm/kubeadm-join-config.yaml"
	SentinelPath           = "/run/cluster-api/bootstrap-success.complete"
	DefaultCertificatesDir = "/etc/kubernetes/pki"
)

// KeyPair is a PEM certificate (or public key) and its PEM private key.
type KeyPair struct {
	Cert []byte
	Key  []byte
}

// Certificates are the cluster certificates a control-plane machine needs, so
// that every control-plane machine shares the same CAs and service-account key.
type Certificates struct {
	// CA is written as ca.crt and ca.key.
	CA KeyPair
	// EtcdCA is written as etcd/ca.crt and etcd/ca.key. With external etcd the
	// key may be empty.
	EtcdCA KeyPair
	// FrontProxyCA is written as front-proxy-ca.crt and front-proxy-ca.key.
	FrontProxyCA KeyPair
	// ServiceAccount is written as sa.pub (Cert holds the public key) and sa.key.
	ServiceAccount KeyPair
	// APIServerEtcdClient is optional (external etcd only), written as
	// apiserver-etcd-client.crt and apiserver-etcd-client.key.
	APIServerEtcdClient KeyPair
}

// Input is what a cloud-config is rendered from.
type Input struct {
	// KubeadmConfig is the rendered kubeadm configuration file.
	KubeadmConfig []byte
	// Certificates are written on control-plane machines only.
	Certificates Certificates
	// CertificatesDir is where the certificates go; DefaultCertificatesDir when empty.
	// It must match the ClusterConfiguration's certificatesDir.
	CertificatesDir string
	// Files must carry their final content: contentFrom already resolved into content.
	Files               []bootstrapv1.File
	BootCommands        []string
	PreKubeadmCommands  []string
	PostKubeadmCommands []string
	// Users must carry their final passwd: passwdFrom already resolved into passwd.
	Users     []bootstrapv1.User
	NTP       bootstrapv1.NTP
	DiskSetup bootstrapv1.DiskSetup
	Mounts    []bootstrapv1.MountPoints
	// Verbosity is passed to kubeadm as -v when set.
	Verbosity *int32
}

type role struct {
	name         string
	command      string // kubeadm subcommand
	configPath   string
	controlPlane bool
}

// NewInitControlPlane renders the cloud-config of the first control-plane machine.
func NewInitControlPlane(in Input) ([]byte, error) {
	return render(role{name: "init control plane", command: "init", configPath: InitConfigPath, controlPlane: true}, in)
}

// NewJoinControlPlane renders the cloud-config of a joining control-plane machine.
func NewJoinControlPlane(in Input) ([]byte, error) {
	return render(role{name: "join control plane", command: "join", configPath: JoinConfigPath, controlPlane: true}, in)
}

// NewNode renders the cloud-config of a worker.
func NewNode(in Input) ([]byte, error) {
	return render(role{name: "worker", command: "join", configPath: JoinConfigPath}, in)
}

// cloudConfig is the subset of cloud-config modules we write.
type cloudConfig struct {
	WriteFiles []writeFile          `json:"write_files"`
	BootCmd    []string             `json:"bootcmd,omitempty"`
	RunCmd     []string             `json:"runcmd"`
	Users      []user               `json:"users,omitempty"`
	NTP        *ntp                 `json:"ntp,omitempty"`
	DiskSetup  map[string]diskSetup `json:"disk_setup,omitempty"`
	FSSetup    []fsSetup            `json:"fs_setup,omitempty"`
	Mounts     [][]string           `json:"mounts,omitempty"`
}

type writeFile struct {
	Path        string `json:"path"`
	Owner       string `json:"owner,omitempty"`
	Permissions string `json:"permissions,omitempty"`
	Encoding    string `json:"encoding,omitempty"`
	Append      bool   `json:"append,omitempty"`
	Content     string `json:"content"`
}

func render(r role, in Input) ([]byte, error) {
	if len(in.KubeadmConfig) == 0 {
		return nil, fmt.Errorf("%s: the kubeadm configuration is empty", r.name)
	}
	var cfg cloudConfig
	if r.controlPlane {
		certs, err := certificateFiles(in.Certificates, in.CertificatesDir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.name, err)
		}
		cfg.WriteFiles = certs
	} else if !in.Certificates.empty() {
		return nil, fmt.Errorf("%s: certificates must not be written on a worker: they include the CA keys", r.name)
	}
	files, err := userFiles(in.Files)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.name, err)
	}
	cfg.WriteFiles = append(cfg.WriteFiles, files...)
	cfg.WriteFiles = append(cfg.WriteFiles, writeFile{
		Path: r.configPath, Owner: "root:root", Permissions: "0640", Content: string(in.KubeadmConfig),
	})

	cfg.BootCmd = in.BootCommands
	cfg.RunCmd = runCommands(r, in)
	if cfg.Users, err = users(in.Users); err != nil {
		return nil, fmt.Errorf("%s: %w", r.name, err)
	}
	if len(in.NTP.Servers) > 0 || in.NTP.Enabled != nil {
		cfg.NTP = &ntp{Servers: in.NTP.Servers, Enabled: in.NTP.Enabled}
	}
	if cfg.DiskSetup, cfg.FSSetup, err = disks(in.DiskSetup); err != nil {
		return nil, fmt.Errorf("%s: %w", r.name, err)
	}
	for i, m := range in.Mounts {
		if len(m) < 1 || len(m) > 6 {
			return nil, fmt.Errorf("%s: mounts[%d]: an fstab entry has 1 to 6 fields, got %d", r.name, i, len(m))
		}
		cfg.Mounts = append(cfg.Mounts, m)
	}

	out, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: marshaling cloud-config: %w", r.name, err)
	}
	return append([]byte("#cloud-config\n"), out...), nil
}

func runCommands(r role, in Input) []string {
	kubeadm := "kubeadm " + r.command + " --config " + r.configPath
	if in.Verbosity != nil {
		kubeadm += " -v " + strconv.Itoa(int(*in.Verbosity))
	}
	cmds := append([]string{}, in.PreKubeadmCommands...)
	cmds = append(cmds, "set -e", kubeadm)
	cmds = append(cmds, in.PostKubeadmCommands...)
	return append(cmds, "mkdir -p "+path.Dir(SentinelPath)+" && echo success > "+SentinelPath)
}

// certFile is a KeyPair and the file names it is written to.
type certFile struct {
	pair        KeyPair
	cert, key   string
	optional    bool // the whole pair may be missing
	keyOptional bool
}

func (c Certificates) files() []certFile {
	return []certFile{
		{pair: c.CA, cert: "ca.crt", key: "ca.key"},
		{pair: c.EtcdCA, cert: "etcd/ca.crt", key: "etcd/ca.key", keyOptional: true},
		{pair: c.FrontProxyCA, cert: "front-proxy-ca.crt", key: "front-proxy-ca.key"},
		{pair: c.ServiceAccount, cert: "sa.pub", key: "sa.key"},
		{pair: c.APIServerEtcdClient, cert: "apiserver-etcd-client.crt", key: "apiserver-etcd-client.key", optional: true},
	}
}

func (c Certificates) empty() bool {
	for _, f := range c.files() {
		if len(f.pair.Cert) > 0 || len(f.pair.Key) > 0 {
			return false
		}
	}
	return true
}

func certificateFiles(c Certificates, dir string) ([]writeFile, error) {
	if dir == "" {
		dir = DefaultCertificatesDir
	}
	var files []writeFile
	for _, f := range c.files() {
		switch {
		case f.optional && len(f.pair.Cert) == 0 && len(f.pair.Key) == 0:
			continue
		case len(f.pair.Cert) == 0:
			return nil, fmt.Errorf("certificates: %s is empty", f.cert)
		case len(f.pair.Key) == 0 && !f.keyOptional:
			return nil, fmt.Errorf("certificates: %s is empty", f.key)
		}
		files = append(files, writeFile{Path: path.Join(dir, f.cert), Owner: "root:root", Permissions: "0640", Content: string(f.pair.Cert)})
		if len(f.pair.Key) > 0 {
			files = append(files, writeFile{Path: path.Join(dir, f.key), Owner: "root:root", Permissions: "0600", Content: string(f.pair.Key)})
		}
	}
	return files, nil
}

// encoding returns cloud-init's name for one of our encodings.
func encoding(e bootstrapv1.Encoding) (string, bool) {
	switch e {
	case bootstrapv1.Base64:
		return "b64", true
	case bootstrapv1.Gzip:
		return "gz", true
	case bootstrapv1.GzipBase64:
		return "gz+b64", true
	}
	return "", false
}

func userFiles(files []bootstrapv1.File) ([]writeFile, error) {
	var out []writeFile
	for i, f := range files {
		name := fmt.Sprintf("files[%d] %q", i, f.Path)
		if !strings.HasPrefix(f.Path, "/") {
			return nil, fmt.Errorf("%s: path must be absolute", name)
		}
		if f.Content == "" {
			if f.ContentFrom.Secret.Name != "" {
				return nil, fmt.Errorf("%s: content from Secret %s key %s was not resolved", name, f.ContentFrom.Secret.Name, f.ContentFrom.Secret.Key)
			}
			return nil, fmt.Errorf("%s: content is empty", name)
		}
		w := writeFile{Path: f.Path, Owner: f.Owner, Append: f.Append != nil && *f.Append, Content: f.Content}
		if f.Permissions != "" {
			perm, err := ParsePermissions(f.Permissions)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			w.Permissions = fmt.Sprintf("%04o", perm)
		}
		if f.Encoding != "" {
			enc, ok := encoding(f.Encoding)
			if !ok {
				return nil, fmt.Errorf("%s: unknown encoding %q (want base64, gzip or gzip+base64)", name, f.Encoding)
			}
			w.Encoding = enc
		}
		out = append(out, w)
	}
	return out, nil
}

// ParsePermissions parses file permissions written in octal, with or without
// a leading 0 ("0644", "644", "0600"), between 0 and 0777.
func ParsePermissions(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o777 {
		return 0, fmt.Errorf("permissions %q: must be octal between 0 and 0777, for example 0644", s)
	}
	return uint32(n), nil
}

type user struct {
	Name              string   `json:"name"`
	Gecos             string   `json:"gecos,omitempty"`
	Groups            string   `json:"groups,omitempty"`
	HomeDir           string   `json:"homedir,omitempty"`
	Inactive          string   `json:"inactive,omitempty"`
	Shell             string   `json:"shell,omitempty"`
	Passwd            string   `json:"passwd,omitempty"`
	PrimaryGroup      string   `json:"primary_group,omitempty"`
	LockPasswd        *bool    `json:"lock_passwd,omitempty"`
	Sudo              string   `json:"sudo,omitempty"`
	SSHAuthorizedKeys []string `json:"ssh_authorized_keys,omitempty"`
}

func users(in []bootstrapv1.User) ([]user, error) {
	var out []user
	for i, u := range in {
		if u.Passwd == "" && u.PasswdFrom.Secret.Name != "" {
			return nil, fmt.Errorf("users[%d] %q: passwd from Secret %s key %s was not resolved", i, u.Name, u.PasswdFrom.Secret.Name, u.PasswdFrom.Secret.Key)
		}
		cu := user{
			Name: u.Name, Gecos: u.Gecos, Groups: u.Groups, HomeDir: u.HomeDir, Shell: u.Shell, Passwd: u.Passwd,
			PrimaryGroup: u.PrimaryGroup, LockPasswd: u.LockPassword, Sudo: u.Sudo, SSHAuthorizedKeys: u.SSHAuthorizedKeys,
		}
		// cloud-init's inactive is a day count for `useradd --inactive`, a string
		// in its schema. true maps to "0": the account is disabled as soon as its
		// password expires. A YAML boolean would fail the schema and be ignored.
		if u.Inactive != nil && *u.Inactive {
			cu.Inactive = "0"
		}
		out = append(out, cu)
	}
	return out, nil
}

type ntp struct {
	Servers []string `json:"servers,omitempty"`
	Enabled *bool    `json:"enabled,omitempty"`
}
