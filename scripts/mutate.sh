#!/usr/bin/env bash
# mutate.sh runs mutation testing on some packages of the module and prints, per package, how
# many mutants the package's own tests killed; `make mutate` runs it. It is slow (tens of
# minutes for the default packages on two cores), so it is run by hand or nightly, not by
# .ci/run.
#
# The tool is gremlins (github.com/go-gremlins/gremlins), at the version pinned below, built
# with `go install pkg@version` into a temporary folder: go.mod and go.sum are not touched.
# For each covered mutation (one operator changed: + to -, < to <=, == to !=, ++ to --, a
# sign removed) gremlins copies the module to a temporary folder, applies the mutation and
# runs `go test` on that one package. A failing test kills the mutant; passing tests let it
# live. A mutation on a line no test of the package runs is not tested at all: "not covered".
#
# Two things are set around gremlins v0.6.0 so that its figures mean what they say:
#   - GOFLAGS gets -count=1: gremlins times one coverage run of the package's tests (its
#     subfolders' too) and allows each mutant that time × the timeout coefficient; a coverage run answered from
#     go's test cache takes a fraction of a second, and every mutant would then time out.
#     -vet=off too, so that only the tests, not go vet's checks, can kill a mutant.
#   - `go` is a small wrapper (written below) that turns a build failure of a mutant into
#     exit status 2, which gremlins counts as NOT VIABLE. `go test` exits 1 both when a test
#     fails and when the package does not compile (a string + turned into -), and gremlins
#     would otherwise count a mutant the compiler rejects as killed.
#
# Usage: scripts/mutate.sh [--min PERCENT] [--timeout-coefficient N] [--max-time DURATION]
#                          [PACKAGE_DIR...]
#   PACKAGE_DIR          package folders, relative to the repository root (default:
#                        internal/model internal/txjson internal/ratelimit internal/store/sqlite
#                        internal/batch). Only a folder's own files are mutated, not its
#                        subfolders', and only its own tests are run on them.
#   --min PERCENT        exit 1 when a package's killed / (killed + lived) is below PERCENT
#                        (a package with mutants but none tested fails too); without it,
#                        lived mutants never change the exit status
#   --timeout-coefficient N
#                        a mutant's tests may take N × the coverage run of its package before
#                        it is counted TIMED OUT (default 5; gremlins' own default is 3, too
#                        tight on a shared machine)
#   --max-time DURATION  stop a package's run after DURATION (timeout(1) syntax, default 90m);
#                        its counts are then partial and the script exits 1
# The environment's GO names the go command (default go).
#
# gremlins runs under `nice -n 19` with one worker, so one mutant is tested at a time.
# The full gremlins output of each package is kept in bin/mutate/, internal/batch's in
# bin/mutate/internal_batch.log.
set -euo pipefail
cd "$(dirname "$0")/.."

GREMLINS_VERSION=v0.6.0
default_packages=(internal/model internal/txjson internal/ratelimit internal/store/sqlite internal/batch)

usage() {
	sed -n '/^# Usage:/,/^# The environment/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

min=""
coefficient=5
max_time=90m
packages=()
while (($# > 0)); do
	case $1 in
	--min)
		[[ $# -ge 2 && $2 =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "mutate: --min needs a percentage, like 80" >&2; usage; }
		min=$2
		shift 2
		;;
	--timeout-coefficient)
		[[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || { echo "mutate: --timeout-coefficient needs a whole number ≥ 1" >&2; usage; }
		coefficient=$2
		shift 2
		;;
	--max-time)
		[[ $# -ge 2 && $2 =~ ^[0-9]+[smhd]?$ ]] || { echo "mutate: --max-time needs a duration, like 90m" >&2; usage; }
		max_time=$2
		shift 2
		;;
	-h | --help) usage ;;
	-*)
		echo "mutate: unknown flag $1" >&2
		usage
		;;
	*)
		packages+=("${1#./}")
		shift
		;;
	esac
done
if ((${#packages[@]} == 0)); then
	packages=("${default_packages[@]}")
fi

go=${GO:-go}
if ! real_go=$(command -v "$go"); then
	echo "mutate: the go command ($go) is not on PATH; install Go 1.26 or set GO" >&2
	exit 1
fi
for tool in timeout nice awk; do
	command -v "$tool" >/dev/null || { echo "mutate: $tool is not on PATH" >&2; exit 1; }
done
for pkg in "${packages[@]}"; do
	pkg=${pkg%/}
	if ! compgen -G "$pkg/*.go" >/dev/null; then
		echo "mutate: $pkg is not a folder of Go files under $(pwd)" >&2
		exit 2
	fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/mutate.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "mutate: building gremlins $GREMLINS_VERSION"
GOBIN="$work/bin" nice -n 19 "$real_go" install "github.com/go-gremlins/gremlins/cmd/gremlins@$GREMLINS_VERSION"

# The go wrapper gremlins finds first on its PATH (see the top of this file).
mkdir "$work/shim"
cat >"$work/shim/go" <<'EOF'
#!/usr/bin/env bash
set -uo pipefail
if [[ ${1:-} != test ]]; then
	exec "$MUTATE_REAL_GO" "$@"
fi
out=$("$MUTATE_REAL_GO" "$@" 2>&1)
status=$?
printf '%s\n' "$out"
if ((status == 1)) && grep -qE '^FAIL	[^ ]+ \[(build|setup) failed\]$' <<<"$out"; then
	exit 2
fi
exit "$status"
EOF
chmod +x "$work/shim/go"
# An empty configuration file, so that a .gremlins.yaml in the home folder cannot change
# which mutants are made; GREMLINS_* variables are cleared for the same reason.
: >"$work/gremlins.yaml"
unset $(compgen -e | grep '^GREMLINS_' || true)

mkdir -p bin/mutate
failed=()
below=()
rows=()
for pkg in "${packages[@]}"; do
	pkg=${pkg%/}
	log="bin/mutate/${pkg//\//_}.log"
	echo
	echo "mutate: $pkg (timeout coefficient $coefficient, at most $max_time; log in $log)"
	status=0
	# --exclude-files '/' leaves out the files of subfolders (paths are relative to $pkg).
	nice -n 19 timeout --signal=INT --kill-after=5m "$max_time" \
		env PATH="$work/shim:$PATH" MUTATE_REAL_GO="$real_go" NO_COLOR=1 \
		GOFLAGS="${GOFLAGS:+$GOFLAGS }-count=1 -vet=off" \
		"$work/bin/gremlins" unleash --config "$work/gremlins.yaml" --workers 1 \
		--timeout-coefficient "$coefficient" --exclude-files '/' "$(pwd)/$pkg" \
		>"$log" 2>&1 || status=$?

	out=$(sed 's/\x1b\[[0-9;]*m//g' "$log") # colour codes, should any be left

	# One line per mutant: "<STATUS> <TYPE> at <file>:<line>:<column>".
	read -r killed lived notcovered timedout notviable < <(awk '
		/^ *KILLED [A-Z_]+ at /      { k++ }
		/^ *LIVED [A-Z_]+ at /       { l++ }
		/^ *NOT COVERED [A-Z_]+ at / { n++ }
		/^ *TIMED OUT [A-Z_]+ at /   { t++ }
		/^ *NOT VIABLE [A-Z_]+ at /  { v++ }
		END { print k+0, l+0, n+0, t+0, v+0 }' <<<"$out")
	awk -v pkg="$pkg" '/^ *LIVED [A-Z_]+ at / { print "  LIVED " $2 " at " pkg "/" $4 }' <<<"$out"

	note=""
	if ((status == 124 || status == 137)); then
		note=" (partial: stopped after $max_time)"
		failed+=("$pkg: stopped after $max_time, counts partial")
	elif ((status != 0)); then
		note=" (gremlins failed)"
		failed+=("$pkg: gremlins exited with status $status, see $log")
		tail -n 20 "$log" >&2
	elif grep -q '^No results to report' <<<"$out"; then
		: # no mutable operator in the package
	elif ! grep -q '^Mutation testing completed' <<<"$out"; then
		note=" (no summary)"
		failed+=("$pkg: gremlins printed no summary, see $log")
	elif ! grep -qx "Killed: $killed, Lived: $lived, Not covered: $notcovered" <<<"$out"; then
		note=" (counts differ from gremlins' summary)"
		failed+=("$pkg: the mutant lines do not add up to gremlins' summary, see $log")
	fi

	tested=$((killed + lived))
	all=$((killed + lived + notcovered))
	share="n/a"
	share_all="n/a"
	if ((tested > 0)); then
		share=$(awk -v k="$killed" -v t="$tested" 'BEGIN { printf "%.1f%%", 100 * k / t }')
	fi
	if ((all > 0)); then
		share_all=$(awk -v k="$killed" -v a="$all" 'BEGIN { printf "%.1f%%", 100 * k / a }')
	fi
	if [[ -n $min ]] && ((all > 0)); then
		if ((tested == 0)); then
			below+=("$pkg: no mutant tested ($notcovered not covered), under --min $min%")
		elif awk -v k="$killed" -v t="$tested" -v m="$min" 'BEGIN { exit !(100 * k / t < m) }'; then
			below+=("$pkg: killed $share of tested mutants, under --min $min%")
		fi
	fi
	rows+=("$(printf '%-22s %7d %7d %12d %10d %11d %10s %10s%s' "$pkg" "$killed" "$lived" "$notcovered" "$timedout" "$notviable" "$share" "$share_all" "$note")")
	echo "mutate: $pkg: killed $killed, lived $lived, not covered $notcovered, timed out $timedout, not viable $notviable; killed $share of tested, $share_all of all$note"
done

echo
echo "mutate: gremlins $GREMLINS_VERSION at $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u '+%Y-%m-%d %H:%M UTC'), timeout coefficient $coefficient"
printf '%-22s %7s %7s %12s %10s %11s %10s %10s\n' package killed lived "not covered" "timed out" "not viable" "k/(k+l)" "k/(k+l+nc)"
printf '%s\n' "${rows[@]}"
echo "k/(k+l): killed / (killed + lived), the share of the mutants the package's tests ran that they caught."
echo "k/(k+l+nc): the same over every mutant, a mutant on a line no test runs (not covered) counted as not caught."
echo "Timed-out and not-viable (did not compile) mutants are left out of both."

if ((${#failed[@]} > 0)); then
	echo "mutate: failed:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
if ((${#below[@]} > 0)); then
	echo "mutate: under the --min threshold:" >&2
	printf '  %s\n' "${below[@]}" >&2
	exit 1
fi
