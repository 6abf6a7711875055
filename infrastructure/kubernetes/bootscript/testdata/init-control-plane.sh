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
step 'write_files[0]: /etc/kubernetes/pki/ca.crt' '' write_file '/etc/kubernetes/pki/ca.crt' 0640 'root:root' replace '
LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkekNDQVIyZ0F3SUJBZ0lCQURBS0JnZ3Fo
a2pPUFFRREFqQVZNUk13RVFZRFZRUURFd3ByZFdKbGNtNWwKZEdWek1CNFhEVEkxTURFd01UQXdN
REF3TUZvWERUTTFNREV3TVRBd01EQXdNRm93RlRFVE1CRUdBMVVFQXhNSwotLS0tLUVORCBDRVJU
SUZJQ0FURS0tLS0tCg=='
step 'write_files[1]: /etc/kubernetes/pki/ca.key' '' write_file '/etc/kubernetes/pki/ca.key' 0600 'root:root' replace '
LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUZha2VLZXlNYXRlcmlhbEZv
clRlc3RzT25seU5vdEFSZWFsS2V5QUFBQUFBQUFBQW9Bb0dDQ3FHU000OQotLS0tLUVORCBFQyBQ
UklWQVRFIEtFWS0tLS0tCg=='
step 'write_files[2]: /etc/kubernetes/pki/etcd/ca.crt' '' write_file '/etc/kubernetes/pki/etcd/ca.crt' 0640 'root:root' replace '
LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJlRENDQVI2Z0F3SUJBZ0lCQURBS0JnZ3Fo
a2pPUFFRREFqQVZNUk13RVFZRFZRUURFd1JsZEdOawotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0t
Cg=='
step 'write_files[3]: /etc/kubernetes/pki/etcd/ca.key' '' write_file '/etc/kubernetes/pki/etcd/ca.key' 0600 'root:root' replace '
LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUV0Y2RGYWtlS2V5TWF0ZXJp
YWxGb3JUZXN0c09ubHkKLS0tLS1FTkQgRUMgUFJJVkFURSBLRVktLS0tLQo='
step 'write_files[4]: /etc/kubernetes/pki/sa.pub' '' write_file '/etc/kubernetes/pki/sa.pub' 0640 'root:root' replace '
LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0KTUZrd0V3WUhLb1pJemowQ0FRWUlLb1pJemowREFR
Y0RRZ0FFRmFrZVB1YmxpY0tleQotLS0tLUVORCBQVUJMSUMgS0VZLS0tLS0K'
step 'write_files[5]: /etc/kubernetes/pki/sa.key' '' write_file '/etc/kubernetes/pki/sa.key' 0600 'root:root' replace '
LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSVNhRmFrZUtleU1hdGVyaWFs
Rm9yVGVzdHNPbmx5Ci0tLS0tRU5EIEVDIFBSSVZBVEUgS0VZLS0tLS0K'
step 'write_files[6]: /run/kubeadm/kubeadm.yaml' '' write_file '/run/kubeadm/kubeadm.yaml' 0640 'root:root' replace '
LS0tCmFwaVZlcnNpb246IGt1YmVhZG0uazhzLmlvL3YxYmV0YTQKa2luZDogQ2x1c3RlckNvbmZp
Z3VyYXRpb24KY2x1c3Rlck5hbWU6IHdvcmtsb2FkCmNvbnRyb2xQbGFuZUVuZHBvaW50OiB3b3Jr
bG9hZC1sYjo2NDQzCmt1YmVybmV0ZXNWZXJzaW9uOiB2MS4zMy4xCm5ldHdvcmtpbmc6CiAgcG9k
U3VibmV0OiAxOTIuMTY4LjAuMC8xNgogIHNlcnZpY2VTdWJuZXQ6IDEwLjEyOC4wLjAvMTIKLS0t
CmFwaVZlcnNpb246IGt1YmVhZG0uazhzLmlvL3YxYmV0YTQKa2luZDogSW5pdENvbmZpZ3VyYXRp
b24Kbm9kZVJlZ2lzdHJhdGlvbjoKICBjcmlTb2NrZXQ6IHVuaXg6Ly8vdmFyL3J1bi9jb250YWlu
ZXJkL2NvbnRhaW5lcmQuc29jawogIGt1YmVsZXRFeHRyYUFyZ3M6CiAgLSBuYW1lOiBldmljdGlv
bi1oYXJkCiAgICB2YWx1ZTogbm9kZWZzLmF2YWlsYWJsZTwwJSxub2RlZnMuaW5vZGVzRnJlZTww
JSxpbWFnZWZzLmF2YWlsYWJsZTwwJQo='
step 'write_files[7]: /run/cluster-api/placeholder' '' write_file '/run/cluster-api/placeholder' 0640 'root:root' replace '
VGhpcyBwbGFjZWhvbGRlciBmaWxlIGlzIHVzZWQgdG8gY3JlYXRlIHRoZSAvcnVuL2NsdXN0ZXIt
YXBpIHN1YiBkaXJlY3RvcnkgaW4gYSB3YXkgdGhhdCBpcyBjb21wYXRpYmxlIHdpdGggYm90aCBM
aW51eCBhbmQgV2luZG93cyAobWtkaXIgLXAgL3J1bi9jbHVzdGVyLWFwaSBkb2VzIG5vdCB3b3Jr
IHdpdGggV2luZG93cyk='

# final stage: runcmd
step 'runcmd[0]: kubeadm init --config /run/kubeadm/kubeadm.yaml  && echo success > /run/cluster-api/bootstrap-success.complete' '["/bin/sh","-c","kubeadm init --config /run/kubeadm/kubeadm.yaml --ignore-preflight-errors=SystemVerification,Swap,FileContent--proc-sys-net-bridge-bridge-nf-call-iptables  && echo success > /run/cluster-api/bootstrap-success.complete"]' '/bin/sh' '-c' 'kubeadm init --config /run/kubeadm/kubeadm.yaml --ignore-preflight-errors=SystemVerification,Swap,FileContent--proc-sys-net-bridge-bridge-nf-call-iptables  && echo success > /run/cluster-api/bootstrap-success.complete'

printf '==> bootstrap script finished\n' | tee -a "$LOG"
