#!/bin/bash
# bootstrap-stopped.sh runs when podcluster-bootstrap.service stops
# (ExecStopPost). bootstrap.sh reports its own failures: the failed step and the
# tail of its output, in /run/cluster-api/bootstrap-failure and the container's
# termination log. This covers the failures it cannot report itself: bash could
# not run it, or systemd killed it at the start timeout. Then the same two files
# get systemd's result and the tail of the unit's journal, so that the node Pod
# still terminates with a message that says why.
set -o nounset

readonly failure_file=/run/cluster-api/bootstrap-failure
readonly termination_log=${PODCLUSTER_TERMINATION_LOG:-/dev/termination-log}

# SERVICE_RESULT, EXIT_CODE and EXIT_STATUS are set by systemd for ExecStopPost.
if [[ "${SERVICE_RESULT:-success}" == success || -s "$failure_file" ]]; then
  exit 0
fi
mkdir -p "${failure_file%/*}"
{
  echo "podcluster-bootstrap.service failed (result ${SERVICE_RESULT}, ${EXIT_CODE:-} ${EXIT_STATUS:-}) before bootstrap.sh reported a failed step"
  journalctl --unit=podcluster-bootstrap.service --lines=20 --no-pager --output=cat 2>/dev/null
} >"$failure_file"
cat "$failure_file" >"$termination_log" 2>/dev/null
exit 0
