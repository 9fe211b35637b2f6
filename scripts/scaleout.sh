#!/usr/bin/env bash
# scaleout.sh runs the scale-out test (make test-scaleout): three fraudguard instances of the
# real binary on one PostgreSQL and one Redis, behind nginx, all on 127.0.0.1 and started by
# the test itself from the Debian packages (make deps). Its four scenarios: a global rate limit
# across the instances, a 200,000-row job worked by all three with one killed by SIGKILL, a
# rolling restart under load with no failed request, and Redis then PostgreSQL stopped under
# load. It runs without -race, and has BUDGET seconds (default 300) in all.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
BUDGET=${BUDGET:-300}

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
command -v pg_ctl >/dev/null || compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null || missing+=(postgresql)
if ((${#missing[@]} > 0)); then
	if [[ ${CI:-} == true ]]; then
		echo "scaleout: missing ${missing[*]}: install them with make deps" >&2
		exit 1
	fi
	echo "scaleout: skipped: missing ${missing[*]} (install them with make deps)"
	exit 0
fi

start=$(date +%s)
set +e
PATH="$PATH:/usr/sbin" $GO test -tags scaleout -count=1 -timeout "${BUDGET}s" -run '^TestScaleOut$' -v ./cmd/fraudguard |
	grep -E '^(=== RUN|--- |ok|FAIL|PASS)|_test\.go:|^panic'
status=${PIPESTATUS[0]}
set -e
echo "scaleout: $(($(date +%s) - start))s (budget ${BUDGET}s)"
exit "$status"
