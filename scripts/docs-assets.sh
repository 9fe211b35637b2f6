#!/usr/bin/env bash
# docs-assets.sh re-fetches the third-party files behind the API docs pages
# (Swagger UI at /docs, ReDoc at /redoc) and the dashboard (Chart.js, at
# /dashboard) from npm at the pinned versions and
# copies them into internal/api/docs/assets, where go:embed picks them up.
# The result is committed, so building fraudguard never needs npm.
#
# To upgrade: change a version below, run this script, run
# `go test ./internal/api/docs/` (it renders both pages in headless Chromium
# and checks that nothing loads from another host), and commit the assets.
set -euo pipefail

SWAGGER_UI_VERSION=5.35.0
# ReDoc 2.x: 3.x is a rewrite that sends usage telemetry and loads icons from
# its CDN, and its standalone bundle is twice the size.
REDOC_VERSION=2.5.4
# Chart.js 4: canvas charts with no dependency, no eval and no injected
# stylesheet, so the dashboard's strict Content-Security-Policy holds.
CHARTJS_VERSION=4.6.1

root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/internal/api/docs/assets

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# npm pack checks each tarball against the registry's integrity hash.
fetch() {
	local spec=$1 dir=$2
	mkdir -p "$work/$dir"
	(cd "$work" && npm pack --silent "$spec" >"$dir.name")
	tar -xzf "$work/$(cat "$work/$dir.name")" -C "$work/$dir" --strip-components=1
	npm view "$spec" dist.integrity >"$work/$dir.integrity"
}

fetch "swagger-ui-dist@$SWAGGER_UI_VERSION" swagger-ui-dist
fetch "redoc@$REDOC_VERSION" redoc
fetch "chart.js@$CHARTJS_VERSION" chart.js

rm -rf "$dest/swagger-ui-dist" "$dest/redoc" "$dest/chart.js"
mkdir -p "$dest/swagger-ui-dist" "$dest/redoc" "$dest/chart.js"

# Only what the pages load (not the standalone preset, the ES module builds
# or the source maps), plus the licence texts.
for f in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE; do
	cp "$work/swagger-ui-dist/$f" "$dest/swagger-ui-dist/"
done
for f in bundles/redoc.standalone.js bundles/redoc.standalone.js.LICENSE.txt LICENSE; do
	cp "$work/redoc/$f" "$dest/redoc/"
done
for f in dist/chart.umd.min.js LICENSE.md; do
	cp "$work/chart.js/$f" "$dest/chart.js/"
done

licence() { node -p "require('$work/$1/package.json').license"; }

{
	echo "Third-party files served by the API docs pages and the dashboard, written by scripts/docs-assets.sh."
	echo "Do not edit them by hand: change the versions in that script and run it again."
	echo
	printf '%-26s %-12s %s\n' "package@version" "licence" "npm integrity"
	printf '%-26s %-12s %s\n' "swagger-ui-dist@$SWAGGER_UI_VERSION" "$(licence swagger-ui-dist)" "$(cat "$work/swagger-ui-dist.integrity")"
	printf '%-26s %-12s %s\n' "redoc@$REDOC_VERSION" "$(licence redoc)" "$(cat "$work/redoc.integrity")"
	printf '%-26s %-12s %s\n' "chart.js@$CHARTJS_VERSION" "$(licence chart.js)" "$(cat "$work/chart.js.integrity")"
	echo
	echo "swagger-ui-dist/: swagger-ui-bundle.js, swagger-ui.css, LICENSE, NOTICE"
	echo "redoc/: redoc.standalone.js (from bundles/), LICENSE"
	echo "chart.js/: chart.umd.min.js (from dist/), LICENSE.md"
	echo "Bundled third-party notices: the *.LICENSE.txt file beside each bundle."
} >"$dest/VERSIONS"

(cd "$dest" && find swagger-ui-dist redoc chart.js -type f | sort | xargs du -k)
