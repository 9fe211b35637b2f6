#!/usr/bin/env bash
# fuzz.sh runs every fuzz target of the module, one after another, for FUZZTIME each
# (default 30s); `make fuzz` runs it. The targets are found with `go test -list '^Fuzz'`,
# so a new one is fuzzed without being named here. An input that fails a target is written
# by go into that package's testdata/fuzz/<target>/ folder, where plain `go test` runs it
# again from then on: fix the bug and commit the input with the fix. The script goes on with
# the other targets and exits non-zero at the end if any target failed with an input.
set -euo pipefail
cd "$(dirname "$0")/.."
go=${GO:-go}
fuzztime=${FUZZTIME:-30s}

# `go test -list` prints the matching names of a package and then its "ok <package>" line.
targets=()
names=()
while read -r first second _; do
	case $first in
	Fuzz*) names+=("$first") ;;
	ok)
		for name in "${names[@]}"; do
			targets+=("$second $name")
		done
		names=()
		;;
	esac
done < <("$go" test -list '^Fuzz' ./...)

if ((${#targets[@]} == 0)); then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi
echo "fuzz: ${#targets[@]} targets, $fuzztime each"

# inputs counts the files of a target's testdata/fuzz folder.
inputs() {
	if [[ -d $1 ]]; then
		find "$1" -type f | wc -l
	else
		echo 0
	fi
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT
failed=()
flaked=()
for target in "${targets[@]}"; do
	read -r pkg name <<<"$target"
	corpus="$("$go" list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$name"
	before=$(inputs "$corpus")
	echo "fuzz: $name in $pkg"
	if "$go" test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$out"; then
		continue
	fi
	# Go 1.26's fuzzing coordinator can fail a target with a bare "context deadline
	# exceeded" when -fuzztime ends while a worker is busy (go.dev/issue/75804, fixed in
	# Go 1.27); it writes no input then. Only a failure that kept an input is a finding.
	if (($(inputs "$corpus") == before)) && grep -q '^    context deadline exceeded$' "$out"; then
		flaked+=("$name in $pkg")
		continue
	fi
	failed+=("$name in $pkg")
done

if ((${#flaked[@]} > 0)); then
	echo "fuzz: stopped by the fuzztime deadline with no failing input (go.dev/issue/75804), not counted as failures:"
	printf '  %s\n' "${flaked[@]}"
fi

if ((${#failed[@]} > 0)); then
	echo "fuzz: failed:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	echo "fuzz: the failing inputs are new files under the packages' testdata/fuzz/:" >&2
	git status --short --untracked-files=all -- '*/testdata/fuzz/*' >&2
	exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran $fuzztime without a failure"
