#!/usr/bin/env bash
# deps.sh installs the Debian packages that fraudguard's tests need; `make deps`
# runs it, and `.ci/run` before the tests. With the argument `bench` it also
# installs the load-test tools of `make bench`, `make bench-batch` and the README's figures,
# which no test uses (`make deps-bench`). Packages already installed are
# skipped, so on a machine that has them all it returns at once without
# touching apt.
set -euo pipefail

packages=(
	# Headless browser for the API docs page tests (internal/browsertest),
	# and a font so its screenshots show text.
	chromium
	fonts-dejavu-core

	# promtool, to check the metrics and alerting rules in the observability
	# tests (internal/telemetry).
	prometheus
	# amtool, to check deploy/alertmanager/alertmanager.yml and where each alert lands.
	prometheus-alertmanager

	# The scale-out store's tests start a throwaway PostgreSQL server from these
	# binaries (internal/store/postgres/pgtest); the scale-out test (make
	# test-scaleout) also runs Redis and nginx in front of three instances.
	postgresql
	redis-server
	nginx
)

case "${1:-}" in
"") ;;
bench)
	# HTTP load, command timing, jq to read fraudguard loadtest's JSON
	# reports in make bench, pgrep (procps) to find the server's decision
	# writer process, and python3 for its bootstrap intervals.
	packages+=(wrk hyperfine jq procps python3)
	;;
*)
	echo "deps: unknown argument ${1}: want none, or bench" >&2
	exit 2
	;;
esac

missing=()
for pkg in "${packages[@]}"; do
	# dpkg -s also succeeds for removed packages whose config files remain.
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	if [[ $status != "install ok installed" ]]; then
		missing+=("$pkg")
	fi
done

if ((${#missing[@]} == 0)); then
	echo "deps: all packages present"
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run as root: sudo $0" >&2
	exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# Recommended packages are left out: chromium runs headless without them, and
# for prometheus they are extra daemons (node exporter) that no test uses.
apt-get install -y -q --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	"${missing[@]}"

# A browser that installs but cannot start headless (a missing library) would
# otherwise only show up later as a confusing test failure.
if command -v chromium >/dev/null; then
	profile=$(mktemp -d)
	trap 'rm -rf "$profile"' EXIT
	out=$(timeout 60 chromium --headless --no-sandbox --disable-gpu \
		--no-first-run --user-data-dir="$profile" \
		--dump-dom 'data:text/html,<p>deps-ok</p>' 2>/dev/null || true)
	if [[ $out != *deps-ok* ]]; then
		echo "deps: chromium is installed but does not run headless" >&2
		exit 1
	fi
	echo "deps: chromium runs headless"
fi
