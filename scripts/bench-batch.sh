#!/usr/bin/env bash
# bench-batch.sh measures background batch jobs end to end with the real binary (make
# bench-batch): it builds fraudguard, generates ROWS transactions with `fraudguard gen`,
# starts `fraudguard serve` on a fresh DATA_DIR and times a CSV job from upload to completed
# to fully downloaded results, with the server's peak RSS (the kernel's VmHWM).
# Then it measures /predict latency with wrk, first alone and then while a second job of the
# same size is uploaded and scored, and prints the p50/p99 of both. EXPLAIN=true submits the
# jobs with ?explain=true, so every result carries its three reasons.
#
#   ROWS=1000000 WRK_SECONDS=8 bash scripts/bench-batch.sh
#   ROWS=100000 EXPLAIN=true bash scripts/bench-batch.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-1000000}
WRK_SECONDS=${WRK_SECONDS:-8}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-8}
EXPLAIN=${EXPLAIN:-false}
work=$(mktemp -d)
server_pid=""
cleanup() {
	if [[ -n $server_pid ]]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null || { echo "bench-batch: $1 is needed (make deps)" >&2; exit 1; }; }
need curl
need wrk

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p"; }

echo "building..."
go build -trimpath -o "$work/fraudguard" ./cmd/fraudguard
echo "generating $ROWS rows..."
"$work/fraudguard" gen --rows "$ROWS" --seed 7 --out "$work/tx.csv" >/dev/null 2>&1
size=$(stat -c %s "$work/tx.csv")

MODEL_PATH=${MODEL_PATH:-models} DATA_DIR="$work/data" API_HOST=127.0.0.1 API_PORT=0 RATE_LIMIT_PER_MINUTE=0 LOG_LEVEL=WARN \
	"$work/fraudguard" serve >"$work/serve.log" 2>&1 &
server_pid=$!
# The listening line is logged at INFO; with LOG_LEVEL=WARN read the port from /proc instead.
url=""
for _ in $(seq 1 200); do
	port=$(ss -Htlnp 2>/dev/null | awk -v pid="pid=$server_pid," '$0 ~ pid { n = split($4, a, ":"); print a[n]; exit }')
	if [[ -n $port ]] && curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null; then
		url="http://127.0.0.1:$port"
		break
	fi
	sleep 0.05
done
[[ -n $url ]] || { echo "bench-batch: the server did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }

# hwm: the server's peak RSS so far, in kB: the kernel keeps it (VmHWM), so nothing samples the
# server while it is measured.
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$server_pid/status"; }

submit() {
	curl -sS -X POST -H 'Content-Type: text/csv' --data-binary @"$work/tx.csv" "$url/batch?explain=$EXPLAIN" | json_field job_id
}
wait_done() {
	local status
	while true; do
		status=$(curl -sS "$url/batch/$1/status" | json_field status)
		case $status in
		completed) return 0 ;;
		failed | cancelled) echo "bench-batch: job $1 $status" >&2; return 1 ;;
		esac
		sleep 0.1
	done
}

echo "job of $ROWS rows ($((size / 1048576)) MiB of CSV)..."
t0=$(now)
id=$(submit)
t1=$(now)
wait_done "$id"
t2=$(now)
curl -sS -H 'Accept: text/csv' "$url/batch/$id/results" -o "$work/results.csv"
t3=$(now)
lines=$(($(wc -l <"$work/results.csv") - 1))
[[ $lines -eq $ROWS ]] || { echo "bench-batch: got $lines results, want $ROWS" >&2; exit 1; }
total=$(elapsed "$t0" "$t3")
rate=$(awk -v n="$ROWS" -v s="$total" 'BEGIN { printf "%.0f", n / s * 60 }')
peak_job=$(hwm)

# /predict alone, then during a second job (its upload and its scoring).
cat >"$work/predict.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"Time":0,"V1":-1.3598071336738,"V2":-0.0727811733098497,"V3":2.53634673796914,"V4":1.37815522427443,"V5":-0.338320769942518,"V6":0.462387777762292,"V7":0.239598554061257,"V8":0.0986979012610507,"V9":0.363786969611213,"V10":0.0907941719789316,"V11":-0.551599533260813,"V12":-0.617800855762348,"V13":-0.991389847235408,"V14":-0.311169353699879,"V15":1.46817697209427,"V16":-0.470400525259478,"V17":0.207971241929242,"V18":0.0257905801985591,"V19":0.403992960255733,"V20":0.251412098239705,"V21":-0.018306777944153,"V22":0.277837575558899,"V23":-0.110473910188767,"V24":0.0669280749146731,"V25":0.128539358273528,"V26":-0.189114843888824,"V27":0.133558376740387,"V28":-0.0210530534538215,"Amount":149.62}'
EOF
percentiles() { awk '$1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 } /Requests\/sec/ { rps = $2 } END { printf "p50 %s  p99 %s  (%s req/s)", p50, p99, rps }' "$1"; }
wrk -t1 -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" --latency -s "$work/predict.lua" "$url/predict" >"$work/wrk.alone"
(submit >"$work/job2.id") &
uploader=$!
sleep 0.5
wrk -t1 -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" --latency -s "$work/predict.lua" "$url/predict" >"$work/wrk.during"
wait "$uploader"
id2=$(cat "$work/job2.id")
status2=$(curl -sS "$url/batch/$id2/status")
progress2=$(echo "$status2" | json_field progress_percent)
wait_done "$id2"

echo
echo "batch job, $ROWS rows of CSV ($((size / 1048576)) MiB), explain=$EXPLAIN:"
echo "  upload        $(elapsed "$t0" "$t1") s"
echo "  scoring       $(elapsed "$t1" "$t2") s  (after the upload)"
echo "  download      $(elapsed "$t2" "$t3") s  ($lines results as CSV)"
echo "  total         $total s  = $rate rows/min"
echo "  server RSS    peak $((peak_job / 1024)) MB during the job, $(($(hwm) / 1024)) MB over the whole run"
echo "/predict with wrk (-t1 -c$WRK_CONNECTIONS, ${WRK_SECONDS}s):"
echo "  alone         $(percentiles "$work/wrk.alone")"
echo "  during a job  $(percentiles "$work/wrk.during")  (the second job was at ${progress2}% when wrk ended)"
