#!/bin/bash
# Node bootstrap script generated from a cloud-config by podcluster
# (infrastructure/kubernetes/bootscript); its documentation describes the contract.
set -euo pipefail
umask 022

ROOT=${PODCLUSTER_BOOT_ROOT:-}
DRY_RUN=${PODCLUSTER_BOOT_DRY_RUN:-}
DRY_RUN_FAIL=${PODCLUSTER_BOOT_DRY_RUN_FAIL:-}
LOG=$ROOT/var/log/podcluster-bootstrap.log
STARTED=$ROOT/run/podcluster/bootstrap.started
FAILURE=$ROOT/run/cluster-api/bootstrap-failure
TERMINATION_LOG=${PODCLUSTER_TERMINATION_LOG:-/dev/termination-log}

# step DESCRIPTION JSON COMMAND [ARG...] runs one step, appending its output to
# $LOG and echoing it. A command step carries its argv as JSON, which dry-run
# mode prints instead of running anything; a file write (empty JSON) always
# runs. A failed step is written to $FAILURE and the termination log, and ends
# the script with the step's exit code.
step() {
	run_step "$@"
	if ((STEP_RC != 0)); then
		mkdir -p "${FAILURE%/*}"
		{
			printf 'failed step: %s\nexit code: %d\n' "$1" "$STEP_RC"
			tail -n 50 "$OUTPUT"
		} >"$FAILURE"
		if [[ -w $TERMINATION_LOG || (! -e $TERMINATION_LOG && -n ${PODCLUSTER_TERMINATION_LOG:-}) ]]; then
			head -c 4000 "$FAILURE" 2>/dev/null >"$TERMINATION_LOG" || true
		fi
		tee -a "$LOG" <"$FAILURE" >&2
		exit "$STEP_RC"
	fi
}

# try_step DESCRIPTION JSON COMMAND [ARG...] runs a runcmd entry that
# cloud-init would not stop at: a failure is logged and the script goes on.
try_step() {
	run_step "$@"
	if ((STEP_RC != 0)); then
		printf '==> %s failed with exit code %d; going on, as cloud-init runcmd does\n' "$1" "$STEP_RC" | tee -a "$LOG" >&2
	fi
}

# run_step DESCRIPTION JSON COMMAND [ARG...] runs the command with errexit on,
# and sets STEP_RC to its exit code. In dry-run mode a command whose JSON
# holds $PODCLUSTER_BOOT_DRY_RUN_FAIL fails with exit code 1 after it is
# printed, so that tests can play a failing command.
run_step() {
	local desc=$1 json=$2
	shift 2
	STEP_RC=0
	if [[ -n $json && $DRY_RUN == 1 ]]; then
		printf 'podcluster-boot-command: %s\n' "$json"
		if [[ -n $DRY_RUN_FAIL && $json == *"$DRY_RUN_FAIL"* ]]; then
			printf '==> %s\n' "$desc" >>"$LOG"
			printf 'dry run: failing, as PODCLUSTER_BOOT_DRY_RUN_FAIL asks\n' | tee -a "$LOG" >"$OUTPUT"
			STEP_RC=1
		fi
		return 0
	fi
	printf '==> %s\n' "$desc"
	printf '==> %s\n' "$desc" >>"$LOG"
	: >"$OUTPUT"
	set +e
	(set -e; "$@") </dev/null 2>&1 | tee -a "$LOG" "$OUTPUT"
	STEP_RC=${PIPESTATUS[0]}
	set -e
}

# write_file PATH MODE OWNER replace|append BASE64 writes the decoded BASE64 to
# $ROOT/PATH. A replaced file is written next to PATH and renamed over it, so
# PATH never holds a partial file. Ownership is not changed in dry-run mode.
write_file() {
	local path=$ROOT$1 dir tmp
	dir=${path%/*}
	[[ -d ${dir:-/} ]] || mkdir -p -- "$dir"
	tmp=$path
	if [[ $4 == replace ]]; then
		tmp=$(mktemp -- "$dir/.podcluster-boot.XXXXXX")
	fi
	base64 -d <<<"$5" >>"$tmp"
	if [[ -n $3 && $DRY_RUN != 1 ]]; then
		chown -- "$3" "$tmp"
	fi
	chmod -- "$2" "$tmp"
	if [[ $tmp != "$path" ]]; then
		mv -fT -- "$tmp" "$path"
	fi
}

if [[ -e $STARTED ]]; then
	echo "podcluster-boot: $STARTED exists: the bootstrap script already ran; not running it again"
	exit 0
fi
mkdir -p -- "${STARTED%/*}" "${LOG%/*}"
: >"$STARTED"
OUTPUT=$(mktemp) # the output of the current step
trap 'rm -f "$OUTPUT"' EXIT

# init stage: write_files
step 'write_files[0]: /run/kubeadm/kubeadm-join-config.yaml' '' write_file '/run/kubeadm/kubeadm-join-config.yaml' 0640 'root:root' replace '
LS0tCmFwaVZlcnNpb246IGt1YmVhZG0uazhzLmlvL3YxYmV0YTQKa2luZDogSm9pbkNvbmZpZ3Vy
YXRpb24KZGlzY292ZXJ5OgogIGJvb3RzdHJhcFRva2VuOgogICAgYXBpU2VydmVyRW5kcG9pbnQ6
IHdvcmtsb2FkLWxiOjY0NDMKICAgIGNhQ2VydEhhc2hlczoKICAgIC0gc2hhMjU2OjQ1ZGIyYTNi
MWE2YjVlM2E4YzdmMGQ3ZThmMWEyYjNjNGQ1ZTZmNzA4MTkyYTNiNGM1ZDZlN2Y4MDkxYTJiM2MK
ICAgIHRva2VuOiBhYmNkZWYuMDEyMzQ1Njc4OWFiY2RlZgpub2RlUmVnaXN0cmF0aW9uOgogIGNy
aVNvY2tldDogdW5peDovLy92YXIvcnVuL2NvbnRhaW5lcmQvY29udGFpbmVyZC5zb2NrCiAgdGFp
bnRzOiBbXQo='
step 'write_files[1]: /etc/containerd/certs.d/registry.local/hosts.toml' '' write_file '/etc/containerd/certs.d/registry.local/hosts.toml' 0644 'root:root' replace '
c2VydmVyID0gImh0dHBzOi8vcmVnaXN0cnkubG9jYWwiCg=='
step 'write_files[2]: /run/cluster-api/placeholder' '' write_file '/run/cluster-api/placeholder' 0640 'root:root' replace '
VGhpcyBwbGFjZWhvbGRlciBmaWxlIGlzIHVzZWQgdG8gY3JlYXRlIHRoZSAvcnVuL2NsdXN0ZXIt
YXBpIHN1YiBkaXJlY3RvcnkgaW4gYSB3YXkgdGhhdCBpcyBjb21wYXRpYmxlIHdpdGggYm90aCBM
aW51eCBhbmQgV2luZG93cyAobWtkaXIgLXAgL3J1bi9jbHVzdGVyLWFwaSBkb2VzIG5vdCB3b3Jr
IHdpdGggV2luZG93cyk='

# final stage: runcmd
try_step 'runcmd[0]: modprobe br_netfilter || true' '["/bin/sh","-c","modprobe br_netfilter || true"]' '/bin/sh' '-c' 'modprobe br_netfilter || true'
try_step 'runcmd[1]: sysctl -w net.ipv4.ip_forward=1' '["sysctl","-w","net.ipv4.ip_forward=1"]' 'sysctl' '-w' 'net.ipv4.ip_forward=1'
step 'runcmd[2]: kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml  && echo success > /run/cluster-api/bootstrap-success.complete' '["/bin/sh","-c","kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml --ignore-preflight-errors=SystemVerification,Swap,FileContent--proc-sys-net-bridge-bridge-nf-call-iptables  && echo success > /run/cluster-api/bootstrap-success.complete"]' '/bin/sh' '-c' 'kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml --ignore-preflight-errors=SystemVerification,Swap,FileContent--proc-sys-net-bridge-bridge-nf-call-iptables  && echo success > /run/cluster-api/bootstrap-success.complete'

printf '==> bootstrap script finished\n' | tee -a "$LOG"
