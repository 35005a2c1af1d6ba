#!/usr/bin/env bash
# The store at scale: specmock serving the OES API with SCALE x 2,000 generated allocations
# (500: 1,000,000). Starts it RUNS times in a fresh cache folder (the first start builds the
# snapshots, the others read them) and reports, per start, the time from spawn to the first 200
# and the resident memory; then the latency of a filtered, sorted page and of a deep page, one
# connection at a time. Exits non-zero on any error or non-2xx.
#
#   bash bench/scale.sh                      # SCALE=500 RUNS=3 DURATION=5
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh

SCALE=${SCALE:-500}
RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

command -v wrk >/dev/null 2>&1 || { echo "installing wrk" >&2; apt-get install -y -qq wrk >/dev/null; }
echo "building specmock (release)" >&2
cargo build --release --locked --quiet --bin specmock

port=4030
base="http://127.0.0.1:$port/api/network/v1/enterprises/7a72d96a-03b1-4f1f-a16f-5d13f5c04757/partners/allocations"
filtered="$base?pageSize=50&types=allocation&statuses=cleared&sortField=quantity"
# The last full page of all allocations, sorted.
deep="$base?pageSize=50&pageNumber=$((SCALE * 40 - 1))&sortField=quantity"
mb() { awk -v k="$1" 'BEGIN {printf "%.0f", k / 1024}'; }

printf '| start | snapshot | first 200 ms | RSS MiB | peak RSS MiB |\n|---:|---|---:|---:|---:|\n'
for run in $(seq 1 "$RUNS"); do
  t0=$(now_ms)
  ./target/release/specmock serve --port "$port" --no-admin --scale "$SCALE" --cache-dir "$work/cache" >"$work/log" 2>&1 &
  pid=$!
  until [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer demo-token' "$filtered")" = 200 ]; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/log" >&2; exit 1; }
    sleep 0.02
  done
  ms=$(( $(now_ms) - t0 ))
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status"); hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  printf '| %d | %s | %d | %s | %s |\n' "$run" "$([ "$run" = 1 ] && echo built || echo read)" "$ms" "$(mb "$rss")" "$(mb "$hwm")"
  if [ "$run" -lt "$RUNS" ]; then kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; fi
done

errors=0
printf '\n| query (1 connection) | p50 ms | p99 ms | non-2xx |\n|---|---:|---:|---:|\n'
for name in filtered deep; do
  url=${!name}
  out=$(wrk -t1 -c1 -d"${DURATION}s" --latency -H 'Authorization: Bearer demo-token' "$url")
  bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}'); bad=${bad:-0}; errors=$((errors + bad))
  p50=$(to_ms "$(echo "$out" | awk '$1=="50%" {print $2}')"); p99=$(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")
  printf '| %s | %s | %s | %d |\n' "$name" "$p50" "$p99" "$bad"
done
if [ "$errors" -ne 0 ]; then
  echo "scale bench: $errors non-2xx responses" >&2
  exit 1
fi
