// Package bootscript turns the cloud-config of the kubeadm bootstrap provider
// into the bash script that bootstraps a node. A node is a privileged Pod
// running a kind node image, which has systemd, containerd and the kubelet but
// no cloud-init; a systemd unit in the node runs the script, delivered in a
// Secret. The package is pure: Parse reads a cloud-config, Render writes the
// script, ConvertFor does both for a node (after RenderTemplate), and Convert
// for a node about which nothing is known.
//
// # Jinja templates
//
// A cloud-config whose first line is "## template: jinja" (in any case), as
// upstream Cluster API's kubeadm bootstrap provider writes, is a Jinja
// template that cloud-init renders on the node with its instance data before
// it reads the YAML. RenderTemplate does the same at conversion time, with
// the [InstanceData] the infrastructure provider gives for the node Pod
// ([InstanceDataOf]: the Pod's hostname, its name as instance id, the zone
// and region its nodeSelector pins it to), and drops the header line; line
// breaks become "\n", as in Jinja. Only substitutions are rendered:
// {{ v1.instance_id }}, {{ v1.local_hostname }}, {{ v1.availability_zone }},
// {{ v1.region }}, {{ v1.cloud_name }} and {{ v1.platform }} (also without
// "v1.", as cloud-init aliases them), {{ ds.meta_data.instance_id }},
// {{ ds.meta_data.local_hostname }} and {{ ds.meta_data.hostname }}, with
// dots or quoted keys in brackets (ds.meta_data["local-hostname"]; hyphens
// and underscores are the same key, as cloud-init aliases them). Anything
// else is refused with an error that names it and its line: another
// variable, a filter, a call, a literal, a statement ({% %}), a comment
// ({# #}, including the "${#" of a shell expansion, which cloud-init would
// read as one), whitespace control ({{- -}}); and so is a variable the node
// has no value for, or a value that is not a plain name ([A-Za-z0-9._-]),
// which could change the YAML it is put into. Without the header, braces are
// plain text, as for cloud-init.
//
// # Supported cloud-config
//
// The document (rendered, for a Jinja template) must start with the line
// "#cloud-config" and be a single YAML
// document (YAML 1.1, like cloud-init's PyYAML; !!binary values are kept
// byte for byte). These modules are supported, with cloud-init's formats:
//
//   - write_files: path, content, encoding (none, "text/plain", b64/base64,
//     gz/gzip, gz+b64/gz+base64/gzip+b64/gzip+base64, in any case), owner
//     ("user:group", "user" or ":group"; default root:root), permissions (a
//     quoted octal string such as "0644" or "644", at most 07777; default
//     0644), append and defer. A relative path is resolved against /, as
//     cloud-init does. Raw gzip content can only be given as a YAML !!binary
//     value, as with cloud-init.
//   - bootcmd and runcmd: each entry is a string, run as /bin/sh -c STRING,
//     or a list of strings, executed as argv without a shell. Empty entries
//     are skipped, as in cloud-init.
//   - users: name, gecos, groups, homedir, inactive, shell, passwd,
//     primary_group, lock_passwd (default true), sudo and
//     ssh_authorized_keys. The string entry "default" (the distro's default
//     user) is skipped: a node needs no such user. As in cloud-init, a new
//     user's missing groups are created first (with primary_group, when
//     groups is set), and an existing user is not re-created, but its
//     password is still locked and its sudo rules (in
//     /etc/sudoers.d/90-cloud-init-users) and keys added. A boolean inactive
//     is ignored, as cloud-init 22.4 ignores it; a string is passed to
//     useradd --inactive.
//   - ntp: enabled (default true) and servers. The servers go to
//     /etc/systemd/timesyncd.conf.d/cloud-init.conf, and systemd-timesyncd is
//     restarted only if it already runs: no package is installed and no time
//     daemon is started, since a privileged container would set the host's
//     clock.
//   - mounts: lists of up to six fstab fields; missing fields get cloud-init's
//     defaults (auto, "defaults,nofail,_netdev", 0, 2; cloud-init's
//     x-systemd.requires=cloud-init.service is left out since the node has no
//     such unit). Short device names such as sdb get /dev/; a missing mount
//     point drops the device's earlier entries. At run time devices that are
//     not block devices, or already in /etc/fstab, are skipped.
//   - disk_setup (device: table_type, layout, overwrite) and fs_setup (label,
//     filesystem, device, partition, overwrite, replace_fs, extra_opts).
//     Devices must be absolute paths; /dev/sdb.1 means partition 1. A disk
//     that already has the requested number of partitions, or is in use while
//     overwrite is false, is left alone; partitioning and mkfs follow
//     cloud-init (sfdisk for mbr, sgdisk for gpt).
//
// The top-level keys merge_how and merge_type are accepted and ignored: they
// only tell cloud-init how to merge several cloud-config parts.
//
// Anything else is an error, never skipped: another top-level key
// (`unsupported cloud-config module "foo"`), an unknown field in a module,
// an unknown encoding, content that does not decode, permissions that are not
// an octal string, values of the wrong type, device names that need a cloud's
// metadata service (ephemeral0, swap), fs_setup's cmd. Errors name the module
// entry and, for files, the path; unsupported features wrap ErrUnsupported.
//
// # Order
//
// Steps run in cloud-init's stage order for these modules:
//
//  1. init stage: bootcmd, write_files without defer, disk_setup then
//     fs_setup, mounts, users
//  2. config stage: ntp
//  3. final stage: write_files with defer: true, runcmd (cloud-init writes
//     runcmd in the config stage and runs it in the final stage, after the
//     deferred files)
//
// # Failing commands
//
// cloud-init runs all runcmd entries as one sh script, without errexit, so a
// failing entry is logged and the later ones still run, until an entry turns
// errexit on. The script does the same: a failing runcmd entry (a
// preKubeadmCommand or postKubeadmCommand, say) is logged with its exit code
// ("failed with exit code N; going on") and the script goes on, except after
// an entry that is nothing but a set command turning errexit on (set -e, set
// -eux, set -eo pipefail, set -o errexit; set +e and set +o errexit turn it
// off again). From there a failing entry stops the script as below; this is
// how the kubeadm bootstrap provider's cloud-config makes kubeadm, the
// postKubeadmCommands and the success sentinel one fail-fast chain. Two
// exceptions: an entry that runs kubeadm init or kubeadm join (its first word
// kubeadm or an absolute path to it, its second init or join; for a string,
// the words before its first &&, ; or |) stops the script when it fails
// whether errexit is on or not, since a node whose kubeadm failed cannot
// become a node; and under errexit any failing entry stops the script, where
// sh would not stop at a failure in the non-final part of an && or || list.
// Every other step (bootcmd, files, users, the other modules) stops the
// script when it fails.
//
// Deliberate differences from cloud-init: every step runs once (cloud-init
// runs bootcmd on every boot); each command is its own step, so shell state
// such as cd or variables does not carry from one string entry to the next
// (only errexit is followed, as above); a failing bootcmd stops the script;
// failures that cloud-init only logs (disk_setup, fs_setup, mounts) also stop
// the script; bootcmd gets no INSTANCE_ID. A
// write_files file is replaced by renaming a new file over it (so a symlink
// at the path is replaced, not followed) and is chowned before its chmod,
// which keeps setuid bits that cloud-init's chown after chmod would clear.
//
// # kubeadm preflight errors
//
// A command that runs kubeadm init or kubeadm join gets
// --ignore-preflight-errors=SystemVerification,Swap,FileContent--proc-sys-net-bridge-bridge-nf-call-iptables,
// the checks a node in a container always fails (never "all"). If the command
// has --ignore-preflight-errors already, the missing names are appended to its
// first value (compared case-insensitively, as kubeadm does); if that already
// holds "all", or the --config file (one of the write_files) sets
// nodeRegistration.ignorePreflightErrors to "all", the command is left as
// written, because kubeadm refuses "all" next to named checks. A command
// qualifies when its first word is kubeadm (or an absolute path to it), its
// second init or join, and its third not phase. A string entry is rewritten
// only when the part before its first "&&" is nothing but blank-separated
// words of letters, digits and _-./:=,@%+ (no quotes, variables, redirections
// or other operators); the flag is inserted into that part and the rest of the
// string stays byte for byte. No other command is rewritten.
//
// # Script contract
//
// The script is bash (#!/bin/bash, set -euo pipefail). It reads:
//
//   - PODCLUSTER_BOOT_ROOT (default empty): a prefix for every path the
//     script itself writes or reads: write_files (and their directories), the
//     log, the failure file and the started marker below. Tests point it at a
//     temporary directory.
//   - PODCLUSTER_BOOT_DRY_RUN: when 1, files are written (under the root, but
//     not chowned) and no command runs: not bootcmd or runcmd, nor those of
//     users, ntp, mounts, disk_setup or fs_setup. For each command the script
//     prints one line to stdout, "podcluster-boot-command: " and a JSON array
//     of its argv; a string entry is ["/bin/sh","-c","<the string>"], and a
//     module's command is ["/bin/sh","-c","<constant script>","<module>",
//     "<value>",...], the values from the cloud-config being arguments only.
//     Commands appear after any kubeadm rewrite. The JSON is computed when
//     the script is rendered, so it is exact.
//   - PODCLUSTER_BOOT_DRY_RUN_FAIL: in dry-run mode, a command whose JSON
//     holds this string fails with exit code 1 after it is printed, with the
//     rules of "Failing commands"; tests use it to play a failing command.
//   - PODCLUSTER_TERMINATION_LOG (default /dev/termination-log).
//
// If $ROOT/run/podcluster/bootstrap.started exists the script prints a
// message and exits 0 at once; otherwise it creates it first. It never writes
// the success sentinel /run/cluster-api/bootstrap-success.complete: the
// cloud-config's own runcmd does.
//
// Every step (a file write or a command) appends its combined output to
// $ROOT/var/log/podcluster-bootstrap.log and echoes it to stdout. A runcmd
// entry that fails and is gone past adds its "going on" line to the log and
// stderr. When a step fails and stops the script, the script writes $ROOT/run/cluster-api/bootstrap-failure with the
// line "failed step: <module[index]: description>", the line
// "exit code: <N>" and the last 50 lines of the step's output; copies its first
// 4000 bytes to the termination log if that file is writable (or does not
// exist but PODCLUSTER_TERMINATION_LOG names it); and exits with the step's
// exit code.
//
// All values from the cloud-config reach the script as single-quoted shell
// words, and file contents as base64 decoded by base64 -d into a temporary
// file next to the target (then chown, chmod and an atomic mv -T; append uses
// >> instead). Whatever bytes they hold, they cannot change the script.
package bootscript
