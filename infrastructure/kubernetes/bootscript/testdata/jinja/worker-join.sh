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
LS0tCmFwaVZlcnNpb246IGt1YmVhZG0uazhzLmlvL3YxYmV0YTQKZGlzY292ZXJ5OgogIGJvb3Rz
dHJhcFRva2VuOgogICAgYXBpU2VydmVyRW5kcG9pbnQ6IDEwLjk2LjAuMTA6NjQ0MwogICAgY2FD
ZXJ0SGFzaGVzOgogICAgLSBzaGEyNTY6MmIxZjNjOWE1ZDdlNGY2MDcxODI5M2E0YjVjNmQ3ZThm
OTBhMWIyYzNkNGU1ZjYwNzE4MjkzYTRiNWM2ZDdlOAogICAgdG9rZW46IGFiY2RlZi4wMTIzNDU2
Nzg5YWJjZGVmCmtpbmQ6IEpvaW5Db25maWd1cmF0aW9uCm5vZGVSZWdpc3RyYXRpb246CiAgaW1h
Z2VQdWxsUG9saWN5OiBJZk5vdFByZXNlbnQKICBrdWJlbGV0RXh0cmFBcmdzOgogIC0gbmFtZTog
bm9kZS1sYWJlbHMKICAgIHZhbHVlOiB0b3BvbG9neS5leGFtcGxlLmNvbS96b25lPXpvbmUtYQog
IG5hbWU6ICd3b3JrZXItN2Q0ZjkteDJrOHEnCiAgdGFpbnRzOiBbXQo='
step 'write_files[1]: /etc/podcluster/instance' '' write_file '/etc/podcluster/instance' 0644 'root:root' replace '
aW5zdGFuY2U6IHdvcmtlci03ZDRmOS14Mms4cSAod29ya2VyLTdkNGY5LXgyazhxKQpob3N0OiB3
b3JrZXItN2Q0ZjkteDJrOHEgaW4gem9uZS1hCmNsb3VkOiBwb2RjbHVzdGVyIG9uIGt1YmVybmV0
ZXMK'
step 'write_files[2]: /run/cluster-api/placeholder' '' write_file '/run/cluster-api/placeholder' 0640 'root:root' replace '
VGhpcyBwbGFjZWhvbGRlciBmaWxlIGNyZWF0ZXMgdGhlIC9ydW4vY2x1c3Rlci1hcGkgZGlyZWN0
b3J5Lg=='

# final stage: runcmd
try_step 'runcmd[0]: echo "127.0.0.1 worker-7d4f9-x2k8q" >>/etc/hosts' '["/bin/sh","-c","echo \"127.0.0.1 worker-7d4f9-x2k8q\" >>/etc/hosts"]' '/bin/sh' '-c' 'echo "127.0.0.1 worker-7d4f9-x2k8q" >>/etc/hosts'
try_step 'runcmd[1]: hostnamectl set-hostname worker-7d4f9-x2k8q' '["hostnamectl","set-hostname","worker-7d4f9-x2k8q"]' 'hostnamectl' 'set-hostname' 'worker-7d4f9-x2k8q'
step 'runcmd[2]: kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml  && echo success > /run/cluster-api/bootstrap-success.complete' '["/bin/sh","-c","kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml --ignore-preflight-errors=SystemVerification,Swap,FileContent--proc-sys-net-bridge-bridge-nf-call-iptables  && echo success > /run/cluster-api/bootstrap-success.complete"]' '/bin/sh' '-c' 'kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml --ignore-preflight-errors=SystemVerification,Swap,FileContent--proc-sys-net-bridge-bridge-nf-call-iptables  && echo success > /run/cluster-api/bootstrap-success.complete'

printf '==> bootstrap script finished\n' | tee -a "$LOG"
